"""Landmark sets (from :mod:`vivify.face.landmarks`) and colour samples shared by the mesh backend's
painters (mouth, lids)."""

from __future__ import annotations

import cv2
import numpy as np

from vivify.face.landmarks import EYE_CONTOURS, INNER_LIPS, LID_SKIN, OUTER_LIPS

__all__ = [
    "EYE_CONTOURS",
    "INNER_LIPS",
    "LID_SKIN",
    "OUTER_LIPS",
    "_OUTER_LIPS",
    "lid_color",
    "lip_color",
    "polygon_area",
]

_OUTER_LIPS = OUTER_LIPS  # the name the mesh backend's painters use


def lid_color(image: np.ndarray, pts: np.ndarray, ring: tuple[int, ...]) -> np.ndarray:
    """Colour of the lit skin in the band between an upper lid's points and the ring above them."""
    lid = pts[list(LID_SKIN["right" if ring[0] == 113 else "left"][0])]
    upper = pts[list(ring)]
    band = np.concatenate([(lid + upper) / 2, upper[::-1]])  # the half of the band away from the lashes
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(band).astype(np.int32)], 1)
    if not mask.any():
        return image[np.clip(int(upper[:, 1].mean()), 0, image.shape[0] - 1),
                     np.clip(int(upper[:, 0].mean()), 0, image.shape[1] - 1)].astype(np.float64)  # fmt: skip
    pixels = image[mask > 0].astype(np.float64)
    luma = pixels @ np.array([0.299, 0.587, 0.114])
    lo, hi = np.percentile(luma, [55, 90])  # lit skin: neither the crease's shadow nor highlights
    keep = (luma >= lo) & (luma <= hi)
    return pixels[keep].mean(axis=0) if keep.any() else pixels.mean(axis=0)


def lip_color(image: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Mean colour (3,) float64 of the lips (inside the outer lip contour)."""
    lip_mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(lip_mask, [pts[list(_OUTER_LIPS)].astype(np.int32)], 1)
    color = image[lip_mask > 0].mean(axis=0) if lip_mask.any() else np.array([150.0, 80, 80])
    return np.asarray(color, np.float64)


def polygon_area(p: np.ndarray) -> float:
    x, y = p[:, 0], p[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))
