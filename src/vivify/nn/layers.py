"""Shared convolutional blocks of LivePortrait's appearance extractor and warping module.

Attribute names (``conv``, ``norm``, ``norm1``, ``conv1``, ``down_blocks``, ``up_blocks``, ...) follow the
upstream checkpoints so that their state-dict keys load verbatim. All normalisation is plain BatchNorm;
in eval mode it uses the stored running statistics.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class SameBlock2d(nn.Module):
    """conv 3x3 -> BatchNorm2d -> ReLU (or LeakyReLU), spatial size kept.

    Shapes: (B, cin, H, W) -> (B, cout, H, W).
    """

    def __init__(self, in_features: int, out_features: int, lrelu: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm2d(out_features)
        # W's ``third`` block is the only user of LeakyReLU; its slope is PyTorch's default 0.01.
        self.act: nn.Module = nn.LeakyReLU(0.01) if lrelu else nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.norm(self.conv(x)))


class DownBlock2d(nn.Module):
    """conv 3x3 -> BatchNorm2d -> ReLU -> AvgPool 2x2.

    Shapes: (B, cin, H, W) -> (B, cout, H/2, W/2).
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm2d(out_features)

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(F.relu(self.norm(self.conv(x))), kernel_size=2)


class ResBlock3d(nn.Module):
    """Pre-activation residual block: ``x + conv2(relu(norm2(conv1(relu(norm1(x))))))``.

    Shapes: (B, C, D, H, W) -> (B, C, D, H, W).
    """

    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(in_features, in_features, kernel_size=3, padding=1)
        self.conv2 = nn.Conv3d(in_features, in_features, kernel_size=3, padding=1)
        self.norm1 = nn.BatchNorm3d(in_features)
        self.norm2 = nn.BatchNorm3d(in_features)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv1(F.relu(self.norm1(x)))
        out = self.conv2(F.relu(self.norm2(out)))
        return out + x


class DownBlock3d(nn.Module):
    """conv 3x3x3 -> BatchNorm3d -> ReLU -> AvgPool (1, 2, 2); depth is never pooled.

    Shapes: (B, cin, D, H, W) -> (B, cout, D, H/2, W/2).
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(in_features, out_features, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm3d(out_features)

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool3d(F.relu(self.norm(self.conv(x))), kernel_size=(1, 2, 2))


class UpBlock3d(nn.Module):
    """Nearest upsample (1, 2, 2) -> conv 3x3x3 -> BatchNorm3d -> ReLU.

    Shapes: (B, cin, D, H, W) -> (B, cout, D, 2H, 2W).
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(in_features, out_features, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm3d(out_features)

    def forward(self, x: Tensor) -> Tensor:
        x = F.interpolate(x, scale_factor=(1, 2, 2), mode="nearest")
        return F.relu(self.norm(self.conv(x)))


class Encoder3d(nn.Module):
    """Hourglass encoder: a chain of DownBlock3d that keeps every intermediate for the skips.

    Block i maps ``min(max_features, block_expansion * 2**i)`` (``in_features`` for i = 0) to
    ``min(max_features, block_expansion * 2**(i + 1))`` channels.
    """

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int, max_features: int) -> None:
        super().__init__()
        blocks = []
        for i in range(num_blocks):
            cin = in_features if i == 0 else min(max_features, block_expansion * 2**i)
            blocks.append(DownBlock3d(cin, min(max_features, block_expansion * 2 ** (i + 1))))
        self.down_blocks = nn.ModuleList(blocks)

    def forward(self, x: Tensor) -> list[Tensor]:
        """Returns ``[x, e1, ..., e_num_blocks]`` (input first, deepest last)."""
        outs = [x]
        for block in self.down_blocks:
            outs.append(block(outs[-1]))
        return outs


class Decoder3d(nn.Module):
    """Hourglass decoder: UpBlock3d chain, each output concatenated as ``[upsampled, skip]``.

    Ends with ``conv`` 3x3x3 -> ``norm`` BatchNorm3d -> ReLU on the final
    ``block_expansion + in_features`` channels (``out_filters``).
    """

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int, max_features: int) -> None:
        super().__init__()
        blocks = []
        for i in reversed(range(num_blocks)):
            # Every level below the top receives [upsampled, skip] of equal width, hence the factor 2.
            cin = (1 if i == num_blocks - 1 else 2) * min(max_features, block_expansion * 2 ** (i + 1))
            blocks.append(UpBlock3d(cin, min(max_features, block_expansion * 2**i)))
        self.up_blocks = nn.ModuleList(blocks)
        self.out_filters = block_expansion + in_features
        self.conv = nn.Conv3d(self.out_filters, self.out_filters, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm3d(self.out_filters)

    def forward(self, skips: list[Tensor]) -> Tensor:
        """``skips`` as returned by :class:`Encoder3d`; returns (B, out_filters, D, H, W)."""
        out = skips[-1]
        for block, skip in zip(self.up_blocks, reversed(skips[:-1]), strict=True):
            out = torch.cat([block(out), skip], dim=1)
        return F.relu(self.norm(self.conv(out)))


class Hourglass3d(nn.Module):
    """3-D U-Net (keys ``encoder.down_blocks.*``, ``decoder.up_blocks.*``, ``decoder.conv/norm``).

    Shapes: (B, in_features, D, H, W) -> (B, block_expansion + in_features, D, H, W); H and W must be
    divisible by ``2**num_blocks``.
    """

    def __init__(
        self, block_expansion: int, in_features: int, num_blocks: int = 3, max_features: int = 256
    ) -> None:
        super().__init__()
        self.encoder = Encoder3d(block_expansion, in_features, num_blocks, max_features)
        self.decoder = Decoder3d(block_expansion, in_features, num_blocks, max_features)
        self.out_filters = self.decoder.out_filters

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))
