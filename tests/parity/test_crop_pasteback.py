"""Crop geometry, paste-back and landmark ratios against the crop_pasteback fixture."""

import cv2
import numpy as np
import torch

from vivify.backends.device_paste import paste_crops, paste_target
from vivify.face import CropConfig, crop_face, feather_mask, paste_back
from vivify.face.crop import warp_to_frame
from vivify.motion import eye_ratios_203, lip_ratio_203


def test_crop(parity):
    fx = parity("crop_pasteback")
    crop = crop_face(fx["in__img_rgb"], fx["in__lmk203"], CropConfig())
    fx.check("out__M_o2c", crop.m_o2c)
    fx.check("out__M_c2o", crop.m_c2o)
    fx.check("out__pt_crop", crop.landmarks)
    fx.check("out__img_crop_512", crop.image)
    fx.check("out__img_crop_256", cv2.resize(crop.image, (256, 256), interpolation=cv2.INTER_AREA))


def test_mask_and_paste_back(parity):
    fx = parity("crop_pasteback")
    assert np.array_equal(feather_mask(512), fx["in__mask_template"])
    frame = fx["in__img_rgb"]
    fx.check("out__mask_ori_u8", warp_to_frame(fx["in__mask_template"], fx["out__M_c2o"], frame.shape[:2]))
    fx.check(
        "out__pasted", paste_back(frame, fx["in__frame_uint8"], fx["out__M_c2o"], fx["in__mask_template"])
    )


def test_fixture_crop_pastes_like_the_reference(parity):
    """The reference paste-back fixture, with the crop given as decoder values that truncate to it."""
    fx = parity("crop_pasteback")
    crop = torch.from_numpy(fx["in__frame_uint8"]).permute(2, 0, 1)[None].float()
    target = paste_target(fx["in__img_rgb"], fx["out__M_c2o"], fx["in__mask_template"], "cpu")
    out = paste_crops(target, (crop + 0.5) / 255)[0].numpy()
    diff = np.abs(out.astype(int) - fx["out__pasted"].astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 0.001, (diff.max(), (diff > 0).mean())


def test_ratios(parity):
    fx = parity("crop_pasteback")
    lmk = fx["in__lmk203"]
    fx.check("out__eye_ratio_source", eye_ratios_203(lmk)[None])
    fx.check("out__lip_ratio_source", lip_ratio_203(lmk)[None])


def test_every_key_is_covered(parity):
    source = open(__file__).read()
    missing = [k for k in parity("crop_pasteback").keys("out") if k not in source]
    # driving ratios are checked with the retargeting pipeline (test_stitching_retargeting.py)
    assert set(missing) <= {"out__eye_ratio_driving", "out__lip_ratio_driving"}, missing
