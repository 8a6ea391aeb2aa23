"""Paste-back on the renderer's device against the host (OpenCV) paste-back."""

import numpy as np
import pytest
import torch

from vivify.backends.device_paste import paste_crops, paste_target
from vivify.face.align import invert_affine
from vivify.face.crop import crop_footprint, feather_mask, paste_back


def _similarity(scale: float, angle: float, tx: float, ty: float) -> np.ndarray:
    """(3, 3) crop → frame matrix: rotate and scale the 512 crop, then move it to (tx, ty)."""
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    return np.array([[c, -s, tx], [s, c, ty], [0, 0, 1]], np.float32)


def _host(frame: np.ndarray, crops: torch.Tensor, m_c2o: np.ndarray) -> list[np.ndarray]:
    """The host path: truncate each crop to uint8, then OpenCV's warp and blend."""
    u8 = (crops.clamp(0, 1) * 255).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return [paste_back(frame, crop, m_c2o, feather_mask(512)) for crop in u8]


@pytest.mark.parametrize(
    "m_c2o",
    [
        _similarity(0.9, 0.3, 300.0, 60.0),  # rotated, inside the frame
        _similarity(1.3, -0.1, -200.0, 350.0),  # larger, partly outside the left and bottom edges
    ],
    ids=["inside", "clipped"],
)
def test_matches_the_host_paste(m_c2o):
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (720, 1000, 3), dtype=np.uint8)
    # smooth crops with a little noise: where a bilinear warp's rounding matters least and most
    base = torch.linspace(0, 1, 512)
    crops = torch.stack([
        torch.stack([base[None, :].expand(512, 512), base[:, None].expand(512, 512),
                     torch.full((512, 512), 0.25 + 0.5 * k)]) for k in range(2)
    ]) + 0.02 * torch.rand(2, 3, 512, 512, generator=torch.Generator().manual_seed(0))  # fmt: skip
    target = paste_target(frame, m_c2o, feather_mask(512), "cpu")
    out = paste_crops(target, crops).numpy()
    host = _host(frame, crops, m_c2o)
    assert out.shape == (2, *frame.shape) and out.dtype == np.uint8
    y0, y1, x0, x1 = crop_footprint(m_c2o, 512, frame.shape[:2])
    for mine, ref in zip(out, host, strict=True):
        diff = np.abs(mine.astype(int) - ref.astype(int))
        assert diff.max() <= 1 and (diff > 0).mean() < 0.005, (diff.max(), (diff > 0).mean())
        outside = np.ones(frame.shape[:2], bool)
        outside[y0:y1, x0:x1] = False
        assert np.array_equal(mine[outside], frame[outside])
        assert not np.array_equal(mine[y0:y1, x0:x1], frame[y0:y1, x0:x1])
    assert not np.array_equal(out[0], out[1])
    assert np.array_equal(target.picture.numpy(), frame)  # the uploaded picture is not written to


def test_crop_outside_the_frame_leaves_it_unchanged():
    frame = np.full((100, 120, 3), 9, np.uint8)
    target = paste_target(frame, _similarity(0.5, 0.0, 500.0, 500.0), feather_mask(512), "cpu")
    out = paste_crops(target, torch.rand(3, 3, 512, 512)).numpy()
    assert out.shape == (3, 100, 120, 3) and (out == 9).all()


def test_grid_maps_footprint_pixels_to_crop_pixels():
    """grid_sample's (-1, 1) grid points at the crop pixel m_o2c sends each frame pixel to."""
    m_c2o = _similarity(1.1, 0.2, 40.0, 30.0)
    frame = np.zeros((700, 700, 3), np.uint8)
    target = paste_target(frame, m_c2o, feather_mask(512), "cpu")
    y0, _, x0, _ = target.box
    j, i = 200, 150  # a footprint pixel (row, column)
    expected = invert_affine(m_c2o)[:2] @ np.array([x0 + i, y0 + j, 1.0])
    got = (target.grid[0, j, i].numpy().astype(np.float64) + 1) * 511 / 2
    np.testing.assert_allclose(got, expected, atol=1e-3)
