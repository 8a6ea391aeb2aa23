"""SPADE generator G of LivePortrait (``spade_generator.pth``): warped feature → RGB image.

The warped feature (B, 256, 64, 64) is both the input of the decoder and its SPADE segmentation map:
every residual block re-normalises its activations with per-pixel scales and shifts predicted from
that feature. Module attributes are named after the official state-dict keys so the checkpoint loads
strictly with its keys verbatim (``fc``, ``G_middle_0`` … ``G_middle_5``, ``up_0``, ``up_1``,
``conv_img.0``).

The network behaves identically in train and eval mode: there is no BatchNorm, InstanceNorm always
uses per-image statistics, and :class:`SpectralNormConv2d` never runs power iterations, so the stored
spectral-norm vectors are never modified.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

logger = logging.getLogger(__name__)

__all__ = [
    "SPADE",
    "SPADEGenerator",
    "SPADEGeneratorConfig",
    "SPADEResBlock",
    "SpectralNormConv2d",
]

_LEAKY_SLOPE = 0.2  # G uses 0.2 everywhere (the warping module uses 0.01)


@dataclass(frozen=True)
class SPADEGeneratorConfig:
    """Architecture of G; the defaults are the official ``models.yaml`` values.

    Attributes:
        upscale: PixelShuffle factor of the image head (output size = upscale × feature size).
        block_expansion: base width of the appearance encoder; with ``num_down_blocks`` and
            ``max_features`` it fixes the feature width ``min(max_features, block_expansion · 2^n)``.
        max_features: cap on the feature width.
        num_down_blocks: number of down-sampling blocks of the appearance encoder.
        out_channels: width of the last residual block, before the image convolution.
        num_middle_blocks: residual blocks at the input resolution (``G_middle_<i>``).
        spade_hidden: hidden width of every SPADE modulation MLP.
    """

    upscale: int = 2
    block_expansion: int = 64
    max_features: int = 512
    num_down_blocks: int = 2
    out_channels: int = 64
    num_middle_blocks: int = 6
    spade_hidden: int = 128

    @property
    def feature_channels(self) -> int:
        """Channels of the input feature (and of the SPADE segmentation map): 256 by default."""
        return min(self.max_features, self.block_expansion * 2**self.num_down_blocks)


class SpectralNormConv2d(nn.Module):
    """Conv2d whose weight is divided by a spectral-norm estimate taken from stored vectors.

    State (the layout of ``torch.nn.utils.spectral_norm``): parameters ``weight_orig``
    (cout, cin, k, k) and ``bias`` (cout,) when ``bias=True``; buffers ``weight_u`` (cout,) and
    ``weight_v`` (cin·k·k,). The effective weight is ``weight_orig / σ`` with
    ``σ = u · (weight_orig.reshape(cout, -1) @ v)``, exactly what PyTorch's spectral norm computes in
    eval mode. No power iteration is ever run (in any mode), so ``u`` and ``v`` stay as loaded.

    A state dict holding a plain ``weight`` is accepted as well (see :meth:`_load_from_state_dict`).
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, padding: int = 0, bias: bool = True
    ) -> None:
        super().__init__()
        self.padding = padding
        self.weight_orig = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.register_buffer("weight_u", torch.empty(out_channels))
        self.register_buffer("weight_v", torch.empty(in_channels * kernel_size * kernel_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Random init (conv default); u, v made consistent so that σ > 0."""
        nn.init.kaiming_uniform_(self.weight_orig, a=5**0.5)
        with torch.no_grad():
            u = F.normalize(torch.randn_like(self.weight_u), dim=0)
            self.weight_u.copy_(u)
            self.weight_v.copy_(F.normalize(self.weight_orig.flatten(1).t() @ u, dim=0))

    def sigma(self) -> Tensor:
        """σ = u · (W v), a 0-d tensor."""
        return torch.dot(self.weight_u, torch.mv(self.weight_orig.flatten(1), self.weight_v))

    def effective_weight(self) -> Tensor:
        """The weight the convolution uses, (cout, cin, k, k)."""
        return self.weight_orig / self.sigma()

    def forward(self, x: Tensor) -> Tensor:
        """(B, cin, H, W) → (B, cout, H + 2·padding − k + 1, …)."""
        return F.conv2d(x, self.effective_weight(), self.bias, padding=self.padding)

    def _load_from_state_dict(
        self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool, *args, **kwargs
    ) -> None:
        """Accept a plain ``weight`` key (pre-1.0 spectral norm, or an unnormalised conv).

        * ``weight`` next to a full ``weight_orig``/``weight_u``/``weight_v`` set: it is derived
          data (the last effective weight) and is dropped.
        * ``weight`` without ``weight_v`` (the pre-1.0 layout, or a plain conv with no spectral-norm
          state at all): ``weight_orig`` defaults to ``weight`` and ``u`` to a uniform unit vector,
          and ``v`` is chosen so that ``u · (W v)`` equals ``‖weight_orig‖ / ‖weight‖``; the
          effective weight then reproduces ``weight`` to float32 round-off, and the rewritten
          state round-trips through ``state_dict()``.
        """
        key = prefix + "weight"
        if key in state_dict:
            weight = state_dict.pop(key)
            names = {n: prefix + n for n in ("weight_orig", "weight_u", "weight_v")}
            if names["weight_v"] not in state_dict:
                w = weight.detach().to(torch.float64)
                w_orig = state_dict.get(names["weight_orig"], weight).detach().to(torch.float64)
                u = state_dict.get(names["weight_u"])
                u = (
                    torch.full((w.shape[0],), w.shape[0] ** -0.5, dtype=torch.float64)
                    if u is None
                    else u.detach().to(torch.float64)
                )
                target = w_orig.norm() / w.norm()  # the σ that maps weight_orig onto weight
                wt_u = w_orig.flatten(1).t() @ u
                v = wt_u * (target / wt_u.dot(wt_u))  # so that u · (W v) = target
                dtype = weight.dtype
                state_dict[names["weight_orig"]] = w_orig.to(dtype)
                state_dict[names["weight_u"]] = u.to(dtype)
                state_dict[names["weight_v"]] = v.to(dtype)
                logger.debug("%s: derived spectral-norm state from a plain 'weight'", prefix)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, *args, **kwargs)


class SPADE(nn.Module):
    """Spatially-adaptive normalisation: ``InstanceNorm(x) · (1 + γ(seg)) + β(seg)``.

    Keys: ``mlp_shared.0`` (conv 3×3 seg→hidden, then ReLU), ``mlp_gamma``, ``mlp_beta``
    (conv 3×3 hidden→C).
    """

    def __init__(self, channels: int, seg_channels: int, hidden: int = 128) -> None:
        super().__init__()
        self.mlp_shared = nn.Sequential(nn.Conv2d(seg_channels, hidden, 3, padding=1), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(hidden, channels, 3, padding=1)
        self.mlp_beta = nn.Conv2d(hidden, channels, 3, padding=1)

    def forward(self, x: Tensor, seg: Tensor) -> Tensor:
        """x (B, C, H, W), seg (B, S, h, w) → (B, C, H, W)."""
        # parameter-free, per-image statistics in every mode (biased variance, eps 1e-5)
        normalized = F.instance_norm(x, eps=1e-5)
        seg = F.interpolate(seg, size=x.shape[2:], mode="nearest")
        actv = self.mlp_shared(seg)
        return normalized * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)


class SPADEResBlock(nn.Module):
    """SPADE residual block fin → fout with middle width ``min(fin, fout)``.

    ``out = shortcut(x) + conv_1(act(norm_1(conv_0(act(norm_0(x))))))``, act = LeakyReLU(0.2); the
    shortcut is the identity when fin == fout, else ``conv_s(norm_s(x))`` (1×1, no bias, no activation).
    """

    def __init__(self, fin: int, fout: int, seg_channels: int, hidden: int = 128) -> None:
        super().__init__()
        middle = min(fin, fout)
        self.learned_shortcut = fin != fout
        self.conv_0 = SpectralNormConv2d(fin, middle, 3, padding=1)
        self.conv_1 = SpectralNormConv2d(middle, fout, 3, padding=1)
        self.norm_0 = SPADE(fin, seg_channels, hidden)
        self.norm_1 = SPADE(middle, seg_channels, hidden)
        if self.learned_shortcut:
            self.conv_s = SpectralNormConv2d(fin, fout, 1, bias=False)
            self.norm_s = SPADE(fin, seg_channels, hidden)

    def forward(self, x: Tensor, seg: Tensor) -> Tensor:
        """x (B, fin, H, W), seg (B, S, h, w) → (B, fout, H, W)."""
        x_s = self.conv_s(self.norm_s(x, seg)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg), _LEAKY_SLOPE))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), _LEAKY_SLOPE))
        return x_s + dx


class SPADEGenerator(nn.Module):
    """G: warped feature (B, C, H, W) → image (B, 3, upscale·4·H, upscale·4·W) in (0, 1).

    With the default config: (B, 256, 64, 64) → (B, 3, 512, 512), RGB. Submodules ``fc``,
    ``G_middle_<i>``, ``up_0``, ``up_1`` and ``conv_img`` (conv + PixelShuffle, so its output is the
    shuffled logits) are the official probe points.

    Examples:
        >>> g = SPADEGenerator().eval()
        >>> g.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
        >>> image = g(warped_feature)  # (1, 3, 512, 512)
    """

    def __init__(self, config: SPADEGeneratorConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or SPADEGeneratorConfig()
        c = config.feature_channels
        hidden = config.spade_hidden
        self.fc = nn.Conv2d(c, 2 * c, 3, padding=1)
        for i in range(config.num_middle_blocks):
            self.add_module(f"G_middle_{i}", SPADEResBlock(2 * c, 2 * c, c, hidden))
        self.up_0 = SPADEResBlock(2 * c, c, c, hidden)
        self.up_1 = SPADEResBlock(c, config.out_channels, c, hidden)
        self.conv_img = nn.Sequential(
            nn.Conv2d(config.out_channels, 3 * config.upscale**2, 3, padding=1),
            nn.PixelShuffle(config.upscale),
        )

    def forward(self, feature: Tensor) -> Tensor:
        """feature (B, C, H, W) → image (B, 3, 4·upscale·H, 4·upscale·W), sigmoid output."""
        seg = feature  # the feature doubles as the SPADE segmentation map
        x = self.fc(feature)
        for i in range(self.config.num_middle_blocks):
            x = getattr(self, f"G_middle_{i}")(x, seg)
        x = self.up_0(F.interpolate(x, scale_factor=2, mode="nearest"), seg)
        x = self.up_1(F.interpolate(x, scale_factor=2, mode="nearest"), seg)
        x = self.conv_img(F.leaky_relu(x, _LEAKY_SLOPE))
        return torch.sigmoid(x)
