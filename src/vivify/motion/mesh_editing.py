"""Portrait editing controls (:class:`FaceEdit`) on 478-point face meshes, for the mesh backend.

The landmarks are split by :func:`vivify.motion.mesh.decompose` into a head pose and a shape in the
canonical face frame (x right, y up, z towards the camera; 1 = outer-eye-corner distance).
Expression controls displace points of that shape (lids, irises, brows, lips, jaw) with smooth
local fields; head-pose controls change the pose (angles added to its Euler angles, as the neural
editor does). Expression edits never move the expression-stable points the pose fit uses, so they
do not read as a head movement. An edit whose pose is neutral moves only the points it edits:
every other landmark is returned bit for bit.
"""

from __future__ import annotations

import numpy as np

from vivify.face import landmarks as L
from vivify.face.geometry import euler_to_rotation, rotation_to_euler
from vivify.motion.editing import FaceEdit
from vivify.motion.mesh import FacePose, compose, decompose

# Eyes: outer corner, inner corner, upper lid and lower lid (outer → inner, paired), iris points.
_RIGHT_EYE = (33, 133, (246, 161, 160, 159, 158, 157, 173), (7, 163, 144, 145, 153, 154, 155), L.RIGHT_IRIS)
_LEFT_EYE = (263, 362, (466, 388, 387, 386, 385, 384, 398), (249, 390, 373, 374, 380, 381, 382), L.LEFT_IRIS)
WINK_EYE = "right"  # the subject's right eye, on the image's left

# Lips: upper lip (outer, semi-outer, semi-inner, inner rows), lower lip likewise, and the corners.
_UPPER_LIP = (185, 40, 39, 37, 0, 267, 269, 270, 409, 184, 74, 73, 72, 11, 302, 303, 304, 408,
              183, 42, 41, 38, 12, 268, 271, 272, 407, 191, 80, 81, 82, 13, 312, 311, 310, 415)  # fmt: skip
_LOWER_LIP = (146, 91, 181, 84, 17, 314, 405, 321, 375, 77, 90, 180, 85, 16, 315, 404, 320, 307,
              96, 89, 179, 86, 15, 316, 403, 319, 325, 95, 88, 178, 87, 14, 317, 402, 318, 324)  # fmt: skip
_LIP_CORNERS = (61, 291, 76, 306, 62, 292, 78, 308)

# Effect sizes, in canonical units unless noted (docs/editing.md lists them per control).
_CLOSED = 39.0  # blink / wink value that closes the eye
_UPPER_SHARE = 0.75  # the upper lid covers 3/4 of the gap when the eye closes, the lower lid 1/4
_SMILE_SQUINT = 0.1  # lower-lid rise per unit smile, as a fraction of the lid gap
_BROW_RAISE, _BROW_FROWN = 0.12, 0.05  # at eyebrow ±30
_GAZE_X, _GAZE_Y = 0.25, 0.35  # iris shift at gaze ±30 / ±63, fraction of eye width / lid gap
_JAW_DROP = 0.0025  # per unit mouth_open (0.3 at 120)
_GRIN_OPEN = 10.0  # mouth_open added per full grin (15): the teeth show


def edit_landmarks(landmarks: np.ndarray, edit: FaceEdit) -> np.ndarray:
    """The landmarks of the edited face.

    Args:
        landmarks: (478, 3) face mesh in image convention (x right, y down, pixels).
        edit: the controls.

    Returns:
        (478, 3) float32 landmarks; a neutral edit returns the input (as float32) unchanged.

    Raises:
        ValueError: landmarks not of shape (478, 3).
    """
    points = np.asarray(landmarks)
    if points.shape != (L.N_LANDMARKS, 3):
        raise ValueError(f"landmarks must have shape ({L.N_LANDMARKS}, 3), got {points.shape}")
    points32 = points.astype(np.float32)  # always a copy
    if edit.is_neutral:
        return points32
    pose, shape = decompose(points)
    edited = edit_shape(shape, edit)
    if not edit.moves_pose:
        # Only the moved points change: the decompose/compose round trip error stays out.
        return points32 + (compose(pose, edited) - compose(pose, shape))
    return compose(edit_pose(pose, shape, edit), edited)


def edit_pose(pose: FacePose, shape: np.ndarray, edit: FaceEdit) -> FacePose:
    """The head pose with the edit's angles added, shifted and scaled.

    Shifts are fractions of the face width (image axes: +x right, +y down); the scale multiplies
    the face's size about the canonical face's origin.
    """
    yaw, pitch, roll = rotation_to_euler(pose.rotation)
    rotation = pose.rotation
    if edit.yaw or edit.pitch or edit.roll:
        rotation = euler_to_rotation(yaw + edit.yaw, pitch + edit.pitch, roll + edit.roll)
    face_width = pose.scale * np.linalg.norm(shape[454, :2] - shape[234, :2])
    shift = face_width * np.array([edit.shift_x, -edit.shift_y, 0.0])  # the pose frame has y up
    return FacePose(pose.scale * edit.scale, rotation, pose.translation + shift)


