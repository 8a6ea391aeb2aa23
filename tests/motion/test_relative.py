"""Hand-checkable cases for the relative/absolute keypoint rules (spec section 9.4)."""

import dataclasses

import pytest
import torch

from vivify.motion import KeypointInfo, absolute_keypoints, relative_keypoints, transform_keypoints
from vivify.motion.relative import EYE_ROWS, LIP_ROWS, REFERENCE_EXPRESSION, video_source_keypoints


def _info(seed: int, angles=(0.0, 0.0, 0.0)) -> KeypointInfo:
    g = torch.Generator().manual_seed(seed)
    p, y, r = (torch.tensor([[a]]) for a in angles)
    t = torch.randn(1, 3, generator=g) * 0.05
    exp = torch.randn(1, 21, 3, generator=g) * 0.03
    kp = torch.randn(1, 21, 3, generator=g) * 0.5
    return KeypointInfo(p, y, r, t, exp, torch.tensor([[1.0 + 0.01 * seed]]), kp)


def _x(info: KeypointInfo) -> torch.Tensor:
    return transform_keypoints(info.kp, info.rotation, info.exp, info.scale, info.t)


@pytest.mark.parametrize("region", ["all", "exp", "pose", "lips", "lip", "eyes"])
def test_no_driving_change_gives_the_source(region):
    src, drv = _info(0, (5, -10, 3)), _info(1, (12, 4, -2))
    assert torch.allclose(relative_keypoints(src, drv, drv, region), _x(src), atol=1e-6)


def _changed_rows(a: torch.Tensor, b: torch.Tensor) -> set[int]:
    return set(torch.nonzero((a - b).abs().amax(dim=2)[0] > 1e-7).flatten().tolist())


def test_regions_touch_only_their_rows():
    src, drv, anchor = _info(0), _info(1), _info(2)
    base = _x(src)
    assert _changed_rows(relative_keypoints(src, drv, anchor, "lips"), base) == set(LIP_ROWS)
    assert _changed_rows(relative_keypoints(src, drv, anchor, "eyes"), base) == set(EYE_ROWS)
    pose = relative_keypoints(src, _info(1, (20, 0, 0)), _info(1), "pose")
    # pose region: the source expression with the driving rotation change applied
    expect = transform_keypoints(src.kp, _info(0, (20, 0, 0)).rotation, src.exp, src.scale, src.t)
    assert torch.allclose(pose, expect, atol=1e-5)


def test_absolute_copies_the_listed_entries():
    src, drv = _info(0), _info(1)
    got = absolute_keypoints(src, drv, "exp")
    exp = src.exp.clone()
    for k in [1, 2, 6, *range(11, 21)]:
        exp[:, k] = drv.exp[:, k]
    exp[:, 3, 1], exp[:, 4, 1], exp[:, 5, 2], exp[:, 8, 2] = (
        drv.exp[:, 3, 1],
        drv.exp[:, 4, 1],
        drv.exp[:, 5, 2],
        drv.exp[:, 8, 2],
    )
    exp[:, 9, 1:] = drv.exp[:, 9, 1:]
    assert torch.allclose(got, transform_keypoints(src.kp, src.rotation, exp, src.scale, src.t), atol=1e-6)


def test_driving_image_uses_the_reference_expression():
    src, drv = _info(0), _info(1)
    ref = torch.from_numpy(REFERENCE_EXPRESSION).float()[None]
    got = relative_keypoints(src, drv, drv, "all", anchor_exp=ref)
    expect = transform_keypoints(
        src.kp, src.rotation @ torch.eye(3), src.exp + (drv.exp - ref), src.scale, src.t
    )
    assert torch.allclose(got, expect, atol=1e-5)
    eyes = relative_keypoints(src, drv, drv, "eyes", anchor_exp=ref)
    exp = src.exp.clone()
    exp[:, list(EYE_ROWS)] = (src.exp + drv.exp)[:, list(EYE_ROWS)]
    assert torch.allclose(eyes, transform_keypoints(src.kp, src.rotation, exp, src.scale, src.t), atol=1e-6)


@pytest.mark.parametrize("region", ["all", "exp", "pose", "lips", "eyes"])
def test_video_source_without_driving_change_gives_the_source_frame(region):
    src, drv = _info(0, (5.0, -10.0, 3.0)), _info(1, (2.0, 4.0, -1.0))
    x_s = transform_keypoints(src.kp, src.rotation, src.exp, src.scale, src.t)
    assert torch.allclose(video_source_keypoints(src, drv, drv, region), x_s, atol=1e-6)


def test_video_source_keeps_its_position_and_scale_and_takes_turn_and_expression():
    src, anchor = _info(0, (5.0, -10.0, 3.0)), _info(1)
    moved = dataclasses.replace(_info(2, (0.0, 15.0, 0.0)), scale=anchor.scale * 1.5, t=anchor.t + 0.3)
    out = video_source_keypoints(src, moved, anchor)
    still = video_source_keypoints(src, dataclasses.replace(moved, scale=anchor.scale, t=anchor.t), anchor)
    assert torch.allclose(out, still)  # the driver's scale and translation are ignored
    turned = relative_keypoints(src, moved, anchor)
    assert not torch.allclose(out, transform_keypoints(src.kp, src.rotation, src.exp, src.scale, src.t))
    # the same turn and expression as an image source, without the driver's scale and position
    same_place = relative_keypoints(src, dataclasses.replace(moved, scale=anchor.scale, t=anchor.t), anchor)
    changed = [1, 2, 6] + list(range(11, 21))
    assert torch.allclose(out[:, changed], same_place[:, changed], atol=1e-6)
    assert not torch.allclose(turned, out)
