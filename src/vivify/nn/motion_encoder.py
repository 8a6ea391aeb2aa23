"""Motion extractor M of LivePortrait (``motion_extractor.pth``).

A ConvNeXt-V2-tiny trunk whose pooled 768-vector feeds seven linear heads: head-pose bin logits
(pitch, yaw, roll), translation ``t``, expression offsets ``exp``, ``scale`` and canonical keypoints
``kp``. The network returns the raw head outputs; turning bin logits into degrees and reshaping
``kp``/``exp`` to (B, N, 3) is motion math and lives outside the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import Tensor, nn

from vivify.nn.convnextv2 import ConvNeXtV2


@dataclass(frozen=True)
class MotionExtractorConfig:
    """Architecture of M; defaults are the official ``convnextv2_tiny`` with ``num_kp = 21``.

    Attributes:
        in_channels: image channels (RGB).
        depths: ConvNeXt-V2 blocks per stage.
        dims: channel width per stage.
        num_kp: number of implicit keypoints N (``kp`` and ``exp`` have 3N values).
        num_bins: head-angle bins per angle (3 degrees each, -97.5 .. +97.5).
    """

    in_channels: int = 3
    depths: Sequence[int] = (3, 3, 9, 3)
    dims: Sequence[int] = (96, 192, 384, 768)
    num_kp: int = 21
    num_bins: int = 66


@dataclass(frozen=True)
class MotionExtractorOutput:
    """Raw head outputs of M for a batch of B images.

    Attributes:
        pitch: bin logits, (B, num_bins).
        yaw: bin logits, (B, num_bins).
        roll: bin logits, (B, num_bins).
        t: translation, (B, 3); only x and y are used downstream.
        exp: expression offsets, (B, 3N), row-major ``[k0x, k0y, k0z, k1x, ...]``.
        scale: scale, (B, 1).
        kp: canonical keypoints, (B, 3N), row-major like ``exp``.
    """

    pitch: Tensor
    yaw: Tensor
    roll: Tensor
    t: Tensor
    exp: Tensor
    scale: Tensor
    kp: Tensor


class MotionDetector(ConvNeXtV2):
    """ConvNeXt-V2 trunk plus M's heads; the module stored under ``detector.`` in the checkpoint.

    Heads are declared in the checkpoint's key order (kp, scale, pitch, yaw, roll, t, exp).
    """

    def __init__(self, config: MotionExtractorConfig) -> None:
        super().__init__(config.in_channels, config.depths, config.dims)
        width = config.dims[-1]
        self.fc_kp = nn.Linear(width, 3 * config.num_kp)
        self.fc_scale = nn.Linear(width, 1)
        self.fc_pitch = nn.Linear(width, config.num_bins)
        self.fc_yaw = nn.Linear(width, config.num_bins)
        self.fc_roll = nn.Linear(width, config.num_bins)
        self.fc_t = nn.Linear(width, 3)
        self.fc_exp = nn.Linear(width, 3 * config.num_kp)

    def forward(self, x: Tensor) -> MotionExtractorOutput:
        """(B, C, H, W) -> :class:`MotionExtractorOutput`."""
        f = self.forward_features(x)  # (B, dims[-1])
        return MotionExtractorOutput(
            pitch=self.fc_pitch(f),
            yaw=self.fc_yaw(f),
            roll=self.fc_roll(f),
            t=self.fc_t(f),
            exp=self.fc_exp(f),
            scale=self.fc_scale(f),
            kp=self.fc_kp(f),
        )


class MotionExtractor(nn.Module):
    """LivePortrait motion extractor M; ``state_dict()`` keys equal ``motion_extractor.pth``'s.

    Input is RGB float32 in [0, 1] (``uint8 / 255``) with no mean/std normalisation, (B, 3, 256, 256)
    for the official checkpoint (any H, W divisible by 32 runs).

    Args:
        config: architecture; the default matches the official checkpoint.

    Examples:
        >>> import torch
        >>> m = MotionExtractor().eval()
        >>> out = m(torch.rand(1, 3, 256, 256))
        >>> out.pitch.shape, out.kp.shape
        (torch.Size([1, 66]), torch.Size([1, 63]))
    """

    def __init__(self, config: MotionExtractorConfig | None = None) -> None:
        super().__init__()
        self.config = config or MotionExtractorConfig()
        self.detector = MotionDetector(self.config)

    def forward(self, x: Tensor) -> MotionExtractorOutput:
        """(B, 3, H, W) in [0, 1] -> raw head outputs, see :class:`MotionExtractorOutput`."""
        return self.detector(x)


__all__ = ["MotionDetector", "MotionExtractor", "MotionExtractorConfig", "MotionExtractorOutput"]
