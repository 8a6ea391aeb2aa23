"""New driving keypoints from source and driving motion (spec section 9.4).

Notation: ``x_c,s`` the source's canonical keypoints, ``R`` rotation matrices from
:func:`vivify.motion.rotation_matrix`, ``exp`` expression offsets (B, N, 3), ``scale`` (B, 1),
``t`` (B, 3). Frame 0 of the driving sequence (or a chosen reference frame) is the anchor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from vivify.motion.keypoints import transform_keypoints
from vivify.motion.rotation import bins_to_degrees, rotation_matrix

Region = Literal["all", "exp", "pose", "lips", "lip", "eyes"]  # "lip": LivePortrait's spelling

LIP_ROWS = (6, 12, 14, 17, 19, 20)
EYE_ROWS = (11, 13, 15, 16, 18)

# Absolute mode copies only these driving-expression entries (keypoint: components x=0, y=1, z=2).
_ABSOLUTE_EXP = {1: (0, 1, 2), 2: (0, 1, 2), 6: (0, 1, 2), 3: (1,), 4: (1,), 5: (2,), 8: (2,), 9: (1, 2)}
_ABSOLUTE_EXP.update({k: (0, 1, 2) for k in range(11, 21)})

# LivePortrait's fixed reference expression used as the anchor for a single driving image.
REFERENCE_EXPRESSION = np.array(
    [
        [-9.4524e-05, 0.00024222, -4.009739999999999e-05],
        [0.000208596, 0.000468054, 1.2746399999999999e-05],
        [-0.000124602, 0.00032497200000000003, 4.425e-06],
        [0.000119652, -0.000456624, 5.40852e-05],
        [-0.000265254, -7.459799999999999e-05, -1.5527999999999998e-05],
        [-3.3488399999999996e-05, -0.000183036, -3.4940399999999998e-06],
        [-4.7542799999999996e-07, -4.5246599999999997e-07, 1.59498e-06],
        [-0.000541296, 0.0026328000000000002, 7.2485999999999995e-06],
        [-1.1694e-05, 5.00502e-06, 9.9888e-06],
        [8.028599999999999e-07, 5.1913199999999995e-06, -0.00040934399999999996],
        [0.000166878, -1.9815000000000003e-05, -8.854799999999999e-05],
        [-1.51536e-05, 8.2506e-05, 5.94012e-06],
        [-2.61054e-07, 2.7591e-06, 2.21028e-06],
        [-6.6282e-05, -6.828599999999999e-05, -3.4531799999999997e-06],
        [-0.00083262, -0.00179592, -2.59176e-06],
        [6.9714e-06, 3.65514e-05, -1.8977999999999999e-06],
        [-4.808759999999999e-06, 7.1148e-06, -1.03236e-05],
        [-0.0006368400000000001, -0.0011661, 5.62314e-05],
        [0.00028329, -1.4565599999999998e-05, 1.09746e-05],
        [-4.16022e-06, -0.0150906, -0.0025494],
        [0.000222474, 0.00562788, 0.0027264599999999996],
    ],
    dtype=np.float64,
)


@dataclass(frozen=True)
class KeypointInfo:
    """Refined motion of one image (LivePortrait's ``kp_info``), batch B, N keypoints.

    Attributes: pitch, yaw, roll (B, 1) degrees; t (B, 3); exp (B, N, 3); scale (B, 1);
    kp (B, N, 3) canonical keypoints.
    """

    pitch: torch.Tensor
    yaw: torch.Tensor
    roll: torch.Tensor
    t: torch.Tensor
    exp: torch.Tensor
    scale: torch.Tensor
    kp: torch.Tensor

    @classmethod
    def from_raw(cls, raw) -> KeypointInfo:
        """From the motion extractor's raw output (bin logits, flat kp/exp)."""
        b = raw.kp.shape[0]
        return cls(
            pitch=bins_to_degrees(raw.pitch)[:, None],
            yaw=bins_to_degrees(raw.yaw)[:, None],
            roll=bins_to_degrees(raw.roll)[:, None],
            t=raw.t,
            exp=raw.exp.reshape(b, -1, 3),
            scale=raw.scale,
            kp=raw.kp.reshape(b, -1, 3),
        )

    @property
    def rotation(self) -> torch.Tensor:
        """(B, 3, 3) rotation matrix of the head pose."""
        return rotation_matrix(self.pitch, self.yaw, self.roll)


def _with_rows(base: torch.Tensor, other: torch.Tensor, rows: tuple[int, ...]) -> torch.Tensor:
    out = base.clone()
    out[:, list(rows)] = other[:, list(rows)]
    return out


def relative_keypoints(
    source: KeypointInfo,
    driving: KeypointInfo,
    anchor: KeypointInfo,
    region: Region = "all",
    anchor_exp: torch.Tensor | None = None,
) -> torch.Tensor:
    """Driving keypoints in relative mode: the driving change since ``anchor`` applied to the source.

    Args:
        source, driving, anchor: motion of the source, of driving frame i and of the anchor frame.
        region: which motion to transfer: everything, expression only, pose only, lips or eyes.
        anchor_exp: replaces the anchor's expression (a single driving image uses
            :data:`REFERENCE_EXPRESSION`); with it, region "eyes" takes ``exp_s + exp_d``.

    Returns:
        (B, N, 3) keypoints before stitching (tz never enters: only tx, ty are added).
    """
    r_s, r_d, r_0 = source.rotation, driving.rotation, anchor.rotation
    exp_0 = anchor.exp if anchor_exp is None else anchor_exp
    r_rel = (r_d @ r_0.transpose(1, 2)) @ r_s
    exp_rel = source.exp + (driving.exp - exp_0)
    scale_rel = source.scale * (driving.scale / anchor.scale)
    t_rel = source.t + (driving.t - anchor.t)
    if region == "all":
        rot, exp, scale, t = r_rel, exp_rel, scale_rel, t_rel
    elif region == "exp":
        rot, exp, scale, t = r_s, exp_rel, source.scale, source.t
    elif region == "pose":
        rot, exp, scale, t = r_rel, source.exp, source.scale, t_rel
    elif region in ("lips", "lip", "eyes"):
        rows = EYE_ROWS if region == "eyes" else LIP_ROWS
        wanted = source.exp + driving.exp if (region == "eyes" and anchor_exp is not None) else exp_rel
        rot, exp, scale, t = r_s, _with_rows(source.exp, wanted, rows), source.scale, source.t
    else:
        raise ValueError(f"unknown animation region {region!r}")
    return transform_keypoints(source.kp, rot, exp, scale, t)


def _fill_expsub(base: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """``base`` with the expression subset (the entries absolute mode copies) taken from ``other``."""
    out = base.clone()
    for k, comps in _ABSOLUTE_EXP.items():
        out[:, k, list(comps)] = other[:, k, list(comps)]
    return out


def video_source_targets(
    source: KeypointInfo,
    driving: KeypointInfo,
    anchor: KeypointInfo,
    anchor_exp: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """What a source-video frame takes from the driver, before LivePortrait smooths it over time.

    ``E = exp_s + exp_d − exp_0`` and the turned rotation ``R̃ = R_d·R_0ᵀ·R_s``; with
    ``anchor_exp`` (a single driving image), ``E = exp_s + exp_d − anchor_exp`` and ``R̃ = R_s``.

    Returns:
        E (B, N, 3) and R̃ (B, 3, 3).
    """
    exp_0 = anchor.exp if anchor_exp is None else anchor_exp
    e = source.exp + (driving.exp - exp_0)
    r_s = source.rotation
    turned = r_s if anchor_exp is not None else (driving.rotation @ anchor.rotation.transpose(1, 2)) @ r_s
    return e, turned


def video_source_keypoints(
    source: KeypointInfo,
    driving: KeypointInfo,
    anchor: KeypointInfo,
    region: Region = "all",
    anchor_exp: torch.Tensor | None = None,
    targets: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Relative keypoints for one frame of a source *video* (LivePortrait's video-to-video).

    Each source frame keeps its own scale and translation; the driver's expression change ``E``
    (:func:`video_source_targets`) fills the expression subset (region "all"/"exp") or the
    lip/eye rows, and the turned rotation ``R̃`` turns the head (regions "all" and "pose").
    ``targets`` replaces (E, R̃), e.g. by their values smoothed over the video.

    Returns:
        (B, N, 3) keypoints before stitching.
    """
    e, turned = video_source_targets(source, driving, anchor, anchor_exp) if targets is None else targets
    r_s = source.rotation
    if region in ("all", "exp"):
        rot, exp = (turned if region == "all" else r_s), _fill_expsub(source.exp, e)
    elif region == "pose":
        rot, exp = turned, source.exp
    elif region in ("lips", "lip", "eyes"):
        rot, exp = r_s, _with_rows(source.exp, e, EYE_ROWS if region == "eyes" else LIP_ROWS)
    else:
        raise ValueError(f"unknown animation region {region!r}")
    return transform_keypoints(source.kp, rot, exp, source.scale, source.t)


def absolute_keypoints(source: KeypointInfo, driving: KeypointInfo, region: Region = "all") -> torch.Tensor:
    """Driving keypoints in absolute mode: the driving pose, the driving expression on selected entries."""
    if region in ("lips", "lip", "eyes"):
        exp = _with_rows(source.exp, driving.exp, EYE_ROWS if region == "eyes" else LIP_ROWS)
        return transform_keypoints(source.kp, source.rotation, exp, source.scale, source.t)
    exp = _fill_expsub(source.exp, driving.exp)
    if region == "all":
        return transform_keypoints(source.kp, driving.rotation, exp, source.scale, driving.t)
    if region == "exp":
        return transform_keypoints(source.kp, source.rotation, exp, source.scale, source.t)
    if region == "pose":
        return transform_keypoints(source.kp, driving.rotation, source.exp, source.scale, driving.t)
    raise ValueError(f"unknown animation region {region!r}")


def hull_motion_multiplier(x_s: torch.Tensor, x_d0: torch.Tensor) -> float:
    """``sqrt(vol(hull(x_s))) / sqrt(vol(hull(x_d0)))`` in float64 (expression-friendly scale)."""
    from scipy.spatial import ConvexHull  # noqa: PLC0415 - only this option needs scipy

    vol_s = ConvexHull(x_s.detach().cpu().reshape(-1, 3).double().numpy()).volume
    vol_d = ConvexHull(x_d0.detach().cpu().reshape(-1, 3).double().numpy()).volume
    return float(np.sqrt(vol_s) / np.sqrt(vol_d))


def expression_friendly(
    x_s: torch.Tensor, x_d: torch.Tensor, x_d0: torch.Tensor, multiplier: float
) -> torch.Tensor:
    """``(x_d − x_d0) · m + x_s``: rescale the motion to the source's keypoint volume."""
    return (x_d - x_d0) * multiplier + x_s
