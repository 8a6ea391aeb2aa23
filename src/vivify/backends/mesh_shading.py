"""Shading the mesh warp cannot do: lid skin over a closing eye, a cavity in an opening mouth.

A warp only moves the source's pixels. Where the driving face closes an eye the source shows
open, or opens a mouth the source holds closed, the pixels that should appear were never in the
picture; these paint a plausible stand-in, blended in proportion to how far the face has moved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from vivify.backends.meshwarp import MeshSource

# per eye: the upper-lid points and the skin ring above them (between the lid and the brow)
LID_SKIN = {
    "right": ((246, 161, 160, 159, 158, 157, 173), (113, 225, 224, 223, 222, 221, 189)),
    "left": ((466, 388, 387, 386, 385, 384, 398), (342, 445, 444, 443, 442, 441, 413)),
}
_EYE_CONTOURS = {  # corner, upper lid, corner, lower lid (reversed), as a closed polygon
    "right": (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7),
    "left": (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249),
}
INNER_LIPS = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
_OUTER_LIPS = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)


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


def close_lids(state: MeshSource, frame: np.ndarray, target: np.ndarray) -> None:
    """Cover a closing eye with lid skin and draw the lash line where the lids meet.

    The warp can only stretch the visible lid band (lashes included) down over the eye, which
    leaves a dark smear; the skin of a real closed lid is hidden in the open eye. Where the
    lid gap falls below the source's, the source-sized eye opening is blended towards the
    lid's own skin colour in proportion to the closure.
    """
    src = state.landmarks[:, :2].astype(np.float64)
    dst = np.asarray(target[:, :2], np.float64)
    for eye, contour in _EYE_CONTOURS.items():
        upper, lower = list(contour[1:8]), list(contour[9:16])[::-1]
        a, b = dst[contour[0]], dst[contour[8]]
        width = np.linalg.norm(b - a)
        axis = (b - a) / (width + 1e-9)
        normal = np.array([-axis[1], axis[0]])
        if float(np.mean((src[lower] - src[upper]) @ normal)) < 0:
            normal = -normal  # point from the upper lid to the lower one
        rest = float(np.mean((src[lower] - src[upper]) @ normal))
        gap = float(np.mean((dst[lower] - dst[upper]) @ normal))
        closure = 0.0 if rest <= 1e-6 else float(np.clip(1.0 - gap / rest, 0.0, 1.0))
        if closure <= 0.05:
            continue
        # the eye opening the source had, placed on the target's lower lid
        k = width / (np.linalg.norm(src[contour[8]] - src[contour[0]]) + 1e-9)
        opened = dst[lower] - k * (src[lower] - src[upper])
        poly = np.concatenate([[a], opened, [b], dst[lower][::-1]])
        lo = np.floor(poly.min(0) - 0.3 * width).astype(int).clip(0)
        hi = np.ceil(poly.max(0) + 0.3 * width).astype(int)
        hi = np.minimum(hi, [frame.shape[1], frame.shape[0]])
        if (hi <= lo).any():
            continue
        mask = np.zeros((hi[1] - lo[1], hi[0] - lo[0]), np.float32)
        cv2.fillPoly(mask, [np.round((poly - lo) * 4).astype(np.int32)], 1.0, cv2.LINE_AA, shift=2)
        mask = cv2.GaussianBlur(mask, (0, 0), max(0.8, 0.06 * width))
        skin = state.lid_colors[eye]
        lash = np.zeros_like(mask)
        line = dst[upper] if gap > 0 else (dst[upper] + dst[lower]) / 2
        curve = np.concatenate([[a], line, [b]])
        cv2.polylines(lash, [np.round((curve - lo) * 4).astype(np.int32)], False, 1.0,
                      max(1, round(0.04 * width)), cv2.LINE_AA, shift=2)  # fmt: skip
        lash = cv2.GaussianBlur(lash, (0, 0), max(0.6, 0.02 * width))
        patch = frame[lo[1] : hi[1], lo[0] : hi[0]].astype(np.float32)
        alpha = (closure * mask)[..., None]
        patch = alpha * skin + (1 - alpha) * patch
        dark = (closure * lash)[..., None]
        patch = dark * (0.45 * skin) + (1 - dark) * patch
        frame[lo[1] : hi[1], lo[0] : hi[0]] = np.clip(patch, 0, 255).astype(np.uint8)


def fill_mouth(state: MeshSource, frame: np.ndarray, target: np.ndarray) -> None:
    """Shade the mouth interior where it opens beyond the source's opening.

    Only a mouth that was (nearly) closed in the source needs it: its interior is then lip
    texture stretched thin. An open source mouth (teeth showing) stretches plausibly itself.
    """
    inner = target[list(INNER_LIPS), :2].astype(np.float64)
    extra = polygon_area(inner) - state.source_mouth_area
    closed = np.clip(1.0 - state.source_lip_open / 0.12, 0.0, 1.0)
    strength = closed * np.clip(extra / (0.01 * state.face_size**2 + 1e-6), 0.0, 1.0)
    if strength <= 0.02:
        return
    xs, ys = inner[:, 0], inner[:, 1]
    bx0, by0 = int(max(xs.min() - 4, 0)), int(max(ys.min() - 4, 0))
    bx1, by1 = int(min(xs.max() + 5, frame.shape[1])), int(min(ys.max() + 5, frame.shape[0]))
    if bx1 <= bx0 or by1 <= by0:
        return
    mask = np.zeros((by1 - by0, bx1 - bx0), np.float32)
    cv2.fillPoly(mask, [np.round(inner - [bx0, by0]).astype(np.int32)], 1.0, lineType=cv2.LINE_AA)
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, 0.004 * state.face_size))
    # darker towards the middle of the opening, lit from above, tinted by the lips
    yy = np.linspace(0, 1, by1 - by0, dtype=np.float32)[:, None]
    upper, lower = inner[5, 1] - by0, inner[15, 1] - by0
    span = max(lower - upper, 1.0)
    depth = np.clip(1 - np.abs((np.arange(by1 - by0)[:, None] - (upper + lower) / 2) / (span / 2 + 1)), 0, 1)
    base = 0.15 * state.mouth_color + np.array([38.0, 12.0, 14.0])  # dark red-brown
    cavity = base[None, None, :] * (1.0 - 0.5 * depth[..., None]) * (0.9 + 0.2 * (1 - yy[..., None]))
    teeth_band = np.clip(1 - (np.arange(by1 - by0)[:, None] - upper) / (0.22 * span + 1), 0, 1)
    cavity = cavity * (1 - 0.6 * teeth_band[..., None]) + 0.6 * teeth_band[..., None] * np.array(
        [205.0, 195, 185]
    )
    alpha = (mask * strength)[..., None]
    patch = frame[by0:by1, bx0:bx1].astype(np.float32)
    frame[by0:by1, bx0:bx1] = np.clip(alpha * cavity + (1 - alpha) * patch, 0, 255).astype(np.uint8)
