"""Speed settings of the neural backend: layout is exact, reduced precision stays close."""

import argparse

import numpy as np
import pytest
import torch

from vivify.backends import NeuralBackend, SpeedOptions
from vivify.backends.speed import cpu_has_bf16, to_channels_last
from vivify.cli.animate import speed_options
from vivify.errors import UserError
from vivify.pipeline.options import AnimationOptions
from vivify.weights import load_liveportrait


def test_options_are_checked_and_fast_fits_the_device():
    with pytest.raises(ValueError, match="precision"):
        SpeedOptions("int4")
    assert SpeedOptions.fast("cuda") == SpeedOptions("float16", channels_last=True)
    assert SpeedOptions.fast("cpu").precision == ("bfloat16" if cpu_has_bf16() else "float32")
    x = torch.rand(1, 4, 3, 5, 6)
    assert SpeedOptions(channels_last=True).layout(x).is_contiguous(memory_format=torch.channels_last_3d)
    assert SpeedOptions().layout(x) is x


def test_cli_speed_flags():
    ns = argparse.Namespace(fast=False, precision="bfloat16", compile=True, device="cpu", threads=None)
    assert speed_options(ns) == SpeedOptions("bfloat16", channels_last=True, compile=True)
    ns = argparse.Namespace(fast=False, precision=None, compile=False, device="cpu", threads=3)
    assert speed_options(ns) == SpeedOptions(threads=3)
    with pytest.raises(UserError, match="not both"):
        ns = argparse.Namespace(fast=True, precision="float16", compile=False, device="cpu", threads=None)
        speed_options(ns)


def test_channels_last_keeps_values():
    conv = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Conv3d(4, 2, 1))
    before = [p.clone() for p in conv.parameters()]
    to_channels_last(conv)
    assert conv[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert conv[1].weight.is_contiguous(memory_format=torch.channels_last_3d)
    assert all(torch.equal(a, b) for a, b in zip(before, conv.parameters(), strict=True))


@pytest.fixture(scope="module")
def frames(test_weights_dir):
    """The same keypoints decoded by float32 eager and bfloat16 channels-last (fresh networks
    each: channels-last converts weights in place)."""
    crop = (np.random.default_rng(0).random((256, 256, 3)) * 255).astype(np.uint8)
    out = {}
    for name, speed in (
        ("fp32", SpeedOptions()),
        ("bf16", SpeedOptions("bfloat16", channels_last=True)),
    ):
        backend = NeuralBackend(models=load_liveportrait(test_weights_dir), speed=speed)
        state = backend.prepare_crop(crop)
        g = torch.Generator().manual_seed(1)
        out[name] = backend.warp_decode(state, state.x_s + 0.01 * torch.randn(state.x_s.shape, generator=g))
    return out


@torch.inference_mode()
def test_channels_last_matches_float32(test_weights_dir):
    """On the appearance extractor (2-D and 3-D convolutions; W and G use the same layers)."""
    net = load_liveportrait(test_weights_dir).appearance_feature_extractor
    x = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(0))
    want = net(x)
    got = to_channels_last(net)(SpeedOptions(channels_last=True).layout(x))
    assert got.dtype == torch.float32 and (got - want).abs().max() < 1e-4 * want.abs().max()


def test_bfloat16_is_close_to_float32(frames):
    got, want = frames["bf16"].image, frames["fp32"].image
    assert got.dtype == torch.float32 and got.shape == want.shape
    diff = (got - want).abs()
    assert diff.max() > 0  # it did run in reduced precision
    mse = float((diff * 255).pow(2).mean())
    assert 10 * np.log10(255**2 / mse) > 28  # measured 34 dB with the test weights


def test_reduced_precision_leaves_the_motion_exact(test_weights_dir):
    """bfloat16 applies to W and G only: source and driving keypoints are the float32 ones."""
    models = load_liveportrait(test_weights_dir)  # shared: without channels-last nothing is converted
    crops = (np.random.default_rng(2).random((3, 256, 256, 3)) * 255).astype(np.uint8)
    keypoints = []
    for speed in (SpeedOptions(), SpeedOptions("bfloat16")):
        backend = NeuralBackend(models=models, speed=speed)
        state = backend.prepare_crop(crops[0])
        motions = backend.motion_from_crops(crops[1:])
        x_d = backend.driving_keypoints(state, motions, motions[0], AnimationOptions())
        keypoints.append((state.x_s, x_d))
    (xs_a, xd_a), (xs_b, xd_b) = keypoints
    assert xd_a.dtype == torch.float32 and torch.equal(xs_a, xs_b) and torch.equal(xd_a, xd_b)
