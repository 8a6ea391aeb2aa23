"""Eyelids over a closing eye, which the mesh warp cannot show.

A warp can only stretch the visible lid band (lashes included) down over the eye; the skin of a
real closed lid is hidden in the open eye. This paints it, blended in proportion to the closure.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vivify.backends.mesh_shading import EYE_CONTOURS, LID_SKIN, lid_color


@dataclass
class LidSource:
    """What the lid painter needs of the source, computed once."""

    landmarks: np.ndarray  # (478, 3) the source's face mesh (each eye's rest opening)
    colors: dict[str, np.ndarray]  # per eye: (3,) skin colour of the upper lid


def prepare_lids(image: np.ndarray, landmarks: np.ndarray, face_size: float) -> LidSource:
    """Sample the source's lids.

    Args:
        image: (H, W, 3) uint8 RGB source.
        landmarks: (478, 3) the source's face mesh (image convention).
        face_size: the face's size in pixels.
    """
    pts = landmarks[:, :2].astype(np.float64)
    colors = {eye: lid_color(image, pts, ring) for eye, (_, ring) in LID_SKIN.items()}
    return LidSource(landmarks.copy(), colors)


def paint_lids(lids: LidSource, frame: np.ndarray, target: np.ndarray) -> None:
    """Cover a closing eye of a warped ``frame`` (H, W, 3) uint8, in place, where the target
    landmarks (478, 3) close it with lid skin and draw the lash line where the lids meet.

    The warp can only stretch the visible lid band (lashes included) down over the eye, which
    leaves a dark smear; the skin of a real closed lid is hidden in the open eye. Where the
    lid gap falls below the source's, the source-sized eye opening is blended towards the
    lid's own skin colour in proportion to the closure.
    """
    src = lids.landmarks[:, :2].astype(np.float64)
    dst = np.asarray(target[:, :2], np.float64)
    for eye, contour in EYE_CONTOURS.items():
        upper, lower = list(contour[1:8]), list(contour[9:16])[::-1]
        a, b = dst[contour[0]], dst[contour[8]]
        width = np.linalg.norm(b - a)
        axis = (b - a) / (width + 1e-9)
        normal = np.array([-axis[1], axis[0]])
        if float(np.mean((src[lower] - src[upper]) @ normal)) < 0:
            normal = -normal  # point from the upper lid to the lower one
        rest = float(np.mean((src[lower] - src[upper]) @ normal))
        gap = float(np.mean((dst[lower] - dst[upper]) @ normal))
        closure = 0.0 if rest <= 1e-6 else float(np.clip(1.0 - gap / rest, 0.0, 1.0))
        if closure <= 0.05:
            continue
        # the eye opening the source had, placed on the target's lower lid
        k = width / (np.linalg.norm(src[contour[8]] - src[contour[0]]) + 1e-9)
        opened = dst[lower] - k * (src[lower] - src[upper])
        poly = np.concatenate([[a], opened, [b], dst[lower][::-1]])
        lo = np.floor(poly.min(0) - 0.3 * width).astype(int).clip(0)
        hi = np.ceil(poly.max(0) + 0.3 * width).astype(int)
        hi = np.minimum(hi, [frame.shape[1], frame.shape[0]])
        if (hi <= lo).any():
            continue
        mask = np.zeros((hi[1] - lo[1], hi[0] - lo[0]), np.float32)
        cv2.fillPoly(mask, [np.round((poly - lo) * 4).astype(np.int32)], 1.0, cv2.LINE_AA, shift=2)
        mask = cv2.GaussianBlur(mask, (0, 0), max(0.8, 0.06 * width))
        skin = lids.colors[eye]
        lash = np.zeros_like(mask)
        line = dst[upper] if gap > 0 else (dst[upper] + dst[lower]) / 2
        curve = np.concatenate([[a], line, [b]])
        cv2.polylines(lash, [np.round((curve - lo) * 4).astype(np.int32)], False, 1.0,
                      max(1, round(0.04 * width)), cv2.LINE_AA, shift=2)  # fmt: skip
        lash = cv2.GaussianBlur(lash, (0, 0), max(0.6, 0.02 * width))
        patch = frame[lo[1] : hi[1], lo[0] : hi[0]].astype(np.float32)
        alpha = (closure * mask)[..., None]
        patch = alpha * skin + (1 - alpha) * patch
        dark = (closure * lash)[..., None]
        patch = dark * (0.45 * skin) + (1 - dark) * patch
        frame[lo[1] : hi[1], lo[0] : hi[0]] = np.clip(patch, 0, 255).astype(np.uint8)
