"""The keypoint-transfer policy in every drive mode, on hand-made motion and tiny MLPs."""

from dataclasses import dataclass, replace

import numpy as np
import pytest
import torch

from vivify.errors import UserError
from vivify.motion import FaceEdit, transform_keypoints
from vivify.motion.relative import (
    EYE_ROWS,
    LIP_ROWS,
    REFERENCE_EXPRESSION,
    KeypointInfo,
    absolute_keypoints,
    hull_motion_multiplier,
    relative_keypoints,
)
from vivify.motion.rotation import rotation_matrix
from vivify.motion.stitching import stitch
from vivify.motion.transfer import (
    DrivingPose,
    SourceKeypoints,
    driving_keypoints,
    expression_friendly_scale,
    lip_normalization,
    transferred_keypoints,
    uses_expression_friendly,
    video_targets,
)
from vivify.motion.transfer_options import DriveMode, TransferOptions

PLAIN = TransferOptions(stitching=False, driving_option="pose-friendly")


@dataclass
class _Mlps:
    stitching: torch.nn.Module
    eye: torch.nn.Module
    lip: torch.nn.Module


@pytest.fixture(scope="module")
def mlps():
    torch.manual_seed(0)
    layers = [torch.nn.Linear(126, 65), torch.nn.Linear(66, 63), torch.nn.Linear(65, 63)]
    return _Mlps(*(layer.requires_grad_(False) for layer in layers))


def _info(seed: int, n: int = 1) -> KeypointInfo:
    g = torch.Generator().manual_seed(seed)

    def rand(*shape, scale=1.0):
        return torch.randn(*shape, generator=g) * scale

    return KeypointInfo(pitch=rand(n, 1, scale=8), yaw=rand(n, 1, scale=8), roll=rand(n, 1, scale=5),
                        t=rand(n, 3, scale=0.05), exp=rand(n, 21, 3, scale=0.02),
                        scale=1.5 + rand(n, 1, scale=0.1), kp=rand(n, 21, 3, scale=0.3))  # fmt: skip


def _source(seed: int = 1, lip: float = 0.01) -> SourceKeypoints:
    info = _info(seed)
    x_s = transform_keypoints(info.kp, info.rotation, info.exp, info.scale, info.t)
    return SourceKeypoints(info=info, x_s=x_s, eye_ratio=np.array([0.3, 0.28], np.float32),
                           lip_ratio=np.array([lip], np.float32))  # fmt: skip


def _pose(seed: int, n: int = 1, **kw) -> DrivingPose:
    info = _info(seed, n)
    return DrivingPose(rotation_matrix(info.pitch, info.yaw, info.roll), info.exp, info.t, info.scale, **kw)


def _same(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-6) -> None:
    torch.testing.assert_close(a, b, rtol=0, atol=atol)


def test_sequence_moves_the_source_by_the_change_since_the_reference(mlps):
    src, drv, ref = _source(), _pose(2, n=3), _pose(3)
    got = driving_keypoints(src, drv, ref, PLAIN, DriveMode.SEQUENCE, mlps)
    assert got.shape == (3, 21, 3)
    for i in range(3):
        one = DrivingPose(drv.rotation[i : i + 1], drv.exp[i : i + 1], drv.t[i : i + 1], drv.scale[i : i + 1])
        _same(got[i : i + 1], relative_keypoints(src.info, one, ref))
    # the reference frame itself leaves the source as it is
    _same(driving_keypoints(src, ref, ref, PLAIN, DriveMode.SEQUENCE, mlps), src.x_s)
    with pytest.raises(ValueError, match="reference"):
        driving_keypoints(src, drv, None, PLAIN, DriveMode.SEQUENCE, mlps)


