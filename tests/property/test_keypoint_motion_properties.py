"""Properties of the keypoint motion math: rotations, the keypoint transform, relative and absolute
motion, stitching, the transfer policy and the editing controls (vivify.motion).

Motion is drawn in LivePortrait's ranges: angles in degrees (|yaw| < 90 where a decomposition must
be unique), expression offsets of a few hundredths, scales 0.5 to 3. Round trips use float64.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from vivify.motion.editing import (
    CONTROLS,
    FaceEdit,
    apply_edit,
    edited_keypoints,
    expression_offset_array,
    rotation_angles,
)
from vivify.motion.keypoint_motion import KeypointMotion
from vivify.motion.keypoints import transform_keypoints
from vivify.motion.relative import (
    EYE_ROWS,
    LIP_ROWS,
    KeypointInfo,
    absolute_keypoints,
    expression_friendly,
    hull_motion_multiplier,
    relative_keypoints,
    video_source_keypoints,
)
from vivify.motion.rotation import bins_to_degrees, nearest_rotation, rotation_matrix
from vivify.motion.stitching import apply_multiplier, retarget_delta, stitch
from vivify.motion.transfer import DrivingPose, SourceKeypoints, driving_keypoints
from vivify.motion.transfer_options import REGIONS, DriveMode, TransferOptions

seeds = st.integers(0, 2**32 - 1)
regions = st.sampled_from(REGIONS)
F64 = torch.float64


def _angles(b: int, limit: float) -> st.SearchStrategy[torch.Tensor]:
    return st.lists(st.floats(-limit, limit), min_size=b, max_size=b).map(
        lambda v: torch.tensor(v, dtype=F64)[:, None]
    )


@st.composite
def keypoint_infos(draw, batch: int | None = None) -> KeypointInfo:
    """Motion of ``batch`` images (1 to 3 when None), float64."""
    b = draw(st.integers(1, 3)) if batch is None else batch
    rng = np.random.default_rng(draw(seeds))

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a)

    return KeypointInfo(
        pitch=draw(_angles(b, 60.0)),
        yaw=draw(_angles(b, 60.0)),
        roll=draw(_angles(b, 60.0)),
        t=t(rng.normal(scale=0.1, size=(b, 3))),
        exp=t(rng.normal(scale=0.02, size=(b, 21, 3))),
        scale=t(rng.uniform(0.5, 3.0, size=(b, 1))),
        kp=t(rng.normal(scale=0.3, size=(b, 21, 3))),
    )


def _keypoints(info: KeypointInfo) -> torch.Tensor:
    return transform_keypoints(info.kp, info.rotation, info.exp, info.scale, info.t)


def _same_motion(info: KeypointInfo) -> KeypointInfo:
    """An equal motion in fresh tensors (so identity of objects cannot matter)."""
    return KeypointInfo(*(f.clone() for f in dataclasses.astuple(info)))


def _assert_rotations(r: torch.Tensor, atol: float) -> None:
    assert torch.isfinite(r).all()
    eye = torch.eye(3, dtype=r.dtype).expand_as(r)
    torch.testing.assert_close(r @ r.transpose(1, 2), eye, rtol=0, atol=atol)
    torch.testing.assert_close(torch.linalg.det(r), torch.ones(len(r), dtype=r.dtype), rtol=0, atol=atol)


# -- rotation.py ----------------------------------------------------------------------------------


logits = arrays(np.float64, st.tuples(st.integers(1, 3), st.just(66)), elements=st.floats(-1e4, 1e4),
                fill=st.floats(-1e4, 1e4))  # fmt: skip


@given(logits, st.floats(-1e3, 1e3))
def test_pose_bins_give_finite_degrees_in_range_whatever_the_shift(logits, shift):
    deg = bins_to_degrees(torch.from_numpy(logits))
    assert torch.isfinite(deg).all() and (deg >= -97.5).all() and (deg <= 97.5).all()
    torch.testing.assert_close(bins_to_degrees(torch.from_numpy(logits + shift)), deg, rtol=0, atol=1e-6)


@given(st.integers(0, 65))
def test_a_certain_pose_bin_reads_as_its_centre(i):
    logits = torch.full((1, 66), -1e4, dtype=F64)
    logits[0, i] = 1e4
    assert bins_to_degrees(logits).item() == pytest.approx(3 * i - 97.5)
    assert bins_to_degrees(torch.zeros(1, 66, dtype=F64)).item() == pytest.approx(0.0, abs=1e-12)


@given(st.integers(1, 4).flatmap(lambda b: st.tuples(*[_angles(b, 1e4)] * 3)),
       st.sampled_from([torch.float32, F64]), st.booleans())  # fmt: skip
def test_rotation_matrix_is_a_rotation_for_any_angles(angles, dtype, flat):
    pitch, yaw, roll = (a.to(dtype).reshape(-1) if flat else a.to(dtype) for a in angles)
    r = rotation_matrix(pitch, yaw, roll)
    assert r.shape == (len(pitch), 3, 3) and r.dtype == dtype
    _assert_rotations(r, atol=1e-5 if dtype == torch.float32 else 1e-12)


@given(st.integers(1, 3).flatmap(lambda b: st.tuples(_angles(b, 179.0), _angles(b, 89.0), _angles(b, 179.0))))
def test_euler_angles_round_trip_through_the_rotation_matrix(angles):
    pitch, yaw, roll = angles
    got = rotation_angles(rotation_matrix(pitch, yaw, roll))
    for g, want in zip(got, angles, strict=True):
        assert g.shape == want.shape
        torch.testing.assert_close(g, want, rtol=0, atol=1e-6)


@st.composite
def rotations(draw, b: int = 2) -> torch.Tensor:
    """(b, 3, 3) rotations from quaternions (a zero quaternion stands for the identity)."""
    q = draw(arrays(np.float64, (b, 4), elements=st.floats(-1.0, 1.0)))
    q[np.linalg.norm(q, axis=1) < 1e-3] = (1.0, 0.0, 0.0, 0.0)
    w, x, y, z = (q / np.linalg.norm(q, axis=1, keepdims=True)).T
    r = np.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
            2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
            2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
        ],
        axis=1,
    ).reshape(b, 3, 3)  # fmt: skip
    return torch.from_numpy(r)


@given(rotations())
def test_rotation_matrix_round_trips_through_euler_angles(r):
    assume((r[:, 0, 2].abs() < 0.999).all())  # away from gimbal lock (|yaw| = 90)
    torch.testing.assert_close(rotation_matrix(*rotation_angles(r)), r, rtol=0, atol=1e-9)


@given(seeds, st.floats(0.01, 100.0), rotations(3), st.floats(0.01, 100.0))
def test_nearest_rotation_is_a_rotation_and_the_nearest(seed, spread, others, k):
    m = np.random.default_rng(seed).normal(scale=spread, size=(3, 3, 3))  # any sign of determinant
    r = nearest_rotation(m)
    _assert_rotations(torch.from_numpy(r), atol=1e-9)
    best = np.linalg.norm(r - m, axis=(1, 2))
    for other in others.numpy():  # no other rotation is closer
        assert (best <= np.linalg.norm(other - m, axis=(1, 2)) + 1e-9).all()
    np.testing.assert_allclose(nearest_rotation(k * others.numpy()), others.numpy(), atol=1e-9)


# -- keypoints.py and relative.py -----------------------------------------------------------------


@given(keypoint_infos(), st.floats(-10.0, 10.0))
def test_transform_keypoints_identity_and_the_unused_tz(info, tz):
    b = len(info.kp)
    eye = torch.eye(3, dtype=F64).expand(b, 3, 3)
    zero = torch.zeros_like(info.exp)
    torch.testing.assert_close(
        transform_keypoints(info.kp, eye, zero, torch.ones(b, 1, dtype=F64), torch.zeros(b, 3, dtype=F64)),
        info.kp,
        rtol=0,
        atol=0,
    )
    x = _keypoints(info)
    assert torch.isfinite(x).all() and x.shape == info.kp.shape
    moved_t = info.t.clone()
    moved_t[:, 2] = tz
    assert torch.equal(transform_keypoints(info.kp, info.rotation, info.exp, info.scale, moved_t), x)


@given(keypoint_infos(batch=2), keypoint_infos(batch=2), regions)
def test_no_driving_change_gives_the_source_back(source, anchor, region):
    x_s = _keypoints(source)
    driving = _same_motion(anchor)
    torch.testing.assert_close(relative_keypoints(source, driving, anchor, region), x_s, rtol=0, atol=1e-12)
    torch.testing.assert_close(
        video_source_keypoints(source, driving, anchor, region), x_s, rtol=0, atol=1e-12
    )
    torch.testing.assert_close(absolute_keypoints(source, _same_motion(source), region), x_s, rtol=0, atol=0)


@given(
    keypoint_infos(batch=1),
    keypoint_infos(batch=1),
    keypoint_infos(batch=1),
    st.sampled_from(["lips", "eyes"]),
)
def test_lip_and_eye_regions_move_only_their_keypoints(source, driving, anchor, region):
    rows = list(LIP_ROWS if region == "lips" else EYE_ROWS)
    others = [i for i in range(21) if i not in rows]
    x_s = _keypoints(source)
    for x_d in (
        relative_keypoints(source, driving, anchor, region),
        video_source_keypoints(source, driving, anchor, region),
        absolute_keypoints(source, driving, region),
    ):
        torch.testing.assert_close(x_d[:, others], x_s[:, others], rtol=0, atol=1e-12)


@given(keypoint_infos(batch=1), keypoint_infos(batch=1), keypoint_infos(batch=1), keypoint_infos(batch=1))
def test_pose_ignores_the_expression_and_exp_ignores_the_pose(source, driving, anchor, other):
    """Region "pose" reads no driving expression; region "exp" no driving angle, scale or shift."""
    exp_swapped = dataclasses.replace(driving, exp=anchor.exp + other.exp - driving.exp)
    both = dataclasses.replace(anchor, exp=other.exp)
    torch.testing.assert_close(
        relative_keypoints(source, exp_swapped, both, "pose"),
        relative_keypoints(source, driving, anchor, "pose"),
    )
    pose_swapped = dataclasses.replace(driving, pitch=other.pitch, yaw=other.yaw, roll=other.roll,
                                       t=other.t, scale=other.scale)  # fmt: skip
    torch.testing.assert_close(
        relative_keypoints(source, pose_swapped, anchor, "exp"),
        relative_keypoints(source, driving, anchor, "exp"),
    )


@st.composite
def point_clouds(draw) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(draw(seeds)).normal(size=(1, 21, 3)))


@given(point_clouds(), point_clouds(), rotations(1), st.floats(0.1, 10.0), st.floats(-5.0, 5.0))
def test_hull_multiplier_is_one_for_the_same_face_and_follows_its_volume(x_s, x_d0, r, k, shift):
    assert hull_motion_multiplier(x_s, x_s) == pytest.approx(1.0)
    base = hull_motion_multiplier(x_s, x_d0)
    assert np.isfinite(base) and base > 0
    moved = x_d0 @ r + shift  # rigid motion keeps the volume
    assert hull_motion_multiplier(x_s, moved) == pytest.approx(base, rel=1e-9)
    assert hull_motion_multiplier(k * x_s, x_d0) == pytest.approx(base * k**1.5, rel=1e-9)


@given(point_clouds(), point_clouds(), st.floats(0.0, 10.0))
def test_expression_friendly_without_motion_is_the_source(x_s, x_d0, m):
    torch.testing.assert_close(expression_friendly(x_s, x_d0.clone(), x_d0, m), x_s, rtol=0, atol=0)


# -- stitching.py and transfer.py -----------------------------------------------------------------


def _constant_mlp(delta: torch.Tensor):
    return lambda x: delta.to(x.dtype).expand(len(x), -1)


@given(point_clouds(), point_clouds(), st.floats(-1.0, 1.0), st.floats(-1.0, 1.0), st.floats(-3.0, 3.0))
def test_stitching_offsets_and_the_multiplier(x_s, x_d, dx, dy, m):
    zero = _constant_mlp(torch.zeros(65, dtype=F64))
    assert torch.equal(stitch(zero, x_s, x_d), x_d)
    assert torch.equal(retarget_delta(_constant_mlp(torch.zeros(63, dtype=F64)), x_s, torch.zeros(1, 3)),
                       torch.zeros_like(x_s))  # fmt: skip
    shift = torch.zeros(65, dtype=F64)
    shift[63:] = torch.tensor([dx, dy], dtype=F64)
    shifted = stitch(_constant_mlp(shift), x_s, x_d)  # the last two outputs move every keypoint
    torch.testing.assert_close(shifted, x_d + torch.tensor([dx, dy, 0.0], dtype=F64), rtol=0, atol=1e-15)
    torch.testing.assert_close(apply_multiplier(x_s, x_d, 1.0), x_d, rtol=0, atol=1e-15)
    assert torch.equal(apply_multiplier(x_s, x_d, 0.0), x_s)
    torch.testing.assert_close(apply_multiplier(x_s, x_d, m) - x_s, (x_d - x_s) * m)


class _ZeroMlps:
    """Stitching and retargeting networks that change nothing."""

    stitching = staticmethod(_constant_mlp(torch.zeros(65, dtype=F64)))
    eye = staticmethod(_constant_mlp(torch.zeros(63, dtype=F64)))
    lip = staticmethod(_constant_mlp(torch.zeros(63, dtype=F64)))


def _pose_of(info: KeypointInfo) -> DrivingPose:
    return DrivingPose(info.rotation, info.exp.clone(), info.t.clone(), info.scale.clone())


@given(keypoint_infos(batch=1), keypoint_infos(batch=1), st.integers(1, 3), regions,
       st.sampled_from(["expression-friendly", "pose-friendly"]), st.booleans(),
       st.floats(0.0, 2.0), st.sampled_from([DriveMode.SEQUENCE, DriveMode.VIDEO]))  # fmt: skip
def test_the_transfer_policy_keeps_the_source_when_nothing_moves(
    source, reference, n, region, driving_option, stitching, multiplier, mode
):
    options = TransferOptions(region=region, driving_option=driving_option, stitching=stitching,
                              multiplier=multiplier)  # fmt: skip
    x_s = _keypoints(source)
    src = SourceKeypoints(info=source, x_s=x_s)
    still = _pose_of(KeypointInfo(*(f.expand(n, *f.shape[1:]) for f in dataclasses.astuple(reference))))
    relative = driving_keypoints(src, still, _pose_of(reference), options, mode, _ZeroMlps())
    assert relative.shape == (n, 21, 3)
    torch.testing.assert_close(relative, x_s.expand(n, -1, -1), rtol=0, atol=1e-12)
    absolute = dataclasses.replace(options, relative=False)
    own = _pose_of(KeypointInfo(*(f.expand(n, *f.shape[1:]) for f in dataclasses.astuple(source))))
    got = driving_keypoints(src, own, None, absolute, mode, _ZeroMlps())
    torch.testing.assert_close(got, x_s.expand(n, -1, -1), rtol=0, atol=1e-12)


# -- editing.py -----------------------------------------------------------------------------------

edits = st.fixed_dictionaries({name: st.floats(rng.low, rng.high) for name, rng in CONTROLS.items()}).map(
    lambda values: FaceEdit(**values)
)


@given(st.sampled_from(sorted(CONTROLS)), st.floats(allow_nan=True, allow_infinity=True))
def test_face_edit_accepts_exactly_its_ranges(name, value):
    rng = CONTROLS[name]
    if rng.low <= value <= rng.high:
        assert getattr(FaceEdit(**{name: value}), name) == value
    else:
        with pytest.raises(ValueError, match=name):
            FaceEdit(**{name: value})


@given(edits)
def test_expression_offsets_are_finite_and_add_up_over_the_controls(edit):
    total = expression_offset_array(edit)
    assert total.shape == (21, 3) and np.isfinite(total).all()
    singles = [FaceEdit(**{name: value}) for name, value in edit.changed().items()]
    summed = sum((expression_offset_array(e) for e in singles), np.zeros((21, 3)))
    np.testing.assert_allclose(total, summed, rtol=1e-12, atol=1e-15)
    assert not expression_offset_array(
        FaceEdit(**{n: getattr(edit, n) for n in ("pitch", "yaw", "roll")})
    ).any()


@given(keypoint_infos())
def test_a_neutral_edit_changes_nothing(info):
    assert torch.equal(edited_keypoints(info, FaceEdit()), _keypoints(info))
    r, exp, scale, t = info.rotation, info.exp, info.scale, info.t
    assert all(
        a is b for a, b in zip(apply_edit(r, exp, scale, t, FaceEdit()), (r, exp, scale, t), strict=True)
    )


@given(keypoint_infos(), edits)
def test_edited_angles_add_to_the_motions_angles(info, edit):
    rotation, exp, scale, t = apply_edit(info.rotation, info.exp, info.scale, info.t, edit)
    _assert_rotations(rotation, atol=1e-12)
    pitch, yaw, roll = rotation_angles(rotation)
    torch.testing.assert_close(pitch, info.pitch + edit.pitch, rtol=0, atol=1e-6)
    torch.testing.assert_close(yaw, info.yaw + edit.yaw, rtol=0, atol=1e-6)
    torch.testing.assert_close(roll, info.roll + edit.roll, rtol=0, atol=1e-6)
    torch.testing.assert_close(scale, info.scale * edit.scale)
    assert t is info.t and torch.isfinite(exp).all()


@given(keypoint_infos(), edits)
def test_include_tz_only_adds_tz_to_depth(info, edit):
    plain = edited_keypoints(info, edit)
    with_tz = edited_keypoints(info, edit, include_tz=True)
    assert torch.isfinite(plain).all()
    assert torch.equal(with_tz[..., :2], plain[..., :2])
    torch.testing.assert_close(with_tz[..., 2] - plain[..., 2], info.t[:, 2:3].expand(-1, 21))


# -- keypoint_motion.py ---------------------------------------------------------------------------


@st.composite
def keypoint_motions(draw) -> KeypointMotion:
    n = draw(st.integers(1, 12))
    rng = np.random.default_rng(draw(seeds))
    ratios = draw(st.booleans())

    def f32(*shape: int) -> np.ndarray:
        return rng.normal(size=(n, *shape)).astype(np.float32)

    return KeypointMotion(f32(3, 3), f32(21, 3), f32(3), f32(1), f32(2) if ratios else None,
                          f32(1) if ratios else None)  # fmt: skip


@given(keypoint_motions(), st.data())
def test_keypoint_motion_splits_and_joins_back(motion, data):
    motion.check_shapes()
    k = data.draw(st.integers(0, len(motion)))
    joined = KeypointMotion.concat([motion[:k], motion[k:]])
    for a, b in zip(dataclasses.astuple(joined), dataclasses.astuple(motion), strict=True):
        assert (a is None and b is None) or np.array_equal(a, b)
    i = data.draw(st.integers(0, len(motion) - 1))
    assert len(motion[i]) == 1 and np.array_equal(motion[i].exp[0], motion.exp[i])
    assert motion.finite_frames().all()
    motion.exp[i, data.draw(st.integers(0, 20)), 0] = np.nan
    assert np.flatnonzero(~motion.finite_frames()).tolist() == [i]


@given(keypoint_motions(), st.data())
def test_keypoint_motion_negative_index_is_one_frame(motion, data):
    i = data.draw(st.integers(-len(motion), -1))
    assert len(motion[i]) == 1 and np.array_equal(motion[i].exp[0], motion.exp[i])
