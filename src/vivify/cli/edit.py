"""``vivify edit -s IMG -o OUT.png --smile 0.8 --yaw 10``: edit a portrait's pose and expression."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from vivify.cli import values
from vivify.cli.animate import add_face_arguments, add_watermark_arguments, check_inputs, face_selection
from vivify.cli.choices import BACKENDS
from vivify.errors import UserError
from vivify.io.formats import IMAGE_OUTPUTS
from vivify.io.outputs import check_output
from vivify.motion.controls import CONTROLS


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(
        name,
        help="edit a portrait's head pose and expression (smile, blink, gaze, mouth, ...)",
        description="Edit a portrait with sliders: each control's range is shown below; 0 (scale: 1) "
        "leaves it unchanged. See docs/editing.md.",
    )
    p.add_argument("-s", "--source", required=True, help="portrait image")
    p.add_argument("-o", "--output", required=True, help=f"output image ({', '.join(IMAGE_OUTPUTS)})")
    p.add_argument("--backend", choices=BACKENDS, default="auto", help="renderer (default: auto)")
    add_face_arguments(p, "edit")
    add_watermark_arguments(p)
    p.add_argument("--weights", metavar="DIR", help="LivePortrait weights folder (see `vivify weights`)")
    p.add_argument("--device", default="auto", help="torch device for the neural backend (default: auto)")
    controls = p.add_argument_group("controls")
    for control, spec in CONTROLS.items():
        controls.add_argument(
            _flag(control), type=values.number(spec.low, spec.high), default=spec.neutral, metavar="V",
            help=f"{spec.low:g} .. {spec.high:g} (neutral {spec.neutral:g})",
        )  # fmt: skip
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if Path(args.output).suffix.lower() not in IMAGE_OUTPUTS:
        raise UserError(f"output must be an image file ({', '.join(IMAGE_OUTPUTS)})", args.output)
    check_inputs(args.source)
    check_output(args.output, [args.source])
    from vivify.motion.editing import FaceEdit  # noqa: PLC0415 - heavy imports only to run
    from vivify.pipeline import AnimationOptions, Animator  # noqa: PLC0415

    try:
        edit = FaceEdit(**{control: getattr(args, control) for control in CONTROLS})
    except ValueError as exc:  # a control out of its range
        raise UserError(f"{_flag(str(exc).split()[0])} {' '.join(str(exc).split()[1:])}") from exc
    options = AnimationOptions(
        face_index=face_selection(args),
        paste_back=args.paste_back,
        watermark=args.watermark,
        watermark_payload=args.watermark_payload,
    )
    start = time.perf_counter()
    animator = Animator(args.backend, weights_dir=args.weights, device=args.device)
    animator.edit(args.source, edit, args.output, options)
    print(f"wrote {args.output} ({time.perf_counter() - start:.1f} s)")
    return 0
