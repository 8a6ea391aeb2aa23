"""Driving motion of the neural backend: the driving crop, its frame map, and motion as tensors.

A square frame that the face already fills (an official pre-cropped driving video) is resized
whole to 256, as LivePortrait does; any other frame is cropped around its face (no rotation,
LivePortrait's driving-crop scale 2.2 / vy -0.1), and the extracted translation and scale are
mapped back to whole-frame coordinates through the crop's known similarity, so head movement
within the frame is still transferred in relative mode (docs/neural-backend.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from vivify.face.align import CropConfig, crop_matrix
from vivify.face.crop import warp_crop
from vivify.motion.keypoint_motion import KeypointMotion
from vivify.motion.rotation import nearest_rotation
from vivify.motion.transfer import DrivingPose

CROP_SIZE = 512  # aligned crop and decoder output
INPUT_SIZE = 256  # network input
DRIVING_CROP = CropConfig(dsize=CROP_SIZE, scale=2.2, vx_ratio=0.0, vy_ratio=-0.1, rotate=False)
FULL_FRAME_FILL = 0.75  # driving-crop side / frame side above which a square frame is used whole
_VECTOR_FIELDS = ("rotation", "exp", "t", "scale", "eye_ratio", "lip_ratio", "to_frame")

Array = np.ndarray | torch.Tensor


@dataclass(frozen=True)
class DrivingMotion(KeypointMotion):
    """One driving frame's motion as extracted from its network input (T = 1).

    The :class:`~vivify.motion.keypoint_motion.KeypointMotion` fields, in the coordinates of the
    256 input the motion extractor saw: float32 numpy arrays, or tensors left on the renderer's
    device when nothing on the host needs them (the ratios are always numpy). ``to_frame`` =
    (a, bx, by) maps those normalised coordinates to whole-frame ones (``u_frame = a · u_input
    + b``); None means they already are (whole-frame input, or a template).
    """

    to_frame: Array | None = None

    def keypoints(self, in_frame: bool = True) -> KeypointMotion:
        """As a :class:`KeypointMotion` (what a motion template stores, numpy), by default in
        frame coordinates."""
        rotation, exp, t, scale = (_host(a) for a in (self.rotation, self.exp, self.t, self.scale))
        to_frame = _host(self.to_frame) if in_frame and self.to_frame is not None else None
        if to_frame is not None:
            a, b = to_frame[:, :1], to_frame[:, 1:3]
            t = np.concatenate([a * t[:, :2] + b, a * t[:, 2:]], axis=1).astype(np.float32)
            scale = (a * scale).astype(np.float32)
        return KeypointMotion(rotation, exp, t, scale, self.eye_ratio, self.lip_ratio)


def _host(a: Array) -> np.ndarray:
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def driving_input(image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The (256, 256, 3) network input of a driving frame and its input → frame map.

    A square frame whose face already fills it (driving-crop side ≥ 0.75 of the frame, as in
    LivePortrait's pre-cropped driving videos) is resized whole (INTER_LINEAR, spec 9.1) and
    needs no map. Otherwise the face is cropped (no rotation, scale 2.2, vy -0.1) at 512 and
    reduced to 256, and the returned (a, bx, by) maps the crop's normalised coordinates to
    those of the whole frame (a square of the longer side, centred on the frame).
    """
    h, w = image.shape[:2]
    m = crop_matrix(np.asarray(landmarks, np.float32), DRIVING_CROP).astype(np.float64)
    k = m[0, 0]  # crop pixels per frame pixel (no rotation)
    side = max(h, w)
    if h == w and CROP_SIZE / k >= FULL_FRAME_FILL * side:
        return cv2.resize(image, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR), None
    crop = warp_crop(image, m.astype(np.float32), CROP_SIZE)
    crop = cv2.resize(crop, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
    # crop pixel p = k·q + m[:, 2] for frame pixel q; u = p/256 − 1 in the crop and
    # (q − centre)/(side/2) in the frame, hence u_frame = a·u + b:
    half = CROP_SIZE / 2
    centre = np.array([w / 2, h / 2])
    a = CROP_SIZE / (k * side)
    b = ((half - m[:2, 2]) / k - centre) * (2 / side)
    return crop, np.array([a, b[0], b[1]], np.float32)


def _stack(arrays: Sequence[Array], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Concatenate numpy arrays or tensors along the first axis, on ``device`` in ``dtype``."""
    parts = [
        a if isinstance(a, torch.Tensor) else torch.from_numpy(np.asarray(a, np.float32)) for a in arrays
    ]
    if all(p.device == device for p in parts):
        return torch.cat(parts).to(dtype)
    return torch.cat([p.to(device) for p in parts]).to(dtype)


def _ratios(motions: Sequence, name: str) -> np.ndarray | None:
    values = [getattr(m, name) for m in motions]
    if any(v is None for v in values):
        return None
    return np.concatenate([np.asarray(v, np.float32).reshape(1, -1) for v in values])


def stack_motions(motions: Sequence[KeypointMotion], device: torch.device, dtype: torch.dtype) -> DrivingPose:
    """T one-frame motions (:class:`DrivingMotion` or template frames) as one batched pose."""
    maps = [m.to_frame if isinstance(m, DrivingMotion) else None for m in motions]
    to_frame = None
    if any(a is not None for a in maps):
        identity = np.array([[1.0, 0.0, 0.0]], np.float32)  # a = 1, b = 0: exact for the frames without a map
        to_frame = _stack([identity if a is None else a.reshape(1, 3) for a in maps], device, dtype)
    return DrivingPose(
        rotation=_stack([m.rotation for m in motions], device, dtype),
        exp=_stack([m.exp.reshape(len(m.exp), -1, 3) for m in motions], device, dtype),
        t=_stack([m.t for m in motions], device, dtype),
        scale=_stack([m.scale for m in motions], device, dtype).reshape(-1, 1),
        to_frame=to_frame,
        eye_ratio=_ratios(motions, "eye_ratio"),
        lip_ratio=_ratios(motions, "lip_ratio"),
    )


def motion_vector(motion: KeypointMotion) -> np.ndarray:
    """One frame's motion as a flat float64 vector, to smooth over time: rotation, expression,
    translation, scale, then whichever of the eye/lip ratios and the crop-to-frame map it has."""
    parts = [getattr(motion, name, None) for name in _VECTOR_FIELDS]
    return np.concatenate([_host(a).astype(np.float64).reshape(-1) for a in parts if a is not None])


def from_vector(motion: KeypointMotion, vector: np.ndarray) -> KeypointMotion:
    """``motion`` with the values of :func:`motion_vector` replaced by ``vector`` (a smoothed one);
    the rotation is brought back to the nearest rotation matrix."""
    values, start = {}, 0
    for name in _VECTOR_FIELDS:
        old = getattr(motion, name, None)
        if old is not None:
            size = int(np.prod(old.shape))
            values[name] = vector[start : start + size].reshape(tuple(old.shape)).astype(np.float32)
            start += size
    values["rotation"] = nearest_rotation(values["rotation"]).astype(np.float32)
    return dataclasses.replace(motion, **values)
