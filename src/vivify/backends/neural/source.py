"""What the neural backend prepares once per source face: its crop, features and motion."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from vivify.backends.device_paste import PasteTarget
from vivify.backends.neural.driving import CROP_SIZE, INPUT_SIZE
from vivify.face.align import crop_matrix, resize_to_limit, transform_points
from vivify.face.crop import warp_crop
from vivify.motion.transfer import SourceKeypoints

SOURCE_MAX_DIM = 1280  # LivePortrait crops sources from a copy no larger than this


@dataclass(kw_only=True)
class NeuralSource(SourceKeypoints):
    """What :meth:`NeuralBackend.prepare` computes once per source face.

    Attributes (beside the :class:`~vivify.motion.transfer.SourceKeypoints` ones: ``info``,
    ``x_s``, ``eye_ratio``, ``lip_ratio``):
        crop: (256, 256, 3) uint8 network input.
        features: (1, 32, 16, 64, 64) appearance feature volume ``f_s``.
        image: (H, W, 3) uint8 source picture to paste into, None for a bare crop.
        m_c2o: (3, 3) float32 crop (512) → ``image`` matrix, None for a bare crop.
    """

    crop: np.ndarray
    features: torch.Tensor
    image: np.ndarray | None = None
    m_c2o: np.ndarray | None = None
    # expression-friendly motion scale per (region, reference motion): a convex hull on the host,
    # computed once per animation rather than once per frame
    friendly_scales: dict = dataclasses.field(default_factory=dict, repr=False)
    # the picture on the renderer's device, for pasting there (made on first use)
    paste_target: PasteTarget | None = dataclasses.field(default=None, repr=False)


def source_crop(image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (256, 256, 3) network input of a source face and its picture → 512 crop matrix (2, 3).

    Pictures larger than 1280 pixels are cropped from a copy resized to that limit, as
    LivePortrait does; the matrix still refers to the full-resolution picture.
    """
    landmarks = np.asarray(landmarks, np.float32)
    h, w = image.shape[:2]
    rh, rw, _, _ = resize_to_limit(h, w, SOURCE_MAX_DIM)
    if (rh, rw) != (h, w):
        sx, sy = rw / w, rh / h  # cv2.resize maps pixel centres: x' = sx·(x + 0.5) − 0.5
        to_small = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]])
        small = cv2.resize(image, (rw, rh))
        m_small = crop_matrix(transform_points(landmarks[:, :2], to_small).astype(np.float32))
        crop512 = warp_crop(small, m_small, CROP_SIZE)
        m_o2c = (m_small.astype(np.float64) @ to_small).astype(np.float32)
    else:
        m_o2c = crop_matrix(landmarks)
        crop512 = warp_crop(image, m_o2c, CROP_SIZE)
    return cv2.resize(crop512, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA), m_o2c
