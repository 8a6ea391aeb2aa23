"""The inside of an opening mouth, which the mesh warp cannot show.

A warp only moves the source's pixels: where the driving face opens a mouth the source holds
closed, the inside was never in the picture, and the warp fills it with the lip line stretched
thin. This paints the inside instead, exactly within the target's inner-lip contour: a dark
cavity shaded by depth, upper teeth hanging from the upper lip, lower teeth and a tongue on wider
openings, all in colours taken from the source (lips, eye whites, skin). A source that already
shows its teeth keeps them, attached to the upper lip rather than stretched. The painting fades
in with the opening beyond the source's, so a talking face never pops.

The painting is made in a small *mouth canvas*: one pixel per frame pixel, columns along the
head's left-right axis (``x``, from the mouth's midline), rows down the face (``v``). Lip
contours are then functions of the column, and the canvas is mapped into the frame with one
affine warp. What is drawn on it (cavity, teeth, tongue) is in :mod:`vivify.backends.mesh_teeth`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vivify.backends.mesh_shading import EYE_CONTOURS, INNER_LIPS, LID_SKIN, lid_color, lip_color
from vivify.backends.mesh_teeth import (
    LOWER_TEETH,
    UPPER_TEETH,
    MouthCanvas,
    MouthPalette,
    SourceInterior,
    attach_interior,
    cavity,
    frontal_x,
    smooth,
    teeth_row,
    tongue,
    tooth_color,
)

_UPPER = INNER_LIPS[:11]  # inner upper lip, corner 78 to corner 308
_LOWER = INNER_LIPS[10:] + INNER_LIPS[:1]  # inner lower lip, corner 308 to corner 78
_MID = (13, 14)  # inner-lip midline points, upper and lower
_CORNERS = (61, 291)  # outer mouth corners: the width openness is measured against
_EYE_CORNERS = (33, 263)  # the head's scale and roll (expression never moves them)
_CHEEKS = (50, 280)  # mid-cheek points, below the eyes
_IRIS_CENTRES = {"right": 468, "left": 473}
_LUMA = np.array([0.299, 0.587, 0.114])

_FADE = 0.035  # lip gap (over the mouth width) over which the paint fades in ...
_DEAD_ZONE = 0.01  # ... once the gap exceeds the source's by this much (landmark jitter, turns)
_OPEN_SOURCE = 0.06  # a source gap above which its own inside (teeth, cavity) is reused


@dataclass
class MouthSource:
    """What the mouth painter needs of the source, computed once."""

    width: float  # mouth corner to corner, px
    eye_span: float  # outer eye corner to corner (3-D), px: the scale of a target
    gap: float  # the source's lip gap / mouth width (:func:`~vivify.face.openness.lip_open`)
    palette: MouthPalette
    interior: SourceInterior | None  # the source's own inside when its mouth is open


def prepare_mouth(image: np.ndarray, landmarks: np.ndarray, face_size: float) -> MouthSource:
    """Measure and sample the source's mouth.

    Args:
        image: (H, W, 3) uint8 RGB source.
        landmarks: (478, 3) the source's face mesh (image convention).
        face_size: the face's size in pixels.
    """
    pts = landmarks[:, :2].astype(np.float64)
    # sizes follow the mouth; a degenerate mesh (mouth corners together) falls back on the face
    width = max(float(np.linalg.norm(pts[_CORNERS[1]] - pts[_CORNERS[0]])), 0.2 * face_size, 1.0)
    gap = float(np.linalg.norm(pts[_MID[1]] - pts[_MID[0]])) / width  # lip_open, as measured below
    inside, teeth = _source_inside(image, pts)
    # reuse the source's inside only where the contour really encloses one (not lip texture)
    interior = _unroll_interior(image, pts) if gap > _OPEN_SOURCE and inside > 0.35 else None
    if teeth is None:
        teeth = _drawn_teeth(image, pts)
    palette = _palette(lip_color(image, pts), teeth)
    return MouthSource(width, _eye_span(landmarks), gap, palette, interior)


def paint_mouth(mouth: MouthSource, frame: np.ndarray, target: np.ndarray) -> None:
    """Paint the inside of the mouth into a warped ``frame`` (H, W, 3) uint8, in place, where
    the target landmarks (478, 3) open it beyond the source's opening.

    Only pixels inside the target's inner-lip contour change (its antialiased edge included);
    a mouth no more open than the source's (by ``_DEAD_ZONE`` of its width) leaves the frame
    untouched.
    """
    pts = np.asarray(target[:, :2], np.float64)
    scale = _eye_span(target) / max(mouth.eye_span, 1e-6)
    width = mouth.width * scale  # the source's mouth width at the target's size
    gap = float(np.linalg.norm(pts[_MID[1]] - pts[_MID[0]])) / width
    # the gap against the face's size (a smile widening the lips doesn't close it) or against
    # the target's own mouth width (lip_open: a turned head foreshortens the width), the larger
    corners = float(np.linalg.norm(pts[_CORNERS[1]] - pts[_CORNERS[0]]))
    opening = max(gap, gap * width / max(corners, 1.0))
    strength = smooth((opening - mouth.gap - _DEAD_ZONE) / _FADE, 0.0, 1.0)
    if strength < 0.01:  # not (noticeably) more open than the source: the warp shows it
        return
    inner = pts[list(INNER_LIPS)]
    lo = np.maximum(np.floor(inner.min(0)).astype(int) - 1, 0)
    hi = np.minimum(np.ceil(inner.max(0)).astype(int) + 2, [frame.shape[1], frame.shape[0]])
    if (hi <= lo).any():
        return
    canvas = _canvas(pts)
    paint = _paint(mouth, canvas, width, gap, scale)
    patch = frame[lo[1] : hi[1], lo[0] : hi[0]]
    alpha = strength * _inner_mask(inner - lo, patch.shape[:2])
    painted = _to_frame(paint, canvas, lo, patch.shape[:2])
    patch[...] = _blend(patch, painted, alpha)


def _eye_span(landmarks: np.ndarray) -> float:
    """Outer eye corner to corner in 3-D, px: the face's size, whatever its turn."""
    a, b = np.asarray(landmarks, np.float64)[list(_EYE_CORNERS)]
    return float(np.linalg.norm(b - a))


