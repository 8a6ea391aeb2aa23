"""``vivify export onnx DIR``: write the LivePortrait networks as ONNX files for onnxruntime."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from vivify.cli.choices import ONNX_MIN_OPSET as MIN_OPSET
from vivify.cli.choices import ONNX_OPSET as DEFAULT_OPSET
from vivify.errors import UserError


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="export the LivePortrait networks for other runtimes (ONNX)")
    formats = p.add_subparsers(dest="format", metavar="FORMAT", required=True, parser_class=type(p))
    o = formats.add_parser("onnx", help="write the networks as ONNX files plus a manifest.json")
    o.add_argument("dir", help="output folder (must not exist yet, unless --overwrite)")
    o.add_argument("--weights", metavar="DIR", help="LivePortrait weights folder (see `vivify weights`)")
    o.add_argument("--opset", type=int, default=DEFAULT_OPSET, metavar="N",
                   help=f"ONNX opset, at least {MIN_OPSET} (default {DEFAULT_OPSET})")  # fmt: skip
    o.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    o.set_defaults(run=_onnx)


def _onnx(args: argparse.Namespace) -> int:
    if args.opset < MIN_OPSET:
        raise UserError(f"--opset must be at least {MIN_OPSET} (5-D GridSample), got {args.opset}")
    if Path(args.dir).expanduser().exists() and not args.overwrite:
        raise UserError("already exists (choose a new folder, or --overwrite)", args.dir)
    from vivify.export.onnx import export_onnx  # noqa: PLC0415 - heavy imports only to run
    from vivify.weights import load_liveportrait  # noqa: PLC0415

    models = load_liveportrait(args.weights)  # missing weights: WeightsNotFoundError, one line
    start = time.perf_counter()
    out = export_onnx(models, args.dir, opset=args.opset, overwrite=args.overwrite)
    print(f"wrote the ONNX networks (opset {args.opset}) to {out} in {time.perf_counter() - start:.0f} s")
    return 0
