"""Embedding: shape and input contracts, visual cost, pattern cache."""

import numpy as np
import pytest
from watermark_media import load_rgb, psnr, square

from vivify.watermark import Message, embed
from vivify.watermark.embed import perceptual_gain
from vivify.watermark.pattern import GRID, keyed_tables, pattern

MESSAGE = Message(0, 1, 0xCAFE)


def _noise(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_input_is_not_modified_and_output_is_a_new_uint8_image():
    rgb = _noise(96, 80)
    before = rgb.copy()
    rgb.flags.writeable = False  # any in-place write would raise
    out = embed(rgb, MESSAGE)
    assert np.array_equal(rgb, before)
    assert out.shape == rgb.shape and out.dtype == np.uint8 and not np.shares_memory(out, rgb)
    assert not np.array_equal(out, rgb)


@pytest.mark.parametrize("size", [(64, 64), (97, 131), (513, 255), (720, 1280)])
def test_any_size_from_64_px_and_odd_sizes(size):
    rgb = _noise(*size)
    out = embed(rgb, MESSAGE)
    assert out.shape == rgb.shape
    assert psnr(out, rgb) >= 40


def test_non_contiguous_input_is_accepted():
    rgb = _noise(128, 128)
    flipped = rgb[:, ::-1]
    assert np.array_equal(embed(flipped, MESSAGE), embed(np.ascontiguousarray(flipped), MESSAGE))


@pytest.mark.parametrize(
    "bad",
    [np.zeros((63, 100, 3), np.uint8), np.zeros((100, 100), np.uint8), np.zeros((100, 100, 3), np.float32)],
)
def test_bad_inputs_raise(bad):
    with pytest.raises(ValueError):
        embed(bad, MESSAGE)


def test_negative_strength_raises():
    with pytest.raises(ValueError):
        embed(_noise(64, 64), MESSAGE, strength=-1)


def test_psnr_at_least_40_db_on_real_portraits(shared_data):
    for path in sorted((shared_data / "portraits").glob("*.jpg"))[:4]:
        rgb = square(load_rgb(path))
        assert psnr(embed(rgb, MESSAGE), rgb) >= 40, path.name


def test_pure_texture_hits_the_rms_ceiling_not_below_40_db():
    rgb = _noise(256, 256)  # texture everywhere: the gain saturates, the RMS cap must hold
    assert 40 <= psnr(embed(rgb, MESSAGE), rgb) < 42.5


def test_flat_areas_get_a_weaker_mark_than_texture():
    rgb = np.full((128, 256, 3), 128, np.uint8)
    rgb[:, 128:] = _noise(128, 128)[..., :1] // 2 + 64  # right half textured
    change = np.abs(embed(rgb, MESSAGE).astype(int) - rgb).mean(axis=(0, 2))
    assert change[:120].mean() < 0.5 * change[136:].mean()
    gain = perceptual_gain(rgb)
    assert gain.min() >= 0.5 and gain.max() <= 2.0


def test_pattern_is_deterministic_cached_and_read_only():
    bits = MESSAGE.to_bits()
    first = pattern(100, 120, bits, 1)
    assert pattern(100, 120, bits, 1) is first
    assert not first.flags.writeable
    assert np.isclose(np.sqrt(np.mean(first.astype(np.float64) ** 2)), 1.0, atol=1e-3)
    assert not np.array_equal(first, pattern(100, 120, bits, 2))
    chips, owner = keyed_tables(1)
    assert chips.shape == owner.shape == (GRID, GRID)
    assert np.all(np.bincount(owner.ravel()) == GRID * GRID // 64)


def test_zero_strength_is_identity():
    rgb = _noise(80, 80)
    assert np.array_equal(embed(rgb, MESSAGE, strength=0.0), rgb)
