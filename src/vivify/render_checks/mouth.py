"""The mouth check: an open mouth's interior against its lips."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vivify.face.landmarks import INNER_LIPS, OUTER_LIPS
from vivify.face.openness import lip_open
from vivify.render_checks.common import _disk, _erode, _polygon, luminance

MOUTH_OPEN_GAP = 0.15  # lip_open above which the mouth interior must show
# ... and by how much it must exceed the source's own lip_open: below that the frame shows the
# source's own mouth (e.g. a toothy smile, which a real mouth check fails, see below), not a
# synthesised interior.
MOUTH_BEYOND_SOURCE = 0.03
# The rule. Real open mouths break it whenever teeth show (their interior is as bright as
# the lips): of 188 frames with lip gap > 0.15 in d0, d3, d19 only 41 % pass (d0 0 %, d3 92 %,
# d19 0 %); ``shadow_darkness`` (the interior's 10th percentile) is >= 0.2 in all of them.
MOUTH_MIN_DARKNESS = 0.25  # interior mean luminance at least 25 % below the lips'
# Interior luminance std of those 188 real open mouths (benchmarks/bench_mesh_checks.py
# --calibrate): min 5.9, 1st percentile 10.8, 5th 13.3, median 27.5 (d0 min 38.2, d3 min 5.9,
# d19 min 19.2; the two d3 frames under 11 are motion-blurred, the mouth opening fast). A flat
# fill reads 0-3, so the limit sits between the two.
MOUTH_MIN_STD = 4.5


@dataclass(frozen=True)
class MouthCheck:
    """Luminance of an open mouth's interior against its lips.

    Attributes:
        lip_gap: the target's :func:`~vivify.face.openness.lip_open`.
        source_gap: the source's (the check applies where the target opens beyond it).
        interior_luma, lips_luma: mean luminance inside the inner lips (eroded) and of the band
            between the outer and inner lip contours.
        darkness: ``1 - interior_luma / lips_luma`` (0.25: the interior is 25 % darker).
        shadow_darkness: the same of the interior's darkest tenth (10th percentile): teeth make
            real open mouths as bright as the lips on average, never in their shadows.
        interior_std: luminance standard deviation of the interior (teeth, tongue, shadow).
        interior_pixels: pixels measured inside.
    """

    lip_gap: float
    source_gap: float
    interior_luma: float
    lips_luma: float
    darkness: float
    shadow_darkness: float
    interior_std: float
    interior_pixels: int

    @property
    def applies(self) -> bool:
        return self.lip_gap > max(MOUTH_OPEN_GAP, self.source_gap + MOUTH_BEYOND_SOURCE)

    @property
    def passed(self) -> bool:
        return not self.applies or (self.darkness >= MOUTH_MIN_DARKNESS and self.interior_std > MOUTH_MIN_STD)


def mouth_regions(
    landmarks: np.ndarray, shape: tuple[int, ...], erode: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """The mouth interior and the lips as masks.

    Args:
        landmarks: (478, 2+) pixel landmarks.
        shape: image shape (H, W, ...).
        erode: pixels taken off each region's edges (the contours blur skin, lip and cavity).

    Returns:
        (interior, lips): (H, W) bool each; inside the inner-lip polygon eroded by ``erode``, and
        between the outer and inner lip contours, ``erode`` px away from both.
    """
    pts = np.asarray(landmarks, np.float64)
    inner = _polygon(pts[list(INNER_LIPS)], shape)
    outer = _polygon(pts[list(OUTER_LIPS)], shape)
    grown_inner = cv2.dilate(inner.astype(np.uint8), _disk(erode)).astype(bool) if erode else inner
    return _erode(inner, erode), _erode(outer, erode) & ~grown_inner


def mouth_check(
    frame: np.ndarray, landmarks: np.ndarray, erode: int = 2, source_gap: float = 0.0
) -> MouthCheck:
    """Is the mouth interior darker than the lips, and not a flat fill? (figures for any gap)

    Args:
        frame: (H, W, 3) uint8 RGB frame.
        landmarks: (478, 2+) the landmarks the frame was rendered for (or tracked on it).
        erode: see :func:`mouth_regions`.
        source_gap: the source's lip_open (the check applies to openings beyond it).
    """
    pts = np.asarray(landmarks, np.float64)[:, :2]
    gap = float(lip_open(pts))
    lo = np.maximum(np.floor(pts[list(OUTER_LIPS)].min(0)).astype(int) - 2, 0)
    hi = np.minimum(np.ceil(pts[list(OUTER_LIPS)].max(0)).astype(int) + 3, [frame.shape[1], frame.shape[0]])
    nan = float("nan")
    if (hi <= lo).any():
        return MouthCheck(gap, source_gap, nan, nan, nan, nan, nan, 0)
    patch = frame[lo[1] : hi[1], lo[0] : hi[0]]
    interior, lips = mouth_regions(pts - lo, patch.shape, erode)
    luma = luminance(patch)
    inside, lip = luma[interior], float(luma[lips].mean()) if lips.any() else nan
    if not inside.size:
        return MouthCheck(gap, source_gap, nan, lip, nan, nan, nan, 0)
    mean, shadow = float(inside.mean()), float(np.percentile(inside, 10))
    return MouthCheck(
        gap, source_gap, mean, lip, 1 - mean / lip, 1 - shadow / lip, float(inside.std()), inside.size
    )
