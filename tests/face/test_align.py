"""Crop geometry and paste-back against the reference fixtures, plus hand-checkable cases."""

import json

import cv2
import numpy as np
import pytest

from vivify.face import CropConfig, crop_face, crop_matrix, feather_mask, invert_affine, paste_back
from vivify.face.align import anchor_points, resize_to_limit, transform_points
from vivify.face.crop import warp_to_frame


@pytest.fixture(scope="module")
def fixture(shared_reference):
    data = np.load(shared_reference / "fixtures" / "crop_pasteback.npz", allow_pickle=False)
    meta = json.loads((shared_reference / "fixtures" / "meta.json").read_text())
    return data, meta["fixtures"]["crop_pasteback"]["tolerances"]


def _check_float(got, ref, tol):
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() <= tol["max_abs"]
    assert np.linalg.norm(got - ref) / np.linalg.norm(ref) <= tol["rel_l2"]


def _check_uint8(got, ref, tol):
    diff = np.abs(got.astype(int) - ref.astype(int))
    assert diff.max() <= tol["max_abs"]
    assert (diff > 0).mean() <= tol["frac_diff"]


def test_crop_matches_reference(fixture):
    data, tol = fixture
    crop = crop_face(data["in__img_rgb"], data["in__lmk203"], CropConfig())
    _check_float(crop.m_o2c, data["out__M_o2c"], tol["M_o2c"])
    _check_float(crop.m_c2o, data["out__M_c2o"], tol["M_c2o"])
    _check_float(crop.landmarks, data["out__pt_crop"], tol["pt_crop"])
    _check_uint8(crop.image, data["out__img_crop_512"], tol["img_crop_512"])
    small = cv2.resize(crop.image, (256, 256), interpolation=cv2.INTER_AREA)
    _check_uint8(small, data["out__img_crop_256"], tol["img_crop_256"])


def test_mask_and_paste_back_match_reference(fixture):
    data, tol = fixture
    assert np.array_equal(feather_mask(512), data["in__mask_template"])
    h, w = data["in__img_rgb"].shape[:2]
    _check_uint8(warp_to_frame(feather_mask(512), data["out__M_c2o"], (h, w)), data["out__mask_ori_u8"],
                 tol["mask_ori_u8"])  # fmt: skip
    original = data["in__img_rgb"].copy()
    pasted = paste_back(data["in__img_rgb"], data["in__frame_uint8"], data["out__M_c2o"])
    _check_uint8(pasted, data["out__pasted"], tol["pasted"])
    assert np.array_equal(data["in__img_rgb"], original)  # input untouched


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
