"""Eye and lip openness on face landmarks: one definition of each, one eye order.

Eyes are always given image-left first: ``[image-left eye, image-right eye]``, that is the
subject's right eye, then the left (LivePortrait's order, which its eye-retargeting network
expects). Openness is a lid gap over the eye's corner-to-corner width; lips the inner-lip gap
over the mouth's width (shared/docs/metrics.md), in the image plane.

Two lid choices on the 478-point MediaPipe mesh: the measure (``eye_open_ratios``, what the
metrics, the neutral-frame search and ``inspect`` report) averages three lid pairs; the
retargeting input (``retarget_eye_ratios``) takes the middle pair only, the counterpart of
LivePortrait's 203-point definition (``eye_ratios_203``), so that its networks get the ratio
they were trained on. Values from the two layouts are close, not equal: don't mix them.
"""

from __future__ import annotations

import numpy as np

from vivify.face import landmarks as L

_EPS = 1e-6

# image-left eye (the subject's right), then the image-right eye: corners and lid pairs
_EYES = ((L.RIGHT_EYE_CORNERS, L.RIGHT_EYE_LIDS), (L.LEFT_EYE_CORNERS, L.LEFT_EYE_LIDS))
_MIDDLE_LID = 1  # the middle of the three lid pairs, outer to inner


def _dist(points: np.ndarray, a: int, b: int) -> np.ndarray:
    return np.linalg.norm(points[..., a, :2] - points[..., b, :2], axis=-1)


def _eye_ratio(points: np.ndarray, corners: tuple[int, int], lids: tuple[tuple[int, int], ...]) -> np.ndarray:
    gap = (
        _dist(points, *lids[0])
        if len(lids) == 1
        else np.mean([_dist(points, *pair) for pair in lids], axis=0)
    )
    return gap / (_dist(points, *corners) + _EPS)


def eye_open_ratios(points: np.ndarray) -> np.ndarray:
    """Per-eye openness: mean lid gap over three lid pairs / corner-to-corner width.

    Args:
        points: (..., 478, 2+) landmarks.

    Returns:
        (..., 2) float64 ratios, image-left eye first; about 0.25-0.35 open, < 0.1 closed.
    """
    points = np.asarray(points, dtype=np.float64)
    return np.stack([_eye_ratio(points, corners, lids) for corners, lids in _EYES], axis=-1)


def eye_open(points: np.ndarray) -> np.ndarray:
    """Mean of both eyes' openness, shape (...)."""
    return eye_open_ratios(points).mean(axis=-1)


def lip_open(points: np.ndarray) -> np.ndarray:
    """Inner-lip vertical gap / mouth corner-to-corner width, shape (...), float64."""
    return _lip_ratio(np.asarray(points, dtype=np.float64))


def _lip_ratio(points: np.ndarray) -> np.ndarray:
    return _dist(points, *L.INNER_LIP_MID) / (_dist(points, *L.MOUTH_CORNERS) + _EPS)


def _float(points: np.ndarray) -> np.ndarray:
    p = np.asarray(points)
    return p if np.issubdtype(p.dtype, np.floating) else p.astype(np.float32)


def retarget_eye_ratios(points: np.ndarray) -> np.ndarray:
    """(..., 478, 2+) → (..., 2): the eye-retargeting input, image-left eye first.

    The middle lid pair over the corners (159/145 over 33/133, then 386/374 over 362/263), the
    mesh counterpart of :func:`eye_ratios_203`; in the landmarks' float type.
    """
    p = _float(points)
    pairs = [_eye_ratio(p, corners, (lids[_MIDDLE_LID],)) for corners, lids in _EYES]
    return np.stack(pairs, axis=-1).astype(p.dtype)


def retarget_lip_ratio(points: np.ndarray) -> np.ndarray:
    """(..., 478, 2+) → (..., 1): the lip-retargeting input, :func:`lip_open` in the landmarks'
    float type (a closed mouth reads about 0-0.02)."""
    p = _float(points)
    return _lip_ratio(p)[..., None].astype(p.dtype)


def eye_ratios_203(landmarks: np.ndarray) -> np.ndarray:
    """(..., 203, 2) → (..., 2): LivePortrait's eye open ratios on its 203-point layout (spec
    9.6), lid gap / eye width, image-left eye first, in the landmarks' dtype."""
    p = np.asarray(landmarks)
    left = _dist(p, 6, 18) / (_dist(p, 0, 12) + _EPS)
    right = _dist(p, 30, 42) / (_dist(p, 24, 36) + _EPS)
    return np.stack([left, right], axis=-1).astype(p.dtype)


def lip_ratio_203(landmarks: np.ndarray) -> np.ndarray:
    """(..., 203, 2) → (..., 1): inner-lip gap / mouth width on LivePortrait's 203-point layout."""
    p = np.asarray(landmarks)
    return (_dist(p, 90, 102) / (_dist(p, 48, 66) + _EPS))[..., None].astype(p.dtype)
