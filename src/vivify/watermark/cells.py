"""Per-cell statistics of a frame: luma on the grid with the image content removed."""

from __future__ import annotations

import cv2
import numpy as np

_NEIGHBOURS = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], np.float32) / 4
_EPS = 1e-3


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of an (H, W, 3) uint8 RGB frame: (H, W) float32 (not rounded)."""
    return cv2.cvtColor(np.ascontiguousarray(rgb).astype(np.float32), cv2.COLOR_RGB2GRAY)


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize to (size, size): area averaging when shrinking, bilinear when enlarging."""
    interp = cv2.INTER_AREA if min(image.shape[:2]) >= size else cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interp)


def normalised_residual(cells: np.ndarray) -> np.ndarray:
    """Remove content from per-cell luma and equalise its local power: (h, w) -> (h, w) float32.

    Each cell minus the mean of its four neighbours (the mark's cells are independent, smooth
    content is not), divided by the local RMS of that residual over 3x3 cells (so textured areas,
    edges and codec noise weigh no more than flat ones).
    """
    cells = cells.astype(np.float32, copy=False)
    residual = cells - cv2.filter2D(cells, -1, _NEIGHBOURS, borderType=cv2.BORDER_REFLECT)
    local_power = cv2.blur(residual * residual, (3, 3)) + _EPS
    return residual / np.sqrt(local_power)
