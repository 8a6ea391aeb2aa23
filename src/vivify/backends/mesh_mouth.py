"""The inside of an opening mouth, which the mesh warp cannot show.

A warp only moves the source's pixels: where the driving face opens a mouth the source holds
closed, the inside was never in the picture. This paints a stand-in, blended in proportion to
how far the mouth has opened beyond the source's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vivify.backends.mesh_shading import INNER_LIPS, lip_color, polygon_area
from vivify.face.openness import lip_open


@dataclass
class MouthSource:
    """What the mouth painter needs of the source, computed once."""

    lip_color: np.ndarray  # (3,) float, mean RGB of the lips
    area: float  # inner-lip polygon area in the source, px²
    lip_open: float  # the source's lip gap / mouth width
    face_size: float


def prepare_mouth(image: np.ndarray, landmarks: np.ndarray, face_size: float) -> MouthSource:
    """Measure the source's mouth.

    Args:
        image: (H, W, 3) uint8 RGB source.
        landmarks: (478, 3) the source's face mesh (image convention).
        face_size: the face's size in pixels.
    """
    pts = landmarks[:, :2].astype(np.float64)
    return MouthSource(lip_color(image, pts), polygon_area(pts[list(INNER_LIPS)]),
                       float(lip_open(landmarks)), face_size)  # fmt: skip


def paint_mouth(mouth: MouthSource, frame: np.ndarray, target: np.ndarray) -> None:
    """Shade the mouth interior of a warped ``frame`` (H, W, 3) uint8 in place where the target
    landmarks (478, 3) open it beyond the source's opening.

    Only a mouth that was (nearly) closed in the source needs it: its interior is then lip
    texture stretched thin. An open source mouth (teeth showing) stretches plausibly itself.
    """
    inner = target[list(INNER_LIPS), :2].astype(np.float64)
    extra = polygon_area(inner) - mouth.area
    closed = np.clip(1.0 - mouth.lip_open / 0.12, 0.0, 1.0)
    strength = closed * np.clip(extra / (0.01 * mouth.face_size**2 + 1e-6), 0.0, 1.0)
    if strength <= 0.02:
        return
    xs, ys = inner[:, 0], inner[:, 1]
    bx0, by0 = int(max(xs.min() - 4, 0)), int(max(ys.min() - 4, 0))
    bx1, by1 = int(min(xs.max() + 5, frame.shape[1])), int(min(ys.max() + 5, frame.shape[0]))
    if bx1 <= bx0 or by1 <= by0:
        return
    mask = np.zeros((by1 - by0, bx1 - bx0), np.float32)
    cv2.fillPoly(mask, [np.round(inner - [bx0, by0]).astype(np.int32)], 1.0, lineType=cv2.LINE_AA)
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, 0.004 * mouth.face_size))
    # darker towards the middle of the opening, lit from above, tinted by the lips
    yy = np.linspace(0, 1, by1 - by0, dtype=np.float32)[:, None]
    upper, lower = inner[5, 1] - by0, inner[15, 1] - by0
    span = max(lower - upper, 1.0)
    depth = np.clip(1 - np.abs((np.arange(by1 - by0)[:, None] - (upper + lower) / 2) / (span / 2 + 1)), 0, 1)
    base = 0.15 * mouth.lip_color + np.array([38.0, 12.0, 14.0])  # dark red-brown
    cavity = base[None, None, :] * (1.0 - 0.5 * depth[..., None]) * (0.9 + 0.2 * (1 - yy[..., None]))
    teeth_band = np.clip(1 - (np.arange(by1 - by0)[:, None] - upper) / (0.22 * span + 1), 0, 1)
    cavity = cavity * (1 - 0.6 * teeth_band[..., None]) + 0.6 * teeth_band[..., None] * np.array(
        [205.0, 195, 185]
    )
    alpha = (mask * strength)[..., None]
    patch = frame[by0:by1, bx0:bx1].astype(np.float32)
    frame[by0:by1, bx0:bx1] = np.clip(alpha * cavity + (1 - alpha) * patch, 0, 255).astype(np.uint8)
