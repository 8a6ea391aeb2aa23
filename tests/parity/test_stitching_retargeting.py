import numpy as np
import pytest
import torch

from vivify.motion import eye_ratios_203, eye_retarget_delta, lip_ratio_203, lip_retarget_delta, stitch
from vivify.motion.stitching import apply_multiplier
from vivify.nn.stitching_mlp import StitchingRetargetingModule
from vivify.weights.liveportrait import stitching_state_dict


@pytest.fixture(scope="module")
def module(official_state_dict):
    m = StitchingRetargetingModule()
    m.load_state_dict(
        stitching_state_dict(official_state_dict("stitching_retargeting_module.pth")), strict=True
    )
    return m.eval()


@torch.no_grad()
def test_raw_mlps(parity, module):
    fx = parity("stitching_retargeting")
    feat = fx.tensor("in__stitching_feat")
    fx.check("out__stitching_delta", module.stitching(feat))
    fx.check("out__eye_mlp_y", module.eye(fx.tensor("in__eye_mlp_x")))
    fx.check("out__lip_mlp_y", module.lip(fx.tensor("in__lip_mlp_x")))


@torch.no_grad()
def test_stitching_wrapper(parity, module):
    fx = parity("stitching_retargeting")
    feat = fx.tensor("in__stitching_feat")
    x_s, x_d = feat[:, :63].reshape(-1, 21, 3), feat[:, 63:].reshape(-1, 21, 3)
    fx.check("out__stitching_result", stitch(module.stitching, x_s, x_d))


@torch.no_grad()
def test_retargeting_with_target_ratios(parity, module):
    fx = parity("stitching_retargeting")
    x_s = fx.tensor("in__x_s")
    lmk = fx["in__source_lmk203"]
    eyes, lip = eye_ratios_203(lmk), lip_ratio_203(lmk)
    eye_t, lip_t = fx["in__eye_targets"], fx["in__lip_targets"]
    eye_in = np.stack([np.array([eyes[0], eyes[1], t], np.float32) for t in eye_t])
    lip_in = np.stack([np.array([lip[0], t], np.float32) for t in lip_t])
    fx.check("out__eye_combined_ratio", eye_in)
    fx.check("out__lip_combined_ratio", lip_in)
    n_e, n_l = len(eye_t), len(lip_t)
    fx.check(
        "out__eye_delta", eye_retarget_delta(module.eye, x_s.expand(n_e, -1, -1), torch.from_numpy(eye_in))
    )
    fx.check(
        "out__lip_delta", lip_retarget_delta(module.lip, x_s.expand(n_l, -1, -1), torch.from_numpy(lip_in))
    )


@torch.no_grad()
def test_pipeline_retargeting(parity, module):
    """Eye+lip retargeting in relative mode: x_s + δ_eye + δ_lip, stitched, multiplied."""
    fx = parity("stitching_retargeting")
    crops = parity("crop_pasteback")
    x_s = fx.tensor("in__x_s")
    c_s_eyes, c_s_lip = crops["out__eye_ratio_source"][0], crops["out__lip_ratio_source"][0]
    c_d_eyes, c_d_lip = crops["out__eye_ratio_driving"], crops["out__lip_ratio_driving"]
    n = len(c_d_eyes)
    eye_in = np.stack([np.array([c_s_eyes[0], c_s_eyes[1], c_d_eyes[i][0]], np.float32) for i in range(n)])
    lip_in = np.stack([np.array([c_s_lip[0], c_d_lip[i][0]], np.float32) for i in range(n)])
    fx.check("out__pipeline_eye_ratio_inputs", eye_in)
    fx.check("out__pipeline_lip_ratio_inputs", lip_in)
    xs = x_s.expand(n, -1, -1)
    d_eye = eye_retarget_delta(module.eye, xs, torch.from_numpy(eye_in))
    d_lip = lip_retarget_delta(module.lip, xs, torch.from_numpy(lip_in))
    fx.check("out__pipeline_eye_delta", d_eye)
    fx.check("out__pipeline_lip_delta", d_lip)
    x_d = stitch(module.stitching, xs, xs + d_eye + d_lip)
    fx.check("out__pipeline_retarget_x_d_final", apply_multiplier(xs, x_d, 1.0))


def test_landmark_ratios(parity):
    crops = parity("crop_pasteback")
    lmk = crops["in__lmk203"]
    crops.check("out__eye_ratio_source", eye_ratios_203(lmk)[None])
    crops.check("out__lip_ratio_source", lip_ratio_203(lmk)[None])
