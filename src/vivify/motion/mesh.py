"""Motion transfer on 478-point face meshes, in a normalised face frame (weight-free backend).

Each face is split into a rigid pose (similarity transform of the canonical face onto its
expression-stable points) and a shape in canonical units (what is left: the expression). Driving
motion is the change of pose and shape since a reference frame; it is applied to the source's own
pose and shape, so a small face is driven by a large one at its own scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.spatial.transform import Rotation

from vivify.face import landmarks as L
from vivify.face.geometry import (
    canonical_face,
    euler_to_rotation,
    rotation_to_euler,
    similarity_fit,
    to_right_handed,
)

Region = Literal["all", "exp", "pose", "lips", "eyes"]

_LIPS = (
    0,
    11,
    12,
    13,
    14,
    15,
    16,
    17,
    37,
    39,
    40,
    61,
    72,
    73,
    74,
    76,
    77,
    78,
    80,
    81,
    82,
    84,
    85,
    86,
    87,
    88,
    89,
    90,
    91,
    95,
    146,
    178,
    179,
    180,
    181,
    183,
    184,
    185,
    191,
    267,
    269,
    270,
    291,
    302,
    303,
    304,
    306,
    307,
    308,
    310,
    311,
    312,
    314,
    315,
    316,
    317,
    318,
    319,
    320,
    321,
    324,
    325,
    375,
    402,
    403,
    404,
    405,
    407,
    408,
    409,
    415,
    32,
    140,
    148,
    149,
    150,
    152,
    170,
    171,
    175,
    176,
    377,
    378,
    379,
    396,
    400,
    262,
    369,
    395,
    394,
    199,
    200,
    201,
    208,
    428,
    18,
    83,
    313,
    406,
    182,
    106,
    335,
)  # fmt: skip  (lips, plus the chin that follows the jaw)
_EYES = tuple(
    sorted(
        set(range(468, 478))
        | {33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246, 130, 25, 110, 24,
           23, 22, 26, 112, 243, 190, 56, 28, 27, 29, 30, 247, 226, 31, 228, 229, 230, 231, 232, 233}
        | {263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466, 359, 255, 339,
           254, 253, 252, 256, 341, 463, 414, 286, 258, 257, 259, 260, 467, 446, 261, 448, 449, 450, 451,
           452, 453}
    )
)  # fmt: skip
REGION_POINTS = {"lips": np.array(_LIPS), "eyes": np.array(_EYES)}

# (upper, lower) point pairs along the inner lips and along each eye's lids, nasal to temporal
_LIP_PAIRS = ((78, 78), (191, 95), (80, 88), (81, 178), (82, 87), (13, 14), (312, 317), (311, 402),
              (310, 318), (415, 324))  # fmt: skip
_EYE_PAIRS = {
    "right": ((246, 7), (161, 163), (160, 144), (159, 145), (158, 153), (157, 154), (173, 155)),
    "left": ((466, 249), (388, 390), (387, 373), (386, 374), (385, 380), (384, 381), (398, 382)),
}
_IRIS = {"right": np.arange(468, 473), "left": np.arange(473, 478)}


@dataclass(frozen=True)
class FacePose:
    """Similarity transform canonical face → face, right-handed (x right, y up, z to camera)."""

    scale: float
    rotation: np.ndarray  # (3, 3)
    translation: np.ndarray  # (3,)


def decompose(points: np.ndarray) -> tuple[FacePose, np.ndarray]:
    """Split image-convention landmarks (478, 3) into a pose and a (478, 3) canonical-unit shape."""
    p = to_right_handed(points)
    idx = np.asarray(L.STABLE)
    s, r, t = similarity_fit(canonical_face()[idx], p[idx])
    return FacePose(s, r, t), (p - t) @ r / s


def compose(pose: FacePose, shape: np.ndarray) -> np.ndarray:
    """Inverse of :func:`decompose`: (478, 3) image-convention landmarks (float32)."""
    p = pose.scale * shape @ pose.rotation.T + pose.translation
    return (p * np.array([1.0, -1.0, -1.0])).astype(np.float32)


def keep_closed_shapes_valid(shape: np.ndarray, source_shape: np.ndarray) -> np.ndarray:
    """Stop lips and lids from crossing.

    Relative motion adds the driver's change to the source, so a source whose mouth (or eyes)
    is less open than the driver's reference would be pushed past closed: the lower lip above
    the upper one, which reads as an open mouth again. Crossed pairs are clamped to touch
    (pairs already crossed in the source, tracking noise on a closed mouth, may stay so).

    Args:
        shape: (478, 3) target shape in canonical units (right-handed, y up).
        source_shape: (478, 3) the source's own shape.

    Returns:
        (478, 3) corrected copy.
    """
    out = shape.copy()
    upper, lower = (np.array(ix) for ix in zip(*_LIP_PAIRS, strict=True))
    slack = np.minimum(source_shape[upper, 1] - source_shape[lower, 1], 0.0)
    out[lower, 1] = np.minimum(out[lower, 1], out[upper, 1] - slack)  # the jaw closes up to the upper lip
    for pairs in _EYE_PAIRS.values():
        upper, lower = (np.array(ix) for ix in zip(*pairs, strict=True))
        slack = np.minimum(source_shape[upper, 1] - source_shape[lower, 1], 0.0)
        out[upper, 1] = np.maximum(out[upper, 1], out[lower, 1] + slack)  # the upper lid stops on the lower
    return out


def close_irises(target: np.ndarray, source: np.ndarray) -> np.ndarray:
    """The iris points as the mesh warp moves them (image landmarks).

    The iris points are mesh vertices, and a rim point hidden under a lid shares triangles with
    the lid's skin (on a turned head, with points as far as the brow or the face's outline):
    moving it drags that skin along, and a lid closing past it folds the mesh. The lid painter
    (:mod:`vivify.backends.mesh_lids`) draws the iris where the target puts it, so the warp need
    not move it: each rim point stays where the eye carries it (its place in the source, moved
    with the eye's corners), drawn towards the iris centre as far as the lids close. Only the
    centre keeps the target's place, for the painter to read; the rim around it keeps the skin
    still.

    Args:
        target: (478, 2+) landmarks to render (image convention).
        source: (478, 2+) the source's landmarks (its rest opening of each eye).

    Returns:
        (478, 3 or 2) float32 copy of ``target`` with the iris rims moved.
    """
    out = np.array(target, dtype=np.float32)
    corners = {"right": L.RIGHT_EYE_CORNERS, "left": L.LEFT_EYE_CORNERS}
    for eye, pairs in _EYE_PAIRS.items():
        upper, lower = (np.array(ix) for ix in zip(*pairs, strict=True))
        a, b = out[pairs[0][0], :2], out[pairs[-1][0], :2]
        axis = (b - a) / (np.linalg.norm(b - a) + 1e-9)
        normal = np.array([-axis[1], axis[0]])
        gap = float(np.mean((out[lower, :2] - out[upper, :2]) @ normal))
        rest = float(np.mean((source[lower, :2] - source[upper, :2]) @ normal))
        k = 1.0 if abs(rest) < 1e-6 else float(np.clip(gap / rest, 0.0, 1.0))
        # the similarity taking the source's eye corners onto the target's, as complex numbers
        (s0, s1), (t0, t1) = ([complex(*p[i, :2]) for i in corners[eye]] for p in (source, out))
        if s1 == s0:
            continue
        rim = _IRIS[eye][1:]
        z = (source[rim, 0] + 1j * source[rim, 1] - s0) / (s1 - s0) * (t1 - t0) + t0
        centre = out[_IRIS[eye][0], :2].astype(np.float64)
        carried = np.stack([z.real, z.imag], axis=1)
        out[rim, :2] = centre + k * (carried - centre)
    return out


def _masked(delta: np.ndarray, region: Region) -> np.ndarray:
    if region in REGION_POINTS:
        out = np.zeros_like(delta)
        out[REGION_POINTS[region]] = delta[REGION_POINTS[region]]
        return out
    return delta


def transfer(
    source: np.ndarray,
    driving: np.ndarray,
    reference: np.ndarray | None = None,
    relative: bool = True,
    region: Region = "all",
    multiplier: float = 1.0,
    keep_position: bool = False,
) -> np.ndarray:
    """The source's landmarks moved the way the driving face moves.

    Args:
        source: (478, 3) source landmarks (image convention).
        driving: (478, 3) driving landmarks for this frame.
        reference: (478, 3) driving landmarks of the reference frame (relative mode).
        relative: transfer the change since ``reference`` (True) or the driving expression and
            head rotation themselves (False).
        region: "all", "exp" (expression only), "pose" (head only), "lips" or "eyes".
        multiplier: scales the transferred motion.
        keep_position: keep the source's own position and size (a frame of a source video),
            transferring only the head turn and the expression.

    Returns:
        (478, 3) float32 target landmarks for the source face.
    """
    pose_s, shape_s = decompose(source)
    pose_d, shape_d = decompose(driving)
    moves_pose = region in ("all", "pose")
    moves_shape = region != "pose"
    if relative:
        if reference is None:
            raise ValueError("relative motion needs a reference frame")
        pose_0, shape_0 = decompose(reference)
        delta = _masked(shape_d - shape_0, region) if moves_shape else 0.0
        shape = keep_closed_shapes_valid(shape_s + multiplier * delta, shape_s)
        if not moves_pose:
            return compose(pose_s, shape)
        turn = Rotation.from_matrix(pose_d.rotation @ pose_0.rotation.T).as_rotvec() * multiplier
        rotation = Rotation.from_rotvec(turn).as_matrix() @ pose_s.rotation
        ratio = pose_s.scale / pose_0.scale
        scale = pose_s.scale * (pose_d.scale / pose_0.scale) ** multiplier
        translation = pose_s.translation + multiplier * ratio * (pose_d.translation - pose_0.translation)
        if keep_position:
            scale, translation = pose_s.scale, pose_s.translation
        return compose(FacePose(scale, rotation, translation), shape)
    shape = shape_s + (_masked(shape_d - shape_s, region) if moves_shape else 0.0) * multiplier
    shape = keep_closed_shapes_valid(shape, shape_s)
    if not moves_pose:
        return compose(pose_s, shape)
    turn = Rotation.from_matrix(pose_d.rotation @ pose_s.rotation.T).as_rotvec() * multiplier
    return compose(FacePose(pose_s.scale, Rotation.from_rotvec(turn).as_matrix() @ pose_s.rotation,
                            pose_s.translation), shape)  # fmt: skip


def limit_travel(
    target: np.ndarray, source: np.ndarray, reach: float = 0.3, growth: float = 0.15
) -> np.ndarray:
    """Soften how far and how much larger a target face may move from the source's place.

    A picture can follow a driver's head across the frame only by dragging its background with
    it; the travel (in the source face's canonical units, 1 = outer-eye-corner distance) is
    compressed smoothly towards ``reach`` and the scale change towards ``1 ± growth``, about the
    face's centre. Turns and expressions are kept as they are.

    Args:
        target: (478, 3) landmarks to render (image convention).
        source: (478, 3) the source's landmarks.

    Returns:
        (478, 3) float32; ``target`` itself (as float32) when it has not moved.
    """
    out = np.array(target, dtype=np.float32)
    pose_s, _ = decompose(source)
    pose_t, _ = decompose(target)
    travel = (pose_t.translation - pose_s.translation)[:2] / pose_s.scale
    distance = float(np.linalg.norm(travel))
    ratio = pose_t.scale / pose_s.scale
    kept_ratio = float(np.exp(growth * np.tanh(np.log(ratio) / growth)))
    kept = reach * np.tanh(distance / reach) / distance if distance > 1e-9 else 1.0
    if kept == 1.0 and kept_ratio == ratio:
        return out
    center = out[:, :2].mean(axis=0)
    back = (1 - kept) * travel * pose_s.scale * np.array([1.0, -1.0])  # image y points down
    out[:, :2] = center - back + (kept_ratio / ratio) * (out[:, :2] - center)
    out[:, 2] *= kept_ratio / ratio
    return out


def adjust_turn(
    target: np.ndarray,
    source: np.ndarray,
    reach: float = 10.0,
    frontal: float = 25.0,
    pitch_gain: float = 1.0,
) -> np.ndarray:
    """Soften a turn that would show the side of the face a turned source hides; scale nods.

    A picture of a head turned by ``yaw`` degrees holds its far cheek squeezed against the
    silhouette; turning it back towards the camera can only stretch those few pixels into
    streaks. The part of a yaw change that turns the head towards (and past) frontal is
    compressed smoothly towards ``reach + max(0, frontal - |source yaw|)`` degrees: a frontal
    source turns freely, a three-quarter view by about ``reach`` degrees at most. A turn away
    from the camera, which only hides more, is kept. The pitch change from the source is
    multiplied by ``pitch_gain``.

    Args:
        target: (478, 3) landmarks to render (image convention).
        source: (478, 3) the source's landmarks.

    Returns:
        (478, 3) float32; ``target`` itself (as float32) when nothing changes.
    """
    pose_s, _ = decompose(source)
    pose_t, shape_t = decompose(target)
    yaw_s, pitch_s, _ = rotation_to_euler(pose_s.rotation)
    yaw_t, pitch_t, roll_t = rotation_to_euler(pose_t.rotation)
    change = yaw_t - yaw_s
    reveals = yaw_s != 0 and change * yaw_s < 0  # turning towards (or past) frontal
    if not reveals and pitch_gain == 1.0:
        return np.array(target, dtype=np.float32)
    if reveals:
        limit = reach + max(0.0, frontal - abs(yaw_s))
        yaw_t = yaw_s - np.sign(yaw_s) * limit * np.tanh(abs(change) / limit)
    rotation = euler_to_rotation(yaw_t, pitch_s + pitch_gain * (pitch_t - pitch_s), roll_t)
    return compose(FacePose(pose_t.scale, rotation, pose_t.translation), shape_t)
