"""What the mouth painter (:mod:`vivify.backends.mesh_mouth`) draws inside a mouth, on its canvas:
a dark cavity shaded by depth, rows of teeth standing out of the lips, a tongue rising from the
floor, or the source's own inside laid under the upper lip."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Teeth: cumulative half-widths from the midline in mouth widths (incisor, lateral, canine, two
# premolars), their visible lengths relative to the longest, the arch's falloff of light.
UPPER_TEETH = np.array([0.13, 0.23, 0.315, 0.385, 0.455])
LOWER_TEETH = np.array([0.075, 0.155, 0.225])  # the front six only: the rest hide behind the lip
_TOOTH_LENGTH = np.array([1.0, 0.88, 0.92, 0.75, 0.65])


@dataclass
class MouthPalette:
    """Colours (3,) float32 RGB of the painted inside, from the source's own colours."""

    cavity: np.ndarray  # the deep inside
    rim: np.ndarray  # the inside of the lips next to their edge
    tongue: np.ndarray
    teeth: np.ndarray


@dataclass
class SourceInterior:
    """The source's visible inside, unrolled under its upper lip.

    Row ``d`` of ``texture`` lies ``d`` source pixels below the upper inner lip, column ``c`` at
    ``x = x0 + c`` source pixels from the mouth's midline.
    """

    texture: np.ndarray  # (h, w, 3) float32
    x0: float
    gap: np.ndarray  # (w,) the source's lip gap per column, px


@dataclass
class MouthCanvas:
    """A target mouth in canvas coordinates (see :mod:`vivify.backends.mesh_mouth`)."""

    origin: np.ndarray  # (2,) frame position of x = v = 0 (the midline between the inner lips)
    axis: np.ndarray  # (2,) unit vector of x in the frame
    normal: np.ndarray  # (2,) unit vector of v (down the face)
    x: np.ndarray  # (w,) float32 column positions
    v: np.ndarray  # (h,) float32 row positions
    upper: np.ndarray  # (w,) v of the upper inner lip per column
    lower: np.ndarray  # (w,) v of the lower inner lip per column
    corners: tuple[float, float]  # x of the inner mouth corners, left (< 0) and right


def smooth(x: np.ndarray | float, lo: float, hi: float) -> np.ndarray | float:
    """Smoothstep of x from lo to hi (0 below, 1 above)."""
    t = np.clip((np.asarray(x, np.float32) - lo) / (hi - lo), 0.0, 1.0)
    out = t * t * (3 - 2 * t)
    return float(out) if out.ndim == 0 else out


def tooth_color(pal: MouthPalette, shade: np.ndarray) -> np.ndarray:
    """(h, w, 3) teeth lit by ``shade`` (h, w): in shadow they take the mouth's warm dark, not grey."""
    s = shade[..., None]
    return s * pal.teeth + (1 - s) * (0.5 * pal.rim)


def frontal_x(canvas: MouthCanvas) -> np.ndarray:
    """Column positions (w,) as if the face were frontal: a turned head foreshortens the far
    half of the mouth, which the midline-to-corner distances tell (a smile widening both
    halves alike leaves them as they are: teeth do not stretch)."""
    left, right = -canvas.corners[0], canvas.corners[1]
    mean = max((left + right) / 2, 1.0)
    factor = np.clip(mean / np.maximum([left, right], 1.0), 0.4, 2.5)
    return canvas.x * np.where(canvas.x < 0, factor[0], factor[1]).astype(np.float32)


def cavity(pal: MouthPalette, canvas: MouthCanvas, d: np.ndarray, e: np.ndarray, width: float) -> np.ndarray:
    """The dark inside (h, w, 3): the lips' inner rim next to their edge, deep and dark in the
    middle and at the back, a little light reaching its lower half from the front."""
    rim = np.exp(-np.maximum(np.minimum(d, e), 0) / (0.03 * width))
    half = max((canvas.corners[1] - canvas.corners[0]) / 2, 1.0)
    centre = canvas.corners[0] + half
    side = ((canvas.x - centre) / half) ** 2  # 0 in the middle, 1 at the corners
    rim = np.maximum(rim, 0.5 * side[None, :])  # the corners are shallow
    t = np.clip(d / np.maximum(d + e, 1.0), 0, 1)
    light = 0.75 + 0.5 * t  # more light on the floor than under the palate
    depth = rim[..., None] * (pal.rim - pal.cavity) + pal.cavity
    return depth * light[..., None]


