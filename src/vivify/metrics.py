"""Measures of an animation's quality, as defined in ``shared/docs/metrics.md``.

Motion fidelity (eye/lip openness and head angles of the output vs the driving video), temporal
stability (landmark jitter) and background integrity (PSNR outside the grown face region), plus the
plain :func:`psnr` of two images. All are pure functions on landmark arrays and frames except
:func:`track_video_landmarks`, which runs the face tracker over a video.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vivify.face import FaceDetector, FaceTracker
from vivify.face import landmarks as L
from vivify.face.geometry import head_pose
from vivify.face.openness import eye_open, lip_open
from vivify.io import VideoReader

SIGNALS: tuple[str, ...] = ("eye_open", "lip_open", "yaw", "pitch", "roll")
#: Driving standard deviation above which a signal has meaningful motion (ratios; degrees).
MEANINGFUL_STD: dict[str, float] = {"eye_open": 0.02, "lip_open": 0.02, "yaw": 1.5, "pitch": 1.5, "roll": 1.5}
JITTER_WINDOW = 5


def motion_signals(landmarks: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame motion signals of a tracked face.

    Args:
        landmarks: (T, 478, 3) landmarks in image convention; NaN rows for frames without a face.

    Returns:
        ``{"eye_open", "lip_open", "yaw", "pitch", "roll"}`` -> (T,) float64, NaN where the face is
        missing; angles in degrees, absolute (against the built-in canonical frontal face).
    """
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.ndim != 3 or pts.shape[1:] != (L.N_LANDMARKS, 3):
        raise ValueError(f"landmarks must be (T, {L.N_LANDMARKS}, 3), got {pts.shape}")
    valid = np.isfinite(pts).all(axis=(1, 2))
    angles = np.full((len(pts), 3), np.nan)
    for t in np.flatnonzero(valid):
        angles[t] = head_pose(pts[t])
    eye, lip = eye_open(pts), lip_open(pts)
    eye[~valid] = lip[~valid] = np.nan
    return {
        "eye_open": eye,
        "lip_open": lip,
        "yaw": angles[:, 0],
        "pitch": angles[:, 1],
        "roll": angles[:, 2],
    }


@dataclass(frozen=True)
class SignalFidelity:
    """How one output signal follows the driving one.

    Attributes:
        r: Pearson correlation; None when the driving motion is not meaningful.
        mae: mean absolute error (after removing the frame-0 offset in relative mode).
        meaningful: driving std above :data:`MEANINGFUL_STD`.
        driving_std: standard deviation of the driving signal over the compared frames.
    """

    r: float | None
    mae: float
    meaningful: bool
    driving_std: float


@dataclass(frozen=True)
class FidelityReport:
    """Per-signal fidelity over the ``n_frames`` frames where both videos have a face."""

    signals: dict[str, SignalFidelity]
    n_frames: int
    relative: bool

    @property
    def r(self) -> dict[str, float | None]:
        return {k: s.r for k, s in self.signals.items()}

    @property
    def mae(self) -> dict[str, float]:
        return {k: s.mae for k, s in self.signals.items()}

    @property
    def meaningful(self) -> list[str]:
        return [k for k, s in self.signals.items() if s.meaningful]


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    # A flat output against moving driving has no correlation: score it 0, not NaN.
    return float(np.clip((a * b).sum() / denom, -1.0, 1.0)) if denom > 0 else 0.0


def fidelity(
    driving: dict[str, np.ndarray], output: dict[str, np.ndarray], relative: bool = True
) -> FidelityReport:
    """Compare output signals with driving signals frame by frame.

    Args:
        driving, output: signal name -> (T,) series from :func:`motion_signals` (frame i of the output
            corresponds to frame i of the driving video; the longer one is cut to the shorter).
        relative: compare changes from the first frame where both have a face, not absolute values.

    Returns:
        A :class:`FidelityReport` over frames present (finite) in both, for the signals in both.
    """
    names = [k for k in driving if k in output]
    n = min(len(driving[k]) for k in names) if names else 0
    both = np.ones(n, dtype=bool)
    for k in names:
        both &= np.isfinite(driving[k][:n]) & np.isfinite(output[k][:n])
    signals: dict[str, SignalFidelity] = {}
    for k in names:
        d = np.asarray(driving[k][:n], dtype=np.float64)[both]
        o = np.asarray(output[k][:n], dtype=np.float64)[both]
        if len(d) == 0:
            signals[k] = SignalFidelity(None, float("nan"), False, float("nan"))
            continue
        if relative:
            d, o = d - d[0], o - o[0]
        std = float(d.std())
        meaningful = len(d) >= 3 and std > MEANINGFUL_STD.get(k, 0.0)
        r = _pearson(d, o) if meaningful else None
        signals[k] = SignalFidelity(r, float(np.abs(o - d).mean()), meaningful, std)
    return FidelityReport(signals, int(both.sum()), relative)