# --- geometry -------------------------------------------------------------------------------------


def _frame_axes(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Origin (midline between the inner lips), x axis (the head's roll) and v axis (down)."""
    axis = pts[_EYE_CORNERS[1]] - pts[_EYE_CORNERS[0]]
    axis /= np.linalg.norm(axis) + 1e-9
    normal = np.array([-axis[1], axis[0]])
    if normal @ (pts[152] - pts[10]) < 0:  # chin below forehead, whatever the image's flips
        normal = -normal
    return (pts[_MID[0]] + pts[_MID[1]]) / 2, axis, normal


def _lip_curve(xv: np.ndarray, x: np.ndarray) -> np.ndarray:
    """v (len(x),) of a lip contour given as (K, 2) canvas points, at the columns ``x``."""
    order = np.argsort(xv[:, 0], kind="stable")
    return np.interp(x, xv[order, 0], xv[order, 1]).astype(np.float32)


def _canvas(pts: np.ndarray) -> MouthCanvas:
    """The target's mouth canvas: 2 px beyond the inner-lip contour on every side."""
    origin, axis, normal = _frame_axes(pts)
    basis = np.stack([axis, normal], axis=1)  # (2, 2): frame offset -> (x, v)
    upper = (pts[list(_UPPER)] - origin) @ basis
    lower = (pts[list(_LOWER)] - origin) @ basis
    both = np.concatenate([upper, lower])
    x = np.arange(np.floor(both[:, 0].min()) - 2, np.ceil(both[:, 0].max()) + 3, dtype=np.float32)
    v = np.arange(np.floor(both[:, 1].min()) - 2, np.ceil(both[:, 1].max()) + 3, dtype=np.float32)
    up, low = _lip_curve(upper, x), _lip_curve(lower, x)
    corners = (float(both[:, 0].min()), float(both[:, 0].max()))
    return MouthCanvas(origin, axis, normal, x, v, up, np.maximum(low, up), corners)


def _to_frame(paint: np.ndarray, canvas: MouthCanvas, lo: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The (h, w, 3) canvas painting resampled onto the frame patch of ``shape`` at ``lo``."""
    shift = lo - canvas.origin
    m = np.array(
        [
            [*canvas.axis, canvas.axis @ shift - canvas.x[0]],
            [*canvas.normal, canvas.normal @ shift - canvas.v[0]],
        ]
    )
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    return cv2.warpAffine(paint, m, (shape[1], shape[0]), flags=flags, borderMode=cv2.BORDER_REPLICATE)


def _inner_mask(inner: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(h, w) float32 coverage of the inner-lip polygon (patch coordinates), antialiased."""
    mask = np.zeros(shape, np.float32)
    cv2.fillPoly(mask, [np.round(inner * 4).astype(np.int32)], 1.0, cv2.LINE_AA, shift=2)
    return mask


def _blend(patch: np.ndarray, paint: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """uint8 ``patch`` (h, w, 3) covered by ``paint`` with opacity ``alpha`` (h, w)."""
    a = alpha[..., None]
    return np.clip(np.rint(patch + a * (paint - patch)), 0, 255).astype(np.uint8)


# --- the source's colours and inside ---------------------------------------------------------------


def _palette(lips: np.ndarray, teeth: np.ndarray) -> MouthPalette:
    """The inside's colours: the lips' own red, darkened, for the cavity and the tongue."""
    lips = lips.astype(np.float32)
    grey = _luma(lips)
    # more saturated and redder than the lips, in proportion to their colour: a black-and-white
    # picture keeps a grey tongue
    redder = grey + 1.3 * (lips - grey) + _saturation(lips) * grey * np.array([0.25, -0.1, -0.05])
    return MouthPalette(
        cavity=lips * np.float32(0.16),
        rim=lips * np.float32(0.5),
        tongue=np.clip(0.5 * redder, 0, 255).astype(np.float32),
        teeth=teeth.astype(np.float32),
    )


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb @ _LUMA


def _eye_whites(image: np.ndarray, pts: np.ndarray) -> np.ndarray | None:
    """Mean colour of the bright quarter of both eyes' whites (the iris left out), or None."""
    samples = []
    for eye, contour in EYE_CONTOURS.items():
        poly = pts[list(contour)]
        lo = np.maximum(np.floor(poly.min(0)).astype(int), 0)
        hi = np.minimum(np.ceil(poly.max(0)).astype(int) + 1, [image.shape[1], image.shape[0]])
        if (hi - lo < 2).any():
            continue
        mask = np.zeros((hi[1] - lo[1], hi[0] - lo[0]), np.uint8)
        cv2.fillPoly(mask, [np.round(poly - lo).astype(np.int32)], 1)
        centre = pts[_IRIS_CENTRES[eye]]
        radius = np.linalg.norm(pts[_IRIS_CENTRES[eye] + 1 : _IRIS_CENTRES[eye] + 5] - centre, axis=1).mean()
        cv2.circle(mask, tuple(np.round(centre - lo).astype(int)), int(np.ceil(1.05 * radius)), 0, -1)
        samples.append(image[lo[1] : hi[1], lo[0] : hi[0]][mask > 0].astype(np.float64))
    pixels = np.concatenate(samples) if samples else np.zeros((0, 3))
    if len(pixels) < 12:
        return None
    luma = _luma(pixels)
    return pixels[luma >= np.percentile(luma, 75)].mean(axis=0)


def _cheek_color(image: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Colour (3,) of the lit skin of both cheeks (the bright half of discs around them)."""
    radius = 0.25 * float(np.linalg.norm(pts[_CORNERS[1]] - pts[_CORNERS[0]]))
    mask = np.zeros(image.shape[:2], np.uint8)
    for centre in pts[list(_CHEEKS)]:
        cv2.circle(mask, tuple(np.round(centre).astype(int)), max(int(radius), 1), 1, -1)
    pixels = image[mask > 0].astype(np.float64)
    if len(pixels) == 0:
        return np.mean([lid_color(image, pts, ring) for _, ring in LID_SKIN.values()], axis=0)
    luma = _luma(pixels)
    return pixels[luma >= np.median(luma)].mean(axis=0)


def _drawn_teeth(image: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Tooth colour (3,) for a source that shows none: its eye whites, a little warmer, kept
    near its skin's brightness (a dim painting gets dim teeth, a bright photo bright ones)."""
    skin = _cheek_color(image, pts)
    whites = _eye_whites(image, pts)
    base = whites if whites is not None else 0.5 * skin + 0.5 * _luma(skin)  # skin, paled
    # the eye whites' tint softened, warmed by the skin's (none in a black-and-white picture)
    base = 0.7 * base + 0.3 * _luma(base) + 0.2 * (skin - _luma(skin))
    luma = _luma(base)
    target = np.clip(luma, 0.8 * _luma(skin), 1.0 * _luma(skin))  # no brighter than lit skin
    return np.clip(base * target / max(luma, 1.0), 0, 255)


def _saturation(rgb: np.ndarray) -> np.ndarray:
    return (rgb.max(-1) - rgb.min(-1)) / (rgb.max(-1) + 1.0)


def _source_inside(image: np.ndarray, pts: np.ndarray) -> tuple[float, np.ndarray | None]:
    """What the source shows between its inner lips: the fraction that is really inside a
    mouth (dark, or teeth: bright and paler than the lips) rather than lip, and the mean colour
    (3,) of its teeth (None where it shows hardly any)."""
    poly = pts[list(INNER_LIPS)]
    lo = np.maximum(np.floor(poly.min(0)).astype(int), 0)
    hi = np.minimum(np.ceil(poly.max(0)).astype(int) + 1, [image.shape[1], image.shape[0]])
    if (hi - lo < 2).any():
        return 0.0, None
    mask = np.zeros((hi[1] - lo[1], hi[0] - lo[0]), np.uint8)
    cv2.fillPoly(mask, [np.round(poly - lo).astype(np.int32)], 1)
    pixels = image[lo[1] : hi[1], lo[0] : hi[0]][mask > 0].astype(np.float64)
    if len(pixels) < 20:
        return 0.0, None
    lips = lip_color(image, pts)
    luma = _luma(pixels)
    dark = luma < 0.6 * _luma(lips)
    teeth = (luma > 0.8 * _luma(lips)) & (_saturation(pixels) < 0.6 * _saturation(lips))
    inside = float((dark | teeth).mean())
    if teeth.mean() <= 0.1:
        return inside, None
    lit = pixels[teeth & (luma >= np.median(luma[teeth]))]  # the lit teeth, not their shaded edges
    return inside, lit.mean(axis=0)


def _unroll_interior(image: np.ndarray, pts: np.ndarray) -> SourceInterior:
    """The source's inside (teeth, cavity) resampled row by row below its upper inner lip."""
    canvas = _canvas(pts)
    gap = canvas.lower - canvas.upper
    rows = np.arange(int(np.ceil(gap.max())) + 1, dtype=np.float32)
    # frame position of (x, upper(x) + d): origin + x axis + (upper + d) normal
    along = canvas.x[None, :, None] * canvas.axis.astype(np.float32)
    down = (canvas.upper[None, :] + rows[:, None])[..., None] * canvas.normal.astype(np.float32)
    pos = canvas.origin.astype(np.float32) + along + down  # (h, w, 2)
    texture = cv2.remap(image, pos[..., 0], pos[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return SourceInterior(texture.astype(np.float32), float(canvas.x[0]), gap)


# --- painting -------------------------------------------------------------------------------------


def _paint(mouth: MouthSource, canvas: MouthCanvas, width: float, gap: float, scale: float) -> np.ndarray:
    """The inside of the target mouth, (h, w, 3) float32 on its canvas.

    Args:
        width: the mouth's width at the target's scale, px (teeth keep their size as the lips
            stretch).
        gap: the target's lip gap / ``width``.
        scale: target size / source size.
    """
    pal = mouth.palette
    d = canvas.v[:, None] - canvas.upper[None, :]  # (h, w) px below the upper lip
    e = canvas.lower[None, :] - canvas.v[:, None]  # px above the lower lip
    local_gap = canvas.lower - canvas.upper  # (w,)
    # teeth and tongue sit on the jaws, not in the lips: where a lip bends in towards the
    # corners (an 'o'), it covers them by as much as it bends
    drop = np.maximum(canvas.upper - np.interp(0.0, canvas.x, canvas.upper), 0)
    rise = np.maximum(np.interp(0.0, canvas.x, canvas.lower) - canvas.lower, 0)
    x = frontal_x(canvas)
    out = cavity(pal, canvas, d, e, width)
    cover, shade = tongue(x, e, width, gap * width, smooth(gap, 0.2, 0.45), local_gap - rise)
    out += cover[..., None] * (pal.tongue * shade[..., None] - out)
    reach = np.minimum(0.045 * width * smooth(gap, 0.22, 0.5) - rise, 0.35 * local_gap)
    cover, shade = teeth_row(x, e, width, LOWER_TEETH, reach)
    out += cover[..., None] * (tooth_color(pal, 0.9 * shade) - out)
    if mouth.interior is None:
        reach = np.minimum(0.09 * width * smooth(gap, 0.0, 0.22) - drop, 0.6 * local_gap)
        cover, shade = teeth_row(x, d, width, UPPER_TEETH, reach)
        out += cover[..., None] * (tooth_color(pal, shade) - out)
    out *= (1.0 - 0.55 * np.exp(-np.maximum(d, 0) / (0.03 * width)))[..., None]  # the upper lip's shadow
    if mouth.interior is not None:
        out = attach_interior(mouth.interior, out, canvas.x, d, scale)
    return out
