"""``vivify template``: record a driving video's motion, or import a LivePortrait template, as ``.npz``.

Two forms share one subcommand (``import`` is recognised as the first positional, so the original
``vivify template DRIVING -o motion.npz`` keeps working unchanged)::

    vivify template DRIVING -o motion.npz [--max-frames N]
    vivify template import LIVEPORTRAIT.pkl -o motion.npz [--max-frames N]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vivify.cli.animate import check_inputs
from vivify.cli.values import positive_int
from vivify.errors import UserError
from vivify.io.outputs import check_output

IMPORT = "import"

_USAGE = """vivify template DRIVING -o motion.npz [--max-frames N]
       vivify template import LIVEPORTRAIT.pkl -o motion.npz [--max-frames N]"""

_DESCRIPTION = """\
Save per-frame motion (no pixels) as a vivify motion template (.npz), to share or reuse as the
driving input of 'vivify animate'.

  vivify template DRIVING -o motion.npz
      track the face in a driving video or image; the template holds its mesh landmarks.
  vivify template import LIVEPORTRAIT.pkl -o motion.npz
      convert a LivePortrait motion template (.pkl) into keypoint motion for the neural backend.
      The pickle is read with a restricted loader that only rebuilds NumPy arrays and refuses
      anything else, so an untrusted file cannot run code."""


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(
        name,
        help="record a driving video's motion, or import a LivePortrait .pkl, as a template (.npz)",
        usage=_USAGE,
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("driving", metavar="DRIVING | import", help="driving video or image, or the word 'import'")
    p.add_argument(
        "pickle", nargs="?", metavar="LIVEPORTRAIT.pkl", help="with 'import': the LivePortrait template"
    )
    p.add_argument("-o", "--output", required=True, help="template file (.npz)")
    p.add_argument("--max-frames", type=positive_int, default=None, metavar="N", help="keep at most N frames")
    p.add_argument("--weights", metavar="DIR", help="LivePortrait weights: also record keypoint motion "
                   "for the neural backend (default: if found in $VIVIFY_WEIGHTS or the cache)")  # fmt: skip
    p.add_argument("--device", default="auto", help="torch device for the keypoint motion (default: auto)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if Path(args.output).suffix.lower() != ".npz":
        raise UserError("a motion template is written as .npz", args.output)
    if args.driving == IMPORT:
        if args.pickle is None:
            raise UserError(
                "'vivify template import' needs a LivePortrait .pkl file "
                "(for a driving file named 'import', write ./import)"
            )
        check_output(args.output, [args.pickle])
        return _import(args)
    if args.pickle is not None:
        raise UserError(f"unexpected argument {args.pickle!r} (did you mean 'vivify template import'?)")
    check_inputs(args.driving)
    check_output(args.output, [args.driving])
    return _record(args)


def _record(args: argparse.Namespace) -> int:
    from vivify.backends import load_backend  # noqa: PLC0415
    from vivify.face import MediaPipeFaceDetector  # noqa: PLC0415
    from vivify.pipeline import DrivingSource, record_template, save_template  # noqa: PLC0415
    from vivify.weights.download import WeightsNotFoundError, resolve_weights_dir  # noqa: PLC0415

    keypoints = None  # the neural backend, when its weights are there, adds keypoint motion
    try:
        resolve_weights_dir(args.weights)
        keypoints = load_backend("neural", weights_dir=args.weights, device=args.device)
    except WeightsNotFoundError:
        if args.weights:
            raise
    with MediaPipeFaceDetector() as detector:
        source = DrivingSource(args.driving, detector, max_frames=args.max_frames)
        template = record_template(source, keypoint_backend=keypoints)
    path = save_template(args.output, template)
    found = int(template.valid.sum())
    kinds = "mesh landmarks" + (" and keypoint motion" if keypoints is not None else "")
    print(f"wrote {path}: {len(template)} frames at {template.fps:g} fps, face in {found} ({kinds})")
    return 0


def _import(args: argparse.Namespace) -> int:
    from vivify.pipeline import save_template  # noqa: PLC0415
    from vivify.pipeline.lp_template import load_liveportrait_template  # noqa: PLC0415
    from vivify.pipeline.templates import MotionTemplate  # noqa: PLC0415

    template = load_liveportrait_template(args.pickle)
    if args.max_frames is not None and args.max_frames < len(template):
        kp = template.keypoints[: args.max_frames]
        template = MotionTemplate(None, template.fps, template.meta, kp)
    path = save_template(args.output, template)
    ratios = " with eye/lip ratios" if template.keypoints.eye_ratio is not None else ""
    print(
        f"wrote {path}: {len(template)} frames at {template.fps:g} fps, LivePortrait keypoint motion{ratios}"
    )
    return 0
