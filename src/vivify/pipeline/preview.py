"""Side-by-side previews: source | driving | result at the result's height."""

from __future__ import annotations

import cv2
import numpy as np

from vivify.backends.base import DrivingFrame


def fit_height(image: np.ndarray, height: int) -> np.ndarray:
    """``image`` resized (INTER_AREA) to ``height`` rows, its aspect kept."""
    h, w = image.shape[:2]
    return cv2.resize(image, (max(1, round(w * height / h)), height), interpolation=cv2.INTER_AREA)


def landmark_panel(
    landmarks: np.ndarray | None, size: tuple[int, int], scale_from: tuple[int, int] | None = None
) -> np.ndarray:
    """A grey (H, W, 3) panel with driving landmarks drawn (for motion that carries no pixels).

    ``scale_from``: the (H, W) frame the landmarks are in; None fits them to the panel.
    """
    h, w = size
    panel = np.full((h, w, 3), 40, np.uint8)
    if landmarks is not None:
        pts = landmarks[:, :2].astype(np.float64)
        if scale_from is None:
            lo, hi = pts.min(0), pts.max(0)
            k = 0.8 * min(w, h) / max(hi - lo)
            pts = (pts - (lo + hi) / 2) * k + [w / 2, h / 2]
        else:
            pts = pts * [w / scale_from[1], h / scale_from[0]]
        for x, y in pts.astype(int):
            cv2.circle(panel, (int(x), int(y)), 1, (120, 220, 160), -1)
    return panel


def side_by_side(source: np.ndarray, driving: DrivingFrame | None, result: np.ndarray) -> np.ndarray:
    """source | driving | result, side by side at the result's height (the driving landmarks on a
    grey panel when the frame has no pixels)."""
    h = result.shape[0]
    if driving is not None and driving.image is not None:
        drv = fit_height(driving.image, h)
    else:
        drv = landmark_panel(None if driving is None else driving.landmarks, (h, h))
    return np.concatenate([fit_height(source, h), drv, result], axis=1)
