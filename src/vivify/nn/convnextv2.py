"""ConvNeXt-V2 backbone used by LivePortrait's motion extractor M.

Attribute names follow the upstream ConvNeXt-V2 code (``downsample_layers``, ``stages``, ``norm``,
``dwconv``, ``pwconv1``, ``grn``, ``pwconv2``) so that ``motion_extractor.pth`` loads unchanged. Drop
path and layer scale are absent: the LivePortrait configuration uses neither (drop-path rate 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


class LayerNormChannelsFirst(nn.Module):
    """LayerNorm over the channel axis of a (B, C, H, W) tensor, affine per channel.

    Computed explicitly (mean, biased variance, eps inside the square root) like the upstream code,
    rather than via a permute + ``F.layer_norm``, to keep its float32 rounding.
    """

    def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class GlobalResponseNorm(nn.Module):
    """Global response normalisation (GRN) on channels-last features.

    ``G[b, c] = ||z[b, :, :, c]||_2`` over the spatial axes, ``N = G / (mean_c G + 1e-6)``,
    ``GRN(z) = gamma * (z * N) + beta + z``. With ``gamma = beta = 0`` (the init) it is the identity.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        # (1, 1, 1, C) to broadcast over (B, H, W, C); the stored shape in the checkpoint.
        self.gamma = nn.Parameter(torch.zeros(1, 1, 1, dim))
        self.beta = nn.Parameter(torch.zeros(1, 1, 1, dim))

    def forward(self, x: Tensor) -> Tensor:
        """(B, H, W, C) -> (B, H, W, C)."""
        g = torch.linalg.vector_norm(x, ord=2, dim=(1, 2), keepdim=True)  # (B, 1, 1, C)
        n = g / (g.mean(dim=-1, keepdim=True) + 1e-6)
        return self.gamma * (x * n) + self.beta + x


class ConvNeXtV2Block(nn.Module):
    """dwconv 7x7 -> LayerNorm -> Linear C->4C -> GELU -> GRN -> Linear 4C->C, plus residual."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.grn = GlobalResponseNorm(4 * dim)
        self.pwconv2 = nn.Linear(4 * dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        y = self.dwconv(x).permute(0, 2, 3, 1)  # (B, H, W, C)
        y = self.pwconv2(self.grn(self.act(self.pwconv1(self.norm(y)))))
        return x + y.permute(0, 3, 1, 2)


class ConvNeXtV2(nn.Module):
    """ConvNeXt-V2 trunk: 4 x (downsample, stage), global mean pool, LayerNorm.

    Heads are not part of this module; :class:`vivify.nn.motion_encoder.MotionDetector` adds them.

    Args:
        in_channels: image channels.
        depths: blocks per stage.
        dims: channel width per stage.
    """

    def __init__(
        self,
        in_channels: int = 3,
        depths: Sequence[int] = (3, 3, 9, 3),
        dims: Sequence[int] = (96, 192, 384, 768),
    ) -> None:
        super().__init__()
        if len(depths) != len(dims):
            raise ValueError(f"depths {tuple(depths)} and dims {tuple(dims)} differ in length")
        # Stem: 4x4/4 patchify conv then LN; later downsamplers put the LN first (upstream order,
        # reflected in the key indices `.0`/`.1`).
        layers = [
            nn.Sequential(nn.Conv2d(in_channels, dims[0], 4, stride=4), LayerNormChannelsFirst(dims[0]))
        ]
        for i in range(1, len(dims)):
            layers.append(
                nn.Sequential(
                    LayerNormChannelsFirst(dims[i - 1]), nn.Conv2d(dims[i - 1], dims[i], 2, stride=2)
                )
            )
        self.downsample_layers = nn.ModuleList(layers)
        self.stages = nn.ModuleList(
            nn.Sequential(*(ConvNeXtV2Block(dim) for _ in range(depth)))
            for depth, dim in zip(depths, dims, strict=True)
        )
        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)

    @property
    def num_features(self) -> int:
        return self.norm.normalized_shape[0]

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, 3, H, W) -> pooled, normalised features (B, dims[-1]); H, W multiples of 32."""
        for down, stage in zip(self.downsample_layers, self.stages, strict=True):
            x = stage(down(x))
        # Pool first, then LayerNorm on the pooled vector (upstream order).
        return self.norm(x.mean(dim=(-2, -1)))

    def forward(self, x: Tensor) -> Tensor:
        """Alias of :meth:`forward_features`."""
        return self.forward_features(x)


__all__ = ["ConvNeXtV2", "ConvNeXtV2Block", "GlobalResponseNorm", "LayerNormChannelsFirst"]
