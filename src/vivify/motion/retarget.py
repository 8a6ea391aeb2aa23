"""Eye and lip openness ratios on LivePortrait's 203-point landmark layout (spec section 9.6)."""

from __future__ import annotations

import numpy as np

_EPS = 1e-6


def _dist(p: np.ndarray, a: int, b: int) -> np.ndarray:
    return np.linalg.norm(p[..., a, :] - p[..., b, :], axis=-1)


def eye_ratios_203(landmarks: np.ndarray) -> np.ndarray:
    """(..., 203, 2) → (..., 2): [left, right] lid gap / eye width, in the landmarks' dtype."""
    p = np.asarray(landmarks)
    left = _dist(p, 6, 18) / (_dist(p, 0, 12) + _EPS)
    right = _dist(p, 30, 42) / (_dist(p, 24, 36) + _EPS)
    return np.stack([left, right], axis=-1).astype(p.dtype)


def lip_ratio_203(landmarks: np.ndarray) -> np.ndarray:
    """(..., 203, 2) → (..., 1): inner-lip gap / mouth width, in the landmarks' dtype."""
    p = np.asarray(landmarks)
    return (_dist(p, 90, 102) / (_dist(p, 48, 66) + _EPS))[..., None].astype(p.dtype)
