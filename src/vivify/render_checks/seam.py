"""The seam check: the gradient across the paste-back boundary against the source's."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vivify.render_checks.common import _box, luminance

SEAM_MAX_RATIO = 1.3  # output / source mean gradient across the paste-back boundary
# Source gradients below this (grey levels per pixel) count as this much: over a flat background a
# 0.2 -> 0.5 change is a large ratio of an invisible difference. A 3-level straight step still
# reads 1.0 against a flat source; a 5-level one fails.
SEAM_GRADIENT_FLOOR = 1.0
SEAM_TILE = 32  # px, grid cell of the local seam figure


@dataclass(frozen=True)
class SeamCheck:
    """Gradient across the paste-back boundary.

    Attributes:
        ratio: output / source mean gradient magnitude over the band (source floored at
            :data:`SEAM_GRADIENT_FLOOR`); NaN when the footprint has no boundary inside the image.
        output_gradient, source_gradient: mean Sobel gradient magnitude over the band, grey
            levels per pixel.
        band_pixels: pixels in the band.
        local_ratio: the same ratio over the worst stretch of the band (its pixels within one
            :data:`SEAM_TILE`-px grid cell): a seam along a short stretch of a long contour hardly
            moves the mean. A figure to look at; the issue's limit is on ``ratio``.
        local_xy: (x, y) centre of that grid cell, None when the band is empty.
    """

    ratio: float
    output_gradient: float
    source_gradient: float
    band_pixels: int
    local_ratio: float = float("nan")
    local_xy: tuple[int, int] | None = None

    @property
    def passed(self) -> bool:
        return not self.ratio > SEAM_MAX_RATIO


def boundary_band(footprint: np.ndarray, width: int = 3) -> np.ndarray:
    """The band straddling the contour of a footprint mask.

    Args:
        footprint: (H, W) bool, True where a warp may change pixels.
        width: band width in pixels: ``ceil(width / 2)`` inside the footprint, the rest outside.

    Returns:
        (H, W) bool band, without the ``width`` pixels along the image border (the frame's edge
        is not a seam).
    """
    mask = footprint.astype(np.uint8)
    n_in, n_out = (width + 1) // 2, width // 2
    inside = footprint & ~cv2.erode(mask, np.ones((2 * n_in + 1,) * 2, np.uint8)).astype(bool)
    outside = cv2.dilate(mask, np.ones((2 * n_out + 1,) * 2, np.uint8)).astype(bool) & ~footprint
    band = inside | outside
    band[:width], band[-width:], band[:, :width], band[:, -width:] = False, False, False, False
    return band


def gradient_magnitude(grey: np.ndarray) -> np.ndarray:
    """(H, W) float32 -> (H, W) float32 Sobel gradient magnitude in grey levels per pixel."""
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT) / 8.0
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT) / 8.0
    return cv2.magnitude(gx, gy)


def seam_check(frame: np.ndarray, source: np.ndarray, footprint: np.ndarray, width: int = 3) -> SeamCheck:
    """Mean luminance gradient of ``frame`` across the footprint's contour against ``source``'s.

    A pasted area whose edge shows (a straight step, a blur line) raises the gradient there above
    what the picture itself has at the same pixels.

    Args:
        frame: (H, W, 3) uint8 rendered frame.
        source: (H, W, 3) uint8 source picture (what the frame shows outside the footprint).
        footprint: (H, W) bool, the pixels the renderer may change.
        width: band width in pixels (:func:`boundary_band`).
    """
    if frame.shape != source.shape or footprint.shape != frame.shape[:2]:
        raise ValueError(
            f"shape mismatch: frame {frame.shape}, source {source.shape}, mask {footprint.shape}"
        )
    band = boundary_band(footprint, width)
    if not band.any():
        return SeamCheck(float("nan"), float("nan"), float("nan"), 0)
    rows, cols = _box(band, 2)
    inner = band[rows, cols]
    out = gradient_magnitude(luminance(frame[rows, cols]))[inner]
    src = gradient_magnitude(luminance(source[rows, cols]))[inner]
    ratio = float(out.mean()) / max(float(src.mean()), SEAM_GRADIENT_FLOOR)
    local, xy = _worst_tile(np.nonzero(inner), out, src, (rows.start, cols.start))
    return SeamCheck(ratio, float(out.mean()), float(src.mean()), int(inner.sum()), local, xy)


def _worst_tile(
    yx: tuple[np.ndarray, np.ndarray], out: np.ndarray, src: np.ndarray, origin: tuple[int, int]
) -> tuple[float, tuple[int, int] | None]:
    """The largest output / source mean gradient over the band pixels of one grid cell (cells
    holding fewer than SEAM_TILE / 2 band pixels left out), and the cell's centre (x, y)."""
    ty, tx = yx[0] // SEAM_TILE, yx[1] // SEAM_TILE
    cell = ty * (tx.max() + 1) + tx
    count = np.bincount(cell)
    full = count >= SEAM_TILE // 2
    if not full.any():
        return float("nan"), None
    ratios = np.full(len(count), -np.inf)
    mean_out = np.bincount(cell, out)[full] / count[full]
    mean_src = np.bincount(cell, src)[full] / count[full]
    ratios[full] = mean_out / np.maximum(mean_src, SEAM_GRADIENT_FLOOR)
    worst = int(np.argmax(ratios))
    y, x = divmod(worst, int(tx.max()) + 1)
    centre = (
        int(origin[1] + x * SEAM_TILE + SEAM_TILE // 2),
        int(origin[0] + y * SEAM_TILE + SEAM_TILE // 2),
    )
    return float(ratios[worst]), centre
