"""Fast CPU tests of the motion extractor M and its ConvNeXt-V2 backbone on a tiny config."""

from __future__ import annotations

import pytest
import torch

from vivify.nn.convnextv2 import ConvNeXtV2Block, GlobalResponseNorm, LayerNormChannelsFirst
from vivify.nn.motion_encoder import MotionExtractor, MotionExtractorConfig, MotionExtractorOutput

TINY = MotionExtractorConfig(depths=(1, 1, 2, 1), dims=(8, 16, 24, 32), num_kp=5, num_bins=7)


def _randomise(module: torch.nn.Module, seed: int = 0) -> None:
    """Non-trivial values everywhere (GRN gamma/beta start at zero, LN at identity)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(0.2 * torch.randn(p.shape, generator=gen))


@pytest.fixture()
def tiny() -> MotionExtractor:
    torch.manual_seed(0)
    net = MotionExtractor(TINY)
    _randomise(net)
    return net.eval()


def test_default_config_is_official() -> None:
    cfg = MotionExtractorConfig()
    assert (tuple(cfg.depths), tuple(cfg.dims), cfg.num_kp, cfg.num_bins) == (
        (3, 3, 9, 3),
        (96, 192, 384, 768),
        21,
        66,
    )


def test_output_shapes(tiny: MotionExtractor) -> None:
    with torch.no_grad():
        out = tiny(torch.rand(3, 3, 64, 64))
    assert isinstance(out, MotionExtractorOutput)
    n3 = 3 * TINY.num_kp
    expected = {"pitch": 7, "yaw": 7, "roll": 7, "t": 3, "exp": n3, "scale": 1, "kp": n3}
    for name, width in expected.items():
        assert getattr(out, name).shape == (3, width), name


def test_state_dict_prefix(tiny: MotionExtractor) -> None:
    keys = list(tiny.state_dict())
    assert all(k.startswith("detector.") for k in keys)
    assert "detector.stages.2.1.grn.gamma" in keys
    assert "detector.downsample_layers.1.0.weight" in keys  # LN first in later downsamplers
    assert tiny.state_dict()["detector.downsample_layers.1.1.weight"].shape == (16, 8, 2, 2)


def test_batch_consistency(tiny: MotionExtractor) -> None:
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        both = tiny(x)
        singles = [tiny(x[i : i + 1]) for i in range(2)]
    for name in ("pitch", "yaw", "roll", "t", "exp", "scale", "kp"):
        ref = torch.cat([getattr(s, name) for s in singles])
        torch.testing.assert_close(getattr(both, name), ref, atol=1e-5, rtol=0)


def test_eval_is_deterministic(tiny: MotionExtractor) -> None:
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        a, b = tiny(x), tiny(x)
    assert torch.equal(a.kp, b.kp) and torch.equal(a.pitch, b.pitch)


def test_grn_identity_at_zero() -> None:
    grn = GlobalResponseNorm(6)  # gamma = beta = 0 at init
    z = torch.randn(2, 5, 4, 6)
    assert torch.equal(grn(z), z)


def test_grn_formula() -> None:
    grn = GlobalResponseNorm(4)
    _randomise(grn, seed=3)
    z = torch.randn(2, 3, 5, 4, dtype=torch.float64)
    grn = grn.double()
    g = z.pow(2).sum(dim=(1, 2), keepdim=True).sqrt()
    n = g / (g.mean(dim=-1, keepdim=True) + 1e-6)
    torch.testing.assert_close(grn(z), grn.gamma * z * n + grn.beta + z)


def test_layernorm_channels_first_matches_layer_norm() -> None:
    ln = LayerNormChannelsFirst(5)
    _randomise(ln, seed=4)
    x = torch.randn(2, 5, 3, 4)
    ref = torch.nn.functional.layer_norm(x.permute(0, 2, 3, 1), (5,), ln.weight, ln.bias, 1e-6)
    torch.testing.assert_close(ln(x), ref.permute(0, 3, 1, 2), atol=1e-5, rtol=1e-5)


def test_block_keeps_shape() -> None:
    block = ConvNeXtV2Block(8)
    x = torch.randn(1, 8, 9, 9)
    assert block(x).shape == x.shape
