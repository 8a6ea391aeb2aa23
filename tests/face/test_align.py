"""Crop geometry on hand-checkable cases (reference parity: tests/parity/test_crop_pasteback.py)."""

import numpy as np
import pytest

from vivify.face import CropConfig, crop_matrix, invert_affine
from vivify.face.align import anchor_points, resize_to_limit, transform_points


def _synthetic_face(cx, cy, iod, roll_deg) -> np.ndarray:
    """A 106-point-layout stand-in: only the anchor points and a box matter to the crop."""
    pts = np.zeros((106, 2), np.float32)
    t = np.radians(roll_deg)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    local = np.zeros((106, 2))
    local[[33, 35, 40, 39]] = [-iod / 2, 0]
    local[[87, 89, 94, 93]] = [iod / 2, 0]
    local[[52, 61]] = [0, iod]
    local[0], local[1] = [-iod, -0.5 * iod], [iod, 1.5 * iod]  # box corners
    pts[:] = local @ rot.T + [cx, cy]
    return pts


def test_crop_matrix_hand_checked():
    pts = _synthetic_face(200, 150, 40, 0)
    m = crop_matrix(pts, CropConfig(dsize=512, scale=2.0, vy_ratio=0.0))
    # upright face: no rotation; box is 2*iod = 80 px -> crop side 160 px -> 3.2x zoom
    assert m[0, 1] == pytest.approx(0, abs=1e-6) and m[0, 0] == pytest.approx(512 / 160)
    # the box centre (200, 170) lands in the middle of the crop
    assert transform_points(np.array([[200.0, 170.0]]), m)[0] == pytest.approx([256, 256], abs=1e-3)


@pytest.mark.parametrize("roll", [-30, -5, 12, 40])
def test_crop_levels_the_eye_line(roll):
    pts = _synthetic_face(300, 300, 50, roll)
    m = crop_matrix(pts)
    eye_a, eye_b, _ = anchor_points(transform_points(pts, m))
    assert eye_a[1] == pytest.approx(eye_b[1], abs=1e-2)
    assert eye_b[0] > eye_a[0]
    assert np.allclose(invert_affine(m).astype(np.float64) @ m, np.eye(3), atol=1e-3)


def test_crop_without_rotation_keeps_axes():
    m = crop_matrix(_synthetic_face(300, 300, 50, 25), CropConfig(rotate=False))
    assert m[0, 1] == 0 and m[1, 0] == 0


def test_transform_points_scales_depth():
    m = np.array([[2.0, 0, 5], [0, 2.0, -1], [0, 0, 1]])
    out = transform_points(np.array([[1.0, 1.0, 3.0]]), m)
    assert out[0] == pytest.approx([7, 1, 6])


@pytest.mark.parametrize(
    "h,w,expected",
    [(704, 600, (704, 600, 704, 600)), (2048, 2048, (1280, 1280, 1280, 1280)),
     (1281, 721, (1280, 720, 1280, 720)), (999, 501, (999, 501, 998, 500)),
     (720, 2000, (460, 1280, 460, 1280))],
)  # fmt: skip
def test_resize_to_limit(h, w, expected):
    assert resize_to_limit(h, w) == expected


def test_unknown_layout_rejected():
    with pytest.raises(ValueError, match="unsupported landmark layout"):
        anchor_points(np.zeros((68, 2)))
