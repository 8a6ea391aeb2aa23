"""The streak check: changes between consecutive frames, outside the face core, that motion does
not explain."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vivify.render_checks.common import _box, _disk, _polygon, luminance

STREAK_TOLERANCE = 60.0  # grey levels a pixel may leave its previous neighbourhood's range by
CORE_SCALE = 0.9  # the face core: the target face's silhouette shrunk about its centre


@dataclass(frozen=True)
class StreakCheck:
    """Changes between consecutive frames, outside the face core, that motion does not explain.

    Attributes:
        unexplained: pixels whose new grey value lies more than the tolerance outside the range
            of the previous frame's grey values within ``radius``.
        worst_excess: how far the worst of them lies outside it, grey levels (0 when none).
        worst_xy: (x, y) of the worst pixel, None when none.
        radius: the neighbourhood radius, the largest target landmark displacement + 1 px.
    """

    unexplained: int
    worst_excess: float
    worst_xy: tuple[int, int] | None
    radius: int

    @property
    def passed(self) -> bool:
        return self.unexplained == 0


def face_core(landmarks: np.ndarray, shape: tuple[int, ...], scale: float = CORE_SCALE) -> np.ndarray:
    """(478, 2+) landmarks -> (H, W) bool: the face's silhouette (the convex hull of its
    landmarks) scaled by ``scale`` about its centre. Not the mesh's face oval: on a turned head
    the far oval lies behind the cheek, and nose and mouth stick out of it."""
    pts = np.asarray(landmarks, np.float64)[:, :2]
    hull = pts[cv2.convexHull(pts.astype(np.float32), returnPoints=False)[:, 0]]
    center = hull.mean(axis=0)
    return _polygon(center + scale * (hull - center), shape)


def streak_check(
    previous: np.ndarray,
    frame: np.ndarray,
    previous_landmarks: np.ndarray,
    landmarks: np.ndarray,
    footprint: np.ndarray,
    tolerance: float = STREAK_TOLERANCE,
) -> StreakCheck:
    """Pixels outside the face core that change more than motion explains between two frames.

    A pixel's change is explained when its new grey value lies within ``[min - tolerance,
    max + tolerance]`` of the previous frame's grey values within radius ``r`` (a grey erosion
    and dilation), ``r`` = the largest displacement of any target landmark between the frames
    + 1 px. Why: a piecewise-affine warp moves every pixel by a convex combination of its
    triangle's vertex displacements, so content moves at most the largest landmark displacement
    (the fixed ring moves none) and a pixel can only show a value found within ``r`` in the
    previous frame; the extra pixel covers bilinear sampling and the tolerance covers shading.
    A streak smeared along the face edge, a speck, or a sampled-from-nowhere value is none of
    these. The face core (the target's face oval shrunk to :data:`CORE_SCALE`) is left out:
    mouth and lid painting change it legitimately. Only footprint pixels are tested: nothing
    else may change.

    Args:
        previous, frame: (H, W, 3) uint8 consecutive rendered frames.
        previous_landmarks, landmarks: (478, 2+) the target landmarks each was rendered for.
        footprint: (H, W) bool, the pixels the renderer may change.
        tolerance: grey levels.
    """
    if previous.shape != frame.shape or footprint.shape != frame.shape[:2]:
        raise ValueError(f"shape mismatch: {previous.shape}, {frame.shape}, mask {footprint.shape}")
    moved = np.linalg.norm(np.asarray(landmarks)[:, :2] - np.asarray(previous_landmarks)[:, :2], axis=1)
    radius = int(np.ceil(moved.max())) + 1
    g0, g1 = luminance(previous), luminance(frame)
    # a pixel within tolerance of its own previous value is explained whatever the radius
    suspects = footprint & ~face_core(landmarks, frame.shape) & (np.abs(g1 - g0) > tolerance)
    if not suspects.any():
        return StreakCheck(0, 0.0, None, radius)
    # most suspects are explained within the square inscribed in the disk (a fast separable
    # filter); the rest are measured over the exact disk
    rows, cols = _box(suspects, radius)
    half = 2 * int(radius / np.sqrt(2)) + 1
    square = np.ones((half, half), np.uint8)
    low = cv2.erode(g0[rows, cols], square) - tolerance
    high = cv2.dilate(g0[rows, cols], square) + tolerance
    new = g1[rows, cols]
    suspects = suspects[rows, cols] & ((new < low) | (new > high))
    ys, xs = np.nonzero(suspects)
    low, high = _disk_range(g0, ys + rows.start, xs + cols.start, radius)
    new = new[ys, xs]
    excess = np.maximum(np.maximum(low - tolerance - new, new - high - tolerance), 0.0)
    if not (excess > 0).any():
        return StreakCheck(0, 0.0, None, radius)
    worst = int(np.argmax(excess))
    xy = (int(xs[worst] + cols.start), int(ys[worst] + rows.start))
    return StreakCheck(int((excess > 0).sum()), float(excess[worst]), xy, radius)


def _disk_range(
    grey: np.ndarray, ys: np.ndarray, xs: np.ndarray, radius: int
) -> tuple[np.ndarray, np.ndarray]:
    """(N,) minimum and maximum of ``grey`` (H, W) within ``radius`` of each pixel (ys, xs)."""
    dy, dx = np.nonzero(_disk(radius))
    low, high = np.empty(len(ys), np.float32), np.empty(len(ys), np.float32)
    for start in range(0, len(ys), 2048):  # (2048, K) gathers at a time
        part = slice(start, start + 2048)
        y = np.clip(ys[part, None] + dy - radius, 0, grey.shape[0] - 1)
        x = np.clip(xs[part, None] + dx - radius, 0, grey.shape[1] - 1)
        values = grey[y, x]
        low[part], high[part] = values.min(axis=1), values.max(axis=1)
    return low, high
