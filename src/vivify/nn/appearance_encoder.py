"""Appearance feature extractor (LivePortrait's F): source image -> 3-D feature volume ``f_s``.

Loads ``appearance_feature_extractor.pth`` strictly with keys ``first.*``, ``down_blocks.<i>.*``,
``second.*`` and ``resblocks_3d.3dr<i>.*``.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from vivify.nn.layers import DownBlock2d, ResBlock3d, SameBlock2d


@dataclass(frozen=True)
class AppearanceFeatureExtractorConfig:
    """Architecture hyper-parameters; defaults are the official ``models.yaml`` values."""

    image_channel: int = 3
    block_expansion: int = 64
    num_down_blocks: int = 2
    max_features: int = 512
    reshape_channel: int = 32
    reshape_depth: int = 16
    num_resblocks: int = 6


class AppearanceFeatureExtractor(nn.Module):
    """2-D encoder lifted to a 3-D volume, refined by 3-D residual blocks.

    Shapes (official config): (B, 3, 256, 256) RGB in [0, 1] -> (B, 32, 16, 64, 64).
    """

    def __init__(self, config: AppearanceFeatureExtractorConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or AppearanceFeatureExtractorConfig()
        self.first = SameBlock2d(cfg.image_channel, cfg.block_expansion)
        blocks = []
        for i in range(cfg.num_down_blocks):
            cin = min(cfg.max_features, cfg.block_expansion * 2**i)
            blocks.append(DownBlock2d(cin, min(cfg.max_features, cfg.block_expansion * 2 ** (i + 1))))
        self.down_blocks = nn.ModuleList(blocks)
        cout = min(cfg.max_features, cfg.block_expansion * 2**cfg.num_down_blocks)
        self.second = nn.Conv2d(cout, cfg.max_features, kernel_size=1)
        if cfg.reshape_channel * cfg.reshape_depth != cfg.max_features:
            raise ValueError("reshape_channel * reshape_depth must equal max_features")
        # Upstream names the children "3dr<i>", which is not a valid attribute name, hence add_module.
        self.resblocks_3d = nn.Sequential()
        for i in range(cfg.num_resblocks):
            self.resblocks_3d.add_module(f"3dr{i}", ResBlock3d(cfg.reshape_channel))

    def forward(self, x: Tensor) -> Tensor:
        """Args: x (B, 3, H, W) float in [0, 1]. Returns f_s (B, C, D, H/4, W/4)."""
        out = self.first(x)
        for block in self.down_blocks:
            out = block(out)
        out = self.second(out)
        b, _, h, w = out.shape
        # Channel index c * D + d becomes (feature c, depth d).
        out = out.view(b, self.config.reshape_channel, self.config.reshape_depth, h, w)
        return self.resblocks_3d(out)
