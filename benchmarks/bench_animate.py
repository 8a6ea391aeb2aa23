"""End-to-end speed of `vivify animate` on the mesh backend, split by stage.

    python benchmarks/bench_animate.py [--portrait s2] [--driving d0] [--size 1024] [--frames 60]

The portrait is resized so its longer side is --size (default 1024); the driving video is used as
is (512x512 for d0). Prints ms/frame per stage (median) and the end-to-end frames/s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from vivify.backends import MeshWarpBackend
from vivify.face import FaceTracker, MediaPipeFaceDetector
from vivify.io import VideoReader, VideoWriter, load_image
from vivify.motion.mesh import transfer
from vivify.pipeline import AnimationOptions, Animator

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--portrait", default="s2")
    ap.add_argument("--driving", default="d0")
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--preset", default="medium", help="x264 preset (medium: the Animator default)")
    args = ap.parse_args()
    image = load_image(args.data / "portraits" / f"{args.portrait}.jpg")
    k = args.size / max(image.shape[:2])
    image = cv2.resize(image, (round(image.shape[1] * k) // 2 * 2, round(image.shape[0] * k) // 2 * 2),
                       interpolation=cv2.INTER_AREA)  # fmt: skip
    stages: dict[str, list[float]] = {s: [] for s in ("decode", "track", "transfer", "warp", "encode")}
    with MediaPipeFaceDetector() as detector, tempfile.TemporaryDirectory() as tmp:
        face = detector.detect(image)[0]
        backend = MeshWarpBackend()
        t0 = time.perf_counter()
        state = backend.prepare(image, face)
        prepare_ms = 1000 * (time.perf_counter() - t0)
        driving = args.data / "driving" / f"{args.driving}.mp4"
        start = time.perf_counter()
        with (
            VideoReader(driving, max_frames=args.frames) as reader,
            VideoWriter(Path(tmp) / "o.mp4", 25, preset=args.preset) as out,
        ):
            tracker = FaceTracker(detector, fps=reader.info.fps)
            frames = iter(reader)
            reference = None
            n = 0
            while True:
                t = time.perf_counter()
                frame = next(frames, None)
                if frame is None:
                    break
                t1 = time.perf_counter()
                tracked = tracker.update(frame)
                t2 = time.perf_counter()
                lm = tracked.face.landmarks if tracked else reference
                reference = lm if reference is None else reference
                target = transfer(face.landmarks, lm, reference)
                t3 = time.perf_counter()
                result = backend.warp(state, target)
                t4 = time.perf_counter()
                out.write(result)
                t5 = time.perf_counter()
                marks = (t, t1, t2, t3, t4, t5)
                for i, name in enumerate(stages):
                    stages[name].append(1000 * (marks[i + 1] - marks[i]))
                n += 1
        total = time.perf_counter() - start
        # the product path: Animator.animate overlaps decode+track, render and encode in threads
        animator = Animator(backend, detector=detector)
        options = AnimationOptions(max_frames=args.frames, keep_audio=False, preset=args.preset)
        t0 = time.perf_counter()
        animator.animate(image, driving, Path(tmp) / "a.mp4", options)
        threaded = time.perf_counter() - t0
    size = f"{image.shape[1]}x{image.shape[0]}"
    print(f"portrait {args.portrait} at {size}, driving {args.driving} ({n} frames), mesh backend, CPU, "
          f"x264 {args.preset}; prepare {prepare_ms:.0f} ms once\n")  # fmt: skip
    print("| stage | ms/frame (median) | ms/frame (mean) |")
    print("|---|---:|---:|")
    for name, values in stages.items():
        print(f"| {name} | {statistics.median(values):.1f} | {np.mean(values):.1f} |")
    print(f"\nend to end (incl. the final flush and audio-less mux): {n / total:.1f} frames/s, "
          f"{1000 * total / n:.1f} ms/frame")  # fmt: skip
    print(f"end to end through Animator.animate (threaded stages, incl. source detection): "
          f"{n / threaded:.1f} frames/s, {1000 * threaded / n:.1f} ms/frame")  # fmt: skip


if __name__ == "__main__":
    main()
