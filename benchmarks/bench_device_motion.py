"""Driving motion left on the device vs read back to the host: same frames, and the time each takes.

    python benchmarks/bench_device_motion.py --device cuda [--frames 120] [--batch 1 8]

Animates a portrait with a driving video through ``Animator.frames`` twice per batch size: as
the pipeline does by default (motion stays on the GPU when nothing on the host reads it), and
with every frame's motion forced back to the host (what it did before). Prints frames per
second for both and the largest pixel difference between them (expected: 0, or 1 grey level).
On a CPU both paths are the same; the script runs there to check itself (tiny counts).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _common import DEFAULT_DATA, print_table

from vivify.backends import NeuralBackend, SpeedOptions
from vivify.pipeline import AnimationOptions, Animator, DrivingSource
from vivify.weights import load_liveportrait, manifest, write_test_weights


class HostMotion(NeuralBackend):
    """The neural backend with every driving motion downloaded to the host."""

    def motion(self, frame, *, host: bool = True):
        return super().motion(frame, host=True)


def run(animator: Animator, args: argparse.Namespace, batch: int) -> tuple[list[np.ndarray], float]:
    source = animator.prepare(args.data / "portraits" / f"{args.portrait}.jpg")
    options = AnimationOptions(max_frames=args.frames, batch_size=batch)
    drv = DrivingSource(
        args.data / "driving" / f"{args.driving}.mp4", animator.detector, max_frames=args.frames
    )
    list(
        animator.frames(source, DrivingSource(drv.path, animator.detector, max_frames=2), options)
    )  # warm-up
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    frames = list(animator.frames(source, drv, options))
    return frames, len(frames) / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--weights", type=Path, help="default: deterministic test weights")
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--precision", default="float16", help="W and G precision on CUDA (float32 on a CPU)")
    ap.add_argument("--portrait", default="s5")
    ap.add_argument("--driving", default="d3")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = ap.parse_args()
    device = torch.device(args.device)
    speed = SpeedOptions(args.precision, channels_last=True) if device.type == "cuda" else SpeedOptions()
    with tempfile.TemporaryDirectory() as tmp:
        weights = args.weights or Path(tmp)
        if args.weights is None:
            write_test_weights(manifest(), 0, weights)
        models = load_liveportrait(weights, device)
        rows = []
        for batch in args.batch:
            kept, fps_kept = run(Animator(NeuralBackend(models=models, speed=speed)), args, batch)
            read, fps_read = run(Animator(HostMotion(models=models, speed=speed)), args, batch)
            diff = max(int(np.abs(a.astype(np.int16) - b).max()) for a, b in zip(kept, read, strict=True))
            rows.append([str(batch), str(len(kept)), f"{fps_kept:.1f}", f"{fps_read:.1f}", str(diff)])
    title = (
        f"motion on the device vs via the host: {args.portrait} x {args.driving}, {device}, {speed.precision}"
    )
    print_table(
        title,
        ["batch", "frames", "fps, motion on the device", "fps, motion via the host", "max |diff|"],
        rows,
    )


if __name__ == "__main__":
    main()
