"""``vivify demo``: the built-in demo, no arguments, no user files, no network."""

from __future__ import annotations

import argparse

from vivify.demo import run_face_demo


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="run the built-in demo on a bundled portrait")
    p.add_argument("-o", "--output", default="vivify-demo.png", help="where to write the result (PNG)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    r = run_face_demo(args.output)
    yaw, pitch, roll = r.pose
    x0, y0, x1, y1 = r.box
    print(
        f"face found: {r.n_landmarks} landmarks, box ({x0:.0f}, {y0:.0f})-({x1:.0f}, {y1:.0f}), "
        f"yaw {yaw:+.1f} pitch {pitch:+.1f} roll {roll:+.1f} deg"
    )
    print(f"crop -> paste-back round trip: PSNR {r.roundtrip_psnr:.1f} dB")
    print(f"wrote {r.output}")
    return 0
