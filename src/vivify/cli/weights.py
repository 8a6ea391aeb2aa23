"""``vivify weights download|check|convert|make-test``: manage the LivePortrait weights."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="download, check or convert the LivePortrait weights")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(p))
    d = actions.add_parser("download", help="fetch the official weights from the HuggingFace hub")
    d.add_argument(
        "--dir", default=None, help="target folder (default: $VIVIFY_WEIGHTS, else ~/.cache/vivify/weights)"
    )
    d.add_argument("--revision", default=None, help="hub revision (branch, tag or commit)")
    d.set_defaults(run=_download)
    c = actions.add_parser("check", help="validate a weights folder against the official manifest")
    c.add_argument("dir", nargs="?", default=None, help="weights folder (default: the default location)")
    c.set_defaults(run=_check)
    v = actions.add_parser("convert", help="write a safetensors copy of a weights folder")
    v.add_argument("src")
    v.add_argument("dst")
    v.add_argument("--fp16", action="store_true", help="store floating-point tensors as float16")
    v.set_defaults(run=_convert)
    m = actions.add_parser("make-test", help="write deterministic test weights in the official layout")
    m.add_argument("dir")
    m.add_argument("--seed", type=int, default=0)
    m.set_defaults(run=_make_test)


def _download(args: argparse.Namespace) -> int:
    from vivify.weights import download_weights  # noqa: PLC0415 - heavy imports only to run

    print(f"weights ready in {download_weights(args.dir, revision=args.revision)}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from vivify.weights import check_folder, default_weights_dir  # noqa: PLC0415 - heavy imports only to run

    root = args.dir or default_weights_dir()
    reports = check_folder(root)
    for r in reports:
        status = "ok" if r.ok else "PROBLEM"
        print(f"{status:8s} {r.spec.relpath}" + (f"  ({r.path.suffix})" if r.path else ""))
        if r.error:
            print(f"         {r.error}")
        for label, items in (
            ("missing", r.missing),
            ("unexpected", r.unexpected),
            ("wrong shape/dtype", r.wrong),
        ):
            if items:
                shown = ", ".join(items[:5]) + (f", ... ({len(items)} in all)" if len(items) > 5 else "")
                print(f"         {label}: {shown}")
    bad = sum(not r.ok for r in reports)
    if bad:
        print(f"vivify: error: {root}: {bad} of {len(reports)} weight files have problems", file=sys.stderr)
        return 2
    print(f"{root}: all {len(reports)} weight files match the official manifest")
    return 0


def _convert(args: argparse.Namespace) -> int:
    from vivify.weights import convert_folder  # noqa: PLC0415 - heavy imports only to run

    for path in convert_folder(args.src, args.dst, fp16=args.fp16):
        print(f"wrote {path}")
    return 0


def _make_test(args: argparse.Namespace) -> int:
    from vivify.weights import manifest, write_test_weights  # noqa: PLC0415 - heavy imports only to run

    digests = write_test_weights(manifest(), args.seed, args.dir)
    for name, d in digests.items():
        print(f"{name}  sha256-recipe {d}")
    print(
        f"test weights (seed {args.seed}) written to {args.dir}: for smoke tests only, they animate nothing"
    )
    return 0
