"""Eyes the mesh warp cannot show: a lid closing over the eye, an iris turning under the lids.

A warp only moves the source's pixels. The skin of a closed upper lid is folded away in an open
eye and the part of an iris under the lids was never in the picture, so the warp can only smear
the eye's opening, iris and all, where the lid should be. Each eye that closes beyond the source,
or whose iris moves in it, is redrawn in its own frame (``u`` from the outer to the inner corner,
``v`` across towards the cheek, both in eye widths), between the brow and the ring of points on
the cheek:

* above the upper lid, the source's lid band stretched down to the new lid line, its lashes
  moving with the line whole; as the eye shuts, the bare skin of a closed lid (the band's lit
  skin, its tone spread down, its grain repeated) takes over, with a soft crease where the lid
  folds and a lash line where the lids meet;
* below the lower lid, the source's lower band alike, rising from below whatever of the eye
  shows under a lid line set high;
* between the lids, the eyeball: the source's sclera with the iris taken out, and the iris,
  completed where the lids hid it, at the target's iris centre, shaded by a lowered lid.

What can be is sampled once per source (:func:`prepare_lids`); per frame only the pixels of each
eye's box are computed (:func:`paint_lids`). The eye's frame and the patches it is drawn from
are in :mod:`vivify.backends.mesh_eye_model`, the sampling of the source in
:mod:`vivify.backends.mesh_eye_source`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vivify.backends.mesh_eye_model import EYES, EyeFrame, EyePoints, EyeShape, EyeSource, smoothstep
from vivify.backends.mesh_eye_source import sample_eye

_LOWER_MARGIN = 0.04  # the least of the lower lid's margin moved with the lid line, eye widths
_BARE_DESCENT = 0.2  # how far (eye widths) a lid comes down before its skin is bare of lashes
_CREASE = 0.25  # the closed lid's fold: the open lid's line raised by this share of the band
_SHUT_REACH = 0.04  # eye widths above the open lid's line over which a shut lid's skin fades in
_LASH_THICKNESS = 0.035  # the closed lid's lash line mid-lid, eye widths
_FADE = 0.4  # share of each band, from its outer edge, over which the painting fades in
_FULL_CLOSURE = 0.05  # closure (share of the source's lid gap) at which the painting is full
_FULL_SHIFT = 1.0  # iris shift (pixels) at which the painting is full


@dataclass(frozen=True)
class LidSource:
    """What the lid painter needs of the source, computed once (image-left eye first)."""

    eyes: tuple[EyeSource | None, ...]  # None: an eye too small to paint


def prepare_lids(image: np.ndarray, landmarks: np.ndarray, face_size: float) -> LidSource:
    """Sample the source's eyes: lid skin, eyeballs without their irises, the irises.

    Args:
        image: (H, W, 3) uint8 RGB source.
        landmarks: (478, 3) the source's face mesh (image convention).
        face_size: the face's size in pixels (unused: everything scales with each eye's width).
    """
    pts = np.asarray(landmarks, np.float64)[:, :2]
    return LidSource(tuple(sample_eye(image, pts, eye) for eye in EYES))


def paint_lids(lids: LidSource, frame: np.ndarray, target: np.ndarray) -> None:
    """Redraw, in place, each eye of a warped ``frame`` (H, W, 3) uint8 that the target
    landmarks (478, 3) close beyond the source or whose iris they move in the eye.

    An eye neither closed beyond the source nor with its iris moved is left as the warp drew
    it, bit for bit.
    """
    pts = np.asarray(target, np.float64)[:, :2]
    for eye, source in zip(EYES, lids.eyes, strict=True):
        if source is not None:
            _paint_eye(source, eye, frame, pts)


def _paint_eye(src: EyeSource, eye: EyePoints, frame: np.ndarray, pts: np.ndarray) -> None:
    tf = EyeFrame.of(pts, eye)
    shape = EyeShape.of(pts, eye, tf)
    closure = float(np.clip(1.0 - shape.gap / src.shape.gap, 0.0, 1.0)) if src.shape.gap > 1e-3 else 0.0
    iris = tf.to_eye(pts[eye.iris[0]][None])[0]
    shift = float(np.linalg.norm(iris - src.iris_centre)) * tf.width
    strength = min(max(closure / _FULL_CLOSURE, shift / _FULL_SHIFT), 1.0)
    box = _box(pts[list(eye.brow + eye.ring + eye.below)], frame.shape)
    if strength <= 0.0 or tf.width < 4 or box is None:
        return
    x0, y0, x1, y1 = box
    x = (np.arange(x0, x1) - tf.origin[0]) / tf.width
    y = (np.arange(y0, y1) - tf.origin[1]) / tf.width
    u = (x[None, :] * tf.axes[0, 0] + y[:, None] * tf.axes[0, 1]).astype(np.float32)
    v = (x[None, :] * tf.axes[1, 0] + y[:, None] * tf.axes[1, 1]).astype(np.float32)
    colour, alpha = _render(src, shape, tf.width, u, v, iris, closure)
    patch = frame[y0:y1, x0:x1].astype(np.float32)
    alpha = (strength * alpha)[..., None]
    frame[y0:y1, x0:x1] = np.clip(patch + alpha * (colour - patch) + 0.5, 0, 255).astype(np.uint8)


def _box(around: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    lo = np.floor(around.min(0)).astype(int).clip(0)
    hi = np.minimum(np.ceil(around.max(0)).astype(int) + 1, [shape[1], shape[0]])
    return None if (hi <= lo).any() else (int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1]))


def _render(
    src: EyeSource,
    shape: EyeShape,
    width: float,
    u: np.ndarray,
    v: np.ndarray,
    iris: np.ndarray,
    closure: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The eye's colours (H, W, 3) and how much of them to show (H, W) at eye coordinates u, v (H, W)."""
    c = _columns(src, shape, width, u, closure)
    upper_t, lower_t, brow_t, below_t, upper_s, lower_s, brow_s, below_s, lashes, hidden = c[:10]
    bare, crease, taper, fade_u = c[10:]
    # the lid bands: the lashes move with the lid line, the skin beyond them stretches
    skin_up = _skin(src, u, upper_s - _band(upper_t - v, upper_t - brow_t, upper_s - brow_s, lashes))
    down = _band(v - lower_t, below_t - lower_t, below_s - lower_s - hidden, _LOWER_MARGIN)
    skin_down = _skin(src, u, lower_s + hidden + down)
    if closure > 0.25:  # the lashes give way to the bare lid where the lid has come down
        lid = src.bare_lid.at(u, (v - brow_t) / np.maximum(upper_t - brow_t, 1e-3))
        skin_up += bare[..., None] * (lid - skin_up)
        # a shut lid is a lit surface over the whole opening the eye had: up to the open lid's
        # line its skin is the bare lid's lower part, not the shadowed fold stretched down
        cover = smoothstep((closure - 0.25) / 0.35) * smoothstep((v - upper_s + _SHUT_REACH) / _SHUT_REACH)
        skin_up += cover[..., None] * (src.bare_lid.at(u, np.full_like(v, 0.85)) - skin_up)
    # the eyeball stays in the eye, the iris sits at the target's centre, a lowered lid shades both
    ball = src.eyeball.at(u, v)
    disc = src.iris.at(u - iris[0], v - iris[1])
    ball += disc[..., 3:] * (disc[..., :3] - ball)
    below_lid = v - upper_t
    if closure > 0:
        ball *= (1.0 - closure * 0.35 * np.exp(-np.maximum(below_lid, 0) / 0.06))[..., None]
    # lid, eyeball, lid down the eye, each lid line antialiased over a pixel
    w_up = np.clip(0.5 - below_lid * width, 0.0, 1.0)
    w_down = np.clip((v - lower_t) * width + 0.5, 0.0, 1.0)
    total = np.maximum(w_up + w_down, 1.0)
    w_up, w_down = (w_up / total)[..., None], (w_down / total)[..., None]
    colour = w_up * skin_up + w_down * skin_down + (1 - w_up - w_down) * ball
    if closure > 0:
        colour = _crease(colour, v - (upper_s - _CREASE * (upper_s - brow_s)), crease)
        colour = _lash_line(colour, src.lash, below_lid, taper, closure, width)
    # fully painted from above where the open lid's line was (a lowered brow shortens the band)
    span_up = np.minimum(_FADE * (upper_t - brow_t), 0.7 * (upper_s - brow_t))
    fade_up = np.clip((v - brow_t) / np.maximum(span_up, 1e-6), 0.0, 1.0)
    fade_down = np.clip((below_t - v) / np.maximum(_FADE * (below_t - lower_t), 1e-6), 0.0, 1.0)
    return colour, smoothstep(fade_up * fade_down * fade_u)