def test_expression_friendly_rescales_the_motion_in_sequence_mode_only(mlps):
    src, drv, ref = _source(), _pose(2), _pose(3)
    options = replace(PLAIN, driving_option="expression-friendly")
    assert uses_expression_friendly(options, DriveMode.SEQUENCE)
    assert not any(uses_expression_friendly(options, m) for m in (DriveMode.STILL, DriveMode.VIDEO))
    assert not uses_expression_friendly(replace(options, relative=False), DriveMode.SEQUENCE)
    x_0 = relative_keypoints(src.info, ref, ref)
    scale = expression_friendly_scale(src, ref, options)
    assert scale == pytest.approx(hull_motion_multiplier(src.x_s, x_0))
    plain = driving_keypoints(src, drv, ref, PLAIN, DriveMode.SEQUENCE, mlps)
    got = driving_keypoints(src, drv, ref, options, DriveMode.SEQUENCE, mlps)
    _same(got, (plain - x_0) * scale + src.x_s)
    doubled = driving_keypoints(src, drv, ref, options, DriveMode.SEQUENCE, mlps, friendly_scale=2 * scale)
    _same(doubled - src.x_s, 2 * (got - src.x_s), atol=1e-5)  # a cached scale is used as given


def test_relative_motion_is_measured_in_frame_coordinates_absolute_in_crop_ones(mlps):
    src, drv, ref = _source(), _pose(2), _pose(3)
    mapped = replace(drv, to_frame=torch.tensor([[2.0, 0.1, -0.2]]))
    by_hand = replace(drv, t=torch.cat([2 * drv.t[:, :2] + torch.tensor([[0.1, -0.2]]), 2 * drv.t[:, 2:]], 1),
                      scale=2 * drv.scale)  # fmt: skip
    _same(driving_keypoints(src, mapped, ref, PLAIN, DriveMode.SEQUENCE, mlps),
          driving_keypoints(src, by_hand, ref, PLAIN, DriveMode.SEQUENCE, mlps))  # fmt: skip
    absolute = replace(PLAIN, relative=False)
    _same(driving_keypoints(src, mapped, None, absolute, DriveMode.SEQUENCE, mlps),
          absolute_keypoints(src.info, drv))  # fmt: skip


@pytest.mark.parametrize("mode", [DriveMode.STILL, DriveMode.VIDEO_STILL])
def test_a_still_driver_is_its_own_anchor_against_the_reference_expression(mlps, mode):
    src, drv = _source(), _pose(2)
    got = driving_keypoints(src, drv, None, PLAIN, mode, mlps)
    assert torch.equal(got, driving_keypoints(src, drv, _pose(9), PLAIN, mode, mlps))  # reference unused
    if mode is DriveMode.STILL:
        anchor_exp = torch.from_numpy(REFERENCE_EXPRESSION.astype(np.float32))[None]
        _same(got, relative_keypoints(src.info, drv, drv, anchor_exp=anchor_exp))
    else:  # the head does not turn: no change of pose within one image
        turned = driving_keypoints(src, replace(drv, rotation=_pose(5).rotation), None, PLAIN, mode, mlps)
        _same(turned, got)


def test_a_source_video_keeps_its_own_placement(mlps):
    src, drv, ref = _source(), _pose(2), _pose(3)
    got = driving_keypoints(src, drv, ref, PLAIN, DriveMode.VIDEO, mlps)
    moved = replace(drv, t=drv.t + 0.3, scale=drv.scale * 1.4)  # the driver moves and comes closer
    _same(driving_keypoints(src, moved, ref, PLAIN, DriveMode.VIDEO, mlps), got)
    # region "exp" keeps the source's rotation, "all" turns it with the driver
    exp_only = driving_keypoints(src, drv, ref, replace(PLAIN, region="exp"), DriveMode.VIDEO, mlps)
    assert (exp_only - got).abs().max() > 1e-3
    # smoothed targets replace the frame's own: its own values give the same keypoints
    own = video_targets(src, drv, ref, PLAIN, DriveMode.VIDEO)
    assert own.shape == (1, 72)
    _same(driving_keypoints(src, drv, ref, PLAIN, DriveMode.VIDEO, mlps, targets=own), got)
    other = video_targets(src, _pose(4), ref, PLAIN, DriveMode.VIDEO)
    assert (
        driving_keypoints(src, drv, ref, PLAIN, DriveMode.VIDEO, mlps, targets=other) - got
    ).abs().max() > 1e-3
    assert video_targets(src, drv, ref, replace(PLAIN, relative=False), DriveMode.VIDEO) is None


@pytest.mark.parametrize(("region", "rows"), [("lips", LIP_ROWS), ("eyes", EYE_ROWS)])
@pytest.mark.parametrize("mode", list(DriveMode))
def test_regions_move_only_their_keypoints_in_every_mode(mlps, mode, region, rows):
    src = _source()
    got = driving_keypoints(src, _pose(2), _pose(3), replace(PLAIN, region=region), mode, mlps)
    others = [i for i in range(21) if i not in rows]
    _same(got[:, others], src.x_s[:, others])
    assert (got[:, list(rows)] - src.x_s[:, list(rows)]).abs().max() > 1e-4


