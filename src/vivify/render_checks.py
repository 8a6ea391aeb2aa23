"""Acceptance checks of a rendered portrait animation: seam, streaks, mouth interior, closed eyes.

Pure functions on RGB frames (``(H, W, 3)`` uint8) and 478-point face meshes (``(478, 2+)``
pixels, image convention). Each returns a small frozen dataclass with the figures it measured and
a ``passed`` property for the acceptance limit. :class:`FrameChecker` runs all four over the
consecutive frames of one animation. Luminance is ``0.299 R + 0.587 G + 0.114 B`` throughout.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vivify.backends.mesh_shading import _OUTER_LIPS, EYE_CONTOURS, INNER_LIPS, LID_SKIN
from vivify.face import landmarks as L
from vivify.face.openness import eye_open_ratios, lip_open

SEAM_MAX_RATIO = 1.3  # output / source mean gradient across the paste-back boundary
# Source gradients below this (grey levels per pixel) count as this much: over a flat background a
# 0.2 -> 0.5 change is a large ratio of an invisible difference. A 3-level straight step still
# reads 1.0 against a flat source; a 5-level one fails.
SEAM_GRADIENT_FLOOR = 1.0
SEAM_TILE = 32  # px, grid cell of the local seam figure
STREAK_TOLERANCE = 60.0  # grey levels a pixel may leave its previous neighbourhood's range by
CORE_SCALE = 0.9  # the face core: the target face's silhouette shrunk about its centre
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
EYE_CLOSED_RATIO = 0.1  # eye_open_ratios below which an eye counts as closed
# Real eyes of d0, d6, d9, d12, d14, d18, each against the most open frame within 50 frames as the
# source (--calibrate): 383 closed eyes (ratio < 0.1) have an iris-coloured fraction of 0.000
# (max); 665 open ones (ratio >= 0.22) judged as if closed have median fractions 0.64-1.0 per
# video. Their lid colour falls within the source's lid range for 355/383 closed eyes (d6, made
# up, 18/41) and for 46 % of the open ones.
IRIS_DISTANCE = 40.0  # RGB distance to the source's iris colour that counts as iris-coloured
IRIS_MAX_FRACTION = 0.01  # of the lid region: a few stray pixels are noise, a visible iris is more
IRIS_STRAY_PIXELS = 2  # ... and never fewer than this many (1 % of a narrow eye's 94 px is one)
LASH_BAND = 0.1  # half-width of the lash line left out of the lid region, times the eye's width
EYES = ("right", "left")  # image-left eye first, as in :func:`~vivify.face.openness.eye_open_ratios`
_IRIS = {"right": L.RIGHT_IRIS, "left": L.LEFT_IRIS}
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


# --- seam ---------------------------------------------------------------------------------------


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


# --- streaks and specks -------------------------------------------------------------------------


@dataclass(frozen=True)
class StreakCheck:
    """Changes between consecutive frames, outside the face core, that motion does not explain.

    Attributes:
        unexplained: pixels whose new grey value lies more than the tolerance outside the range
            of the previous frame's grey values within ``radius``.
        worst_excess: how far the worst of them lies outside it, grey levels (0 when none).
        worst_xy: (x, y) of the worst pixel, None when none.
        radius: the neighbourhood radius, the largest target landmark displacement + 1 px.
    """

    unexplained: int
    worst_excess: float
    worst_xy: tuple[int, int] | None
    radius: int

    @property
    def passed(self) -> bool:
        return self.unexplained == 0


def face_core(landmarks: np.ndarray, shape: tuple[int, ...], scale: float = CORE_SCALE) -> np.ndarray:
    """(478, 2+) landmarks -> (H, W) bool: the face's silhouette (the convex hull of its
    landmarks) scaled by ``scale`` about its centre. Not the mesh's face oval: on a turned head
    the far oval lies behind the cheek, and nose and mouth stick out of it."""
    pts = np.asarray(landmarks, np.float64)[:, :2]
    hull = pts[cv2.convexHull(pts.astype(np.float32), returnPoints=False)[:, 0]]
    center = hull.mean(axis=0)
    return _polygon(center + scale * (hull - center), shape)


def streak_check(
    previous: np.ndarray,
    frame: np.ndarray,
    previous_landmarks: np.ndarray,
    landmarks: np.ndarray,
    footprint: np.ndarray,
    tolerance: float = STREAK_TOLERANCE,
) -> StreakCheck:
    """Pixels outside the face core that change more than motion explains between two frames.

    A pixel's change is explained when its new grey value lies within ``[min - tolerance,
    max + tolerance]`` of the previous frame's grey values within radius ``r`` (a grey erosion
    and dilation), ``r`` = the largest displacement of any target landmark between the frames
    + 1 px. Why: a piecewise-affine warp moves every pixel by a convex combination of its
    triangle's vertex displacements, so content moves at most the largest landmark displacement
    (the fixed ring moves none) and a pixel can only show a value found within ``r`` in the
    previous frame; the extra pixel covers bilinear sampling and the tolerance covers shading.
    A streak smeared along the face edge, a speck, or a sampled-from-nowhere value is none of
    these. The face core (the target's face oval shrunk to :data:`CORE_SCALE`) is left out:
    mouth and lid painting change it legitimately. Only footprint pixels are tested: nothing
    else may change.

    Args:
        previous, frame: (H, W, 3) uint8 consecutive rendered frames.
        previous_landmarks, landmarks: (478, 2+) the target landmarks each was rendered for.
        footprint: (H, W) bool, the pixels the renderer may change.
        tolerance: grey levels.
    """
    if previous.shape != frame.shape or footprint.shape != frame.shape[:2]:
        raise ValueError(f"shape mismatch: {previous.shape}, {frame.shape}, mask {footprint.shape}")
    moved = np.linalg.norm(np.asarray(landmarks)[:, :2] - np.asarray(previous_landmarks)[:, :2], axis=1)
    radius = int(np.ceil(moved.max())) + 1
    g0, g1 = luminance(previous), luminance(frame)
    # a pixel within tolerance of its own previous value is explained whatever the radius
    suspects = footprint & ~face_core(landmarks, frame.shape) & (np.abs(g1 - g0) > tolerance)
    if not suspects.any():
        return StreakCheck(0, 0.0, None, radius)
    # most suspects are explained within the square inscribed in the disk (a fast separable
    # filter); the rest are measured over the exact disk
    rows, cols = _box(suspects, radius)
    half = 2 * int(radius / np.sqrt(2)) + 1
    square = np.ones((half, half), np.uint8)
    low = cv2.erode(g0[rows, cols], square) - tolerance
    high = cv2.dilate(g0[rows, cols], square) + tolerance
    new = g1[rows, cols]
    suspects = suspects[rows, cols] & ((new < low) | (new > high))
    ys, xs = np.nonzero(suspects)
    low, high = _disk_range(g0, ys + rows.start, xs + cols.start, radius)
    new = new[ys, xs]
    excess = np.maximum(np.maximum(low - tolerance - new, new - high - tolerance), 0.0)
    if not (excess > 0).any():
        return StreakCheck(0, 0.0, None, radius)
    worst = int(np.argmax(excess))
    xy = (int(xs[worst] + cols.start), int(ys[worst] + rows.start))
    return StreakCheck(int((excess > 0).sum()), float(excess[worst]), xy, radius)


def _disk_range(
    grey: np.ndarray, ys: np.ndarray, xs: np.ndarray, radius: int
) -> tuple[np.ndarray, np.ndarray]:
    """(N,) minimum and maximum of ``grey`` (H, W) within ``radius`` of each pixel (ys, xs)."""
    dy, dx = np.nonzero(_disk(radius))
    low, high = np.empty(len(ys), np.float32), np.empty(len(ys), np.float32)
    for start in range(0, len(ys), 2048):  # (2048, K) gathers at a time
        part = slice(start, start + 2048)
        y = np.clip(ys[part, None] + dy - radius, 0, grey.shape[0] - 1)
        x = np.clip(xs[part, None] + dx - radius, 0, grey.shape[1] - 1)
        values = grey[y, x]
        low[part], high[part] = values.min(axis=1), values.max(axis=1)
    return low, high


# --- mouth interior -----------------------------------------------------------------------------


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
    outer = _polygon(pts[list(_OUTER_LIPS)], shape)
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
    lo = np.maximum(np.floor(pts[list(_OUTER_LIPS)].min(0)).astype(int) - 2, 0)
    hi = np.minimum(np.ceil(pts[list(_OUTER_LIPS)].max(0)).astype(int) + 3, [frame.shape[1], frame.shape[0]])
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


# --- closed eyes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EyeReference:
    """What the closed-eye check needs of the source, for one eye.

    Attributes:
        eye: "right" (image-left) or "left".
        opening: (16, 2) the source's eye contour in corner coordinates (complex ``u`` with the
            outer corner at 0, the inner at 1; stored as x=Re, y=Im).
        lid_low, lid_high: (3,) per-channel 2nd and 98th percentiles of the upper-lid skin.
        lid: (3,) its per-channel median.
        iris: (3,) median colour inside the iris circle and the eye opening (NaN if none shows).
        open_ratio: the source eye's :func:`~vivify.face.openness.eye_open_ratios`.
    """

    eye: str
    opening: np.ndarray
    lid_low: np.ndarray
    lid_high: np.ndarray
    lid: np.ndarray
    iris: np.ndarray
    open_ratio: float
    iris_samples: np.ndarray  # (N, 3) colours inside the iris circle (at most 256)
    skin_samples: np.ndarray  # (M, 3) colours of the skin above the eye, lashes left out (<= 256)


@dataclass(frozen=True)
class ClosedEyeCheck:
    """The lid region of one eye of a frame.

    Attributes:
        eye: "right" (image-left) or "left".
        open_ratio: the target's :func:`~vivify.face.openness.eye_open_ratios` for this eye.
        source_ratio: the source's. The check applies where the target closes an eye the source
            has open: an eye closed (or carved narrow) in the source has no opening to cover.
        mean_colour: (R, G, B) mean of the lid region (the source-sized opening placed on the
            target eye, without the lash line).
        colour_in_range: every channel of ``mean_colour`` within the source's lid range.
        region_pixels: pixels measured.
        iris_pixels: iris-coloured pixels: within :data:`IRIS_DISTANCE` of the source's iris
            colour and nearer to it than to the source's lid colour.
    """

    eye: str
    open_ratio: float
    source_ratio: float
    mean_colour: tuple[float, float, float]
    colour_in_range: bool
    region_pixels: int
    iris_pixels: int

    @property
    def applies(self) -> bool:
        return self.open_ratio < EYE_CLOSED_RATIO <= self.source_ratio

    @property
    def iris_fraction(self) -> float:
        return self.iris_pixels / self.region_pixels if self.region_pixels else 0.0

    @property
    def passed(self) -> bool:
        allowed = max(IRIS_MAX_FRACTION * self.region_pixels, IRIS_STRAY_PIXELS)
        return not self.applies or (self.colour_in_range and self.iris_pixels <= allowed)


def _corners(pts: np.ndarray, eye: str) -> tuple[complex, complex]:
    contour = EYE_CONTOURS[eye]
    outer, inner = pts[contour[0]], pts[contour[8]]
    return complex(outer[0], outer[1]), complex(inner[0], inner[1])


def _lid_band(pts: np.ndarray, eye: str, span: tuple[float, float] = (0.25, 0.75)) -> np.ndarray:
    """(N, 2) polygon of the upper-lid skin: by default the middle half of the band between the
    lid points and the ring above them (the lashes, the crease's shadow and the brow left out)."""
    lid, ring = (pts[list(idx)] for idx in LID_SKIN[eye])
    return np.concatenate([lid + span[0] * (ring - lid), (lid + span[1] * (ring - lid))[::-1]])


def _sample(colours: np.ndarray, n: int = 256) -> np.ndarray:
    """At most ``n`` of the (K, 3) colours, evenly spread over them."""
    return (
        colours[np.linspace(0, len(colours) - 1, min(n, len(colours))).astype(int)]
        if len(colours)
        else colours
    )


def _nearest(pixels: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """(K,) distance of each (K, 3) pixel to its nearest sample (inf without samples)."""
    if not len(samples):
        return np.full(len(pixels), np.inf)
    return np.sqrt(((pixels[:, None, :] - samples[None, :, :]) ** 2).sum(axis=2).min(axis=1))


def _iris_mask(pts: np.ndarray, eye: str, shape: tuple[int, ...]) -> np.ndarray:
    centre, rim = pts[_IRIS[eye][0]], pts[list(_IRIS[eye][1:])]
    radius = float(np.linalg.norm(rim - centre, axis=1).mean())
    circle = np.zeros(shape[:2], np.uint8)
    cv2.circle(circle, tuple(np.round(centre).astype(int)), max(1, round(radius)), 1, -1)
    return circle.astype(bool) & _erode(_polygon(pts[list(EYE_CONTOURS[eye])], shape), 1)


def eye_references(source: np.ndarray, landmarks: np.ndarray) -> tuple[EyeReference, EyeReference]:
    """Sample both eyes of the source picture for :func:`closed_eye_checks`.

    Args:
        source: (H, W, 3) uint8 RGB source picture.
        landmarks: (478, 2+) its landmarks.

    Returns:
        One :class:`EyeReference` per eye, image-left eye first.
    """
    pts = np.asarray(landmarks, np.float64)[:, :2]
    ratios = eye_open_ratios(pts)
    refs = []
    for k, eye in enumerate(EYES):
        a, b = _corners(pts, eye)
        z = pts[list(EYE_CONTOURS[eye]), 0] + 1j * pts[list(EYE_CONTOURS[eye]), 1]
        u = (z - a) / (b - a)
        skin = source[_polygon(_lid_band(pts, eye), source.shape)].astype(np.float64)
        if not len(skin):
            raise ValueError(f"the source's {eye} upper lid covers no pixel")
        iris = source[_iris_mask(pts, eye, source.shape)].astype(np.float64)
        colour = np.median(iris, axis=0) if len(iris) else np.full(3, np.nan)
        low, high = np.percentile(skin, [2, 98], axis=0)
        opening = np.stack([u.real, u.imag], axis=1)
        lid = np.median(skin, axis=0)
        above = source[_polygon(_lid_band(pts, eye, (0.15, 1.0)), source.shape)].astype(np.float64)
        refs.append(EyeReference(eye, opening, low, high, lid, colour, float(ratios[k]),
                                 _sample(iris), _sample(above if len(above) else skin)))  # fmt: skip
    return refs[0], refs[1]


def lid_region(
    reference: EyeReference, landmarks: np.ndarray, shape: tuple[int, ...], lash_band: float = LASH_BAND
) -> np.ndarray:
    """Where a closed eye must show lid skin: the source's eye opening placed on the target eye.

    The source's eye contour is carried onto the target eye by the similarity that maps the
    source's eye corners onto the target's: a closing lid moves, the corners and the lower lid
    hardly do, so this is where the open eye (iris included) was. Pixels within
    ``lash_band`` x the eye's width of the target's lid contour (where the lids meet, the lash
    line, dark by nature) are left out.

    Args:
        reference: the source's eye (:func:`eye_references`).
        landmarks: (478, 2+) target landmarks.
        shape: image shape (H, W, ...).
        lash_band: half-width of the left-out lash line, times the eye's corner-to-corner width.

    Returns:
        (H, W) bool mask.
    """
    pts = np.asarray(landmarks, np.float64)[:, :2]
    a, b = _corners(pts, reference.eye)
    z = a + (reference.opening[:, 0] + 1j * reference.opening[:, 1]) * (b - a)
    region = _polygon(np.stack([z.real, z.imag], axis=1), shape)
    lashes = np.zeros(shape[:2], np.uint8)
    contour = np.round(pts[list(EYE_CONTOURS[reference.eye])] * 4).astype(np.int32)
    thickness = 2 * max(1, round(lash_band * abs(b - a))) + 1
    cv2.polylines(lashes, [contour], True, 1, thickness, shift=2)
    return region & ~lashes.astype(bool)


def closed_eye_check(
    frame: np.ndarray, landmarks: np.ndarray, reference: EyeReference, lash_band: float = LASH_BAND
) -> ClosedEyeCheck:
    """Is a closed eye covered with lid-coloured skin, no iris left? (figures for any openness)

    Args:
        frame: (H, W, 3) uint8 RGB frame.
        landmarks: (478, 2+) the landmarks it was rendered for.
        reference: the source's eye (:func:`eye_references`).
        lash_band: see :func:`lid_region`.
    """
    pts = np.asarray(landmarks, np.float64)[:, :2]
    ratio = float(eye_open_ratios(pts)[EYES.index(reference.eye)])
    unmeasured = ClosedEyeCheck(reference.eye, ratio, reference.open_ratio, (float("nan"),) * 3, False, 0, 0)
    # the eye's surroundings only: the opening spans about the corners' distance around them
    a, b = _corners(pts, reference.eye)
    centre, reach = (a + b) / 2, abs(b - a) + 2
    lo = np.maximum(np.floor([centre.real - reach, centre.imag - reach]).astype(int), 0)
    hi = np.minimum(np.ceil([centre.real + reach, centre.imag + reach]).astype(int), frame.shape[1::-1])
    patch = frame[lo[1] : hi[1], lo[0] : hi[0]]
    if not patch.size:
        return unmeasured
    pixels = patch[lid_region(reference, pts - lo, patch.shape, lash_band)].astype(np.float64)
    if not len(pixels):
        return unmeasured
    mean = pixels.mean(axis=0)
    in_range = bool(((mean >= reference.lid_low) & (mean <= reference.lid_high)).all())
    to_iris = np.linalg.norm(pixels - reference.iris, axis=1)  # NaN (no iris in the source): none
    iris = (to_iris <= IRIS_DISTANCE) & (to_iris < np.linalg.norm(pixels - reference.lid, axis=1))
    if iris.any():  # and nearer some iris colour than any colour of the skin above the eye
        candidates = pixels[iris]
        iris[iris] = _nearest(candidates, reference.iris_samples) < _nearest(
            candidates, reference.skin_samples
        )
    colour = (float(mean[0]), float(mean[1]), float(mean[2]))
    count = int(iris.sum())
    return ClosedEyeCheck(reference.eye, ratio, reference.open_ratio, colour, in_range, len(pixels), count)


def closed_eye_checks(
    frame: np.ndarray, landmarks: np.ndarray, references: tuple[EyeReference, EyeReference]
) -> tuple[ClosedEyeCheck, ClosedEyeCheck]:
    """:func:`closed_eye_check` of both eyes, image-left eye first."""
    return closed_eye_check(frame, landmarks, references[0]), closed_eye_check(
        frame, landmarks, references[1]
    )


# --- all four over an animation ----------------------------------------------------------------


@dataclass(frozen=True)
class FrameChecks:
    """The four checks of one frame (``streaks`` is None on the first frame)."""

    index: int
    seam: SeamCheck
    streaks: StreakCheck | None
    mouth: MouthCheck
    eyes: tuple[ClosedEyeCheck, ClosedEyeCheck]


class FrameChecker:
    """Runs every check over the consecutive frames of one animation of one source.

    Args:
        source: (H, W, 3) uint8 RGB source picture.
        source_landmarks: (478, 2+) its landmarks.
        footprint: (H, W) bool, the pixels the renderer may change (the backend's ``footprint``).
    """

    def __init__(self, source: np.ndarray, source_landmarks: np.ndarray, footprint: np.ndarray) -> None:
        self.source, self.footprint = source, footprint
        self.eyes = eye_references(source, source_landmarks)
        self.source_gap = float(lip_open(np.asarray(source_landmarks, np.float64)[:, :2]))
        self._previous: tuple[np.ndarray, np.ndarray] | None = None
        self._index = 0

    def update(self, frame: np.ndarray, landmarks: np.ndarray) -> FrameChecks:
        """The checks of the next frame, rendered for the target ``landmarks`` (478, 2+)."""
        streaks = None
        if self._previous is not None:
            before, before_landmarks = self._previous
            streaks = streak_check(before, frame, before_landmarks, landmarks, self.footprint)
        checks = FrameChecks(
            self._index,
            seam_check(frame, self.source, self.footprint),
            streaks,
            mouth_check(frame, landmarks, source_gap=self.source_gap),
            closed_eye_checks(frame, landmarks, self.eyes),
        )
        self._previous = (frame.copy(), np.array(landmarks, np.float64))
        self._index += 1
        return checks
