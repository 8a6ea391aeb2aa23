"""Portrait editing controls (head pose and expression sliders) in LivePortrait's keypoint space.

Follows the official image editor (``shared/spec/liveportrait-editing.md`` §1): every expression
control adds a fixed offset per unit of its value to a few rows of the expression ``exp``, the head
angles are *added* to the source's Euler angles, and ``scale`` multiplies the scaled keypoint
cloud. Notation: ``x_s`` source keypoints, ``x_d`` edited (driving) keypoints, both (B, 21, 3).

Controls (vivify name ↔ official slider, spec §2.1; "vivify" where the spec has no such slider):

============  ==================  ==============  ===========================================
vivify        range (neutral)     official        keypoint offsets per unit (kp.axis)
============  ==================  ==============  ===========================================
pitch         −15…15 (0) deg      relative pitch  added to the source pitch
yaw           −25…25 (0) deg      relative yaw    added to the source yaw
roll          −15…15 (0) deg      relative roll   added to the source roll
shift_x       −0.19…0.19 (0)      x-axis mov.     5.x +1 (= −mov_x: official sign inverted)
shift_y       −0.19…0.19 (0)      y-axis mov.     5.y +1 (= mov_y)
scale         0.9…1.2 (1)         z-axis mov.     multiplies the scale (not t)
smile         −0.3…1.3 (0)        smile           20.y −.01, 14.y −.02, 17.y +.0065, 17.z +.003,
                                                  13.y/16.y −.00275, 3.y/7.y −.0035
blink         −5…39 (0)           vivify          11.y/15.y +.001, 13.y/16.y −.0003 (the spec's
                                                  implied blink of vertical gaze, sign flipped)
wink          0…39 (0)            wink            11.y +.001, 13.y −.0003, 17.x/17.y +.0003,
                                                  3.y −.0003
eyebrow       −30…30 (0)          eyebrow         v>0: 1.y +.001, 2.y −.001; v<0: 1.x −.001,
                                                  2.x +.001, 1.y +.0003, 2.y −.0003
gaze_x        −30…30 (0)          gaze horiz.     v>0: 11.x +.0007, 15.x +.001; v≤0: swapped
gaze_y        −63…63 (0)          gaze vert.      11.y/15.y −.001, plus blink at v/2
mouth_open    −90…120 (0)         lip close↔open  19.y +.001, 19.z +.0001, 17.y −.0001
grin          0…15 (0)            grin            20.z/20.y/14.y −.001
purse         −20…15 (0)          pursing         14.y +.001, 3.y/7.y/17.z −.0005
pout          −0.09…0.09 (0)      pouting         19.x +1
aaa, eee,     0…1 (0)             vivify          vowel presets: aaa = mouth_open 100;
woo                                               eee = grin 15 + mouth_open 20;
                                                  woo = purse 15 + mouth_open 10
============  ==================  ==============  ===========================================

Divergence from the official editor (spec §5.1): ``x_d`` leaves tz out, like ``x_s`` and the
animation pipeline, so a neutral edit gives ``x_s`` exactly; ``include_tz=True`` restores the
official behaviour. Eye/lip open-ratio retargeting (spec §1.2 step 5) and stitching are left to
the caller (:mod:`vivify.motion.stitching`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch

from vivify.motion.controls import CONTROLS, POSE_CONTROLS
from vivify.motion.keypoints import transform_keypoints
from vivify.motion.relative import KeypointInfo
from vivify.motion.rotation import rotation_matrix

NUM_KEYPOINTS = 21


# Vowel presets in units of the lip controls they stand for: (mouth_open, grin, purse) per unit.
VOWELS: dict[str, tuple[float, float, float]] = {
    "aaa": (100.0, 0.0, 0.0),
    "eee": (20.0, 15.0, 0.0),
    "woo": (10.0, 0.0, 15.0),
}

_X, _Y, _Z = 0, 1, 2
Terms = tuple[tuple[int, int, float], ...]  # (keypoint, axis, offset per unit of the control)

# Spec §1.1, per control: terms for values > 0 and for values < 0.
_SMILE: Terms = ((20, _Y, -0.01), (14, _Y, -0.02), (17, _Y, 0.0065), (17, _Z, 0.003), (13, _Y, -0.00275),
                 (16, _Y, -0.00275), (3, _Y, -0.0035), (7, _Y, -0.0035))  # fmt: skip
_BLINK: Terms = ((11, _Y, 0.001), (15, _Y, 0.001), (13, _Y, -0.0003), (16, _Y, -0.0003))
_WINK: Terms = ((11, _Y, 0.001), (13, _Y, -0.0003), (17, _X, 0.0003), (17, _Y, 0.0003), (3, _Y, -0.0003))
_GAZE_Y: Terms = ((11, _Y, -0.001), (15, _Y, -0.001))
_MOUTH_OPEN: Terms = ((19, _Y, 0.001), (19, _Z, 0.0001), (17, _Y, -0.0001))
_GRIN: Terms = ((20, _Z, -0.001), (20, _Y, -0.001), (14, _Y, -0.001))
_PURSE: Terms = ((14, _Y, 0.001), (3, _Y, -0.0005), (7, _Y, -0.0005), (17, _Z, -0.0005))
_SIGNED_TERMS: dict[str, tuple[Terms, Terms]] = {
    "shift_x": (((5, _X, 1.0),),) * 2,
    "shift_y": (((5, _Y, 1.0),),) * 2,
    "smile": (_SMILE, _SMILE),
    "blink": (_BLINK, _BLINK),
    "wink": (_WINK, _WINK),
    "eyebrow": (((1, _Y, 0.001), (2, _Y, -0.001)),
                ((1, _X, -0.001), (2, _X, 0.001), (1, _Y, 0.0003), (2, _Y, -0.0003))),
    "gaze_x": (((11, _X, 0.0007), (15, _X, 0.001)), ((11, _X, 0.001), (15, _X, 0.0007))),
    "gaze_y": (_GAZE_Y, _GAZE_Y),
    "mouth_open": (_MOUTH_OPEN, _MOUTH_OPEN),
    "grin": (_GRIN, _GRIN),
    "purse": (_PURSE, _PURSE),
    "pout": (((19, _X, 1.0),),) * 2,
}  # fmt: skip


@dataclass(frozen=True)
class FaceEdit:
    """One portrait edit: head-pose and expression controls (see the module table for units).

    Every field defaults to its neutral value; :data:`CONTROLS` holds the ranges.

    Raises:
        ValueError: a value outside its control's range (or not a finite number).
    """

    pitch: float = 0.0
    yaw: float = 0.0
    roll: float = 0.0
    shift_x: float = 0.0
    shift_y: float = 0.0
    scale: float = 1.0
    smile: float = 0.0
    blink: float = 0.0
    wink: float = 0.0
    eyebrow: float = 0.0
    gaze_x: float = 0.0
    gaze_y: float = 0.0
    mouth_open: float = 0.0
    grin: float = 0.0
    purse: float = 0.0
    pout: float = 0.0
    aaa: float = 0.0
    eee: float = 0.0
    woo: float = 0.0

    def __post_init__(self) -> None:
        for name, rng in CONTROLS.items():
            value = getattr(self, name)
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{name} must be a number in [{rng.low:g}, {rng.high:g}], got {value!r}"
                ) from None
            if not rng.low <= value <= rng.high:  # also rejects NaN
                raise ValueError(f"{name} must be in [{rng.low:g}, {rng.high:g}], got {value!r}")
            object.__setattr__(self, name, value)

    def changed(self) -> dict[str, float]:
        """The controls set to something other than their neutral value."""
        return {n: getattr(self, n) for n, r in CONTROLS.items() if getattr(self, n) != r.neutral}

    @property
    def is_neutral(self) -> bool:
        """True when every control is at its neutral value (the edit changes nothing)."""
        return not self.changed()

    @property
    def moves_pose(self) -> bool:
        """True when a head-pose control (angles, shifts, scale) is not neutral."""
        return any(n in POSE_CONTROLS for n in self.changed())

    def lip_amounts(self) -> tuple[float, float, float]:
        """``(mouth_open, grin, purse)`` with the vowel presets aaa/eee/woo folded in."""
        amounts = [self.mouth_open, self.grin, self.purse]
        for vowel, per_unit in VOWELS.items():
            weight = getattr(self, vowel)
            if weight:
                amounts = [a + weight * u for a, u in zip(amounts, per_unit, strict=True)]
        return amounts[0], amounts[1], amounts[2]


def expression_offset_array(edit: FaceEdit) -> np.ndarray:
    """The summed expression offsets of ``edit`` as a (21, 3) float64 array (spec §1.1).

    A control contributes only when its value is non-zero. Vertical gaze also adds the spec's
    implied blink of half its value.
    """
    mouth_open, grin, purse = edit.lip_amounts()
    values = {name: getattr(edit, name) for name in _SIGNED_TERMS}
    values.update(mouth_open=mouth_open, grin=grin, purse=purse)
    values["blink"] = edit.blink + edit.gaze_y / 2
    out = np.zeros((NUM_KEYPOINTS, 3), dtype=np.float64)
    for name, value in values.items():
        if value == 0:
            continue
        positive, negative = _SIGNED_TERMS[name]
        for kp, axis, coef in positive if value > 0 else negative:
            out[kp, axis] += coef * value
    return out


def expression_offset(
    edit: FaceEdit,
    batch_size: int = 1,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """The expression offsets ``Δexp`` of an edit, to add to a source or driving ``exp``.

    Args:
        edit: the controls.
        batch_size: B, the number of copies (the same edit for every item or frame).
        dtype, device: of the returned tensor.

    Returns:
        (B, 21, 3) offsets; all zeros for a neutral expression.
    """
    offset = torch.from_numpy(expression_offset_array(edit)).to(dtype=dtype, device=device)
    return offset.unsqueeze(0).repeat(batch_size, 1, 1)


def rotation_angles(rotation: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inverse of :func:`vivify.motion.rotation_matrix`: ``R = (Rz·Ry·Rx)ᵀ`` → degrees.

    Args:
        rotation: (B, 3, 3) rotation matrices.

    Returns:
        (pitch, yaw, roll), each (B, 1) degrees; yaw in [−90, 90].
    """
    # Rᵀ = Rz·Ry·Rx, so R[0, 2] = −sin(yaw), R[1, 2] / R[2, 2] = tan(pitch), R[0, 1] / R[0, 0] = tan(roll).
    to_deg = 180 / math.pi
    yaw = torch.asin((-rotation[:, 0, 2]).clamp(-1.0, 1.0)) * to_deg
    pitch = torch.atan2(rotation[:, 1, 2], rotation[:, 2, 2]) * to_deg
    roll = torch.atan2(rotation[:, 0, 1], rotation[:, 0, 0]) * to_deg
    return pitch[:, None], yaw[:, None], roll[:, None]