def _tooth_columns(x: np.ndarray, width: float, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column (w,): the visible length factor of the tooth it falls on (0 past the last
    tooth) and its brightness (the arch turning away, each tooth's roundness, the gaps)."""
    px = np.abs(x) / width
    k = np.searchsorted(bounds, px)
    inside = k < len(bounds)
    k = np.minimum(k, len(bounds) - 1)
    left = np.where(k > 0, bounds[k - 1], 0.0)
    span = bounds[k] - left
    f = np.clip((px - left) / span, 0, 1)  # 0..1 across the tooth, midline side first
    edge = np.abs(2 * f - 1)  # 0 mid-tooth, 1 at its sides
    length = _TOOTH_LENGTH[k] * (1 - np.where(k == 2, 0.3 * edge**1.5, 0.12 * edge**4))
    # the gap between two teeth: a soft line at most about a pixel wide, fainter on small teeth
    tooth_px = span * width
    to_gap = np.minimum(f, 1 - f) * tooth_px
    depth = 0.25 * smooth(tooth_px, 3.0, 8.0)
    line = 1 - depth * np.exp(-((to_gap / max(0.5, 0.004 * width)) ** 2))
    shade = (1 - 0.75 * (px / bounds[-1]) ** 2) * (0.9 + 0.1 * np.sin(np.pi * f)) * line
    fade = np.clip((bounds[-1] - px) * width + 0.5, 0, 1)
    return (length * fade * inside).astype(np.float32), shade.astype(np.float32)


def teeth_row(x: np.ndarray, depth: np.ndarray, width: float, bounds: np.ndarray, reach: np.ndarray):
    """Coverage and shade (h, w) of a row of teeth standing out of a lip.

    Args:
        x: (w,) frontal column positions, px from the midline.
        depth: (h, w) distance from that lip, px.
        bounds: the teeth's cumulative half-widths, mouth widths.
        reach: (w,) how far the longest tooth may show in each column, px.
    """
    if reach.max() < 0.05:
        zero = np.zeros_like(depth)
        return zero, zero
    length, shade = _tooth_columns(x, width, bounds)
    length = length * np.maximum(reach, 0)
    cover = np.clip(length[None, :] - depth + 0.5, 0, 1) * (length[None, :] > 0)
    edge = 1 - 0.12 * np.clip(1 - (length[None, :] - depth) / (0.3 * length[None, :] + 1e-3), 0, 1)
    return cover, shade[None, :] * edge


def tongue(x: np.ndarray, e: np.ndarray, width: float, gap_px: float, amount: float, room: np.ndarray):
    """Coverage and shade (h, w) of the tongue: a rounded shape rising from the floor of a wide
    open mouth (``gap_px`` at the midline, ``room`` (w,) px of it per column), lit on its top."""
    if amount <= 0:
        zero = np.zeros_like(e)
        return zero, zero
    half = 0.3 * width
    dome = np.sqrt(np.clip(1 - (x / half) ** 2, 0, 1))
    top = amount * np.clip(np.minimum(0.4 * gap_px * dome, 0.45 * room), 0, None)  # (w,)
    cover = np.clip((top[None, :] - e) / 1.5 + 0.5, 0, 1) * (top[None, :] > 0)
    shade = 0.55 + 0.45 * np.clip(e / (top[None, :] + 1e-3), 0, 1) * dome[None, :]
    return cover.astype(np.float32), shade.astype(np.float32)


def attach_interior(interior: SourceInterior, out: np.ndarray, x: np.ndarray, d: np.ndarray,
                     scale: float) -> np.ndarray:  # fmt: skip
    """The source's own inside laid under the target's upper lip at the source's size (teeth
    stay attached and unstretched); the painted inside shows below it."""
    xs = x / scale - interior.x0  # (w,) texture column
    ds = d / scale  # (h, w) texture row
    map_x = np.broadcast_to(xs[None, :], d.shape).astype(np.float32)
    texture = cv2.remap(interior.texture, map_x, ds.astype(np.float32), cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    gap = np.interp(xs, np.arange(len(interior.gap)), interior.gap).astype(np.float32)
    keep = np.clip((0.95 * gap[None, :] - ds) / (0.15 * gap[None, :] + 1.0), 0, 1)
    return out + keep[..., None] * (texture - out)
