"""Dense motion network of LivePortrait's warping module W (keys ``dense_motion_network.*``).

From the source feature volume and the source/driving implicit keypoints it predicts a dense
backward deformation (for every driving voxel, where to sample the source volume) as a softmax-weighted
mix of per-keypoint translations, plus a 2-D occlusion map.

Notation: ``K = num_kp``, the ``K + 1`` motion channels put the identity (background) first; the
volume is (D, H, W) = (16, 64, 64) for the official config; keypoints live in the normalised cube
[-1, 1]^3 with axis order (x, y, z) = (width, height, depth).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vivify.nn.layers import Hourglass3d


@dataclass(frozen=True)
class DenseMotionNetworkConfig:
    """Architecture hyper-parameters; defaults are the official ``models.yaml`` values."""

    block_expansion: int = 32
    num_blocks: int = 5
    max_features: int = 1024
    num_kp: int = 21
    feature_channel: int = 32
    reshape_depth: int = 16
    compress: int = 4
    kp_variance: float = 0.01


@dataclass
class DenseMotionOutput:
    """Result of :class:`DenseMotionNetwork`; the optional fields are filled on request.

    Attributes:
        deformation: (B, D, H, W, 3) sampling grid into the source volume, last axis (x, y, z).
        occlusion_map: (B, 1, H, W) in (0, 1).
        mask: (B, K+1, D, H, W) softmax weights of the K+1 motions.
        mask_logits: (B, K+1, D, H, W) before the softmax.
        compressed: (B, compress, D, H, W) compressed source features.
        sparse_motion: (B, K+1, D, H, W, 3) per-keypoint sampling grids, index 0 = identity grid.
        deformed_feature: (B, K+1, compress, D, H, W) compressed features warped by each motion.
        heatmap: (B, K+1, 1, D, H, W) Gaussian(driving) - Gaussian(source), channel 0 zeros.
        prediction: (B, block_expansion + (K+1)(compress+1), D, H, W) hourglass output.
    """

    deformation: Tensor
    occlusion_map: Tensor
    mask: Tensor
    mask_logits: Tensor | None = None
    compressed: Tensor | None = None
    sparse_motion: Tensor | None = None
    deformed_feature: Tensor | None = None
    heatmap: Tensor | None = None
    prediction: Tensor | None = None


def make_coordinate_grid(
    depth: int, height: int, width: int, dtype: torch.dtype = torch.float32, device=None
) -> Tensor:
    """Align-corners style grid: voxel (d, h, w) -> (2w/(W-1) - 1, 2h/(H-1) - 1, 2d/(D-1) - 1).

    Returns (D, H, W, 3), last axis (x, y, z). Computed as ``2 * (i / (n - 1)) - 1`` so that the float32
    values match upstream bit for bit.
    """

    def axis(n: int) -> Tensor:
        return 2 * (torch.arange(n, dtype=dtype, device=device) / (n - 1)) - 1

    z, y, x = torch.meshgrid(axis(depth), axis(height), axis(width), indexing="ij")
    return torch.stack([x, y, z], dim=-1)


def keypoint_gaussians(kp: Tensor, grid: Tensor, variance: float) -> Tensor:
    """``exp(-0.5 * |grid - kp|^2 / variance)`` per keypoint: (B, K, 3), (D, H, W, 3) -> (B, K, D, H, W)."""
    diff = grid[None, None] - kp[:, :, None, None, None, :]
    # Same operation order as upstream (x -0.5, then / variance) to keep float32 round-off identical.
    return torch.exp(-0.5 * (diff**2).sum(-1) / variance)


class DenseMotionNetwork(nn.Module):
    """Keypoint-driven dense motion and occlusion estimator.

    Shapes (official config): feature (B, 32, 16, 64, 64), keypoints (B, 21, 3) ->
    deformation (B, 16, 64, 64, 3), occlusion map (B, 1, 64, 64).
    """

    def __init__(self, config: DenseMotionNetworkConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or DenseMotionNetworkConfig()
        num_motions = cfg.num_kp + 1
        self.hourglass = Hourglass3d(
            block_expansion=cfg.block_expansion,
            in_features=num_motions * (cfg.compress + 1),
            num_blocks=cfg.num_blocks,
            max_features=cfg.max_features,
        )
        self.mask = nn.Conv3d(self.hourglass.out_filters, num_motions, kernel_size=7, padding=3)
        self.compress = nn.Conv3d(cfg.feature_channel, cfg.compress, kernel_size=1)
        self.norm = nn.BatchNorm3d(cfg.compress)
        # The occlusion head folds depth into channels: channel c * D + d.
        self.occlusion = nn.Conv2d(
            self.hourglass.out_filters * cfg.reshape_depth, 1, kernel_size=7, padding=3
        )

    def _sparse_motion(self, grid: Tensor, kp_driving: Tensor, kp_source: Tensor) -> Tensor:
        """(D, H, W, 3), 2 x (B, K, 3) -> (B, K+1, D, H, W, 3): identity, then ``G - x_d + x_s``."""
        b = kp_driving.shape[0]
        identity = grid[None, None].expand(b, 1, *grid.shape)
        per_kp = (grid[None, None] - kp_driving[:, :, None, None, None, :]) + kp_source[
            :, :, None, None, None, :
        ]
        return torch.cat([identity, per_kp], dim=1)

    def _deform(self, feature: Tensor, sparse_motion: Tensor) -> Tensor:
        """(B, C, D, H, W), (B, K+1, D, H, W, 3) -> (B, K+1, C, D, H, W) by trilinear sampling."""
        b, n = sparse_motion.shape[:2]
        c, d, h, w = feature.shape[1:]
        repeated = feature[:, None].expand(b, n, c, d, h, w).reshape(b * n, c, d, h, w)
        # align_corners=False although the grid is align-corners style: upstream convention, kept.
        sampled = F.grid_sample(
            repeated,
            sparse_motion.reshape(b * n, *sparse_motion.shape[2:]),
            mode="bilinear",
            padding_mode="zeros",
            align_corners=False,
        )
        return sampled.view(b, n, c, *sampled.shape[2:])

    def forward(
        self, feature: Tensor, kp_driving: Tensor, kp_source: Tensor, return_intermediates: bool = False
    ) -> DenseMotionOutput:
        """Args:
        feature: (B, C, D, H, W) source feature volume ``f_s``.
        kp_driving: (B, K, 3) driving keypoints ``x_d``.
        kp_source: (B, K, 3) source keypoints ``x_s``.
        return_intermediates: also return the internal tensors (memory heavy at full size).
        """
        compressed = F.relu(self.norm(self.compress(feature)))
        b, _, d, h, w = compressed.shape
        grid = make_coordinate_grid(d, h, w, dtype=feature.dtype, device=feature.device)

        sparse_motion = self._sparse_motion(grid, kp_driving, kp_source)
        deformed = self._deform(compressed, sparse_motion)
        var = self.config.kp_variance
        heat = keypoint_gaussians(kp_driving, grid, var) - keypoint_gaussians(kp_source, grid, var)
        heatmap = torch.cat([heat.new_zeros(b, 1, d, h, w), heat], dim=1).unsqueeze(2)

        # Per motion [heatmap, compressed features], flattened to channel (K+1) * (compress+1).
        hourglass_in = torch.cat([heatmap, deformed], dim=2).view(b, -1, d, h, w)
        prediction = self.hourglass(hourglass_in)

        mask_logits = self.mask(prediction)
        mask = F.softmax(mask_logits, dim=1)
        # (B, K+1, 3, D, H, W) weighted by (B, K+1, 1, D, H, W), summed over motions.
        deformation = (sparse_motion.permute(0, 1, 5, 2, 3, 4) * mask.unsqueeze(2)).sum(dim=1)
        deformation = deformation.permute(0, 2, 3, 4, 1)

        occlusion_map = torch.sigmoid(self.occlusion(prediction.reshape(b, -1, h, w)))

        out = DenseMotionOutput(deformation=deformation, occlusion_map=occlusion_map, mask=mask)
        if return_intermediates:
            out.mask_logits = mask_logits
            out.compressed = compressed
            out.sparse_motion = sparse_motion
            out.deformed_feature = deformed
            out.heatmap = heatmap
            out.prediction = prediction
        return out