def test_stitching_and_multiplier(mlps):
    src, drv, ref = _source(), _pose(2), _pose(3)
    plain = driving_keypoints(src, drv, ref, PLAIN, DriveMode.SEQUENCE, mlps)
    stitched = driving_keypoints(src, drv, ref, replace(PLAIN, stitching=True), DriveMode.SEQUENCE, mlps)
    _same(stitched, stitch(mlps.stitching, src.x_s, plain))
    for k in (0.0, 0.5, 2.0):
        scaled = driving_keypoints(src, drv, ref, replace(PLAIN, multiplier=k), DriveMode.SEQUENCE, mlps)
        _same(scaled, src.x_s + (plain - src.x_s) * k, atol=1e-5)


def test_retargeting_replaces_relative_motion_with_offsets_to_the_target_ratio(mlps):
    src, ref = _source(), _pose(3)
    drv = _pose(2, n=2, eye_ratio=np.array([[0.1, 0.1], [0.4, 0.4]], np.float32))
    options = replace(PLAIN, eye_retargeting=True)
    follow = driving_keypoints(src, drv, ref, options, DriveMode.SEQUENCE, mlps)
    fixed = driving_keypoints(src, drv, ref, replace(options, eye_ratio=0.4), DriveMode.SEQUENCE, mlps)
    _same(follow[1], fixed[1])  # the driver's ratio, or the same ratio fixed
    assert (follow[0] - fixed[0]).abs().max() > 1e-4
    # relative mode: the source plus the offset, whatever the driver's own motion
    other = driving_keypoints(src, replace(drv, exp=drv.exp * 3), ref, options, DriveMode.SEQUENCE, mlps)
    _same(other, follow)
    with pytest.raises(UserError, match="fixed eye ratio"):
        driving_keypoints(src, _pose(2), ref, options, DriveMode.SEQUENCE, mlps)


def test_lip_normalization_closes_an_open_source_mouth_only(mlps):
    closed, opened = _source(lip=0.01), _source(lip=0.2)
    assert lip_normalization(closed, mlps.lip) is None
    delta = lip_normalization(opened, mlps.lip)
    options = replace(PLAIN, normalize_lip=True)
    drv, ref = _pose(2), _pose(3)
    _same(driving_keypoints(opened, drv, ref, options, DriveMode.SEQUENCE, mlps),
          driving_keypoints(opened, drv, ref, PLAIN, DriveMode.SEQUENCE, mlps) + delta)  # fmt: skip
    _same(driving_keypoints(closed, drv, ref, options, DriveMode.SEQUENCE, mlps),
          driving_keypoints(closed, drv, ref, PLAIN, DriveMode.SEQUENCE, mlps))  # fmt: skip


def test_edits_ride_on_the_driving_motion_in_both_modes(mlps):
    src, drv, ref = _source(), _pose(2), _pose(3)
    for relative in (True, False):
        options = replace(PLAIN, relative=relative)
        plain = transferred_keypoints(src, drv, ref, options, DriveMode.SEQUENCE)
        edited = transferred_keypoints(
            src, drv, ref, replace(options, edit=FaceEdit(yaw=15)), DriveMode.SEQUENCE
        )
        assert (edited - plain).abs().max() > 1e-3
        neutral = transferred_keypoints(src, drv, ref, replace(options, edit=FaceEdit()), DriveMode.SEQUENCE)
        assert torch.equal(neutral, plain)


def test_drive_mode_from_source_and_driver():
    assert DriveMode.of(source_video=False, still_driver=False) is DriveMode.SEQUENCE
    assert DriveMode.of(source_video=False, still_driver=True) is DriveMode.STILL
    assert DriveMode.of(source_video=True, still_driver=False) is DriveMode.VIDEO
    assert DriveMode.of(source_video=True, still_driver=True) is DriveMode.VIDEO_STILL
    assert [m.still_driver for m in DriveMode] == [False, True, False, True]
    assert [m.source_video for m in DriveMode] == [False, False, True, True]
