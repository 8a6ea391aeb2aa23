import numpy as np
import pytest

from vivify.face import head_pose
from vivify.face.geometry import canonical_face, euler_to_rotation, rotation_to_euler, similarity_fit
from vivify.io import load_image


def _to_image(points_rh: np.ndarray, scale=100.0, offset=(300.0, 250.0)) -> np.ndarray:
    """Right-handed canonical coordinates -> image-convention landmarks."""
    p = points_rh * scale * np.array([1, -1, -1])
    p[:, :2] += offset
    return p.astype(np.float32)


@pytest.mark.parametrize("angles", [(0, 0, 0), (20, 0, 0), (0, -15, 0), (0, 0, 10), (-25, 12, -8)])
def test_euler_round_trip(angles):
    assert np.allclose(rotation_to_euler(euler_to_rotation(*angles)), angles, atol=1e-9)


def test_similarity_fit_recovers_transform():
    rng = np.random.default_rng(1)
    src = rng.normal(size=(50, 3))
    rot = euler_to_rotation(30, -10, 5)
    dst = 2.5 * src @ rot.T + np.array([1.0, -2.0, 3.0])
    s, r, t = similarity_fit(src, dst)
    assert s == pytest.approx(2.5)
    assert np.allclose(r, rot) and np.allclose(t, [1, -2, 3])


def test_canonical_face_is_frontal_and_symmetric():
    c = canonical_face()
    assert c.shape == (478, 3)
    assert head_pose(_to_image(c)) == pytest.approx((0, 0, 0), abs=1e-4)
    # eye corners mirror each other across x = 0
    assert c[263, 0] == pytest.approx(-c[33, 0], abs=1e-3)
    assert c[263, 1] == pytest.approx(c[33, 1], abs=1e-3)


@pytest.mark.parametrize("yaw,pitch,roll", [(25, 0, 0), (0, 15, 0), (0, 0, -20), (-30, -10, 12)])
def test_head_pose_recovers_known_rotation(yaw, pitch, roll):
    rotated = canonical_face() @ euler_to_rotation(yaw, pitch, roll).T
    assert head_pose(_to_image(rotated)) == pytest.approx((yaw, pitch, roll), abs=1e-4)


def test_head_pose_sign_conventions(shared_data, detector):
    # s9 looks towards the image's left; its mirror image must read the opposite yaw and roll
    image = load_image(shared_data / "portraits" / "s9.jpg")
    yaw, pitch, roll = head_pose(detector.detect(image)[0].landmarks)
    yaw_m, pitch_m, roll_m = head_pose(detector.detect(np.ascontiguousarray(image[:, ::-1]))[0].landmarks)
    assert yaw < -8
    assert yaw_m == pytest.approx(-yaw, abs=4)
    assert pitch_m == pytest.approx(pitch, abs=3)
    assert roll_m == pytest.approx(-roll, abs=3)


def test_head_pose_relative_to_reference():
    base = _to_image(canonical_face())
    turned = _to_image(canonical_face() @ euler_to_rotation(10, 0, 0).T)
    assert head_pose(turned, reference=base) == pytest.approx((10, 0, 0), abs=1e-4)
