"""Pure geometry of LivePortrait-style aligned face crops.

The crop is a similarity transform: rotated so the eye line is horizontal, scaled so the face's
landmark box times ``scale`` fills ``dsize`` pixels, and shifted up by ``vy_ratio`` of its size.
Conventions (anchors, rounding, float32 matrices) follow shared/spec/liveportrait-architecture.md
section 9.7, so a crop from the same landmarks is the official crop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vivify.face import landmarks as L


@dataclass(frozen=True)
class CropConfig:
    """Crop parameters (LivePortrait source defaults; its driving crop uses 2.2 / -0.1)."""

    dsize: int = 512
    scale: float = 2.3
    vx_ratio: float = 0.0
    vy_ratio: float = -0.125
    rotate: bool = True


def anchor_points(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left-eye centre, right-eye centre and lip centre for a known landmark layout.

    Supports the 478-point face mesh (vivify's tracker), LivePortrait's 203-point and
    insightface's 106-point layouts. Returns three (2,) float64 points.
    """
    p = np.asarray(points)[:, :2]
    n = len(p)
    if n == L.N_LANDMARKS or n == L.N_MESH:
        eye_a = p[list(L.RIGHT_EYE_CORNERS) + [i for pair in L.RIGHT_EYE_LIDS for i in pair]].mean(0)
        eye_b = p[list(L.LEFT_EYE_CORNERS) + [i for pair in L.LEFT_EYE_LIDS for i in pair]].mean(0)
        lip = p[list(L.MOUTH_CORNERS)].mean(0)
    elif n == 203:
        eye_a, eye_b = p[[0, 6, 12, 18]].mean(0), p[[24, 30, 36, 42]].mean(0)
        lip = p[[48, 66]].mean(0)
    elif n == 106:
        eye_a, eye_b = p[[33, 35, 40, 39]].mean(0), p[[87, 89, 94, 93]].mean(0)
        lip = p[[52, 61]].mean(0)
    else:
        raise ValueError(f"unsupported landmark layout with {n} points (expected 478, 468, 203 or 106)")
    return eye_a, eye_b, lip


def box_points(points: np.ndarray) -> np.ndarray:
    """The points whose extent defines the crop box: for the mesh, the 106-point-like subset."""
    p = np.asarray(points)[:, :2]
    return p[L.CROP_SUBSET] if len(p) in (L.N_LANDMARKS, L.N_MESH) else p


def crop_matrix(points: np.ndarray, config: CropConfig | None = None) -> np.ndarray:
    """Original-image → crop affine matrix.

    Args:
        points: (N, 2+) landmarks in image pixels (478, 468, 203 or 106 points).
        config: crop parameters.

    Returns:
        (3, 3) float32 matrix ``M_o2c`` mapping homogeneous image pixels to crop pixels.
    """
    config = config or CropConfig()
    # float32 throughout, in the same order of operations as the reference implementation, so
    # that crops agree to the last bit rather than to 1e-4 pixels
    f32 = np.float32
    eye_a, eye_b, lip = (a.astype(f32) for a in anchor_points(np.asarray(points, dtype=f32)))
    eye = (eye_a + eye_b) / f32(2)
    u_y = lip - eye
    norm = np.linalg.norm(u_y)
    u_y = u_y / norm if (norm > 1e-3 and config.rotate) else np.array([0, 1], dtype=f32)
    u_x = np.array([u_y[1], -u_y[0]], dtype=f32)
    theta = math.acos(float(np.clip(u_x[0], -1, 1)))
    if u_x[1] < 0:
        theta = -theta

    pts = box_points(points).astype(f32)
    mean = pts.mean(axis=0)
    local = (pts - mean) @ np.stack([u_x, u_y]).T  # (N, 2) in the face's own axes
    lo, hi = local.min(axis=0), local.max(axis=0)
    mid = (lo + hi) / f32(2)
    size = np.max(hi - lo) * f32(config.scale)
    center = mean + u_x * mid[0] + u_y * mid[1]
    center = center + u_x * (f32(config.vx_ratio) * size) + u_y * (f32(config.vy_ratio) * size)

    k = f32(config.dsize) / size
    c, s = f32(math.cos(theta)), f32(math.sin(theta))
    t = f32(config.dsize / 2)
    cx, cy = center
    m = np.array(
        [
            [k * c, k * s, t - k * (c * cx + s * cy)],
            [-k * s, k * c, t - k * (-s * cx + c * cy)],
            [0, 0, 1],
        ],
        dtype=f32,
    )
    return m.astype(np.float32)


def invert_affine(m: np.ndarray) -> np.ndarray:
    """Inverse of a (3, 3) affine matrix, same dtype."""
    return np.linalg.inv(m.astype(np.float64)).astype(m.dtype)


def transform_points(points: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Apply a (3, 3) or (2, 3) affine matrix to (N, 2+) points; extra columns (z) are scaled.

    The z column, if any, is multiplied by the matrix's scale so depth stays in pixel units.
    """
    p = np.asarray(points)
    m = np.asarray(m, dtype=np.float64)[:2]
    out = p.astype(np.float64, copy=True)
    out[:, :2] = p[:, :2] @ m[:, :2].T + m[:, 2]
    if p.shape[1] > 2:
        out[:, 2:] *= np.sqrt(abs(np.linalg.det(m[:, :2])))
    return out.astype(p.dtype if np.issubdtype(p.dtype, np.floating) else np.float64)


def resize_to_limit(
    height: int, width: int, max_dim: int = 1280, division: int = 2
) -> tuple[int, int, int, int]:
    """LivePortrait's source size rule: cap the longer side at ``max_dim``, then make sides even.

    Returns:
        (resized_h, resized_w, cropped_h, cropped_w): resize to the first pair (if different from
        the input), then keep the top-left ``cropped_h × cropped_w``.
    """
    if max_dim > 0 and max(height, width) > max_dim:
        if height > width:
            height, width = max_dim, int(width * (max_dim / height))
        else:
            height, width = int(height * (max_dim / width)), max_dim
    return height, width, height - height % division, width - width % division
