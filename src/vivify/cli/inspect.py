"""``vivify inspect PATH``: faces in an image, or video properties and face coverage."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from vivify.cli.values import positive_int

if TYPE_CHECKING:
    from vivify.inspection import ImageReport, VideoReport


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="show the faces vivify finds in an image or video")
    p.add_argument("path", help="image or video file")
    p.add_argument(
        "--max-frames", type=positive_int, default=None, metavar="N", help="inspect at most N video frames"
    )
    p.add_argument("--json", action="store_true", help="print a JSON report")
    p.set_defaults(run=run)


def _print_image(r: ImageReport) -> None:
    print(f"{r.path}: image {r.width}x{r.height}, {len(r.faces)} face(s)")
    for i, f in enumerate(r.faces):
        x0, y0, x1, y1 = f.box
        print(
            f"  face {i}: box ({x0:.0f}, {y0:.0f})-({x1:.0f}, {y1:.0f}) {x1 - x0:.0f}x{y1 - y0:.0f}px, "
            f"score {f.score:.2f}, {f.n_landmarks} landmarks, yaw {f.yaw:+.0f} pitch {f.pitch:+.0f} "
            f"roll {f.roll:+.0f} deg, eyes {f.eye_open:.2f}, lips {f.lip_open:.2f}"
        )
    if not r.faces:
        print("  no face found: vivify needs a visible face, roughly frontal, at least ~40 px across")


def _print_video(r: VideoReport) -> None:
    i = r.info
    sar = "" if i.sample_aspect_ratio == 1 else f", pixel aspect {i.sample_aspect_ratio}"
    rot = "" if not i.rotation else f", rotated {i.rotation} deg"
    audio = f"audio {i.audio_duration:.2f}s" if i.has_audio and i.audio_duration is not None else "no audio"
    print(
        f"{r.path}: video {i.width}x{i.height} (stored {i.coded_width}x{i.coded_height}{sar}{rot}), "
        f"{i.codec}, {i.fps:.3f} fps, {i.n_frames} frames, {i.duration:.2f}s, {audio}"
    )
    print(
        f"  face in {r.frames_with_face}/{r.frames_inspected} frames ({100 * r.coverage:.1f}%), "
        f"{r.ms_per_frame:.1f} ms/frame tracking"
    )
    if r.missing_ranges:
        shown = ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in r.missing_ranges[:10])
        more = " ..." if len(r.missing_ranges) > 10 else ""
        print(f"  no face in frames {shown}{more}")


def run(args: argparse.Namespace) -> int:
    from vivify.inspection import ImageReport, inspect_media  # noqa: PLC0415 - heavy imports only to run

    report = inspect_media(args.path, max_frames=args.max_frames)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
    elif isinstance(report, ImageReport):
        _print_image(report)
    else:
        _print_video(report)
    return 0