def _columns(src: EyeSource, shape: EyeShape, width: float, u: np.ndarray, closure: float) -> np.ndarray:
    """(14, H, W) float32: what depends on ``u`` (H, W) alone, worked out on a grid of half
    pixels along the eye and looked up for each pixel: the target's and the source's lines
    (upper lid, lower lid, brow, lower ring), the lashes' reach, what of the eye shows under the
    lower lid, the bare lid's share, the crease's and the lashes' strength, the side fade."""
    lo, step = float(u.min()), 0.5 / width
    g = lo + step * np.arange(int((float(u.max()) - lo) / step) + 2)
    upper_t, lower_t, brow_t, _, below_t = shape.at(g)
    meet = (upper_t + lower_t) / 2  # lids pressed past each other meet half way
    upper_t, lower_t = (
        np.minimum(upper_t, np.maximum(meet, lower_t)),
        np.maximum(lower_t, np.minimum(meet, upper_t)),
    )
    upper_s, lower_s, brow_s, _, below_s = src.shape.at(g)
    lashes = np.interp(g, src.lashes[0], src.lashes[1])
    # a shutting eye's lower lid rises from below what of the eye shows under its lid line
    hidden = np.interp(g, src.hidden[0], src.hidden[1]) * smoothstep(closure / 0.5)
    inside = np.clip(g, 0, 1)
    bare = smoothstep((closure - 0.25) / 0.5) * smoothstep((upper_t - upper_s) / _BARE_DESCENT)
    bare *= smoothstep(np.minimum(inside, 1 - inside) / 0.3 + 0.15)
    crease = np.clip((upper_t - upper_s) / 0.05, 0, 1) * np.sin(np.pi * inside) ** 2 * closure
    taper = np.sqrt(np.maximum(np.sin(np.pi * inside), 0))
    fade_u = np.clip((g + 0.12) / 0.14, 0, 1) * np.clip((1.12 - g) / 0.14, 0, 1)
    table = np.stack([upper_t, lower_t, brow_t, below_t, upper_s, lower_s, brow_s, below_s, lashes, hidden,
                      bare, crease, taper, fade_u]).astype(np.float32)  # fmt: skip
    return table[:, np.clip(((u - lo) / step + 0.5).astype(np.intp), 0, len(g) - 1)]


