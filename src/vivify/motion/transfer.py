"""The keypoint-transfer policy: final driving keypoints from source and driving motion, per drive mode.

One pure function (:func:`driving_keypoints`) decides what LivePortrait's pipeline does with a
batch of driving frames (spec sections 9.4 to 9.6): relative or absolute motion, the animation
region, the drive mode (a picture or a source video, driven by a sequence or one image),
expression-friendly rescaling, eye/lip retargeting, stitching, lip normalisation and the motion
multiplier. The networks it needs (the stitching and retargeting MLPs) are passed in; nothing
here loads, caches or moves data between devices.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import torch

from vivify.errors import UserError
from vivify.motion.editing import FaceEdit, apply_edit
from vivify.motion.relative import (
    REFERENCE_EXPRESSION,
    KeypointInfo,
    absolute_keypoints,
    expression_friendly,
    hull_motion_multiplier,
    relative_keypoints,
    video_source_keypoints,
    video_source_targets,
)
from vivify.motion.stitching import Mlp, apply_multiplier, eye_retarget_delta, lip_retarget_delta, stitch
from vivify.motion.transfer_options import DriveMode, TransferOptions

LIP_NORMALIZE_THRESHOLD = 0.03  # a source mouth open less than this is already closed (spec 9.6)
TARGET_WIDTH = 72  # video targets per frame: expression (21×3) then rotation (3×3)


@dataclass(frozen=True)
class DrivingPose:
    """T driving frames' motion as tensors on the renderer's device: what the policy reads.

    ``to_frame`` (T, 3) = (a, bx, by) maps the normalised coordinates the motion was measured in
    (a driving crop) to whole-frame ones, ``u_frame = a·u + b``; None: they already are. The
    ratios are the drivers' eye (T, 2) and lip (T, 1) open ratios, None when unknown.
    """

    rotation: torch.Tensor  # (T, 3, 3)
    exp: torch.Tensor  # (T, 21, 3)
    t: torch.Tensor  # (T, 3)
    scale: torch.Tensor  # (T, 1)
    to_frame: torch.Tensor | None = None
    eye_ratio: np.ndarray | None = None
    lip_ratio: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.rotation)

    def in_frame(self) -> DrivingPose:
        """Translation and scale in whole-frame coordinates (x = scale·(kp·R + exp) + t is affine in both)."""
        if self.to_frame is None:
            return self
        a, b = self.to_frame[:, :1], self.to_frame[:, 1:3]
        t = torch.cat([a * self.t[:, :2] + b, a * self.t[:, 2:]], dim=1)
        return replace(self, t=t, scale=a * self.scale, to_frame=None)

    def edited(self, edit: FaceEdit | None) -> DrivingPose:
        """The motion with editing controls added in every frame (angles, expression, scale)."""
        if edit is None or edit.is_neutral:
            return self
        rotation, exp, scale, t = apply_edit(self.rotation, self.exp, self.scale, self.t, edit)
        return replace(self, rotation=rotation, exp=exp, scale=scale, t=t)


@dataclass(kw_only=True)
class SourceKeypoints:
    """The source's motion, batch 1: ``info`` (LivePortrait's ``kp_info``), keypoints ``x_s``
    (1, 21, 3), and its eye (2,) and lip (1,) open ratios when known (float32 numpy)."""

    info: KeypointInfo
    x_s: torch.Tensor
    eye_ratio: np.ndarray | None = None
    lip_ratio: np.ndarray | None = None


class StitchingModules(Protocol):
    """The three small MLPs the policy applies (LivePortrait's stitching and retargeting)."""

    stitching: Mlp
    eye: Mlp
    lip: Mlp


def _expand(info: KeypointInfo, n: int) -> KeypointInfo:
    """A batch-1 motion repeated for n frames (the keypoint functions take matching batches)."""
    fields = (info.pitch, info.yaw, info.roll, info.t, info.exp, info.scale, info.kp)
    return KeypointInfo(*(f.expand(n, *f.shape[1:]) for f in fields))


def _anchor(
    driving: DrivingPose, reference: DrivingPose | None, mode: DriveMode
) -> tuple[DrivingPose, torch.Tensor | None]:
    """The relative-mode anchor and the expression replacing its own (a still driver's)."""
    if mode.still_driver:
        reference_exp = torch.as_tensor(REFERENCE_EXPRESSION, dtype=torch.float32)
        return driving, reference_exp.to(driving.exp.device, driving.exp.dtype)[None]
    if reference is None:
        raise ValueError("relative motion needs a reference motion")
    return reference.in_frame(), None


def uses_expression_friendly(options: TransferOptions, mode: DriveMode) -> bool:
    """Whether the motion is rescaled to the source's keypoint volume (relative, a picture source
    driven by a sequence, "expression-friendly")."""
    return options.relative and mode is DriveMode.SEQUENCE and options.driving_option == "expression-friendly"


def expression_friendly_scale(
    source: SourceKeypoints, reference: DrivingPose, options: TransferOptions
) -> float:
    """``sqrt(vol(hull(x_s)) / vol(hull(x_0)))``: the rescale of the motion to the source's face,
    ``x_0`` being the source moved to the reference frame (a host computation: cache it)."""
    anchor = reference.in_frame()
    return hull_motion_multiplier(source.x_s, relative_keypoints(source.info, anchor, anchor, options.region))


def transferred_keypoints(
    source: SourceKeypoints,
    driving: DrivingPose,
    reference: DrivingPose | None,
    options: TransferOptions,
    mode: DriveMode,
    *,
    targets: torch.Tensor | None = None,
    friendly_scale: float | None = None,
) -> torch.Tensor:
    """Driving keypoints before retargeting and stitching (spec 9.4), (T, 21, 3).

    Absolute motion takes the driver's expression and rotation as measured; relative motion its
    change since the anchor (the reference frame, or a still driver itself). A source video keeps
    its own placement (``targets``: (T, 72) smoothed :func:`video_targets` to use instead of each
    frame's own). ``friendly_scale``: the cached :func:`expression_friendly_scale`.
    """
    n = len(driving)
    src = _expand(source.info, n)
    if not options.relative:
        return absolute_keypoints(src, driving.edited(options.edit), options.region)
    drv = driving.in_frame().edited(options.edit)
    anchor, anchor_exp = _anchor(drv, reference, mode)
    if mode.source_video:
        smoothed = None
        if targets is not None:
            smoothed = (targets[:, :63].reshape(n, 21, 3), targets[:, 63:].reshape(n, 3, 3))
        return video_source_keypoints(src, drv, anchor, options.region, anchor_exp, smoothed)
    x_d = relative_keypoints(src, drv, anchor, options.region, anchor_exp=anchor_exp)
    if uses_expression_friendly(options, mode):
        x_0 = relative_keypoints(source.info, anchor, anchor, options.region)
        scale = hull_motion_multiplier(source.x_s, x_0) if friendly_scale is None else friendly_scale
        x_d = expression_friendly(source.x_s.expand(n, -1, -1), x_d, x_0, scale)
    return x_d


def video_targets(
    source: SourceKeypoints,
    driving: DrivingPose,
    reference: DrivingPose | None,
    options: TransferOptions,
    mode: DriveMode,
) -> torch.Tensor | None:
    """What LivePortrait smooths over a source video (relative mode): per frame the expression E
    (21×3) then the turned rotation R̃ (3×3), flattened to (T, 72); None in absolute mode (see
    :func:`vivify.motion.relative.video_source_targets`)."""
    if not options.relative:
        return None
    drv = driving.in_frame().edited(options.edit)
    anchor, anchor_exp = _anchor(drv, reference, mode)
    e, rot = video_source_targets(_expand(source.info, len(drv)), drv, anchor, anchor_exp)
    return torch.cat([e.reshape(len(drv), -1), rot.reshape(len(drv), -1)], dim=1)


def lip_normalization(source: SourceKeypoints, lip_mlp: Mlp) -> torch.Tensor | None:
    """Offset closing the source's open mouth (spec 9.6), None for a closed one."""
    if source.lip_ratio is None:
        raise ValueError("normalize_lip needs the source's lip ratio")
    c_s = float(source.lip_ratio[0])
    if c_s < LIP_NORMALIZE_THRESHOLD:
        return None
    ratios = torch.tensor([[c_s, 0.0]], dtype=torch.float32).to(source.x_s.device, source.x_s.dtype)
    return lip_retarget_delta(lip_mlp, source.x_s, ratios)


def _target_ratios(driving: np.ndarray | None, fixed: float | None, n: int, part: str) -> np.ndarray:
    """(T,) target open ratios: the fixed option value, else the drivers' own (left eye only)."""
    if fixed is not None:
        return np.full(n, fixed, np.float32)
    if driving is None:
        raise UserError(
            f"{part} retargeting follows the driver's {part} open ratio, which this motion "
            f"(a template without ratios) lacks: give a fixed {part} ratio"
        )
    return np.asarray(driving, np.float32)[:, 0]


def _retargeted(
    x_d: torch.Tensor,
    source: SourceKeypoints,
    driving: DrivingPose,
    options: TransferOptions,
    mlps: StitchingModules,
) -> torch.Tensor:
    """``x_d`` plus the eye and lip retargeting offsets towards the target open ratios (spec 9.5)."""
    n = len(driving)
    x_s = source.x_s.expand(n, -1, -1)
    if options.eye_retargeting:
        if source.eye_ratio is None:
            raise ValueError("eye retargeting needs the source's eye ratios")
        c_d = _target_ratios(driving.eye_ratio, options.eye_ratio, n, "eye")
        c_s = source.eye_ratio
        ratios = np.stack([np.full(n, c_s[0]), np.full(n, c_s[1]), c_d], 1).astype(np.float32)
        x_d = x_d + eye_retarget_delta(mlps.eye, x_s, torch.as_tensor(ratios).to(x_s.device, x_s.dtype))
    if options.lip_retargeting:
        if source.lip_ratio is None:
            raise ValueError("lip retargeting needs the source's lip ratio")
        c_d = _target_ratios(driving.lip_ratio, options.lip_ratio, n, "lip")
        ratios = np.stack([np.full(n, source.lip_ratio[0]), c_d], 1).astype(np.float32)
        x_d = x_d + lip_retarget_delta(mlps.lip, x_s, torch.as_tensor(ratios).to(x_s.device, x_s.dtype))
    return x_d


def driving_keypoints(
    source: SourceKeypoints,
    driving: DrivingPose,
    reference: DrivingPose | None,
    options: TransferOptions,
    mode: DriveMode,
    mlps: StitchingModules,
    *,
    targets: torch.Tensor | None = None,
    friendly_scale: float | None = None,
) -> torch.Tensor:
    """Final driving keypoints of T frames (spec 9.4, then 9.5 steps 1-4), (T, 21, 3).

    Args:
        source: the source's motion.
        driving: T driving frames' motion.
        reference: the reference frame's motion (T = 1), for relative motion of a moving driver.
        options: what to transfer and how.
        mode: picture or video source, moving or still driver.
        mlps: the stitching and retargeting MLPs.
        targets: source video, relative mode: (T, 72) :func:`video_targets` smoothed over time.
        friendly_scale: :func:`expression_friendly_scale` when already known.

    Raises:
        UserError: retargeting asked to follow a driver that has no open ratios.
    """
    x_d = transferred_keypoints(source, driving, reference, options, mode, targets=targets,
                                friendly_scale=friendly_scale)  # fmt: skip
    x_s = source.x_s.expand(len(driving), -1, -1)
    if options.eye_retargeting or options.lip_retargeting:
        # retargeting replaces the relative motion by the source plus the offsets (spec 9.5)
        x_d = _retargeted(x_s if options.relative else x_d, source, driving, options, mlps)
        if options.stitching:
            x_d = stitch(mlps.stitching, x_s, x_d)
    else:
        if options.stitching:
            x_d = stitch(mlps.stitching, x_s, x_d)
        lip_norm = lip_normalization(source, mlps.lip) if options.normalize_lip and options.relative else None
        if lip_norm is not None:
            x_d = x_d + lip_norm
    return apply_multiplier(x_s, x_d, options.multiplier)
