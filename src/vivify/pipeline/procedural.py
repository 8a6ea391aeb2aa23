"""A built-in motion template made from the canonical face: blinks, a nod, a turn, speech, a smile.

Used by ``vivify demo`` so the product runs with no user files; handy in tests too.
"""

from __future__ import annotations

import numpy as np

from vivify.face.geometry import canonical_face, euler_to_rotation
from vivify.motion.mesh import FacePose, compose
from vivify.pipeline.templates import MotionTemplate

# upper and lower lid contours, paired outer → inner
_LIDS = [
    ((246, 161, 160, 159, 158, 157, 173), (7, 163, 144, 145, 153, 154, 155)),
    ((466, 388, 387, 386, 385, 384, 398), (249, 390, 373, 374, 380, 381, 382)),
]
_IRISES = (tuple(range(468, 473)), tuple(range(473, 478)))


def _pulse(t: np.ndarray, center: float, width: float) -> np.ndarray:
    """A triangle bump of height 1 and the given full width."""
    return np.clip(1 - np.abs(t - center) / (width / 2), 0, 1)


def _window(t: np.ndarray, start: float, end: float, ramp: float = 0.3) -> np.ndarray:
    return np.clip(np.minimum((t - start) / ramp, (end - t) / ramp), 0, 1)


def _expression(base: np.ndarray, blink: float, mouth: float, smile: float) -> np.ndarray:
    """Deform the canonical shape (right-handed, unit inter-ocular distance)."""
    p = base.copy()
    for upper, lower in _LIDS:
        gap = p[list(upper), 1] - p[list(lower), 1]
        p[list(upper), 1] -= 0.9 * blink * gap
    for iris in _IRISES:  # the iris hides under the lid a little
        p[list(iris), 1] -= 0.15 * blink * 0.1
    corner_y = p[[61, 291], 1].mean()
    lip_y = p[14, 1]
    below = np.clip((corner_y - p[:, 1]) / max(corner_y - lip_y, 1e-6), 0, 1)
    jaw_x = np.abs(p[:, 0]) < 0.9 * abs(p[234, 0] - p[454, 0]) / 2
    p[:, 1] -= mouth * below * jaw_x
    for corner, side in ((61, -1.0), (291, 1.0)):
        w = np.exp(-np.sum((p[:, :2] - base[corner, :2]) ** 2, axis=1) / (2 * 0.12**2))
        p[:, 0] += side * 0.07 * smile * w
        p[:, 1] += 0.06 * smile * w
    return p


def procedural_template(seconds: float = 6.0, fps: float = 25.0, size: int = 512) -> MotionTemplate:
    """Landmarks of a synthetic face performing blinks, a nod, a turn, speech and a smile."""
    n = int(round(seconds * fps))
    t = np.arange(n) / fps
    blink = sum(_pulse(t, c, 0.24) for c in (0.8, 2.9, 5.1))
    speech = (
        _window(t, 1.0, 4.2) * 0.18 * np.abs(np.sin(2 * np.pi * 2.2 * t) * np.sin(2 * np.pi * 0.9 * t + 0.6))
    )
    smile = np.clip((t - 4.3) / 0.8, 0, 1)
    pitch = 9.0 * np.sin(2 * np.pi * (t - 1.8) / 1.4) * _window(t, 1.8, 3.2, 0.2)
    yaw = 18.0 * np.sin(2 * np.pi * (t - 3.2) / 2.0) * _window(t, 3.2, 5.2, 0.2)
    roll = 4.0 * np.sin(2 * np.pi * t / 3.0)
    base = canonical_face()
    frames = []
    for i in range(n):
        shape = _expression(base, float(min(blink[i], 1.0)), float(speech[i]), float(smile[i]))
        pose = FacePose(
            size / 5.0, euler_to_rotation(yaw[i], pitch[i], roll[i]), np.array([size / 2, -size / 2, 0.0])
        )
        frames.append(compose(pose, shape))
    return MotionTemplate(
        np.stack(frames), fps, {"source": "vivify procedural demo", "frame_size": [size, size]}
    )