def edit_keypoint_info(info: KeypointInfo, edit: FaceEdit) -> KeypointInfo:
    """The motion of ``info`` with the edit applied (spec §1.2 steps 2–4, before the transform).

    Angles are added, expression offsets added, the scale multiplied by ``edit.scale``;
    translation and canonical keypoints are kept.
    """
    b = info.exp.shape[0]
    offset = expression_offset(edit, b, dtype=info.exp.dtype, device=info.exp.device)
    return dataclasses.replace(
        info,
        pitch=info.pitch + edit.pitch,
        yaw=info.yaw + edit.yaw,
        roll=info.roll + edit.roll,
        exp=info.exp + offset.reshape(info.exp.shape),
        scale=info.scale * edit.scale,
    )


def edited_keypoints(source: KeypointInfo, edit: FaceEdit, *, include_tz: bool = False) -> torch.Tensor:
    """Driving keypoints of an edited portrait: ``x_d = scale·s_s·(k·R_d + δ_s + Δδ) + t_s``.

    ``R_d`` is the rotation of the source angles plus the edit's angles (Euler-angle addition,
    spec §1.2 step 2). The result is ready for eye/lip retargeting offsets and stitching
    (:func:`vivify.motion.stitch`), which the caller applies.

    Args:
        source: the source's motion (B items).
        edit: the controls.
        include_tz: add ``tz`` to the z coordinates as the official editor does; by default tz is
            left out like in ``x_s``, so a neutral edit returns ``x_s`` exactly.

    Returns:
        (B, 21, 3) edited keypoints.
    """
    e = edit_keypoint_info(source, edit)
    x_d = transform_keypoints(e.kp, rotation_matrix(e.pitch, e.yaw, e.roll), e.exp, e.scale, e.t)
    if include_tz:
        x_d = torch.cat([x_d[..., :2], x_d[..., 2:] + source.t[:, None, 2:3]], dim=-1)
    return x_d


