"""Head-pose bins → degrees, degrees → LivePortrait's rotation matrix, and the nearest rotation."""

from __future__ import annotations

import math

import numpy as np
import torch

N_BINS = 66


def bins_to_degrees(logits: torch.Tensor) -> torch.Tensor:
    """Softmax expectation over the 66 pose bins: ``3 · Σ p_i·i − 97.5`` degrees.

    Args:
        logits: (B, 66) raw pitch, yaw or roll head output.

    Returns:
        (B,) angles in degrees (bin i is centred on 3i − 97.5).
    """
    p = torch.softmax(logits, dim=-1)
    idx = torch.arange(logits.shape[-1], dtype=logits.dtype, device=logits.device)
    return (p * idx).sum(dim=-1) * 3 - 97.5


def rotation_matrix(pitch: torch.Tensor, yaw: torch.Tensor, roll: torch.Tensor) -> torch.Tensor:
    """``R = (Rz·Ry·Rx)ᵀ`` for row-vector keypoints (``x @ R``); pitch ↔ x, yaw ↔ y, roll ↔ z.

    Args:
        pitch, yaw, roll: (B,) or (B, 1) degrees.

    Returns:
        (B, 3, 3) rotation matrices.
    """
    x, y, z = (a.reshape(-1) / 180 * math.pi for a in (pitch, yaw, roll))
    one, zero = torch.ones_like(x), torch.zeros_like(x)
    rx = torch.stack([one, zero, zero, zero, x.cos(), -x.sin(), zero, x.sin(), x.cos()], dim=1).reshape(
        -1, 3, 3
    )
    ry = torch.stack([y.cos(), zero, y.sin(), zero, one, zero, -y.sin(), zero, y.cos()], dim=1).reshape(
        -1, 3, 3
    )
    rz = torch.stack([z.cos(), -z.sin(), zero, z.sin(), z.cos(), zero, zero, zero, one], dim=1).reshape(
        -1, 3, 3
    )
    return (rz @ ry @ rx).transpose(1, 2)


def nearest_rotation(matrices: np.ndarray) -> np.ndarray:
    """The rotation closest (Frobenius) to each of (..., 3, 3) matrices, e.g. averaged rotations."""
    u, _, vt = np.linalg.svd(matrices)
    d = np.sign(np.linalg.det(u @ vt))
    u = u.copy()
    u[..., :, 2] *= d[..., None]  # no reflections
    return u @ vt
