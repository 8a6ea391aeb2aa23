import numpy as np
import pytest

from vivify.face.geometry import canonical_face
from vivify.face.landmarks import INNER_LIP_MID, LEFT_EYE_LIDS, RIGHT_EYE_LIDS
from vivify.face.openness import (
    eye_open,
    eye_open_ratios,
    lip_open,
    retarget_eye_ratios,
    retarget_lip_ratio,
)


def _face() -> np.ndarray:
    """The canonical face as image landmarks (x right, y down), 100 px per inter-ocular unit."""
    return canonical_face() * 100.0 * np.array([1, -1, -1]) + [300.0, 250.0, 0.0]


def test_eye_and_lip_ratios_follow_the_points():
    p = _face()
    eyes = eye_open_ratios(p)
    assert 0.1 < eyes[0] < 0.6 and eyes[0] == pytest.approx(eyes[1], rel=0.05)
    closed = p.copy()
    for up, low in LEFT_EYE_LIDS + RIGHT_EYE_LIDS:
        mid = 0.5 * (p[up] + p[low])
        closed[up], closed[low] = mid, mid
    assert eye_open(closed) == pytest.approx(0.0, abs=1e-9)
    opened = p.copy()
    opened[INNER_LIP_MID[1], 1] += 40  # drop the lower inner lip by 40 px
    assert lip_open(opened) > lip_open(p) + 0.2
    assert eye_open(np.stack([p, closed])).shape == (2,)


def test_both_eye_measures_give_the_image_left_eye_first():
    p = _face()
    closed = p.copy()
    for up, low in RIGHT_EYE_LIDS:  # the subject's right eye: on the image's left
        assert p[up, 0] < p[:, 0].mean()
        closed[up] = closed[low] = 0.5 * (p[up] + p[low])
    for ratios in (eye_open_ratios(closed), retarget_eye_ratios(closed)):
        assert ratios[0] == pytest.approx(0.0, abs=1e-6) and ratios[1] > 0.1


def test_retargeting_ratios_follow_the_203_point_definitions():
    p = np.zeros((478, 3), np.float32)
    p[[33, 133], 0] = 0, 30  # image-left eye: 30 wide, middle lids 9 apart
    p[[159, 145], 1] = -4, 5
    p[[160, 144], 1] = -1, 1  # the other lid pairs are not read
    p[[362, 263], 0] = 60, 100  # image-right eye: 40 wide, middle lids 6 apart
    p[[386, 374], 1] = -3, 3
    p[[61, 291], 0] = 20, 70  # mouth: 50 wide, inner lips 10 apart
    p[[13, 14], 1] = 40, 50
    np.testing.assert_allclose(retarget_eye_ratios(p), [0.3, 0.15], rtol=1e-5)
    np.testing.assert_allclose(retarget_lip_ratio(p), [0.2], rtol=1e-5)
    assert retarget_eye_ratios(np.stack([p, p])).shape == (2, 2)
    assert retarget_lip_ratio(p).dtype == np.float32
    assert retarget_lip_ratio(p)[0] == pytest.approx(lip_open(p), rel=1e-6)  # one lip definition
