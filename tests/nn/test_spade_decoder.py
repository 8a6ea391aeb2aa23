"""Fast tests of the SPADE generator on a tiny config (the real-shape check is tests/parity)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vivify.nn.spade_decoder import SPADEGenerator, SPADEGeneratorConfig, SpectralNormConv2d

TINY = SPADEGeneratorConfig(
    block_expansion=4, max_features=16, num_down_blocks=1, out_channels=4, num_middle_blocks=2, spade_hidden=8
)  # feature width 8


def _tiny(seed: int = 0) -> SPADEGenerator:
    torch.manual_seed(seed)
    return SPADEGenerator(TINY).eval()


def _feature(batch: int = 2, size: int = 8, seed: int = 1) -> torch.Tensor:
    return torch.randn(
        batch, TINY.feature_channels, size, size, generator=torch.Generator().manual_seed(seed)
    )


def test_default_config_matches_official_layout(manifest) -> None:
    assert SPADEGeneratorConfig().feature_channels == 256
    expected = {t["key"]: tuple(t["shape"]) for t in manifest["files"]["spade_generator.pth"]["tensors"]}
    got = {k: tuple(v.shape) for k, v in SPADEGenerator().state_dict().items()}
    assert got == expected


def test_output_shape_and_range() -> None:
    with torch.no_grad():
        out = _tiny()(_feature(batch=2, size=8))
    assert out.shape == (2, 3, 64, 64)  # 2× up twice, then PixelShuffle(2)
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


def test_spectral_norm_divides_by_stored_sigma() -> None:
    torch.manual_seed(0)
    conv = SpectralNormConv2d(5, 6, 3, padding=1)
    with torch.no_grad():  # arbitrary (unconverged) u, v: σ is u·(W v), not the top singular value
        conv.weight_u.copy_(torch.randn(6))
        conv.weight_v.copy_(torch.randn(45))
    w = conv.weight_orig.detach().double()
    sigma = conv.weight_u.double() @ (w.reshape(6, -1) @ conv.weight_v.double())
    assert abs(sigma - torch.linalg.matrix_norm(w.reshape(6, -1), ord=2)) > 1e-3
    x = torch.randn(1, 5, 7, 7)
    expected = F.conv2d(x.double(), w / sigma, conv.bias.double(), padding=1)
    with torch.no_grad():
        torch.testing.assert_close(conv(x).double(), expected, rtol=1e-5, atol=1e-5)


def test_spectral_norm_matches_torch_eval_mode() -> None:
    torch.manual_seed(0)
    ref = nn.utils.spectral_norm(nn.Conv2d(4, 3, 3, padding=1))
    ref(torch.randn(1, 4, 5, 5))  # one training step so that u, v are non-trivial
    ref.eval()
    ours = SpectralNormConv2d(4, 3, 3, padding=1)
    ours.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(2, 4, 6, 6)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), rtol=0, atol=1e-6)


def test_plain_weight_key_loads_as_effective_weight() -> None:
    torch.manual_seed(0)
    plain = nn.Conv2d(4, 3, 3, padding=1)
    conv = SpectralNormConv2d(4, 3, 3, padding=1)
    conv.load_state_dict(plain.state_dict(), strict=True)  # keys: weight, bias
    x = torch.randn(1, 4, 6, 6)
    with torch.no_grad():
        torch.testing.assert_close(conv(x), plain(x), rtol=1e-5, atol=1e-6)
        again = SpectralNormConv2d(4, 3, 3, padding=1)
        again.load_state_dict(conv.state_dict(), strict=True)  # derived state round-trips
        torch.testing.assert_close(again(x), conv(x), rtol=0, atol=0)


def test_generator_loads_plain_weight_checkpoint() -> None:
    model = _tiny()
    state = model.state_dict()
    redundant, plain = dict(state), dict(state)
    for name, module in model.named_modules():
        if isinstance(module, SpectralNormConv2d):
            weight = module.effective_weight().detach()
            redundant[f"{name}.weight"] = weight  # stored next to the full spectral-norm state
            for suffix in ("weight_orig", "weight_u", "weight_v"):
                del plain[f"{name}.{suffix}"]
            plain[f"{name}.weight"] = weight
    x = _feature()
    with torch.no_grad():
        expected = model(x)
        for sd in (redundant, plain):
            other = SPADEGenerator(TINY).eval()
            other.load_state_dict(sd, strict=True)
            torch.testing.assert_close(other(x), expected, rtol=0, atol=1e-5)


def test_eval_is_deterministic() -> None:
    model, x = _tiny(), _feature()
    with torch.no_grad():
        assert torch.equal(model(x), model(x))
        # batch members are independent (per-image InstanceNorm statistics)
        torch.testing.assert_close(model(x[1:]), model(x)[1:], rtol=0, atol=1e-6)


@pytest.mark.parametrize("mode", [True, False])
def test_train_mode_changes_nothing(mode: bool) -> None:
    model, x = _tiny(), _feature()
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    with torch.no_grad():
        expected = model(x)
        model.train(mode)
        got = model(x)
    assert torch.equal(got, expected)
    assert all(torch.equal(v, buffers[k]) for k, v in model.named_buffers())  # no power iteration