def _band(
    depth: np.ndarray, height_t: np.ndarray, height_s: np.ndarray, margin: np.ndarray | float
) -> np.ndarray:
    """Depth into the source's lid band (from its lid line) of a target pixel ``depth`` into its
    band: the margin keeps its thickness, the rest of the band stretches to fit."""
    stretch = np.maximum(height_s - margin, 1e-3) / np.maximum(height_t - margin, 1e-3)
    return np.where(depth < margin, depth, margin + (depth - margin) * stretch)


def _skin(src: EyeSource, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The source around the eye at eye coordinates ``u``, ``v`` (H, W), (H, W, 3) float32."""
    x, y = src.frame.to_image(u, v)
    return src.skin.at(x, y)


def _crease(colour: np.ndarray, above: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """A soft dark fold ``above`` (H, W) eye widths below its line (the open lid's line, raised a
    little), as ``strength`` (H, W) says: once the lid line has passed it, fading out before the
    corners as a real lid's fold does."""
    return colour * (1.0 - 0.1 * strength * np.exp(-np.square(above / 0.045)))[..., None]


def _lash_line(
    colour: np.ndarray, lash: np.ndarray, below: np.ndarray, taper: np.ndarray, closure: float, width: float
) -> np.ndarray:
    """The lashes of a closing lid: a dark line along the lid line (``below`` it, eye widths),
    hanging a little below it, thickest mid-lid and tapering (``taper``) to the corners."""
    thickness = np.maximum(_LASH_THICKNESS * taper, 0.6 / width)
    amount = min(closure / 0.6, 1.0) * 0.9 * taper * np.exp(-np.square(below / thickness - 0.35))
    return colour + amount[..., None] * (lash - colour)
