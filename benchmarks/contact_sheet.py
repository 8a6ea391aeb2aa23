"""Contact sheets: three telling moments of each portrait x driver animation, to judge by eye.

Usage: python benchmarks/contact_sheet.py [--portraits s9,s10] [--drivers d0,d3,d12,d19]
       [--max-frames N] [--backend mesh] [--out DIR] [--data DIR]

For every pair, the driving video's own signals (``vivify.metrics.motion_signals`` on its tracked
landmarks) pick the frames of the largest head turn (|yaw change| from the first frame), the
widest mouth and the most closed eyes. One PNG per pair, ``<out>/<portrait>_<driver>.png``: a row
per moment, columns source | driver frame | result | the result's face enlarged, each row labelled
with the pair, the frame, the signal and that frame's render checks. Then prints the checks'
table of every pair (as ``bench_mesh_checks.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from _common import cpu_name, load_note
from bench_mesh_checks import PairRun, checkable, parse_args, print_summary, run_pair

from vivify.render_checks import FrameChecks

CELL = 320  # px, each picture's square
LABEL = 44  # px, the two label lines above each row
TITLE = 24  # px, the column titles
COLUMNS = ("source", "driver", "result", "result: face")
BACKDROP = (32, 32, 32)


@dataclass(frozen=True)
class Moment:
    """A frame worth looking at: its index, what it shows and the signal's value."""

    index: int
    what: str
    value: str


@dataclass
class Driver:
    """A driving video's moments and their frames."""

    name: str
    moments: list[Moment]
    frames: dict[int, np.ndarray]  # frame index -> (H, W, 3) driving frame


def pick_moments(landmarks: np.ndarray) -> list[Moment]:
    """The largest head turn, the widest mouth and the most closed eyes of tracked landmarks.

    Args:
        landmarks: (T, 478, 3) tracked landmarks, NaN rows where the face is lost.
    """
    from vivify.metrics import motion_signals  # noqa: PLC0415

    signals = motion_signals(landmarks)
    found = np.flatnonzero(np.isfinite(signals["yaw"]))
    if not len(found):
        raise ValueError("no face tracked in the driving video")
    turn = np.abs(signals["yaw"] - signals["yaw"][found[0]])
    t, m, e = (
        int(np.nanargmax(turn)),
        int(np.nanargmax(signals["lip_open"])),
        int(np.nanargmin(signals["eye_open"])),
    )
    return [
        Moment(
            t,
            "head turn",
            f"yaw {signals['yaw'][t] - signals['yaw'][found[0]]:+.1f} deg from frame {found[0]}",
        ),
        Moment(m, "widest mouth", f"lip gap {signals['lip_open'][m]:.2f}"),
        Moment(e, "eyes most closed", f"eye ratio {signals['eye_open'][e]:.2f}"),
    ]


def load_driver(path: Path, detector, max_frames: int | None) -> Driver:
    """Track a driving video, pick its moments and keep their frames."""
    from vivify.io import VideoReader  # noqa: PLC0415
    from vivify.metrics import track_video_landmarks  # noqa: PLC0415

    moments = pick_moments(track_video_landmarks(path, detector, max_frames=max_frames))
    wanted = {m.index for m in moments}
    with VideoReader(path, max_frames=max_frames) as reader:
        frames = {i: frame for i, frame in enumerate(reader) if i in wanted}
    return Driver(path.stem, moments, frames)


def fit(image: np.ndarray, size: int = CELL) -> np.ndarray:
    """(H, W, 3) -> (size, size, 3): scaled to fit, centred on the backdrop."""
    scale = size / max(image.shape[:2])
    h, w = max(1, round(image.shape[0] * scale)), max(1, round(image.shape[1] * scale))
    cell = np.full((size, size, 3), BACKDROP, np.uint8)
    y, x = (size - h) // 2, (size - w) // 2
    cell[y : y + h, x : x + w] = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    return cell


def face_zoom(frame: np.ndarray, landmarks: np.ndarray, margin: float = 0.12) -> np.ndarray:
    """The square around the face's landmarks (478, 2+), grown by ``margin``, enlarged to a cell."""
    lo, hi = landmarks[:, :2].min(axis=0), landmarks[:, :2].max(axis=0)
    centre, half = (lo + hi) / 2, (1 + margin) * (hi - lo).max() / 2
    x0, y0 = np.maximum(np.floor(centre - half).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(centre + half).astype(int), [frame.shape[1], frame.shape[0]])
    return fit(frame[y0:y1, x0:x1])


