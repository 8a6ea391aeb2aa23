"""Time per frame of the neural backend at real shapes, split by stage.

    python benchmarks/bench_neural.py [--weights DIR] [--device cpu|cuda] [--frames 5]
        [--portrait s5] [--driving d3] [--threads N]

Runs the backend's own steps on a real portrait and driving video: decode + track (the driving
source), driving crop + motion extractor, keypoint math + stitching MLP, warping module,
SPADE generator, uint8 + paste-back. Without --weights, deterministic test weights are written to
a temporary folder (timing does not depend on the values). Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from _common import DEFAULT_DATA, cpu_name, load_note, print_table

from vivify.backends import NeuralBackend
from vivify.pipeline import AnimationOptions, Animator, DrivingSource
from vivify.weights import manifest, write_test_weights

STAGES = ("decode + track", "crop + M", "keypoints", "W", "G", "uint8 + paste")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", type=Path)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--frames", type=int, default=5, help="timed frames after one warm-up frame")
    ap.add_argument("--portrait", default="s5")
    ap.add_argument("--driving", default="d3")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        weights = args.weights
        if weights is None:
            weights = Path(tmp)
            write_test_weights(manifest(), 0, weights)
        backend = NeuralBackend(weights, device=args.device)
        animator = Animator(backend)
        source = animator.prepare(args.data / "portraits" / f"{args.portrait}.jpg")
        drv = DrivingSource(args.data / "driving" / f"{args.driving}.mp4", animator.detector,
                            max_frames=args.frames + 1)  # fmt: skip
        options = AnimationOptions()
        state, models = source.state, backend.models
        times: dict[str, list[float]] = {s: [] for s in STAGES}
        reference = None

        def sync() -> None:
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()

        frames = iter(drv)
        for i in range(args.frames + 1):
            marks = [time.perf_counter()]
            frame = next(frames)
            marks.append(time.perf_counter())
            motion = backend.motion(frame)
            reference = reference or motion
            sync()
            marks.append(time.perf_counter())
            with torch.inference_mode():
                x_d = backend.driving_keypoints(state, [motion], reference, options)
                sync()
                marks.append(time.perf_counter())
                warped = models.warping_module(state.features, x_d, state.x_s)
                sync()
                marks.append(time.perf_counter())
                image = models.spade_generator(warped.out)
                sync()
                marks.append(time.perf_counter())
            backend.paste(state, backend.to_uint8(image)[0])
            marks.append(time.perf_counter())
            if i == 0:
                continue  # warm-up
            for k, name in enumerate(STAGES):
                times[name].append(1000 * (marks[k + 1] - marks[k]))
    total = sum(statistics.median(v) for v in times.values())
    rows = [[name, f"{statistics.median(v):.1f}", f"{100 * statistics.median(v) / total:.0f} %"]
            for name, v in times.items()]  # fmt: skip
    rows.append(["**total**", f"{total:.1f}", "100 %"])
    device = cpu_name() if args.device == "cpu" else torch.cuda.get_device_name()
    print_table(
        f"Neural backend per frame: {args.portrait} x {args.driving}, {args.device} ({device}), float32, "
        f"batch 1, {torch.get_num_threads()} threads",
        ["stage", "ms/frame (median)", "share"],
        rows,
        note=f"median over {args.frames} frames after one warm-up; {load_note()} at the end",
    )


if __name__ == "__main__":
    main()
