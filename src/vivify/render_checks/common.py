"""Shared helpers of the render checks: luminance (``0.299 R + 0.587 G + 0.114 B`` throughout) and
masks."""

from __future__ import annotations

import cv2
import numpy as np

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def luminance(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) float32 luminance in grey levels 0-255."""
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB image, got {image.shape}")
    return image.astype(np.float32) @ _LUMA


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _box(mask: np.ndarray, pad: int) -> tuple[slice, slice]:
    """Row and column slices of the bounding box of ``mask``'s True pixels, grown by ``pad``."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    y0, x0 = max(rows[0] - pad, 0), max(cols[0] - pad, 0)
    return slice(y0, rows[-1] + pad + 1), slice(x0, cols[-1] + pad + 1)


def _polygon(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """(N, 2) pixel polygon -> (H, W) bool mask of its inside, for an image of ``shape``."""
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(np.asarray(points)[:, :2] * 4).astype(np.int32)], 1, shift=2)
    return mask.astype(bool)


def _erode(mask: np.ndarray, radius: int) -> np.ndarray:
    return cv2.erode(mask.astype(np.uint8), _disk(radius)).astype(bool) if radius > 0 else mask