def check_line(checks: FrameChecks | None) -> str:
    """The render checks of one frame, in one line (target lip gap and eye ratios included)."""
    if checks is None:
        return "no render checks (the backend has no landmark warp)"
    streaks = "-" if checks.streaks is None else f"{checks.streaks.unexplained} px"
    m = checks.mouth
    mouth = f"lip gap {m.lip_gap:.2f}"
    if m.applies:
        mouth += f" dark {m.darkness:.2f} std {m.interior_std:.0f}"
    eyes = " ".join(
        f"{e.eye[0].upper()} {e.open_ratio:.2f}" + (f" iris {e.iris_fraction:.0%}" if e.applies else "")
        for e in checks.eyes
    )
    failed = [name for name, ok in _passes(checks).items() if not ok]
    verdict = f"FAIL {', '.join(failed)}" if failed else "ok"
    seam = f"seam {checks.seam.ratio:.2f} (local {checks.seam.local_ratio:.2f})"
    return f"{seam} | streaks {streaks} | {mouth} | eyes {eyes} | {verdict}"


def _passes(c: FrameChecks) -> dict[str, bool]:
    return {
        "seam": c.seam.passed,
        "streaks": c.streaks is None or c.streaks.passed,
        "mouth": c.mouth.passed,
        "eyes": all(e.passed for e in c.eyes),
    }


def _text(image: np.ndarray, text: str, y: int, scale: float = 0.5) -> None:
    cv2.putText(image, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (235, 235, 235), 1, cv2.LINE_AA)


def sheet(run: PairRun, source: np.ndarray, driver: Driver) -> np.ndarray:
    """(H, W, 3) uint8 grid: a titled row per moment of the pair."""
    width = CELL * len(COLUMNS)
    title = np.full((TITLE, width, 3), BACKDROP, np.uint8)
    for k, name in enumerate(COLUMNS):
        cv2.putText(
            title, name, (k * CELL + 8, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (200, 200, 120), 1, cv2.LINE_AA
        )
    rows = [title]
    for moment in driver.moments:
        result = run.kept.get(moment.index)
        if result is None:
            continue  # the render stopped before this frame
        target = run.targets[moment.index] if len(run.targets) else run.source_landmarks
        checks = run.checks[moment.index] if run.checks else None
        label = np.full((LABEL, width, 3), BACKDROP, np.uint8)
        _text(label, f"{run.name}  frame {moment.index}  {moment.what}: {moment.value}", 18, 0.55)
        _text(label, check_line(checks), 38, 0.45)
        cells = [fit(source), fit(driver.frames[moment.index]), fit(result), face_zoom(result, target)]
        rows += [label, np.concatenate(cells, axis=1)]
    return np.concatenate(rows, axis=0)


def main() -> None:
    args = parse_args(
        __doc__.splitlines()[0],
        lambda p: p.add_argument(
            "--out", type=Path, default=Path("contact_sheets"), help="(default: %(default)s)"
        ),
    )
    from vivify.errors import NoFaceError  # noqa: PLC0415
    from vivify.io import load_image, save_image  # noqa: PLC0415
    from vivify.pipeline import Animator  # noqa: PLC0415

    print(f"CPU: {cpu_name()}; {load_note()} at start")
    animator = Animator(backend=args.backend)
    drivers = [
        load_driver(args.data / "driving" / f"{d}.mp4", animator.detector, args.max_frames)
        for d in args.drivers
    ]
    runs = []
    for p in args.portraits:
        path = args.data / "portraits" / f"{p}.jpg"
        for driver in drivers:
            wanted = {m.index for m in driver.moments}
            try:
                run = run_pair(
                    animator, path, args.data / "driving" / f"{driver.name}.mp4", args.max_frames, wanted
                )
            except NoFaceError:
                print(f"{p}: no face found, skipped", flush=True)
                break
            out = args.out / f"{p}_{driver.name}.png"
            save_image(out, sheet(run, load_image(path), driver))
            print(f"wrote {out} ({run.wall_s:.1f} s)", flush=True)
            runs.append(run)
    if checkable(animator.backend):
        print_summary(runs, f"{args.backend} backend: render checks (worst frame of each)")


if __name__ == "__main__":
    main()
