"""Properties of head-pose geometry (vivify.face.geometry) and eye/lip openness (vivify.face.openness).

Angles are in degrees. Euler decompositions are unique for |yaw| < 90 and pitch, roll in
(-180, 180); round trips stay a degree inside those limits.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from vivify.face.geometry import (
    canonical_face,
    euler_to_rotation,
    head_pose,
    rotation_to_euler,
    similarity_fit,
)
from vivify.face.openness import (
    eye_open,
    eye_open_ratios,
    eye_ratios_203,
    lip_open,
    lip_ratio_203,
    retarget_eye_ratios,
    retarget_lip_ratio,
)

any_angle = st.floats(-720.0, 720.0)
yaws = st.floats(-89.0, 89.0)
half_turns = st.floats(-179.0, 179.0)
seeds = st.integers(0, 2**32 - 1)


def _assert_rotation(r: np.ndarray, atol: float = 1e-12) -> None:
    assert np.isfinite(r).all()
    np.testing.assert_allclose(r @ r.T, np.eye(3), rtol=0, atol=atol)
    np.testing.assert_allclose(np.linalg.det(r), 1.0, rtol=0, atol=atol)


def _angle_diff(a: float, b: float) -> float:
    """|a - b| on the circle, in degrees."""
    return abs((a - b + 180.0) % 360.0 - 180.0)


@st.composite
def rotations(draw) -> np.ndarray:
    """Any rotation (from a non-zero quaternion)."""
    q = np.array(draw(st.lists(st.floats(-1.0, 1.0), min_size=4, max_size=4)))
    norm = np.linalg.norm(q)
    assume(norm > 1e-3)
    w, x, y, z = q / norm
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


@given(any_angle, any_angle, any_angle)
def test_euler_to_rotation_is_a_rotation(yaw, pitch, roll):
    _assert_rotation(euler_to_rotation(yaw, pitch, roll))


@given(yaws, half_turns, half_turns)
def test_euler_angles_round_trip_through_the_matrix(yaw, pitch, roll):
    got = rotation_to_euler(euler_to_rotation(yaw, pitch, roll))
    assert all(math.isfinite(a) for a in got)
    np.testing.assert_allclose(got, (yaw, pitch, roll), rtol=0, atol=1e-6)


@given(rotations())
def test_rotation_round_trips_through_euler_angles(rot):
    assume(abs(rot[2, 0]) < 0.999)  # away from gimbal lock (|yaw| = 90), where roll and pitch mix
    yaw, pitch, roll = rotation_to_euler(rot)
    assert -90.0 <= yaw <= 90.0 and -180.0 <= pitch <= 180.0 and -180.0 <= roll <= 180.0
    np.testing.assert_allclose(euler_to_rotation(yaw, pitch, roll), rot, rtol=0, atol=1e-9)


@given(rotations(), st.floats(0.01, 100.0), st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=3),
       st.integers(4, 40), seeds)  # fmt: skip
def test_similarity_fit_recovers_a_similarity(rot, scale, shift, n, seed):
    src = np.random.default_rng(seed).normal(size=(n, 3))
    dst = scale * src @ rot.T + np.array(shift)
    s, r, t = similarity_fit(src, dst)
    _assert_rotation(r, atol=1e-9)
    np.testing.assert_allclose(s, scale, rtol=1e-9)
    np.testing.assert_allclose(r, rot, rtol=0, atol=1e-9)
    np.testing.assert_allclose(s * src @ r.T + t, dst, rtol=0, atol=1e-9 * (1 + scale + np.abs(shift).max()))


@given(rotations(), st.integers(4, 40), seeds)
def test_similarity_fit_never_returns_a_reflection(rot, n, seed):
    """A mirrored point set still gets a proper rotation (det +1), never a reflection."""
    src = np.random.default_rng(seed).normal(size=(n, 3))
    mirrored = src @ rot.T * np.array([-1.0, 1.0, 1.0])
    s, r, t = similarity_fit(src, mirrored)
    _assert_rotation(r, atol=1e-9)
    assert math.isfinite(s) and np.isfinite(t).all()


def _posed_face(yaw: float, pitch: float, roll: float, size: float, cx: float, cy: float) -> np.ndarray:
    """The canonical face turned by (yaw, pitch, roll), ``size`` px inter-ocular, image convention."""
    posed = size * canonical_face() @ euler_to_rotation(yaw, pitch, roll).T + (cx, -cy, 0.0)
    return posed * np.array([1.0, -1.0, -1.0])


poses = st.tuples(
    st.floats(-60.0, 60.0),
    st.floats(-45.0, 45.0),
    st.floats(-45.0, 45.0),
    st.floats(20.0, 800.0),
    st.floats(0.0, 4000.0),
    st.floats(0.0, 4000.0),
)


@given(poses)
def test_head_pose_of_a_posed_canonical_face_is_its_pose(pose):
    got = head_pose(_posed_face(*pose))
    np.testing.assert_allclose(got, pose[:3], rtol=0, atol=1e-6)


@given(poses, poses)
def test_head_pose_against_itself_is_zero(pose, other):
    points = _posed_face(*pose)
    np.testing.assert_allclose(head_pose(points, reference=points), 0.0, atol=1e-6)
    # a reference face turned only in the image plane: the pose is the difference in roll
    turned = _posed_face(0.0, 0.0, other[2], *pose[3:])
    front = _posed_face(0.0, 0.0, 0.0, *pose[3:])
    yaw, pitch, roll = head_pose(turned, reference=front)
    assert abs(yaw) < 1e-6 and abs(pitch) < 1e-6 and _angle_diff(roll, other[2]) < 1e-6


# -- openness -------------------------------------------------------------------------------------


def _moved_in_the_image(points: np.ndarray, angle: float, scale: float, dx: float, dy: float) -> np.ndarray:
    t = math.radians(angle)
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    out = points.astype(np.float64, copy=True)
    out[..., :2] = points[..., :2] @ rot.T * scale + (dx, dy)
    out[..., 2:] *= scale
    return out


image_moves = st.tuples(
    st.floats(-180.0, 180.0), st.floats(0.5, 10.0), st.floats(-4000.0, 4000.0), st.floats(-4000.0, 4000.0)
)
MESH_MEASURES = (eye_open_ratios, eye_open, lip_open, retarget_eye_ratios, retarget_lip_ratio)


@given(poses, image_moves, seeds)
def test_openness_ignores_where_the_face_is_in_the_image(pose, move, seed):
    """Ratios of distances: unchanged by shifting, turning or zooming the image."""
    points = _posed_face(*pose)
    points[:, :2] += np.random.default_rng(seed).normal(scale=0.02 * pose[3], size=(478, 2))  # expression
    moved = _moved_in_the_image(points, *move)
    for measure in MESH_MEASURES:
        np.testing.assert_allclose(measure(moved), measure(points), rtol=1e-5, atol=1e-9)


@given(st.floats(-1e6, 1e6), st.floats(0.0, 1e6), st.integers(0, 3), seeds)
def test_openness_is_finite_and_non_negative_for_any_finite_landmarks(offset, spread, batch, seed):
    shape = (batch, 478, 3) if batch else (478, 3)
    points = offset + spread * np.random.default_rng(seed).standard_normal(shape)
    for measure in MESH_MEASURES:
        out = measure(points)
        assert np.isfinite(out).all() and (out >= 0).all()
    np.testing.assert_allclose(eye_open(points), eye_open_ratios(points).mean(axis=-1))
    degenerate = np.full((478, 3), offset)  # every point in one place: closed, not NaN
    assert np.array_equal(eye_open_ratios(degenerate), [0.0, 0.0]) and lip_open(degenerate) == 0.0


@given(image_moves, seeds, st.sampled_from([np.float32, np.float64]))
def test_203_point_ratios_are_finite_similarity_invariant_and_keep_the_dtype(move, seed, dtype):
    rng = np.random.default_rng(seed)
    points = (rng.uniform(0, 512, size=(203, 2))).astype(dtype)
    eyes, lips = eye_ratios_203(points), lip_ratio_203(points)
    assert eyes.shape == (2,) and lips.shape == (1,) and eyes.dtype == dtype and lips.dtype == dtype
    assert np.isfinite(eyes).all() and np.isfinite(lips).all() and (eyes >= 0).all() and lips[0] >= 0
    moved = _moved_in_the_image(points.astype(np.float64), *move).astype(dtype)
    rtol = 1e-3 if dtype == np.float32 else 1e-6
    np.testing.assert_allclose(eye_ratios_203(moved), eyes, rtol=rtol, atol=1e-6)
    np.testing.assert_allclose(lip_ratio_203(moved), lips, rtol=rtol, atol=1e-6)
