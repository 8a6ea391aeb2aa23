"""Peak memory over a long driving video: does `Animator.animate` stream in constant memory?

    python benchmarks/bench_memory.py [--minutes 10] [--size 1920x1080] [--backend mesh]
        [--portrait s2] [--driving d0] [--weights DIR]

Writes a long driving video (a real driving clip looped, scaled into a 1080p frame, x264
ultrafast) to a temporary folder, animates a portrait with it while a thread samples the
process's resident memory (and the GPU's allocated memory with the neural backend on CUDA)
every half second, then prints the memory at each tenth of the run and the peaks of the first
and last quarters. Flat streaming shows as equal peaks. The neural backend without --weights
uses deterministic test weights (real shapes; memory does not depend on their values). Asserts
nothing.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
from _common import DEFAULT_DATA, cpu_name, fmt, load_note, print_table

from vivify.io import VideoReader, VideoWriter
from vivify.pipeline import AnimationOptions, Animator
from vivify.weights import manifest, write_test_weights


def rss_mb() -> float:
    """Resident memory of this process in MB (from /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def write_long_driving(src: Path, out: Path, seconds: float, size: tuple[int, int]) -> int:
    """Loop ``src`` (forwards then backwards, so the motion stays continuous) into ``size`` frames."""
    with VideoReader(src) as reader:
        clip = list(reader)
        fps = reader.info.fps or 25.0
    w, h = size
    k = min(w / clip[0].shape[1], h / clip[0].shape[0])
    scaled = [cv2.resize(f, (round(f.shape[1] * k), round(f.shape[0] * k))) for f in clip]
    canvas = np.zeros((h, w, 3), np.uint8)
    y0, x0 = (h - scaled[0].shape[0]) // 2, (w - scaled[0].shape[1]) // 2
    loop = scaled + scaled[-2:0:-1]
    n = int(seconds * fps)
    with VideoWriter(out, fps, preset="ultrafast", crf=28) as writer:
        for i in range(n):
            f = loop[i % len(loop)]
            canvas[y0 : y0 + f.shape[0], x0 : x0 + f.shape[1]] = f
            writer.write(canvas)
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--backend", default="mesh")
    ap.add_argument("--weights", type=Path)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--portrait", default="s2")
    ap.add_argument("--driving", default="d0")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        driving = Path(tmp) / "long.mp4"
        t0 = time.perf_counter()
        n = write_long_driving(
            args.data / "driving" / f"{args.driving}.mp4", driving, args.minutes * 60, size
        )
        made = time.perf_counter() - t0
        weights = args.weights
        if args.backend == "neural" and weights is None:
            weights = Path(tmp) / "weights"
            write_test_weights(manifest(), 0, weights)
        animator = Animator(args.backend, weights_dir=weights, device=args.device)
        cuda = getattr(animator.backend, "device", None)
        cuda = cuda is not None and cuda.type == "cuda"
        samples: list[tuple[float, float, float]] = []  # (seconds, RSS MB, GPU MB)
        done = threading.Event()

        def sample() -> None:
            import torch  # noqa: PLC0415

            start = time.perf_counter()
            while not done.wait(0.5):
                gpu = torch.cuda.memory_allocated() / 2**20 if cuda else float("nan")
                samples.append((time.perf_counter() - start, rss_mb(), gpu))

        before = rss_mb()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.perf_counter()
        animator.animate(args.data / "portraits" / f"{args.portrait}.jpg", driving, Path(tmp) / "out.mp4",
                         AnimationOptions(preset="veryfast"))  # fmt: skip
        took = time.perf_counter() - t0
        done.set()
        sampler.join()
    if not samples:
        raise SystemExit("the run was too short to sample")
    times = np.array([s[0] for s in samples])
    rss = np.array([s[1] for s in samples])
    gpu = np.array([s[2] for s in samples])
    rows = []
    for q in np.linspace(0.1, 1.0, 10):
        i = min(len(samples) - 1, int(np.searchsorted(times, q * times[-1])))
        rows.append([f"{100 * q:.0f} %", f"{times[i]:.0f}", f"{rss[i]:.0f}", fmt(float(gpu[i]), 0)])
    quarter = max(1, len(samples) // 4)
    print_table(
        f"Memory over a {args.minutes:g}-minute {size[0]}x{size[1]} driving video ({n} frames), "
        f"{args.backend} backend, {args.portrait} x {args.driving}",
        ["progress", "s", "RSS MB", "GPU MB"],
        rows,
        note=(
            f"{cpu_name()}; RSS before the run {before:.0f} MB; peak RSS first quarter "
            f"{rss[:quarter].max():.0f} MB, last quarter {rss[-quarter:].max():.0f} MB, "
            f"overall {rss.max():.0f} MB; "
            f"{n / took:.1f} fps over {took:.0f} s (driving video written in {made:.0f} s); {load_note()}"
        ),
    )


if __name__ == "__main__":
    main()