def edit_shape(shape: np.ndarray, edit: FaceEdit) -> np.ndarray:
    """The expression controls applied to a canonical-frame shape (478, 3) from ``decompose``."""
    out = shape.copy()
    if edit.gaze_x or edit.gaze_y:
        _gaze(out, shape, edit.gaze_x, edit.gaze_y)
    squint = _SMILE_SQUINT * max(edit.smile, 0.0)
    for name, eye in (("right", _RIGHT_EYE), ("left", _LEFT_EYE)):
        closure = (edit.blink + (edit.wink if name == WINK_EYE else 0.0)) / _CLOSED
        if closure or squint:
            _move_lids(out, shape, eye, float(np.clip(closure, -0.2, 1.0)), squint)
    delta = np.zeros_like(shape)
    if edit.eyebrow:
        delta += _brows(shape, edit.eyebrow)
    delta += _mouth(shape, edit)
    out += delta
    out[list(L.STABLE)] = shape[list(L.STABLE)]
    return out


def _falloff(shape: np.ndarray, centre: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian weights (478,) of the in-plane distance to ``centre``, zero beyond 3 sigma."""
    d2 = np.sum((shape[:, :2] - centre[:2]) ** 2, axis=1)
    w = np.exp(-d2 / (2 * sigma**2))
    w[d2 > (3 * sigma) ** 2] = 0.0
    return w


def _lid_curves(p: np.ndarray, eye: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower lid contours (with both corners) as (K, 3) arrays sorted by x."""
    outer, inner, upper, lower, _ = eye
    up = p[[outer, *upper, inner]]
    low = p[[outer, *lower, inner]]
    return up[np.argsort(up[:, 0])], low[np.argsort(low[:, 0])]


def _inside(points: np.ndarray, up: np.ndarray, low: np.ndarray, margin: float) -> np.ndarray:
    """Which (N, 2+) points lie in the lid opening, ``margin`` (a fraction of it) from its edges."""
    x, y = points[:, 0], points[:, 1]
    x0, x1 = up[0, 0], up[-1, 0]
    y_up, y_low = np.interp(x, up[:, 0], up[:, 1]), np.interp(x, low[:, 0], low[:, 1])
    gap = y_up - y_low
    pad_x = margin * (x1 - x0)
    return (x > x0 + pad_x) & (x < x1 - pad_x) & (y > y_low + margin * gap) & (y < y_up - margin * gap)


def _gaze(out: np.ndarray, shape: np.ndarray, gaze_x: float, gaze_y: float) -> None:
    """Shift both irises within their eyes: each iris centre must stay well inside the lid opening.

    The mesh backend paints the iris (:mod:`vivify.backends.mesh_lids`): the lids clip it and the
    warp carries only its centre, so the rim may pass under a lid as a real iris does, but a centre
    near a lid would leave next to nothing of the iris to see. The shift is shortened (by the same
    factor for both eyes, so they stay parallel) until both centres keep a fifth of the opening
    (its width, its gap) to its edges.
    """
    margin = 0.2
    shifts, fits = [], []
    for eye in (_RIGHT_EYE, _LEFT_EYE):
        outer, inner, _, _, iris = eye
        up, low = _lid_curves(shape, eye)
        centre = shape[list(iris[:1])]
        width = abs(shape[inner, 0] - shape[outer, 0])
        x = centre[0, 0]
        gap = max(np.interp(x, up[:, 0], up[:, 1]) - np.interp(x, low[:, 0], low[:, 1]), 0.0)
        shift = np.array([_GAZE_X * width * gaze_x / 30, _GAZE_Y * gap * gaze_y / 63])
        steps = np.linspace(1.0, 0.0, 21)
        fits.append(next((s for s in steps if _inside(centre[:, :2] + s * shift, up, low, margin)[0]), 0.0))
        shifts.append(shift)
    for eye, shift in zip((_RIGHT_EYE, _LEFT_EYE), shifts, strict=True):
        out[list(eye[4]), :2] += min(fits) * shift


def _move_lids(out: np.ndarray, shape: np.ndarray, eye: tuple, closure: float, squint: float) -> None:
    """Close (closure > 0) or widen (< 0) one eye; the lower lid also rises by ``squint``."""
    _, _, upper, lower, iris = eye
    c_up = _UPPER_SHARE * closure
    c_low = min((1 - _UPPER_SHARE) * closure + squint, 1.0 - c_up)
    up0, low0 = _lid_curves(shape, eye)
    gap = shape[list(upper)] - shape[list(lower)]
    out[list(upper)] = shape[list(upper)] - c_up * gap
    out[list(lower)] = shape[list(lower)] + c_low * gap
    up1, low1 = _lid_curves(out, eye)
    ix = out[list(iris), 0]
    curves = [np.interp(ix, c[:, 0], c[:, 1]) for c in (up0, low0, up1, low1)]
    y_up0, y_low0, y_up1, y_low1 = curves
    y = out[list(iris), 1]
    if c_up + c_low > 0:
        # The iris keeps its place between the lids, so it disappears with them.
        f = (y - y_low0) / np.maximum(y_up0 - y_low0, 1e-6)
        out[list(iris), 1] = y_low1 + f * (y_up1 - y_low1)
    else:
        # A wider eye shows more of the iris: only the parts hidden under a lid follow it.
        out[list(iris), 1] = (
            y + np.where(y > y_up0, y_up1 - y_up0, 0.0) + np.where(y < y_low0, y_low1 - y_low0, 0.0)
        )


def _brows(shape: np.ndarray, eyebrow: float) -> np.ndarray:
    """Brows up (eyebrow > 0) or down and together (< 0), with the skin around them."""
    brows = np.asarray(L.EYEBROWS)
    d2 = np.sum((shape[:, None, :2] - shape[None, brows, :2]) ** 2, axis=2)  # (478, 20)
    nearest = brows[np.argmin(d2, axis=1)]
    sigma = 0.08
    w = np.exp(-d2.min(axis=1) / (2 * sigma**2))
    w[d2.min(axis=1) > (3 * sigma) ** 2] = 0.0
    w[list(L.RIGHT_IRIS + L.LEFT_IRIS)] = 0.0
    w[shape[:, 1] < shape[[33, 263], 1].mean()] = 0.0  # nothing below the eye corners
    delta = np.zeros_like(shape)
    amount = abs(eyebrow) / 30
    if eyebrow > 0:
        delta[:, 1] = _BROW_RAISE * amount * w
    else:
        midline = shape[[33, 263], 0].mean()
        delta[:, 0] = -np.sign(shape[nearest, 0] - midline) * _BROW_FROWN * amount * w
        delta[:, 1] = -_BROW_FROWN * amount * w
    return delta


def _mouth(shape: np.ndarray, edit: FaceEdit) -> np.ndarray:
    """Smile, grin, purse, pout, wink cheek lift and jaw opening as one displacement field."""
    mouth_open, grin, purse = edit.lip_amounts()
    delta = np.zeros_like(shape)
    # mouth corners: smile = up and out, grin = mostly out, purse = in and forward
    out = 0.06 * edit.smile + 0.05 * grin / 15 - 0.07 * purse / 15
    up = 0.05 * edit.smile + 0.015 * grin / 15
    forward = 0.04 * purse / 15
    for corner, side in ((61, -1.0), (291, 1.0)):  # image left (subject's right), image right
        lift = up
        if edit.wink and (side < 0) == (WINK_EYE == "right"):
            lift += 0.03 * edit.wink / _CLOSED  # the cheek rises on the winking side
        delta += _falloff(shape, shape[corner], 0.15)[:, None] * np.array([side * out, lift, forward])
    if edit.pout:
        centre = shape[[61, 291]].mean(axis=0)
        w = _falloff(shape, centre, 0.2)
        q = edit.pout / 0.09
        delta[:, 0] -= 0.25 * q * w * (shape[:, 0] - centre[0])  # lips gather towards the middle
        delta[:, 2] += 0.06 * q * w
        delta[list(_LOWER_LIP), 1] -= 0.02 * q * w[list(_LOWER_LIP)]  # and the lower lip turns out
    mouth_open += _GRIN_OPEN * grin / 15
    if mouth_open:
        w = _jaw_weights(shape)
        if mouth_open > 0:
            drop = _JAW_DROP * mouth_open
            move = np.array([0.0, -drop, -0.25 * drop])  # down, the chin swinging back a little
        else:  # raise the jaw until the inner lips meet (at -90)
            move = min(-mouth_open / 90, 1.0) * (shape[13] - shape[14]) / max(w[14], 0.5)
        delta += w[:, None] * move
    return delta


def _jaw_weights(shape: np.ndarray) -> np.ndarray:
    """How much each point follows the jaw (478,): 1 at the lower lip's middle and the chin."""
    corner_y = shape[[61, 291], 1].mean()
    centre_x = shape[[61, 291], 0].mean()
    half_mouth = abs(shape[291, 0] - shape[61, 0]) / 2
    half_face = abs(shape[454, 0] - shape[234, 0]) / 2
    x = shape[:, 0] - centre_x
    below = np.clip((corner_y - shape[:, 1]) / max(corner_y - shape[17, 1], 1e-6), 0.0, 1.0)
    w = below * below * (3 - 2 * below) * np.clip(1 - (x / half_face) ** 2, 0.0, 1.0)
    lower = list(_LOWER_LIP)
    w[lower] = np.sqrt(np.clip(1 - (x[lower] / half_mouth) ** 2, 0.0, 1.0))  # a lens between the corners
    w[list(_UPPER_LIP + _LIP_CORNERS)] = 0.0
    return w
