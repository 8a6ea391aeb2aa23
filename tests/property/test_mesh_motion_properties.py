"""Properties of motion transfer and editing on 478-point meshes (vivify.motion.mesh, mesh_editing).

Faces are the canonical face turned by up to 60° yaw and 45° pitch/roll, 20 to 800 pixels between
the eyes, anywhere in a 4000-pixel frame, with a small random expression on top.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from vivify.face import landmarks as L
from vivify.face.geometry import canonical_face, euler_to_rotation, head_pose
from vivify.motion.editing import CONTROLS, POSE_CONTROLS, FaceEdit
from vivify.motion.mesh import (
    close_irises,
    compose,
    decompose,
    keep_closed_shapes_valid,
    transfer,
)
from vivify.motion.mesh_editing import edit_landmarks

seeds = st.integers(0, 2**32 - 1)
regions = st.sampled_from(["all", "exp", "pose", "lips", "eyes"])
poses = st.tuples(
    st.floats(-60.0, 60.0),
    st.floats(-45.0, 45.0),
    st.floats(-45.0, 45.0),
    st.floats(20.0, 800.0),
    st.floats(0.0, 4000.0),
    st.floats(0.0, 4000.0),
)


def _face(pose: tuple[float, ...], seed: int | None = None, expression: float = 0.02) -> np.ndarray:
    """(478, 3) image-convention landmarks of the canonical face in ``pose``, plus an expression."""
    yaw, pitch, roll, size, cx, cy = pose
    shape = canonical_face().copy()
    if seed is not None:
        shape += np.random.default_rng(seed).normal(scale=expression, size=shape.shape)
    posed = size * shape @ euler_to_rotation(yaw, pitch, roll).T + (cx, -cy, 0.0)
    return posed * np.array([1.0, -1.0, -1.0])


faces = st.builds(_face, poses, seeds)


def _tol(points: np.ndarray) -> float:
    """float32 round-off of the largest coordinate, with margin."""
    return 16 * float(np.finfo(np.float32).eps) * float(np.abs(points).max())


@given(faces)
def test_decompose_and_compose_round_trip(points):
    pose, shape = decompose(points)
    assert np.isfinite(shape).all() and pose.scale > 0
    np.testing.assert_allclose(pose.rotation @ pose.rotation.T, np.eye(3), atol=1e-12)
    back = compose(pose, shape)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, points, rtol=0, atol=_tol(points))


@given(poses)
def test_decompose_finds_the_pose_of_a_posed_canonical_face(pose):
    found, shape = decompose(_face(pose))
    yaw, pitch, roll, size, cx, cy = pose
    np.testing.assert_allclose(found.scale, size, rtol=1e-9)
    np.testing.assert_allclose(found.rotation, euler_to_rotation(yaw, pitch, roll), atol=1e-9)
    np.testing.assert_allclose(shape, canonical_face(), atol=1e-9)


@given(faces, faces, regions, st.booleans(), st.floats(0.0, 2.0))
def test_no_driving_change_gives_the_source_back(source, reference, region, keep_position, multiplier):
    driving = reference.copy()
    got = transfer(source, driving, reference, region=region, multiplier=multiplier,
                   keep_position=keep_position)  # fmt: skip
    np.testing.assert_allclose(got, source, rtol=0, atol=_tol(source))
    own = transfer(source, source.copy(), relative=False, region=region, multiplier=multiplier)
    np.testing.assert_allclose(own, source, rtol=0, atol=_tol(source))


@given(faces, faces, faces, regions, st.booleans())
def test_a_zero_multiplier_transfers_nothing(source, driving, reference, region, relative):
    got = transfer(source, driving, reference, relative=relative, region=region, multiplier=0.0)
    assert got.shape == (478, 3) and got.dtype == np.float32 and np.isfinite(got).all()
    np.testing.assert_allclose(got, source, rtol=0, atol=_tol(source))


@given(faces, faces, faces, st.floats(0.0, 3.0))
def test_transferred_lips_and_lids_never_cross_past_the_sources(source, driving, reference, multiplier):
    _, shape_s = decompose(source)
    target = shape_s + multiplier * (decompose(driving)[1] - decompose(reference)[1])
    fixed = keep_closed_shapes_valid(target, shape_s)
    np.testing.assert_array_equal(keep_closed_shapes_valid(fixed, shape_s), fixed)  # idempotent
    np.testing.assert_array_equal(keep_closed_shapes_valid(shape_s, shape_s), shape_s)  # source kept
    for upper, lower in ((13, 14), (82, 87), (159, 145), (386, 374)):  # inner lips, both eyes' lids
        slack = min(shape_s[upper, 1] - shape_s[lower, 1], 0.0)
        assert fixed[upper, 1] - fixed[lower, 1] >= slack - 1e-12


@given(faces, faces)
def test_irises_move_only_when_the_lids_close(source, target):
    np.testing.assert_allclose(close_irises(source, source), source, rtol=0, atol=_tol(source))
    out = close_irises(target, source)
    assert out.shape == (478, 3) and np.isfinite(out).all()
    others = np.setdiff1d(np.arange(478), np.arange(468, 478))
    np.testing.assert_array_equal(out[others], target[others].astype(np.float32))


edits = st.fixed_dictionaries({n: st.floats(r.low, r.high) for n, r in CONTROLS.items()}).map(
    lambda values: FaceEdit(**values)
)
expression_edits = edits.map(
    lambda e: FaceEdit(**{n: v for n, v in e.changed().items() if n not in POSE_CONTROLS})
)


@given(faces, edits)
def test_editing_a_mesh_gives_finite_float32_landmarks(points, edit):
    out = edit_landmarks(points, edit)
    assert out.shape == (478, 3) and out.dtype == np.float32 and np.isfinite(out).all()
    np.testing.assert_array_equal(edit_landmarks(points, FaceEdit()), points.astype(np.float32))


@given(faces, expression_edits)
def test_expression_edits_leave_the_pose_points_bit_for_bit(points, edit):
    out = edit_landmarks(points, edit)
    stable = list(L.STABLE)
    np.testing.assert_array_equal(out[stable], points.astype(np.float32)[stable])


@given(st.builds(_face, poses, seeds, st.just(0.005)), st.floats(-25.0, 25.0), st.floats(-15.0, 15.0),
       st.floats(-15.0, 15.0))  # fmt: skip
def test_edited_head_angles_add_to_the_measured_pose(points, yaw, pitch, roll):
    before = np.array(head_pose(points))
    after = np.array(head_pose(edit_landmarks(points, FaceEdit(yaw=yaw, pitch=pitch, roll=roll))))
    np.testing.assert_allclose(after, before + (yaw, pitch, roll), rtol=0, atol=1e-3)
