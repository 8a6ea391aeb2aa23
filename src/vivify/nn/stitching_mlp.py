"""Stitching S and eye/lip retargeting R_eyes, R_lip: three small MLPs of one shape family.

All three are ``Linear → ReLU → … → Linear`` over flattened keypoints (plus ratios). Parameter
names (``mlp.<i>.weight``) match the official checkpoint once its ``module.`` prefix is removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class RetargetingMLPConfig:
    """Layer sizes: ``in_features → hidden… → out_features``."""

    in_features: int
    hidden: tuple[int, ...]
    out_features: int


STITCHING_CONFIG = RetargetingMLPConfig(126, (128, 128, 64), 65)  # x_s, x_d → Δ (63 + tx, ty)
LIP_CONFIG = RetargetingMLPConfig(65, (128, 128, 64), 63)  # x_s, c_s_lip, c_d_lip → δ_lip
EYE_CONFIG = RetargetingMLPConfig(66, (256, 256, 128, 128, 64), 63)  # x_s, c_s_l, c_s_r, c_d → δ_eye


class RetargetingMLP(nn.Module):
    """One MLP; forward (B, in_features) → (B, out_features)."""

    def __init__(self, config: RetargetingMLPConfig) -> None:
        super().__init__()
        self.config = config
        sizes = [config.in_features, *config.hidden, config.out_features]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU(inplace=True))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x)


class StitchingRetargetingModule(nn.Module):
    """The three MLPs of ``stitching_retargeting_module.pth`` under readable names.

    Attributes:
        stitching: S (checkpoint entry ``retarget_shoulder``).
        lip: R_lip (``retarget_mouth``).
        eye: R_eyes (``retarget_eye``).
    """

    CHECKPOINT_ENTRIES = {"stitching": "retarget_shoulder", "lip": "retarget_mouth", "eye": "retarget_eye"}

    def __init__(self) -> None:
        super().__init__()
        self.stitching = RetargetingMLP(STITCHING_CONFIG)
        self.lip = RetargetingMLP(LIP_CONFIG)
        self.eye = RetargetingMLP(EYE_CONFIG)
