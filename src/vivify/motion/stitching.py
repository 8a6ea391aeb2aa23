"""Applying the stitching and eye/lip retargeting MLPs to keypoints (spec sections 7, 9.5)."""

from __future__ import annotations

from collections.abc import Callable

import torch

Mlp = Callable[[torch.Tensor], torch.Tensor]


def stitch(mlp: Mlp, x_s: torch.Tensor, x_d: torch.Tensor) -> torch.Tensor:
    """Keypoints adjusted so the animated crop pastes back without seams.

    ``x_d + Δ[:63]`` per keypoint, then the same ``(Δ[63], Δ[64])`` added to every keypoint's x, y.

    Args:
        mlp: the stitching MLP (126 → 65).
        x_s, x_d: (B, N, 3) source and driving keypoints.
    """
    b, n = x_d.shape[:2]
    delta = mlp(torch.cat([x_s.reshape(b, -1), x_d.reshape(b, -1)], dim=1))
    out = x_d + delta[:, : 3 * n].reshape(b, n, 3)
    return torch.cat([out[..., :2] + delta[:, None, 3 * n : 3 * n + 2], out[..., 2:]], dim=-1)


def retarget_delta(mlp: Mlp, x_s: torch.Tensor, ratios: torch.Tensor) -> torch.Tensor:
    """Keypoint offsets (B, N, 3) from a retargeting MLP.

    Args:
        mlp: the eye MLP with ``ratios`` (B, 3) = [c_s_left, c_s_right, c_d], or the lip MLP with
            ``ratios`` (B, 2) = [c_s_lip, c_d_lip].
        x_s: (B, N, 3) source keypoints.
    """
    b, n = x_s.shape[:2]
    return mlp(torch.cat([x_s.reshape(b, -1), ratios], dim=1)).reshape(b, n, 3)


eye_retarget_delta = retarget_delta  # readable names at call sites
lip_retarget_delta = retarget_delta


def apply_multiplier(x_s: torch.Tensor, x_d: torch.Tensor, multiplier: float) -> torch.Tensor:
    """``x_s + (x_d − x_s) · multiplier`` (always evaluated, as the reference pipeline does)."""
    return x_s + (x_d - x_s) * multiplier
