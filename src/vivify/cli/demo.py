"""``vivify demo``: the built-in demo, no arguments, no user files, no network."""

from __future__ import annotations

import argparse
import sys
import time

from vivify.cli.animate import NO_WATERMARK_HELP, check_video_output
from vivify.io.outputs import check_output


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="animate a bundled portrait with built-in motion (no files, no weights)")
    p.add_argument("-o", "--output", default="vivify-demo.mp4", help="output video (default vivify-demo.mp4)")
    p.add_argument("--concat", action="store_true", help="show the motion's landmarks beside the result")
    p.add_argument("--no-watermark", dest="watermark", action="store_false", help=NO_WATERMARK_HELP)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_video_output(args.output)
    check_output(args.output)
    from vivify.demo import run_demo  # noqa: PLC0415 - heavy imports only to run

    start = time.perf_counter()
    out = run_demo(args.output, concat=args.concat, progress=sys.stderr.isatty(), watermark=args.watermark)
    print(f"wrote {out} ({time.perf_counter() - start:.1f} s): NASA's astronaut portrait animated offline")
    return 0
