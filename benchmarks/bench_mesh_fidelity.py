"""Acceptance table of the mesh backend: motion fidelity, jitter and background integrity.

Usage: python benchmarks/bench_mesh_fidelity.py [--portraits s0,s2] [--drivers d0,d3] [--max-frames 120]
       [--quick] [--data DIR] [--keep DIR]

Animates every human portrait with every driving video (``Animator(backend="mesh")``), tracks the
driving and the output videos, and prints per pair: r and MAE of eye_open, lip_open, yaw, pitch,
roll in relative mode ("-" where the driving motion is not meaningful), output / driving landmark
jitter, background PSNR outside the SOURCE face region grown by 20 %, and the animation wall time.
Definitions: shared/docs/metrics.md. Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _common import DEFAULT_DATA, cpu_name, fmt, load_note, now, print_table

from vivify.face import MediaPipeFaceDetector
from vivify.io import VideoReader, VideoWriter, load_image
from vivify.metrics import (
    SIGNALS,
    FidelityReport,
    background_psnr,
    face_region_mask,
    fidelity,
    landmark_jitter,
    motion_signals,
    track_video_landmarks,
)

PORTRAITS = ("s0", "s2", "s5", "s6", "s7", "s9", "s10", "s12", "s42")
DRIVERS = ("d0", "d3", "d9", "d14", "d19")
SHORT = {"eye_open": "eye", "lip_open": "lip", "yaw": "yaw", "pitch": "pitch", "roll": "roll"}
PSNR_CAP = 100.0  # dB given to frames identical outside the face, so that a mean stays finite
GOOD_R = 0.85


@dataclass
class Driver:
    path: Path
    landmarks: np.ndarray  # (T, 478, 3)
    signals: dict[str, np.ndarray]
    jitter: float


@dataclass
class PairResult:
    name: str
    frames: str
    report: FidelityReport
    jitter_ratio: float
    psnr_mean: float
    psnr_min: float
    raw_psnr_mean: float
    raw_psnr_min: float
    wall_s: float
    target_jitter_ratio: float = float("nan")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="media folder (default: %(default)s)")
    parser.add_argument("--portraits", help=f"comma-separated (default: {','.join(PORTRAITS)})")
    parser.add_argument("--drivers", help=f"comma-separated (default: {','.join(DRIVERS)})")
    parser.add_argument("--max-frames", type=int, default=120, help="frames per pair (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="2 portraits x 2 drivers x 40 frames")
    parser.add_argument("--keep", type=Path, help="write the output videos here instead of a temp folder")
    # Measures the driving video against itself (no animation): every meaningful r must be 1.0.
    parser.add_argument("--self-check", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.data = args.data.resolve()
    if not args.data.is_dir():
        parser.error(f"data folder not found: {args.data}")
    args.portraits = (
        args.portraits.split(",") if args.portraits else list(PORTRAITS[:2] if args.quick else PORTRAITS)
    )
    args.drivers = args.drivers.split(",") if args.drivers else list(DRIVERS[:2] if args.quick else DRIVERS)
    if args.quick and args.max_frames == parser.get_default("max_frames"):
        args.max_frames = 40
    return args


def load_animator():
    """The mesh Animator and its options class; exits with a clear message when not available yet."""
    try:
        from vivify.pipeline import AnimationOptions, Animator
    except ImportError as exc:
        sys.exit(
            f"bench_mesh_fidelity: cannot import the animation API ({exc}).\n"
            "It needs `from vivify.pipeline import Animator, AnimationOptions`; run with --self-check "
            "to test the measurement on the driving videos alone."
        )
    return Animator(backend="mesh"), AnimationOptions


def track_driver(path: Path, det: MediaPipeFaceDetector, max_frames: int) -> Driver:
    lm = track_video_landmarks(path, det, max_frames=max_frames)
    return Driver(path, lm, motion_signals(lm), landmark_jitter(lm))


def psnr_over_frames(
    video: Path, source: np.ndarray, mask: np.ndarray, max_frames: int
) -> tuple[float, float]:
    """(mean, min) per-frame background PSNR of ``video`` against ``source``, capped at PSNR_CAP."""
    values = []
    with VideoReader(video, max_frames=max_frames) as reader:
        for frame in reader:
            # the writer pads odd sizes by one edge row/column to keep H.264 happy
            frame = frame[: source.shape[0], : source.shape[1]]
            if frame.shape != source.shape:
                raise ValueError(f"{video.name}: frame {frame.shape} differs from the source {source.shape}")
            values.append(min(background_psnr(frame, source, mask), PSNR_CAP))
    return float(np.mean(values)), float(np.min(values))


def render_pair(
    animator,
    options_cls,
    src_path: Path,
    driving: Path,
    out: Path,
    source: np.ndarray,
    mask: np.ndarray,
    max_frames: int,
) -> tuple[Path, tuple[float, float]]:
    """Animate one pair through the Animator into ``out``.

    Returns the output path, the (mean, min) background PSNR of the rendered frames and the jitter
    of the target landmarks handed to the renderer (the motion put in, before any re-tracking).
    """
    from vivify.pipeline import DrivingSource  # noqa: PLC0415

    options = options_cls(max_frames=max_frames)
    prepared = animator.prepare(src_path)
    drv = DrivingSource(driving, animator.detector, max_frames=max_frames)
    values, targets = [], []
    backend = animator.backend
    warp = backend.warp

    def recording_warp(state, target, canvas=None):  # the landmarks the renderer is asked for
        targets.append(np.array(target, np.float64))
        return warp(state, target, canvas)

    backend.warp = recording_warp
    try:
        with VideoWriter(out, drv.fps or 25.0) as writer:
            for frame in animator.frames(prepared, drv, options):
                values.append(min(background_psnr(frame, source, mask), PSNR_CAP))
                writer.write(frame)
    finally:
        del backend.warp
    return out, (float(np.mean(values)), float(np.min(values))), landmark_jitter(np.stack(targets))


def measure_pair(
    name: str,
    driver: Driver,
    output: Path,
    source: np.ndarray,
    mask: np.ndarray,
    det,
    max_frames: int,
    wall_s: float,
    raw_psnr: tuple[float, float] = (float("nan"), float("nan")),
) -> PairResult:
    out_lm = track_video_landmarks(output, det, max_frames=max_frames)
    report = fidelity(driver.signals, motion_signals(out_lm), relative=True)
    psnr_mean, psnr_min = psnr_over_frames(output, source, mask, max_frames)
    n_drv = len(driver.landmarks)
    return PairResult(
        name=name,
        frames=f"{report.n_frames}/{n_drv}",
        report=report,
        jitter_ratio=landmark_jitter(out_lm) / driver.jitter,
        psnr_mean=psnr_mean,
        psnr_min=psnr_min,
        raw_psnr_mean=raw_psnr[0],
        raw_psnr_min=raw_psnr[1],
        wall_s=wall_s,
    )


def print_results(results: list[PairResult], title: str) -> None:
    headers = ["pair", "frames"] + [f"r_{SHORT[s]}" for s in SIGNALS] + [f"MAE {SHORT[s]}" for s in SIGNALS]
    headers += ["jitter out/drv", "jitter rendered/drv", "bg PSNR rendered (min)", "bg PSNR encoded (min)"]
    headers += ["wall s"]

    def row(name: str, frames: str, r: list, mae: list, jit: float, tjit: float, raw: str, psnr: str,
            wall: float) -> list:  # fmt: skip
        return [
            name,
            frames,
            *[fmt(v, 3) for v in r],
            *[fmt(v, 3) for v in mae],
            fmt(jit, 2),
            fmt(tjit, 2),
            raw,
            psnr,
            fmt(wall, 1),
        ]

    rows = [
        row(
            p.name,
            p.frames,
            [p.report.r[s] for s in SIGNALS],
            [p.report.mae[s] for s in SIGNALS],
            p.jitter_ratio,
            p.target_jitter_ratio,
            f"{fmt(p.raw_psnr_mean, 1)} ({fmt(p.raw_psnr_min, 1)})",
            f"{fmt(p.psnr_mean, 1)} ({fmt(p.psnr_min, 1)})",
            p.wall_s,
        )
        for p in results
    ]

    def mean(values: list) -> float:
        vals = [v for v in values if v is not None and np.isfinite(v)]
        return float(np.mean(vals)) if vals else float("nan")

    def mean_min(pairs: list[tuple[float, float]]) -> str:
        return f"{fmt(mean([a for a, _ in pairs]), 1)} ({fmt(mean([b for _, b in pairs]), 1)})"

    rows.append(
        row(
            "**mean**",
            f"{len(results)} pairs",
            [mean([p.report.r[s] for p in results]) for s in SIGNALS],
            [mean([p.report.mae[s] for p in results]) for s in SIGNALS],
            mean([p.jitter_ratio for p in results]),
            mean([p.target_jitter_ratio for p in results]),
            mean_min([(p.raw_psnr_mean, p.raw_psnr_min) for p in results]),
            mean_min([(p.psnr_mean, p.psnr_min) for p in results]),
            mean([p.wall_s for p in results]),
        )
    )
    print_table(
        title,
        headers,
        rows,
        note="Relative mode. r: Pearson of output vs driving, '-' where the driving std is not meaningful "
        "(ratio <= 0.02, angle <= 1.5 deg); mean r is over pairs where it is. MAE in ratio units / degrees. "
        "frames: frames with a face in both videos / driving frames. jitter: output (re-tracked) / driving "
        "landmark jitter; 'rendered': of the target landmarks given to the renderer. "
        "bg PSNR: mean (min) over frames outside the source face oval grown 20 %, frames capped "
        f"at {PSNR_CAP:.0f} dB; 'rendered' on the frames the renderer returns, 'encoded' on the MP4 "
        "(H.264 crf 18, so it includes the encoder's loss). wall s: animation time of the pair. "
        f"Good: r >= {GOOD_R}, jitter <= 1.1, PSNR >= 40.",
    )
    summary = []
    for s in SIGNALS:
        rs = [p.report.r[s] for p in results if p.report.r[s] is not None]
        good = sum(r >= GOOD_R for r in rs)
        summary.append([SHORT[s], len(rs), mean(rs), min(rs) if rs else None, f"{good}/{len(rs)}"])
    print_table(
        f"{title}: per signal",
        ["signal", "meaningful pairs", "mean r", "min r", f"pairs r >= {GOOD_R}"],
        [[c if not isinstance(c, float) else fmt(c, 3) for c in r] for r in summary],
    )


def main() -> None:
    args = parse_args()
    animator, options_cls = (None, None) if args.self_check else load_animator()
    print(f"CPU: {cpu_name()}; {load_note()} at start; max {args.max_frames} frames per pair")
    out_dir_ctx = tempfile.TemporaryDirectory(prefix="vivify_bench_")
    out_dir = args.keep or Path(out_dir_ctx.name)
    out_dir.mkdir(parents=True, exist_ok=True)
    results: list[PairResult] = []
    with MediaPipeFaceDetector() as det, out_dir_ctx:
        drivers = {
            d: track_driver(args.data / "driving" / f"{d}.mp4", det, args.max_frames) for d in args.drivers
        }
        if args.self_check:
            for d, drv in drivers.items():
                with VideoReader(drv.path, max_frames=1) as reader:
                    first = next(iter(reader))
                mask = face_region_mask(drv.landmarks[0], first.shape)
                results.append(
                    measure_pair(f"{d} vs itself", drv, drv.path, first, mask, det, args.max_frames, 0.0)
                )
                print(f"measured {results[-1].name}", flush=True)
            print_results(results, "Self-check: driving videos against themselves")
            return
        for p in args.portraits:
            src_path = args.data / "portraits" / f"{p}.jpg"
            source = load_image(src_path)
            faces = det.detect(source)
            if not faces:
                print(f"{p}: no face found, skipped", flush=True)
                continue
            mask = face_region_mask(faces[0].landmarks, source.shape)
            for d, drv in drivers.items():
                t0 = now()
                video = out_dir / f"{p}_{d}.mp4"
                out, raw, target_jitter = render_pair(
                    animator, options_cls, src_path, drv.path, video, source, mask, args.max_frames
                )
                wall = now() - t0
                results.append(
                    measure_pair(f"{p} x {d}", drv, out, source, mask, det, args.max_frames, wall, raw)
                )
                results[-1].target_jitter_ratio = target_jitter / drv.jitter
                print(f"measured {results[-1].name} ({wall:.1f} s)", flush=True)
        print_results(results, "Mesh backend: motion fidelity, stability, background")


if __name__ == "__main__":
    main()
