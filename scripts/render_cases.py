"""Render a fixed set of `vivify animate` cases to raw frames, to compare two commits' outputs.

Every case runs through the real CLI; the frames handed to the video writer are kept as they are
(before encoding) in ``OUT/<case>.npz``. Run it once per commit (put the other commit's ``src``
first on PYTHONPATH), then compare::

    python scripts/render_cases.py /tmp/old --weights /tmp/tw            # the commit checked out
    PYTHONPATH=/tmp/base/src python scripts/render_cases.py /tmp/old ... # another one
    python scripts/render_cases.py --compare /tmp/old /tmp/new

``--weights`` is a folder of test weights (`vivify weights make-test DIR`) for the neural cases.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# name: (source, driver, extra arguments); each runs on the mesh and on the neural backend
CASES = {
    "s9-d3-concat": ("portraits/s9.jpg", "driving/d3.mp4", ["--concat", "--max-frames", "40"]),
    "s0-d12jpg": ("portraits/s0.jpg", "driving/d12.jpg", []),
    "s13mp4-d0": ("source_videos/s13.mp4", "driving/d0.mp4", ["--max-frames", "40"]),
    "s5-d19-neutral": (
        "portraits/s5.jpg",
        "driving/d19.mp4",
        ["--max-frames", "30", "--reference-frame", "neutral"],
    ),
    "s2-d6-smooth": ("portraits/s2.jpg", "driving/d6.mp4", ["--max-frames", "30", "--smooth", "1e-5"]),
    "s18mp4-d12jpg": ("source_videos/s18.mp4", "driving/d12.jpg", ["--max-frames", "20", "--concat"]),
}
NEURAL_ONLY = {
    "s7-talking-pkl": ("portraits/s7.jpg", "templates/talking.pkl", ["--max-frames", "20"]),
    "s6-d9-batch4-retarget": ("portraits/s6.jpg", "driving/d9.mp4",
                              ["--max-frames", "20", "--batch", "4", "--retarget-eyes", "--retarget-lips"]),
    "s10-d18-ref10-abs": ("portraits/s10.jpg", "driving/d18.mp4",
                          ["--max-frames", "20", "--reference-frame", "10", "--absolute", "--region", "exp"]),
}  # fmt: skip


def _render(args: list[str]) -> np.ndarray:
    """The frames `vivify animate ARGS` writes, stacked (N, H, W, 3) uint8."""
    import vivify.io as vio  # noqa: PLC0415 - after PYTHONPATH is in effect
    from vivify.cli.main import main  # noqa: PLC0415

    frames: list[np.ndarray] = []
    write = vio.VideoWriter.write

    def keep(self, frame):
        frames.append(np.array(frame))
        return write(self, frame)

    vio.VideoWriter.write = keep
    try:
        code = main(args)
    finally:
        vio.VideoWriter.write = write
    if code:
        raise SystemExit(f"vivify {' '.join(args)} exited {code}")
    return np.stack(frames)


def render(out: Path, weights: Path, only: list[str] | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(f"{n}-mesh", c, ["--backend", "mesh"]) for n, c in CASES.items()]
    neural = ["--backend", "neural", "--weights", str(weights), "--device", "cpu"]
    jobs += [(f"{n}-neural", c, neural) for n, c in {**CASES, **NEURAL_ONLY}.items()]
    with tempfile.TemporaryDirectory() as tmp:
        for name, (source, driver, extra), backend in jobs:
            if only and not any(o in name for o in only):
                continue
            video = str(Path(tmp) / f"{name}.mp4")
            args = ["animate", "-s", str(DATA / source), "-d", str(DATA / driver), "-o", video,
                    "--preset", "ultrafast", *backend, *extra]  # fmt: skip
            frames = _render(args)
            np.savez_compressed(out / f"{name}.npz", frames=frames)
            print(f"{name}: {frames.shape}", flush=True)


def compare(a: Path, b: Path) -> int:
    worst = 0
    print(f"{'case':34s} {'frames':>6s} {'max |diff|':>10s} {'pixels differing':>17s}")
    for path in sorted(a.glob("*.npz")):
        other = b / path.name
        if not other.exists():
            print(f"{path.stem:34s} missing in {b}")
            worst = 255
            continue
        x, y = np.load(path)["frames"], np.load(other)["frames"]
        if x.shape != y.shape:
            print(f"{path.stem:34s} shapes differ: {x.shape} vs {y.shape}")
            worst = 255
            continue
        diff = np.abs(x.astype(np.int16) - y.astype(np.int16))
        worst = max(worst, int(diff.max()))
        print(f"{path.stem:34s} {len(x):6d} {int(diff.max()):10d} {100 * (diff > 0).mean():16.4f}%")
    return worst


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path)
    p.add_argument("other", type=Path, nargs="?")
    p.add_argument("--weights", type=Path)
    p.add_argument("--compare", action="store_true")
    p.add_argument("--only", action="append", help="cases whose name contains this (repeatable)")
    args = p.parse_args()
    if args.compare:
        worst = compare(args.out, args.other)
        print(f"largest difference: {worst} grey levels")
        return 0 if worst <= 1 else 1
    if args.weights is None:
        p.error("--weights DIR (test weights for the neural cases)")
    render(args.out, args.weights, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
