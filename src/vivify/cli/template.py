"""``vivify template DRIVING -o motion.npz``: record per-frame motion (no pixels) to share or reuse."""

from __future__ import annotations

import argparse
from pathlib import Path

from vivify.cli.animate import positive_int
from vivify.errors import UserError
from vivify.face import MediaPipeFaceDetector
from vivify.pipeline import DrivingSource, record_template, save_template


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="record a driving video's motion as a template (.npz, no pixels)")
    p.add_argument("driving", help="driving video or image")
    p.add_argument("-o", "--output", required=True, help="template file (.npz)")
    p.add_argument("--max-frames", type=positive_int, default=None, metavar="N")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if Path(args.output).suffix.lower() != ".npz":
        raise UserError("a motion template is written as .npz", args.output)
    with MediaPipeFaceDetector() as detector:
        template = record_template(DrivingSource(args.driving, detector, max_frames=args.max_frames))
    path = save_template(args.output, template)
    found = int(template.valid.sum())
    print(f"wrote {path}: {len(template)} frames at {template.fps:g} fps, face in {found}")
    return 0
