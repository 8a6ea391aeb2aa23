"""``vivify animate -s SOURCE -d DRIVING -o OUT``: animate a portrait."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from vivify.backends import CHOICES
from vivify.errors import UserError
from vivify.io import VIDEO_EXTENSIONS
from vivify.pipeline import AnimationOptions, Animator
from vivify.pipeline.options import REGIONS


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="animate a portrait with a driving video, image or motion template")
    p.add_argument("-s", "--source", required=True, help="portrait image")
    p.add_argument("-d", "--driving", required=True, help="driving video, image, or motion template (.npz)")
    p.add_argument("-o", "--output", required=True, help="output video (.mp4)")
    p.add_argument("--backend", choices=CHOICES, default="auto", help="renderer (default: auto)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--relative", dest="relative", action="store_true", default=True,
                      help="transfer the change since the reference frame (default)")  # fmt: skip
    mode.add_argument("--absolute", dest="relative", action="store_false",
                      help="transfer the driving expression and head rotation as they are")  # fmt: skip
    p.add_argument("--region", choices=REGIONS, default="all", help="which motion to transfer")
    p.add_argument("--multiplier", type=float, default=1.0, help="scale the motion (default 1.0)")
    p.add_argument(
        "--reference-frame", type=int, default=0, metavar="N", help="driving frame taken as neutral"
    )
    p.add_argument(
        "--face-index", type=int, default=0, metavar="N", help="source face to animate (largest first)"
    )
    p.add_argument("--no-paste-back", dest="paste_back", action="store_false", help="output the aligned crop")
    p.add_argument("--concat", action="store_true", help="write source | driving | result side by side")
    p.add_argument("--fps", type=float, default=None, help="output frame rate (default: the driving's)")
    p.add_argument(
        "--max-frames", type=positive_int, default=None, metavar="N", help="animate at most N frames"
    )
    p.add_argument("--no-audio", dest="keep_audio", action="store_false", help="don't copy the driving audio")
    p.set_defaults(run=run)


def check_video_output(path: str) -> None:
    """Reject an output name the video writer can't produce, before any work is done."""
    if Path(path).suffix.lower() not in VIDEO_EXTENSIONS:
        raise UserError(f"output must be a video file ({', '.join(sorted(VIDEO_EXTENSIONS))})", path)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    check_video_output(args.output)
    options = AnimationOptions(
        relative=args.relative, region=args.region, multiplier=args.multiplier,
        reference_frame=args.reference_frame, face_index=args.face_index, paste_back=args.paste_back,
        concat=args.concat, fps=args.fps, max_frames=args.max_frames, keep_audio=args.keep_audio,
    )  # fmt: skip
    start = time.perf_counter()
    out = Animator(args.backend).animate(
        args.source, args.driving, args.output, options, progress=sys.stderr.isatty()
    )
    print(f"wrote {out} ({time.perf_counter() - start:.1f} s)")
    return 0
