"""The pipeline core end to end against the reference pipeline fixture (image source, video driving)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from vivify.motion import lip_ratio_203, lip_retarget_delta, stitch
from vivify.motion.relative import (
    KeypointInfo,
    absolute_keypoints,
    expression_friendly,
    hull_motion_multiplier,
    relative_keypoints,
)
from vivify.motion.stitching import apply_multiplier


def _images(u8: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(u8.astype(np.float32) / np.float32(255.0)).clamp(0, 1)
    return x.permute(0, 3, 1, 2).contiguous() if x.ndim == 4 else x.permute(2, 0, 1)[None].contiguous()


@pytest.fixture(scope="module")
def run(parity, models):
    torch.set_grad_enabled(False)
    fx = parity("pipeline")
    src = KeypointInfo.from_raw(models.motion_extractor(_images(fx["in__source_crop_256"])))
    crops = fx["in__driving_crops_256"]
    drv = [
        KeypointInfo.from_raw(models.motion_extractor(_images(crops[i : i + 1]))) for i in range(len(crops))
    ]
    yield fx, models, src, drv
    torch.set_grad_enabled(True)


def _fields(info: KeypointInfo):
    return {k: getattr(info, k) for k in ("pitch", "yaw", "roll", "t", "exp", "scale", "kp")}


def test_motion_of_source_and_driving(run):
    fx, _, src, drv = run
    for k, v in _fields(src).items():
        fx.check(f"out__kp_info_source_{k}", v)
    fx.check("out__source_R", src.rotation)
    x_s = src.scale[:, :, None] * (src.kp @ src.rotation + src.exp)
    fx.check("out__x_s", torch.cat([x_s[..., :2] + src.t[:, None, :2], x_s[..., 2:]], dim=-1))
    for i, d in enumerate(drv):
        for k, v in _fields(d).items():
            fx.check(f"out__kp_info_driving{i}_{k}", v)
        fx.check(f"out__driving{i}_R", d.rotation)


def _x_s(src: KeypointInfo) -> torch.Tensor:
    from vivify.motion import transform_keypoints

    return transform_keypoints(src.kp, src.rotation, src.exp, src.scale, src.t)


def test_relative_motion_stitching_and_frames(run):
    fx, models, src, drv = run
    x_s = _x_s(src)
    x_rel = torch.cat([relative_keypoints(src, d, drv[0]) for d in drv])
    fx.check("out__x_d_relative", x_rel)
    m = hull_motion_multiplier(x_s, x_rel[:1])
    fx.check("out__motion_multiplier", np.array([m]))
    x_ef = expression_friendly(x_s, x_rel, x_rel[:1], m)
    fx.check("out__x_d_expr_friendly", x_ef)
    xs = x_s.expand(len(drv), -1, -1)
    s = models.stitching_retargeting_module.stitching
    fx.check("out__stitch_delta", s(torch.cat([xs.reshape(len(drv), -1), x_ef.reshape(len(drv), -1)], dim=1)))
    x_st = stitch(s, xs, x_ef)
    fx.check("out__x_d_stitched", x_st)
    x_final = apply_multiplier(xs, x_st, 1.0)
    fx.check("out__x_d_final", x_final)

    f_s = models.appearance_feature_extractor(_images(fx["in__source_crop_256"]))
    frames, occlusion = [], []
    for i in range(len(drv)):
        w = models.warping_module(f_s, x_final[i : i + 1], x_s)
        frames.append(models.spade_generator(w.out))
        occlusion.append(w.occlusion_map)
    out = torch.cat(frames)
    fx.check("out__occlusion_maps", torch.cat(occlusion))
    fx.check("out__frames_probe", out)
    u8 = (out.clamp(0, 1) * 255).clamp(0, 255).permute(0, 2, 3, 1).numpy().astype(np.uint8)
    fx.check("out__frames_uint8", u8)


def test_option_variants(run):
    fx, models, src, drv = run
    x_s = _x_s(src)
    n = len(drv)
    xs = x_s.expand(n, -1, -1)
    s = models.stitching_retargeting_module
    x_rel = torch.cat([relative_keypoints(src, d, drv[0]) for d in drv])
    # pose-friendly: no expression-friendly rescale
    fx.check(
        "out__variant_pose_friendly_x_d_final", apply_multiplier(xs, stitch(s.stitching, xs, x_rel), 1.0)
    )
    # absolute motion (the expression-friendly step belongs to relative mode only)
    x_abs = torch.cat([absolute_keypoints(src, d) for d in drv])
    fx.check("out__variant_absolute_x_d_final", apply_multiplier(xs, stitch(s.stitching, xs, x_abs), 1.0))
    m = hull_motion_multiplier(x_s, x_rel[:1])
    x_ef = expression_friendly(x_s, x_rel, x_rel[:1], m)
    fx.check("out__variant_no_stitching_x_d_final", apply_multiplier(xs, x_ef, 1.0))
    # lip normalisation: close the source mouth, offset added after stitching
    c_lip = lip_ratio_203(fx["in__source_lmk203"])
    assert c_lip[0] >= 0.03
    ratios = torch.tensor([[c_lip[0], 0.0]], dtype=torch.float32)
    lip_delta = lip_retarget_delta(s.lip, x_s, ratios)
    fx.check("out__variant_normalize_lip_lip_delta", lip_delta)
    fx.check(
        "out__variant_normalize_lip_x_d_final",
        apply_multiplier(xs, stitch(s.stitching, xs, x_ef) + lip_delta, 1.0),
    )


def test_every_pipeline_key_is_covered(parity):
    """A fixture set with outputs these tests don't name would go unchecked: fail instead."""
    source = Path(__file__).read_text()
    patterned = ("out__kp_info_source_", "out__kp_info_driving", "out__driving")
    missing = [k for k in parity("pipeline").keys("out") if k not in source and not k.startswith(patterned)]
    assert not missing, missing
