"""The keypoint transform of LivePortrait (paper Eqn. 2)."""

from __future__ import annotations

import torch


def transform_keypoints(
    kp: torch.Tensor, rotation: torch.Tensor, exp: torch.Tensor, scale: torch.Tensor, t: torch.Tensor
) -> torch.Tensor:
    """``x = scale · (kp · R + exp)``, then ``x[..., :2] += t[:, :2]`` (tz is never used).

    Args:
        kp: (B, N, 3) canonical keypoints (or (B, 3N)).
        rotation: (B, 3, 3) from :func:`vivify.motion.rotation_matrix`.
        exp: (B, N, 3) expression offsets (or (B, 3N)).
        scale: (B, 1) scale.
        t: (B, 3) translation.

    Returns:
        (B, N, 3) transformed keypoints.
    """
    b = kp.shape[0]
    kp = kp.reshape(b, -1, 3)
    x = kp @ rotation + exp.reshape(b, -1, 3)
    x = x * scale.reshape(b, 1, 1)
    return torch.cat([x[..., :2] + t[:, None, :2], x[..., 2:]], dim=-1)
