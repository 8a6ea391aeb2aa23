"""The render checks (``vivify.render_checks``) of the mesh backend, per portrait x driver.

Usage: python benchmarks/bench_mesh_checks.py [--portraits s9,s10] [--drivers d0,d3] [--max-frames 200]
       [--data DIR]
       python benchmarks/bench_mesh_checks.py --calibrate [--data DIR]

Animates each pair through the Animator, recording the target landmarks handed to the renderer,
and prints per pair the worst frame of each check: seam (output / source gradient across the
paste-back boundary, limit 1.3), streaks (pixels outside the face core changed beyond what motion
explains, limit 0), mouth interior (open-mouth frames: darkness vs the lips >= 0.25 and luminance
std > MOUTH_MIN_STD) and closed eyes (lid colour within the source's lid range, iris-coloured
fraction <= 1 %). ``--calibrate`` measures the same mouth and eye figures on the real faces of the
driving videos, the data the thresholds rest on. Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Set
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from _common import DEFAULT_DATA, cpu_name, fmt, load_note, now, print_table

from vivify import render_checks as rc
from vivify.face.openness import eye_open_ratios, lip_open

DRIVERS = ("d0", "d3", "d12", "d19")
CALIBRATION_MOUTHS = ("d0", "d3", "d19")
CALIBRATION_EYES = ("d0", "d6", "d9", "d12", "d14", "d18")


@dataclass
class PairRun:
    """One rendered pair: the checks of every frame and the frames asked to be kept."""

    name: str
    checks: list[rc.FrameChecks]  # empty when the backend renders through no landmark warp
    targets: np.ndarray  # (T, 478, 3) the target landmarks handed to the renderer (T = 0: none)
    source_landmarks: np.ndarray  # (478, 3)
    kept: dict[int, np.ndarray] = field(default_factory=dict)  # frame index -> (H, W, 3) frame
    wall_s: float = 0.0


def portrait_names(data: Path) -> list[str]:
    """Every shared portrait, by name (s0, s2, ...), in numeric order."""
    return sorted((p.stem for p in (data / "portraits").glob("*.jpg")), key=lambda s: int(s[1:]))


def checkable(backend) -> bool:
    """Whether the checks can run: the backend warps to target landmarks within a footprint."""
    return hasattr(backend, "warp") and hasattr(backend, "footprint")


def run_pair(
    animator, source: Path, driving: Path, max_frames: int | None, keep: Set[int] = frozenset()
) -> PairRun:
    """Animate ``source`` with ``driving`` and run every check on every frame (constant memory).

    Args:
        animator: a ``vivify.pipeline.Animator``; the checks run when its backend is
            :func:`checkable` (the mesh backend), otherwise the frames are only rendered.
        keep: frame indices whose rendered frames are returned (for a contact sheet).

    Raises:
        vivify.errors.NoFaceError: no face in the source.
    """
    from vivify.pipeline import AnimationOptions, DrivingSource  # noqa: PLC0415

    t0 = now()
    backend = animator.backend
    prepared = animator.prepare(source)
    checker = None
    if checkable(backend):
        checker = rc.FrameChecker(prepared.image, prepared.landmarks, backend.footprint(prepared.state))
    drv = DrivingSource(driving, animator.detector, max_frames=max_frames)
    options = AnimationOptions(max_frames=max_frames, watermark=False)
    checks, kept = [], {}
    with rc.recording_targets(backend) if checker else nullcontext([]) as targets:
        for i, frame in enumerate(animator.frames(prepared, drv, options)):
            if checker is not None:
                if len(targets) != i + 1:
                    raise RuntimeError(f"frame {i}: {len(targets)} warps recorded, expected one per frame")
                checks.append(checker.update(frame, targets[i]))
            if i in keep:
                kept[i] = frame
    stacked = np.stack(targets) if targets else np.empty((0, *prepared.landmarks.shape))
    return PairRun(f"{source.stem} x {driving.stem}", checks, stacked, prepared.landmarks, kept, now() - t0)


def _worst(values: list[tuple[float, int]], largest: bool = True) -> str:
    """'value @frame' of the worst of (value, frame) pairs, '-' when none."""
    values = [(v, i) for v, i in values if np.isfinite(v)]
    if not values:
        return "-"
    value, index = (max if largest else min)(values)
    return f"{fmt(value, 2)} @{index}"


def summary_row(run: PairRun) -> list[str]:
    """The table row of one pair: per check, failing frames / measured frames and the worst frame."""
    checks = run.checks
    streaks = [c for c in checks if c.streaks is not None]
    mouths = [c for c in checks if c.mouth.applies]
    eyes = [(c.index, e) for c in checks for e in c.eyes if e.applies]
    return [
        run.name,
        str(len(checks)),
        f"{sum(not c.seam.passed for c in checks)}/{len(checks)}",
        _worst([(c.seam.ratio, c.index) for c in checks]),
        _worst([(c.seam.local_ratio, c.index) for c in checks]),
        f"{sum(not c.streaks.passed for c in streaks)}/{len(streaks)}",
        _worst([(float(c.streaks.unexplained), c.index) for c in streaks]).replace(".00", ""),
        _worst([(c.streaks.worst_excess, c.index) for c in streaks]),
        f"{sum(not c.mouth.passed for c in mouths)}/{len(mouths)}",
        _worst([(c.mouth.darkness, c.index) for c in mouths], largest=False),
        _worst([(c.mouth.interior_std, c.index) for c in mouths], largest=False),
        f"{sum(not e.passed for _, e in eyes)}/{len(eyes)}",
        f"{sum(not e.colour_in_range for _, e in eyes)}",
        _worst([(e.iris_fraction, i) for i, e in eyes]),
        fmt(run.wall_s, 1),
    ]


def print_summary(runs: list[PairRun], title: str) -> None:
    headers = ["pair", "frames", "seam fail", "seam max", "seam local max", "streak fail", "unexplained max",
               "excess max", "mouth fail", "darkness min", "std min", "eye fail", "lid colour out",
               "iris frac max", "wall s"]  # fmt: skip
    print_table(
        title,
        headers,
        [summary_row(r) for r in runs],
        note="fail: failing / measured frames (streaks: frame pairs; mouth: lip gap > "
        f"{rc.MOUTH_OPEN_GAP}; eye: eyes with ratio < {rc.EYE_CLOSED_RATIO}). 'v @i': worst value, frame. "
        f"Limits: seam <= {rc.SEAM_MAX_RATIO} (seam local: the worst {rc.SEAM_TILE}-px stretch of the "
        f"boundary, no limit set); unexplained = 0 (tolerance {rc.STREAK_TOLERANCE:.0f} grey); "
        f"darkness >= {rc.MOUTH_MIN_DARKNESS}, std > {rc.MOUTH_MIN_STD}; lid colour within the source's "
        f"2-98 % range; iris fraction <= {rc.IRIS_MAX_FRACTION}. wall s: render + checks.",
    )


# --- calibration on real faces ------------------------------------------------------------------


def _tracked(path: Path, detector) -> tuple[np.ndarray, list[np.ndarray]]:
    """(T, 478, 3) raw tracked landmarks (NaN where lost) and the decoded frames of a video."""
    from vivify.io import VideoReader  # noqa: PLC0415
    from vivify.metrics import track_video_landmarks  # noqa: PLC0415

    with VideoReader(path) as reader:
        frames = list(reader)
    return track_video_landmarks(path, detector), frames


def _percentiles(values: list[float], qs: tuple[float, ...] = (0, 1, 5, 50), digits: int = 2) -> str:
    if not values:
        return "-"
    return " / ".join(fmt(float(v), digits) for v in np.percentile(values, qs))


def calibrate_mouths(data: Path, detector, names: tuple[str, ...] = CALIBRATION_MOUTHS) -> None:
    """The mouth figures of real open mouths (lip gap > MOUTH_OPEN_GAP) in driving videos."""
    rows, every = [], {"std": [], "dark": [], "shadow": []}
    for name in names:
        landmarks, frames = _tracked(data / "driving" / f"{name}.mp4", detector)
        found = np.isfinite(landmarks).all(axis=(1, 2))
        fig = {"std": [], "dark": [], "shadow": []}
        for i in np.flatnonzero(found):
            if lip_open(landmarks[i]) > rc.MOUTH_OPEN_GAP:
                m = rc.mouth_check(frames[i], landmarks[i])
                fig["std"].append(m.interior_std)
                fig["dark"].append(m.darkness)
                fig["shadow"].append(m.shadow_darkness)
        for k in every:
            every[k] += fig[k]
        rows.append([name, len(fig["std"]), _percentiles(fig["std"]), _percentiles(fig["dark"]),
                     _percentiles(fig["shadow"]),
                     fmt(float(np.mean(np.array(fig["dark"]) >= rc.MOUTH_MIN_DARKNESS)), 2)])  # fmt: skip
    rows.append(["all", len(every["std"]), _percentiles(every["std"]), _percentiles(every["dark"]),
                 _percentiles(every["shadow"]),
                 fmt(float(np.mean(np.array(every["dark"]) >= rc.MOUTH_MIN_DARKNESS)), 2)])  # fmt: skip
    print_table(
        "Real open mouths: interior figures",
        [
            "video",
            "frames",
            "std min / p1 / p5 / median",
            "darkness min / p1 / p5 / median",
            "shadow darkness min / p1 / p5 / median",
            f"share darkness >= {rc.MOUTH_MIN_DARKNESS}",
        ],  # fmt: skip
        rows,
        note=f"Frames with lip gap > {rc.MOUTH_OPEN_GAP}, landmarks tracked on the video itself. "
        f"MOUTH_MIN_STD = {rc.MOUTH_MIN_STD}. darkness: 1 - interior mean / lips mean luminance; "
        "shadow: of the interior's 10th percentile.",
    )


def _eye_source(ratios: np.ndarray, i: int, exclude: bool) -> int | None:
    """The most open frame within 50 frames of ``i`` (same light), None when none is open."""
    lo, hi = max(0, i - 50), min(len(ratios), i + 51)
    window = np.where(np.isfinite(ratios[lo:hi]), ratios[lo:hi], -1.0)
    if exclude:
        window[i - lo] = -1.0
    best = lo + int(np.argmax(window))
    return best if window[best - lo] >= 0.22 else None


def calibrate_eyes(data: Path, detector, names: tuple[str, ...] = CALIBRATION_EYES) -> None:
    """The closed-eye check on real blinks (must pass) and on open eyes (must fail)."""
    rows = []
    for name in names:
        landmarks, frames = _tracked(data / "driving" / f"{name}.mp4", detector)
        found = np.isfinite(landmarks).all(axis=(1, 2))
        ratios = np.where(found, eye_open_ratios(np.nan_to_num(landmarks)).mean(axis=1), np.nan)
        closed, opened = [], []
        for i in np.flatnonzero(found):
            for k, ratio in enumerate(eye_open_ratios(landmarks[i])):
                is_closed = ratio < rc.EYE_CLOSED_RATIO
                if not is_closed and (ratio < 0.22 or i % 7):  # every 7th clearly open eye
                    continue
                src = _eye_source(ratios, i, exclude=not is_closed)
                if src is None:
                    continue
                ref = rc.eye_references(frames[src], landmarks[src])[k]
                check = rc.closed_eye_check(frames[i], landmarks[i], ref)
                (closed if is_closed else opened).append(check)
        rows.append([name, *_eye_row(closed), *_eye_row(opened)])
    print_table(
        "Real eyes: closed-eye check",
        [
            "video",
            "closed eyes",
            "pass",
            "colour in range",
            "iris frac min / median / max",
            "open eyes",
            "pass",
            "colour in range",
            "iris frac min / median / max",
        ],  # fmt: skip
        rows,
        note="Each eye against the most open frame within 50 frames (same light) as the source. "
        f"Closed: ratio < {rc.EYE_CLOSED_RATIO} (the check should pass); open: ratio >= 0.22, every 7th "
        "frame, judged as if closed (it should fail).",
    )


def _eye_row(checks: list[rc.ClosedEyeCheck]) -> list[str]:
    if not checks:
        return ["0", "-", "-", "-"]
    in_range = fmt(float(np.mean([c.colour_in_range for c in checks])), 2)
    allowed = [max(rc.IRIS_MAX_FRACTION * c.region_pixels, rc.IRIS_STRAY_PIXELS) for c in checks]
    passed = sum(c.colour_in_range and c.iris_pixels <= a for c, a in zip(checks, allowed, strict=True))
    fractions = _percentiles([c.iris_fraction for c in checks], (0, 50, 100), 3)
    return [str(len(checks)), f"{passed}/{len(checks)}", in_range, fractions]


# --- command line -------------------------------------------------------------------------------


def parse_args(description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None):
    """The command line shared with ``contact_sheet.py``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="media folder (default: %(default)s)")
    parser.add_argument("--portraits", help="comma-separated (default: every shared portrait)")
    parser.add_argument("--drivers", help=f"comma-separated (default: {','.join(DRIVERS)})")
    parser.add_argument("--max-frames", type=int, default=None, help="frames per pair (default: all)")
    parser.add_argument("--backend", default="mesh", help="render backend (default: %(default)s)")
    if extra:
        extra(parser)
    args = parser.parse_args()
    args.data = args.data.resolve()
    if not args.data.is_dir():
        parser.error(f"data folder not found: {args.data}")
    args.portraits = args.portraits.split(",") if args.portraits else portrait_names(args.data)
    args.drivers = args.drivers.split(",") if args.drivers else list(DRIVERS)
    return args