def apply_edit(
    rotation: torch.Tensor,
    exp: torch.Tensor,
    scale: torch.Tensor,
    t: torch.Tensor,
    edit: FaceEdit,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """An edit as a constant offset on already composed motion (one or many animation frames).

    Use it on the new motion of each driving frame (e.g. the relative ``R_new, exp_new,
    scale_new, t_new`` of spec section 9.4) before :func:`vivify.motion.transform_keypoints` and
    stitching: the edit's angles are added to the frame's Euler angles, its expression offsets to
    ``exp`` and ``scale`` is multiplied. Inputs the edit does not touch are returned as they are,
    so a neutral edit changes nothing.

    Args:
        rotation: (T, 3, 3) rotation matrices (row-vector convention ``x @ R``).
        exp: (T, 21, 3) expression offsets (or (T, 63)).
        scale: (T, 1) scales.
        t: (T, 3) translations (returned unchanged: shifts are expression offsets, spec §1.1).
        edit: the controls, the same for every frame.

    Returns:
        ``(rotation, exp, scale, t)`` with the edit applied.
    """
    if edit.pitch or edit.yaw or edit.roll:
        pitch, yaw, roll = rotation_angles(rotation)
        rotation = rotation_matrix(pitch + edit.pitch, yaw + edit.yaw, roll + edit.roll).to(rotation.dtype)
    offset = expression_offset_array(edit)
    if offset.any():
        delta = torch.from_numpy(offset).to(dtype=exp.dtype, device=exp.device)
        exp = exp + delta.reshape(1, -1) if exp.dim() == 2 else exp + delta
    if edit.scale != 1.0:
        scale = scale * edit.scale
    return rotation, exp, scale, t
