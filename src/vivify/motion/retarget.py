"""Eye and lip openness ratios: LivePortrait's 203-point layout (spec 9.6) and the 478-point mesh."""

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


# The 478-point MediaPipe face mesh counterparts of the 203-point pairs above. LivePortrait's
# "left" eye is the first eye of its layout, the one on the image's left (the subject's right);
# vivify's crop anchors (vivify.face.align) pair the layouts the same way.
_MESH_LEFT_EYE = (159, 145, 33, 133)  # upper lid, lower lid, outer corner, inner corner
_MESH_RIGHT_EYE = (386, 374, 362, 263)  # upper lid, lower lid, inner corner, outer corner
_MESH_LIP = (13, 14, 61, 291)  # inner-lip midline (upper, lower), outer mouth corners


def _mesh_ratio(p: np.ndarray, pairs: tuple[int, int, int, int]) -> np.ndarray:
    p = np.asarray(p)[..., :2]  # image-plane distances only, like the 2-D 203-point layout
    return _dist(p, pairs[0], pairs[1]) / (_dist(p, pairs[2], pairs[3]) + _EPS)


def eye_ratios_478(landmarks: np.ndarray) -> np.ndarray:
    """(..., 478, 2+) → (..., 2): [left, right] eye open ratios on the MediaPipe face mesh.

    Same definition as :func:`eye_ratios_203` (middle lid gap / corner-to-corner width) on the
    mesh points that correspond to it: left (image-left, the subject's right eye) lids 159/145
    over corners 33/133; right lids 386/374 over corners 362/263. The mesh places lids and corners
    a little differently from LivePortrait's 203-point model, so the values are close to, not
    equal to, the 203-point ratios of the same face (open eyes about 0.25-0.4 in both). Use them
    together with a source ratio measured the same way (the neural backend does), not mixed with
    203-point values.
    """
    p = np.asarray(landmarks)
    ratios = np.stack([_mesh_ratio(p, _MESH_LEFT_EYE), _mesh_ratio(p, _MESH_RIGHT_EYE)], axis=-1)
    return ratios.astype(p.dtype if np.issubdtype(p.dtype, np.floating) else np.float32)


def lip_ratio_478(landmarks: np.ndarray) -> np.ndarray:
    """(..., 478, 2+) → (..., 1): inner-lip gap / mouth width on the MediaPipe face mesh.

    The counterpart of :func:`lip_ratio_203`: inner-lip midline points 13/14 over the outer
    mouth corners 61/291 (the same pairs as :func:`vivify.face.geometry.lip_open`). A closed
    mouth reads about 0-0.02; see :func:`eye_ratios_478` on mixing with 203-point values.
    """
    p = np.asarray(landmarks)
    ratio = _mesh_ratio(p, _MESH_LIP)[..., None]
    return ratio.astype(p.dtype if np.issubdtype(p.dtype, np.floating) else np.float32)