def main() -> None:
    args = parse_args(
        __doc__.splitlines()[0],
        lambda p: p.add_argument(
            "--calibrate", action="store_true", help="measure the thresholds' data"
        ),  # fmt: skip
    )
    from vivify.errors import NoFaceError  # noqa: PLC0415
    from vivify.pipeline import Animator  # noqa: PLC0415

    print(f"CPU: {cpu_name()}; {load_note()} at start")
    animator = Animator(backend=args.backend)
    if not args.calibrate and not checkable(animator.backend):
        raise SystemExit(f"the checks need a backend with warp() and footprint() (mesh), not {args.backend}")
    if args.calibrate:
        calibrate_mouths(args.data, animator.detector)
        calibrate_eyes(args.data, animator.detector)
        return
    runs = []
    for p in args.portraits:
        for d in args.drivers:
            try:
                runs.append(run_pair(animator, args.data / "portraits" / f"{p}.jpg",
                                     args.data / "driving" / f"{d}.mp4", args.max_frames))  # fmt: skip
            except NoFaceError:
                print(f"{p}: no face found, skipped", flush=True)
                break
            print(f"checked {runs[-1].name} ({runs[-1].wall_s:.1f} s)", flush=True)
    print_summary(runs, f"{args.backend} backend: render checks")


if __name__ == "__main__":
    main()