def landmark_jitter(landmarks: np.ndarray, window: int = JITTER_WINDOW) -> float:
    """High-frequency landmark motion: mean distance to the centred ``window``-frame moving average.

    Distances are in the image plane (x, y) and divided by that frame's inter-ocular distance (outer
    eye corners); averaged over landmarks and over every frame whose whole window has a face.

    Args:
        landmarks: (T, 478, 2+) pixel landmarks; NaN rows for frames without a face.

    Returns:
        Mean normalised jitter; NaN when no frame has a complete window.
    """
    pts = np.asarray(landmarks, dtype=np.float64)[..., :2]
    half = window // 2
    if len(pts) < window:
        return float("nan")
    valid = np.isfinite(pts).all(axis=(1, 2))
    # Sliding windows over time: (T - window + 1, 478, 2, window)
    windows = np.lib.stride_tricks.sliding_window_view(pts, window, axis=0)
    full = np.lib.stride_tricks.sliding_window_view(valid, window).all(axis=1)
    if not full.any():
        return float("nan")
    centre = pts[half : len(pts) - half][full]
    residual = np.linalg.norm(centre - windows[full].mean(axis=-1), axis=-1)  # (N, 478)
    iod = np.linalg.norm(centre[:, L.LEFT_EYE_CORNERS[0]] - centre[:, L.RIGHT_EYE_CORNERS[0]], axis=-1)
    return float((residual.mean(axis=1) / np.maximum(iod, 1e-6)).mean())


def face_region_mask(landmarks_2d: np.ndarray, shape: tuple[int, ...], grow: float = 0.2) -> np.ndarray:
    """The face-oval polygon scaled by ``1 + grow`` about its centroid, rasterised.

    Args:
        landmarks_2d: (478, 2+) pixel landmarks of one face.
        shape: image shape (H, W, ...).
        grow: relative growth of the polygon.

    Returns:
        (H, W) bool mask, True inside the (grown) face region.
    """
    oval = np.asarray(landmarks_2d, dtype=np.float64)[list(L.FACE_OVAL), :2]
    centroid = oval.mean(axis=0)
    poly = centroid + (1.0 + grow) * (oval - centroid)
    mask = np.zeros(shape[:2], dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
    return mask.astype(bool)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two uint8 images (inf when identical)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def background_psnr(frame: np.ndarray, source: np.ndarray, mask: np.ndarray) -> float:
    """PSNR in dB between two uint8 images over the pixels outside ``mask``.

    Args:
        frame, source: (H, W, C) uint8 images of the same shape.
        mask: (H, W) bool, True where pixels are excluded (the face region).

    Returns:
        PSNR (inf when identical outside the mask; NaN when the mask covers everything).
    """
    if frame.shape != source.shape or mask.shape != frame.shape[:2]:
        raise ValueError(f"shape mismatch: frame {frame.shape}, source {source.shape}, mask {mask.shape}")
    keep = ~mask
    if not keep.any():
        return float("nan")
    diff = frame[keep].astype(np.float64) - source[keep].astype(np.float64)
    mse = float(np.mean(diff**2))
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def track_video_landmarks(
    path: str | Path, detector: FaceDetector, max_frames: int | None = None
) -> np.ndarray:
    """Raw (unsmoothed) tracked landmarks of every frame of a video.

    Returns:
        (T, 478, 3) float64 pixel landmarks, NaN rows for frames where the face is lost.
    """
    with VideoReader(path, max_frames=max_frames) as reader:
        tracker = FaceTracker(detector, fps=reader.info.fps, smoothing=None)
        rows = []
        for frame in reader:
            tracked = tracker.update(frame)
            rows.append(np.full((L.N_LANDMARKS, 3), np.nan) if tracked is None else tracked.raw_landmarks)
    return np.asarray(rows, dtype=np.float64).reshape(-1, L.N_LANDMARKS, 3)
