"""The closed-eye check: a closed eye shows lid-coloured skin, no iris."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vivify.face import landmarks as L
from vivify.face.landmarks import EYE_CONTOURS, LID_SKIN
from vivify.face.openness import eye_open_ratios
from vivify.render_checks.common import _erode, _polygon

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
