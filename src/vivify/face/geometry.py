"""Pure head-pose geometry on 478-point meshes (eye/lip openness: :mod:`vivify.face.openness`).

Yaw, pitch and roll come from a rigid fit of the 3D landmarks to a canonical face, as the
project's metrics define them (shared/docs/metrics.md).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from vivify.face import landmarks as L

_EPS = 1e-6


def to_right_handed(points: np.ndarray) -> np.ndarray:
    """Image landmarks (x right, y down, z away) -> x right, y up, z towards the camera."""
    return np.asarray(points, dtype=np.float64)[..., :3] * np.array([1.0, -1.0, -1.0])


def similarity_fit(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity (Umeyama) with ``dst ≈ s * src @ R.T + t``.

    Args:
        src, dst: (N, D) corresponding points.

    Returns:
        (s, R, t): scale, (D, D) proper rotation, (D,) translation.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(b.T @ a)
    d = np.ones(len(sig))
    d[-1] = np.sign(np.linalg.det(u @ vt)) or 1.0
    rot = u @ np.diag(d) @ vt
    scale = float((sig * d).sum() / max((a**2).sum(), _EPS))
    return scale, rot, mu_d - scale * rot @ mu_s


def rotation_to_euler(rot: np.ndarray) -> tuple[float, float, float]:
    """Decompose R = Rz(roll) @ Ry(yaw) @ Rx(pitch) (right-handed, y up) into degrees.

    Returns:
        (yaw, pitch, roll) in degrees. Positive yaw turns the face towards the image's right
        (the subject's left), positive pitch tilts it up, positive roll tilts it counter-clockwise
        as seen in the image.
    """
    yaw = np.degrees(np.arcsin(np.clip(-rot[2, 0], -1.0, 1.0)))
    pitch = np.degrees(np.arctan2(rot[2, 1], rot[2, 2]))
    roll = np.degrees(np.arctan2(rot[1, 0], rot[0, 0]))
    return float(yaw), float(-pitch), float(roll)


def euler_to_rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Inverse of :func:`rotation_to_euler` (degrees in, (3, 3) matrix out)."""
    y, p, r = np.radians([yaw, -pitch, roll])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


@lru_cache(maxsize=1)
def canonical_face() -> np.ndarray:
    """The built-in frontal, left-right symmetric face: (478, 3), right-handed, unit inter-ocular.

    Made by ``scripts/make_canonical_face.py`` (mean of tracked real faces, mirrored onto itself).
    """
    return np.load(Path(__file__).with_name("data") / "canonical_face.npy").astype(np.float64)


def head_pose(points: np.ndarray, reference: np.ndarray | None = None) -> tuple[float, float, float]:
    """Head rotation (yaw, pitch, roll) in degrees from a rigid fit on expression-stable points.

    Args:
        points: (478, 3) landmarks in image convention (as returned by the face tracker).
        reference: (478, 3) landmarks in image convention to measure against (e.g. the first
            frame); default the built-in canonical frontal face, giving absolute angles.
    """
    idx = np.asarray(L.STABLE)
    ref = canonical_face() if reference is None else to_right_handed(reference)
    _, rot, _ = similarity_fit(ref[idx], to_right_handed(points)[idx])
    return rotation_to_euler(rot)
