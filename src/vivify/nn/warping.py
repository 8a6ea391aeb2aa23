"""Warping module (LivePortrait's W): warps the source feature volume to the driving keypoints.

Loads ``warping_module.pth`` strictly: keys ``dense_motion_network.*``, ``third.*``, ``fourth.*``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch.nn.functional as F
from torch import Tensor, nn

from vivify.nn.dense_motion import DenseMotionNetwork, DenseMotionNetworkConfig, DenseMotionOutput
from vivify.nn.layers import SameBlock2d


@dataclass(frozen=True)
class WarpingModuleConfig:
    """Architecture hyper-parameters; defaults are the official ``models.yaml`` values."""

    num_kp: int = 21
    block_expansion: int = 64
    max_features: int = 512
    num_down_blocks: int = 2
    reshape_channel: int = 32
    dense_motion: DenseMotionNetworkConfig = field(default_factory=DenseMotionNetworkConfig)


@dataclass
class WarpingOutput:
    """Result of :class:`WarpingModule`.

    Attributes:
        out: (B, 256, H, W) warped 2-D features, the SPADE generator's input.
        occlusion_map: (B, 1, H, W) in (0, 1), already multiplied into ``out``.
        deformation: (B, D, H, W, 3) sampling grid into the source volume, last axis (x, y, z).
        warped: (B, C, D, H, W) source volume resampled by ``deformation``.
        dense_motion: the dense motion network's full output (mask, optional intermediates).
    """

    out: Tensor
    occlusion_map: Tensor
    deformation: Tensor
    warped: Tensor
    dense_motion: DenseMotionOutput


class WarpingModule(nn.Module):
    """Dense motion -> trilinear warp of ``f_s`` -> 2-D projection, gated by the occlusion map.

    Shapes (official config): feature_3d (B, 32, 16, 64, 64), keypoints (B, 21, 3) -> out (B, 256, 64, 64).
    """

    def __init__(self, config: WarpingModuleConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or WarpingModuleConfig()
        if cfg.dense_motion.num_kp != cfg.num_kp or cfg.dense_motion.feature_channel != cfg.reshape_channel:
            raise ValueError("dense_motion num_kp / feature_channel must match the warping config")
        if cfg.reshape_channel * cfg.dense_motion.reshape_depth != cfg.max_features:
            raise ValueError("reshape_channel * dense_motion.reshape_depth must equal max_features")
        self.dense_motion_network = DenseMotionNetwork(cfg.dense_motion)
        out_channels = cfg.block_expansion * 2**cfg.num_down_blocks
        # The warped volume is flattened to reshape_channel * depth channels (= max_features upstream).
        self.third = SameBlock2d(cfg.max_features, out_channels, lrelu=True)
        self.fourth = nn.Conv2d(out_channels, out_channels, kernel_size=1)

    def forward(
        self,
        feature_3d: Tensor,
        kp_driving: Tensor,
        kp_source: Tensor,
        return_intermediates: bool = False,
    ) -> WarpingOutput:
        """Args:
        feature_3d: (B, C, D, H, W) source feature volume ``f_s`` (appearance extractor output).
        kp_driving: (B, K, 3) driving keypoints ``x_d``.
        kp_source: (B, K, 3) source keypoints ``x_s``.
        return_intermediates: fill the dense motion output's optional fields.
        """
        motion = self.dense_motion_network(
            feature_3d, kp_driving, kp_source, return_intermediates=return_intermediates
        )
        # align_corners=False on an align-corners grid is the upstream convention (see dense_motion).
        warped = F.grid_sample(
            feature_3d, motion.deformation, mode="bilinear", padding_mode="zeros", align_corners=False
        )
        b, c, d, h, w = warped.shape
        out = self.fourth(self.third(warped.reshape(b, c * d, h, w)))  # channel c * D + d
        out = out * motion.occlusion_map
        return WarpingOutput(
            out=out,
            occlusion_map=motion.occlusion_map,
            deformation=motion.deformation,
            warped=warped,
            dense_motion=motion,
        )
