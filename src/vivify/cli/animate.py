"""``vivify animate -s SOURCE -d DRIVING -o OUT``: animate a portrait."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from vivify.cli import values
from vivify.cli.choices import BACKENDS, PRECISIONS
from vivify.errors import UserError
from vivify.io.files import check_readable_file
from vivify.io.formats import IMAGE_OUTPUTS, VIDEO_EXTENSIONS, X264_PRESETS
from vivify.io.outputs import check_output
from vivify.motion.transfer_options import DRIVING_OPTIONS, REGIONS

if TYPE_CHECKING:
    from vivify.backends import SpeedOptions

# torch, PyAV and OpenCV are imported inside the functions that run a command, so that --help
# and usage errors answer at once


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="animate a portrait with a driving video, image or motion template")
    p.add_argument("-s", "--source", required=True, help="portrait image, or a video of a person")
    p.add_argument("-d", "--driving", required=True, action="append",
                   help="driving video, image, motion template (.npz) or LivePortrait template (.pkl); "
                   "repeat it to drive several faces, one each")  # fmt: skip
    p.add_argument("-o", "--output", required=True, help="output video (.mp4), or picture (.png, .jpg) "
                   "for an image driver")  # fmt: skip
    p.add_argument("--backend", choices=BACKENDS, default="auto", help="renderer (default: auto)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--relative", dest="relative", action="store_true", default=True,
                      help="transfer the change since the reference frame (default)")  # fmt: skip
    mode.add_argument("--absolute", dest="relative", action="store_false",
                      help="transfer the driving expression and head rotation as they are")  # fmt: skip
    p.add_argument("--region", choices=REGIONS, default="all", help="which motion to transfer")
    p.add_argument("--multiplier", type=values.multiplier, default=1.0, metavar="0-10",
                   help="scale the motion (default 1.0)")  # fmt: skip
    p.add_argument("--reference-frame", type=values.reference_frame, default=None, metavar="N|first|neutral",
                   help="driving frame the motion is measured from (default: first for the neural backend, "
                   "neutral for the mesh one: the most neutral face of the first 2 s)")  # fmt: skip
    p.add_argument("--smooth", type=values.variance, default=None, metavar="VAR",
                   help="smooth the motion over time (Kalman observation variance: 3e-7 light, 1e-4 strong, "
                   "0 off; default: 3e-7 for a source video, off otherwise)")  # fmt: skip
    add_face_arguments(p, "animate")
    p.add_argument("--concat", action="store_true", help="write source | driving | result side by side")
    p.add_argument(
        "--fps", type=values.fps, default=None, help="output frame rate, up to 240 (default: the driving's)"
    )
    p.add_argument(
        "--max-frames", type=values.positive_int, default=None, metavar="N", help="animate at most N frames"
    )
    p.add_argument("--no-audio", dest="keep_audio", action="store_false", help="don't copy the driving audio")
    p.add_argument(
        "--crf", type=values.crf, default=18, metavar="0-51", help="H.264 quality, lower is better (18)"
    )
    p.add_argument("--preset", choices=X264_PRESETS, default="medium", metavar="PRESET",
                   help="H.264 speed: ultrafast ... veryslow (default medium)")  # fmt: skip
    add_watermark_arguments(p)
    neural = p.add_argument_group("neural backend")
    add = neural.add_argument
    add("--weights", metavar="DIR", help="LivePortrait weights folder (see `vivify weights`)")
    add("--device", default="auto", help="torch device: auto, cpu, cuda, cuda:1, ... (default: auto)")
    add("--no-stitching", dest="stitching", action="store_false", help="no stitching MLP")
    add("--driving-option", choices=DRIVING_OPTIONS, default="expression-friendly",
        help="relative mode: rescale the motion to the source's face (default) or not")  # fmt: skip
    add("--retarget-eyes", nargs="?", const=-1.0, type=values.ratio, default=None, metavar="RATIO",
        help="eye retargeting: follow the driver's eye openness, or hold RATIO (0-1)")  # fmt: skip
    add("--retarget-lips", nargs="?", const=-1.0, type=values.ratio, default=None, metavar="RATIO",
        help="lip retargeting: follow the driver's lip openness, or hold RATIO (0-1)")  # fmt: skip
    add("--normalize-lip", action="store_true", help="close the source's open mouth first")
    add("--batch", type=values.batch, default=1, metavar="N",
        help="driving frames per network batch (throughput on a GPU; default 1)")  # fmt: skip
    add_speed_arguments(neural)
    p.set_defaults(run=run)


def add_speed_arguments(group) -> None:
    """--precision, --fast and --compile (the neural backend's speed settings)."""
    group.add_argument("--precision", choices=PRECISIONS, default=None,
                       help="W and G under autocast in this precision, channels-last (default float32, "
                       "the reference; the others differ by a few grey levels)")  # fmt: skip
    group.add_argument("--fast", action="store_true",
                       help="the fastest precision for the device: float16 on CUDA, bfloat16 on a CPU with "
                       "native bf16")  # fmt: skip
    group.add_argument("--compile", action="store_true", help="torch.compile W and G (slow first frames)")
    group.add_argument("--threads", type=values.integer(1, 1024), default=None, metavar="N",
                       help="CPU threads of the networks (default: the cores it may use)")  # fmt: skip
    group.add_argument("--onnx", metavar="DIR", default=None,
                       help="run the networks of an ONNX export (vivify export onnx)")  # fmt: skip


def speed_options(args: argparse.Namespace) -> SpeedOptions:
    """The SpeedOptions chosen by --precision / --fast / --compile."""
    from vivify.backends import SpeedOptions  # noqa: PLC0415
    from vivify.runtime.device import resolve_device  # noqa: PLC0415

    if args.fast and args.precision:
        raise UserError("give --fast or --precision, not both")
    if args.fast:
        base = SpeedOptions.fast(resolve_device(args.device))
    elif args.precision and args.precision != "float32":
        base = SpeedOptions(args.precision, channels_last=True)
    else:
        base = SpeedOptions()
    return dataclasses.replace(base, compile=args.compile, threads=args.threads)


def check_video_output(path: str) -> None:
    """Reject an output name the video writer can't produce, before any work is done."""
    if Path(path).suffix.lower() not in VIDEO_EXTENSIONS:
        raise UserError(f"output must be a video file ({', '.join(sorted(VIDEO_EXTENSIONS))})", path)


def check_animation_output(path: str) -> None:
    """An animation is written as a video, or as a picture when the driver is a still image."""
    suffix = Path(path).suffix.lower()
    if suffix not in VIDEO_EXTENSIONS and suffix not in IMAGE_OUTPUTS:
        kinds = ", ".join(sorted(VIDEO_EXTENSIONS)) + "; or for an image driver " + ", ".join(IMAGE_OUTPUTS)
        raise UserError(f"output must be a video file ({kinds})", path)


def check_inputs(*paths: str) -> None:
    """Each input is a readable file: reported before any model loads."""
    for path in paths:
        check_readable_file(Path(path).expanduser())


NO_WATERMARK_HELP = "don't embed the invisible watermark (the metadata records that it is off)"


def add_watermark_arguments(p: argparse.ArgumentParser) -> None:
    """--no-watermark and --watermark-payload."""
    p.add_argument("--no-watermark", dest="watermark", action="store_false", help=NO_WATERMARK_HELP)
    p.add_argument("--watermark-payload", type=values.payload, default=0, metavar="N",
                   help="number the watermark carries, 0 .. 4294967295 (default 0); "
                   "see 'vivify verify'")  # fmt: skip


def add_face_arguments(p: argparse.ArgumentParser, verb: str) -> None:
    """--face-index N (repeatable) | --all-faces, and --no-paste-back."""
    faces = p.add_mutually_exclusive_group()
    faces.add_argument("--face-index", type=values.face_index, action="append", metavar="N",
                       help=f"face to {verb}, largest first (default 0); repeatable")  # fmt: skip
    faces.add_argument("--all-faces", action="store_true", help=f"{verb} every face found in the source")
    p.add_argument("--no-paste-back", dest="paste_back", action="store_false", help="output the aligned crop")


def face_selection(args: argparse.Namespace) -> int | tuple[int, ...] | str:
    """The faces chosen by --face-index (repeatable) or --all-faces."""
    if args.all_faces:
        return "all"
    indices = args.face_index or [0]
    return indices[0] if len(indices) == 1 else tuple(indices)


def run(args: argparse.Namespace) -> int:
    check_animation_output(args.output)
    check_inputs(args.source, *args.driving)
    check_output(args.output, [args.source, *args.driving])
    from vivify.pipeline import AnimationOptions, Animator  # noqa: PLC0415 - heavy imports only to run

    options = AnimationOptions(
        relative=args.relative, region=args.region, multiplier=args.multiplier,
        reference_frame=args.reference_frame, face_index=face_selection(args), paste_back=args.paste_back,
        concat=args.concat, fps=args.fps, max_frames=args.max_frames, keep_audio=args.keep_audio,
        stitching=args.stitching, driving_option=args.driving_option, normalize_lip=args.normalize_lip,
        eye_retargeting=args.retarget_eyes is not None, lip_retargeting=args.retarget_lips is not None,
        eye_ratio=args.retarget_eyes if args.retarget_eyes not in (None, -1.0) else None,
        lip_ratio=args.retarget_lips if args.retarget_lips not in (None, -1.0) else None,
        smoothing=args.smooth, batch_size=args.batch, crf=args.crf, preset=args.preset,
        watermark=args.watermark, watermark_payload=args.watermark_payload,
    )  # fmt: skip
    start = time.perf_counter()
    animator = Animator(args.backend, weights_dir=args.weights, device=args.device, speed=speed_options(args),
                        onnx_dir=args.onnx)  # fmt: skip
    out = animator.animate(args.source, args.driving, args.output, options, progress=sys.stderr.isatty())
    print(f"wrote {out} ({time.perf_counter() - start:.1f} s)")
    return 0
