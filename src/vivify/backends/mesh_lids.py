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
eye's box are computed (:func:`paint_lids`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_LASH_MARGIN = 0.06  # the least of the upper lid's margin (lashes) moved with the lid line, eye widths
_LOWER_MARGIN = 0.04  # the lower lid's
_UPPER_SHARE = 0.75  # of the lid gap a shutting upper lid covers (the lower lid the rest)
# the lid band's skin, clear of brow and lashes: shares of the way from the ring under the brow
# down to the lid line (the project's closed-eye check samples the same span)
_SKIN = (0.25, 0.75)
_BARE_DESCENT = 0.2  # how far (eye widths) a lid comes down before its skin is bare of lashes
_CREASE = 0.25  # the closed lid's fold: the open lid's line raised by this share of the band
_SHUT_REACH = 0.04  # eye widths above the open lid's line over which a shut lid's skin fades in
_LASH_THICKNESS = 0.035  # the closed lid's lash line mid-lid, eye widths
_FADE = 0.4  # share of each band, from its outer edge, over which the painting fades in
_FULL_CLOSURE = 0.05  # closure (share of the source's lid gap) at which the painting is full
_FULL_SHIFT = 1.0  # iris shift (pixels) at which the painting is full
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass(frozen=True)
class _EyePoints:
    """Landmark indices of one eye; every line runs from the outer side to the inner one."""

    outer: int
    inner: int
    upper: tuple[int, ...]  # upper lid, between the corners
    lower: tuple[int, ...]
    ring: tuple[int, ...]  # the ring under the brow, with its own corners
    below: tuple[int, ...]  # the ring on the cheek
    brow: tuple[int, ...]  # the brow's lower edge
    iris: tuple[int, ...]  # centre, then the rim


_EYES = (  # image-left eye (the subject's right) first
    _EyePoints(33, 133, (246, 161, 160, 159, 158, 157, 173), (7, 163, 144, 145, 153, 154, 155),
               (226, 113, 225, 224, 223, 222, 221, 189, 244), (226, 31, 228, 229, 230, 231, 232, 233, 244),
               (46, 53, 52, 65, 55), (468, 469, 470, 471, 472)),
    _EyePoints(263, 362, (466, 388, 387, 386, 385, 384, 398), (249, 390, 373, 374, 380, 381, 382),
               (446, 342, 445, 444, 443, 442, 441, 413, 464), (446, 261, 448, 449, 450, 451, 452, 453, 464),
               (276, 283, 282, 295, 285), (473, 474, 475, 476, 477)),
)  # fmt: skip


@dataclass(frozen=True)
class _Frame:
    """An eye's frame: origin at the outer corner, ``u`` towards the inner one, ``v`` across
    towards the cheek, both in units of the corner-to-corner ``width`` (pixels)."""

    origin: np.ndarray  # (2,)
    axes: np.ndarray  # (2, 2): unit u and v directions in the image, as rows
    width: float

    @classmethod
    def of(cls, pts: np.ndarray, eye: _EyePoints) -> _Frame:
        a, b = pts[eye.outer], pts[eye.inner]
        width = float(np.linalg.norm(b - a)) + 1e-9
        axis = (b - a) / width
        normal = np.array([-axis[1], axis[0]])
        if (pts[list(eye.below)].mean(0) - pts[list(eye.ring)].mean(0)) @ normal < 0:
            normal = -normal
        return cls(a, np.stack([axis, normal]), width)

    def to_eye(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) image points -> (N, 2) eye coordinates."""
        return (xy - self.origin) @ self.axes.T / self.width

    def to_image(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Eye coordinates (any shape) -> image x, y (float32, same shape)."""
        (ux, uy), (vx, vy) = self.width * self.axes
        x = self.origin[0] + u * ux + v * vx
        y = self.origin[1] + u * uy + v * vy
        return x.astype(np.float32), y.astype(np.float32)


@dataclass(frozen=True)
class _Shape:
    """An eye's lines in its own frame, as (K, 2) polylines sorted by ``u``."""

    upper: np.ndarray  # upper lid, corners included
    lower: np.ndarray
    brow: np.ndarray
    ring: np.ndarray
    below: np.ndarray
    gap: float  # mean lid gap, eye widths

    @classmethod
    def of(cls, pts: np.ndarray, eye: _EyePoints, frame: _Frame) -> _Shape:
        def line(ids: tuple[int, ...]) -> np.ndarray:
            uv = frame.to_eye(pts[list(ids)])
            return uv[np.argsort(uv[:, 0], kind="stable")]

        ends = (eye.outer,), (eye.inner,)
        gap = frame.to_eye(pts[list(eye.lower)])[:, 1] - frame.to_eye(pts[list(eye.upper)])[:, 1]
        return cls(line(ends[0] + eye.upper + ends[1]), line(ends[0] + eye.lower + ends[1]), line(eye.brow),
                   line(eye.ring), line(eye.below), float(gap.mean()))  # fmt: skip

    def at(self, u: np.ndarray) -> np.ndarray:
        """(5, N) heights ``v`` of the upper lid, lower lid, brow, upper ring, lower ring at ``u`` (N,)."""
        lines = (self.upper, self.lower, self.brow, self.ring, self.below)
        return np.stack([np.interp(u, c[:, 0], c[:, 1]) for c in lines])


@dataclass(frozen=True)
class _Patch:
    """Pixels sampled along an eye's frame: ``(u, v)`` lies at pixel ``((u - u0) * su, (v - v0) * sv)``."""

    pixels: np.ndarray  # (H, W, C) float32
    u0: float
    v0: float
    su: float
    sv: float

    def at(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """The patch at ``u``, ``v`` (H, W) as (H, W, C) float32, its edge beyond it."""
        x = ((u - self.u0) * self.su).astype(np.float32)
        y = ((v - self.v0) * self.sv).astype(np.float32)
        out = cv2.remap(self.pixels, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return out if out.ndim == 3 else out[..., None]


@dataclass(frozen=True)
class _EyeSource:
    """What the painter keeps of one source eye."""

    frame: _Frame
    shape: _Shape
    skin: _Patch  # the source around the eye, in image pixels (u, v: x, y)
    bare_lid: _Patch  # the closed lid, u across, the share of the way from the brow down (see _bare_lid)
    lashes: np.ndarray  # (2, U): u, and how far the lashes reach above the lid line there
    hidden: np.ndarray  # (2, U): u, and how far below the lower lid line the eye still shows
    eyeball: _Patch  # the eye's opening with the iris taken out, extended beyond the lids
    iris: _Patch  # RGBA: the whole iris disc, centred on (0, 0)
    iris_centre: np.ndarray  # (2,) in eye coordinates
    lash: np.ndarray  # (3,) float32 colour of the lash line


@dataclass(frozen=True)
class LidSource:
    """What the lid painter needs of the source, computed once (image-left eye first)."""

    eyes: tuple[_EyeSource | None, ...]  # None: an eye too small to paint


def prepare_lids(image: np.ndarray, landmarks: np.ndarray, face_size: float) -> LidSource:
    """Sample the source's eyes: lid skin, eyeballs without their irises, the irises.

    Args:
        image: (H, W, 3) uint8 RGB source.
        landmarks: (478, 3) the source's face mesh (image convention).
        face_size: the face's size in pixels (unused: everything scales with each eye's width).
    """
    pts = np.asarray(landmarks, np.float64)[:, :2]
    return LidSource(tuple(_prepare_eye(image, pts, eye) for eye in _EYES))


def _prepare_eye(image: np.ndarray, pts: np.ndarray, eye: _EyePoints) -> _EyeSource | None:
    frame = _Frame.of(pts, eye)
    if frame.width < 4:
        return None
    shape = _Shape.of(pts, eye, frame)
    around = pts[list(eye.brow + eye.ring + eye.below)]
    lo = np.floor(around.min(0) - 0.1 * frame.width - 2).astype(int).clip(0)
    hi = np.ceil(around.max(0) + 0.1 * frame.width + 2).astype(int)
    skin = _Patch(
        image[lo[1] : hi[1], lo[0] : hi[0]].astype(np.float32), float(lo[0]), float(lo[1]), 1.0, 1.0
    )
    centre = frame.to_eye(pts[eye.iris[0]][None])[0]
    radius = float(np.linalg.norm(pts[list(eye.iris[1:])] - pts[eye.iris[0]], axis=1).mean()) / frame.width
    bare_lid, lashes = _bare_lid(image, frame, shape)
    return _EyeSource(
        frame=frame,
        shape=shape,
        skin=skin,
        bare_lid=bare_lid,
        lashes=lashes,
        hidden=_hidden_below(image, frame, shape, _eye_colours(image, frame, shape, centre, radius)),
        eyeball=_eyeball(image, frame, shape, centre, radius),
        iris=_iris(image, frame, shape, centre, radius),
        iris_centre=centre,
        lash=_lash_colour(image, frame, shape),
    )


def _eye_colours(
    image: np.ndarray, frame: _Frame, shape: _Shape, centre: np.ndarray, radius: float
) -> np.ndarray:
    """(K, 3) the median colours of the eye's sclera and iris as the source shows them (K < 2
    where it shows none)."""
    n = max(int(frame.width), 8)
    u, v = _grid(0.0, -0.5, (n, n), float(n))
    pixels = _sample(image, frame, u, v)
    seen = _opening(shape, u, v, 1.5 / frame.width)
    iris = np.hypot(u - centre[0], v - centre[1]) < radius
    parts = [pixels[seen & ~iris], pixels[seen & iris]]
    return np.array([np.median(p, axis=0) for p in parts if len(p) >= 4], np.float32).reshape(-1, 3)


def _hidden_below(image: np.ndarray, frame: _Frame, shape: _Shape, colours: np.ndarray) -> np.ndarray:
    """(2, U): ``u``, and how far (eye widths) the eye itself still shows below the lower lid line
    there (a lid line set high, as on a painted or drawn eye): a shutting eye's lower lid rises
    from below it, so that no sclera or iris is left under the lashes."""
    u = np.linspace(-0.15, 1.15, max(int(1.3 * frame.width), 8))
    lower, below = (np.interp(u, c[:, 0], c[:, 1]) for c in (shape.lower, shape.below))
    height = np.maximum(below - lower, 1e-3)
    rows = max(int(np.ceil(float(height.max()) * frame.width)), 4)
    t = np.linspace(0.0, 1.0, rows)[:, None]
    band = _sample(image, frame, np.broadcast_to(u, (rows, len(u))), lower + t * height)
    if not len(colours):
        return np.stack([u, np.zeros_like(u)])
    skin = np.median(band[rows // 2 :].reshape(-1, 3), axis=0)
    to_eye = np.min([np.linalg.norm(band - c, axis=-1) for c in colours], axis=0)
    eyeish = (to_eye < 0.6 * np.linalg.norm(band - skin, axis=-1)) & (t < 0.5)
    reach = np.cumprod(eyeish, axis=0).sum(axis=0) / (rows - 1) * height  # from the lid line down
    reach = cv2.GaussianBlur(reach[None].astype(np.float32), (0, 0), max(0.03 * frame.width, 1.0))[0]
    return np.stack([u, reach])


def _sample(image: np.ndarray, frame: _Frame, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The image at eye coordinates ``u``, ``v`` (H, W) as (H, W, 3) float32."""
    x, y = frame.to_image(u, v)
    return cv2.remap(image, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)


def _grid(u0: float, v0: float, size: tuple[int, int], scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Eye coordinates (H, W) of a patch's pixels, ``scale`` pixels per eye width."""
    u, v = u0 + np.arange(size[1]) / scale, v0 + np.arange(size[0]) / scale
    return np.broadcast_to(u[None, :], size), np.broadcast_to(v[:, None], size)


def _lids(shape: _Shape, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.interp(u, shape.upper[:, 0], shape.upper[:, 1]), np.interp(
        u, shape.lower[:, 0], shape.lower[:, 1]
    )


def _opening(shape: _Shape, u: np.ndarray, v: np.ndarray, inset: float) -> np.ndarray:
    """Which eye coordinates lie between the lids, ``inset`` eye widths from them."""
    upper, lower = _lids(shape, u)
    return (v > upper + inset) & (v < lower - inset) & (u > 0) & (u < 1)


def _bare_lid(image: np.ndarray, frame: _Frame, shape: _Shape) -> tuple[_Patch, np.ndarray]:
    """The skin of the closed upper lid, from the brow down to where a shut eye's lids meet.

    The open lid's band holds, near its lid line, the lashes, the fold, the lid's shadow and at
    times the top of the iris under a lid line set a little low: stretched over a closed eye
    they draw long dark streaks. So the closed lid is made of the band's lit skin: its shading
    (a blur of the pixels not much darker than the skin of their column, :data:`_SKIN`)
    stretched down to the lid line, its grain (what the blur takes away) repeated at its own
    scale, mirrored back and forth, so that it is neither streaked nor smoothed away. Above the
    lit skin the band is kept as it is, for the brow.

    Returns:
        The lid over ``u`` (columns, a pixel each) and the share of the way from the brow to the
        closed lid line (rows); and (2, U) the lashes' reach above the open lid line along ``u``
        (eye widths), which a closing lid carries down whole rather than stretched.
    """
    u0, nu = -0.15, int(np.ceil(1.3 * frame.width)) + 1
    u = u0 + np.arange(nu) / frame.width
    lines = (shape.brow, shape.ring, shape.upper, shape.lower)
    brow, ring, upper, lower = (np.interp(u, c[:, 0], c[:, 1]).astype(np.float32) for c in lines)
    height = np.maximum(upper - brow, 1e-3)  # the open band, eye widths
    rows = max(int(np.ceil(float(height.max()) * frame.width)) + 1, 4)
    band = _sample(
        image, frame, np.broadcast_to(u, (rows, nu)), brow + np.linspace(0, 1, rows)[:, None] * height
    )
    # the lit skin: (rows, nu) depth below the brow of the band's pixels, those of the skin span
    ring_depth = np.clip(ring - brow, 0, height)
    top, bottom = (ring_depth + share * np.maximum(upper - brow - ring_depth, 0) for share in _SKIN)
    depth = np.linspace(0, 1, rows, dtype=np.float32)[:, None] * height
    luma = band @ _LUMA
    skin = (depth >= top) & (depth <= bottom)
    if not skin.any():
        skin = np.ones_like(skin)
    # the skin's level along the eye, never far below the whole span's: a lid line set low puts
    # the top of the iris and the lashes in the span's middle columns
    middle = float(np.median(luma[skin]))
    level = _column_median(luma, skin, middle)
    level = cv2.GaussianBlur(level[None].astype(np.float32), (0, 0), max(0.1 * frame.width, 1.0))[0]
    level = np.maximum(level, 0.9 * middle)
    # the skin without what is much darker than it (lashes, the fold), filled from around
    lit = (luma >= 0.8 * level).astype(np.float32)
    lashes = _lash_reach(lit < 1, depth, top, height, upper - ring, frame.width)
    bright = band * lit[..., None] + _fill(band, lit, max(0.05 * frame.width, 1.5)) * (1 - lit[..., None])
    tone = _skin_tone(bright, skin, middle, frame.width)
    closed = height + _UPPER_SHARE * np.maximum(lower - upper, 0.0)
    nt = max(int(np.ceil(float(closed.max()) * frame.width)) + 1, 4)
    at = np.linspace(0.0, 1.0, nt, dtype=np.float32)[:, None] * closed
    lid = _closed_lid(band, bright, tone, at, height, top, bottom, ring_depth, frame.width)
    return _Patch(lid, u0, 0.0, frame.width, nt - 1.0), np.stack([u, lashes])


def _skin_tone(bright: np.ndarray, skin: np.ndarray, middle: float, width: float) -> np.ndarray:
    """(U, 3) a closed lid's tone along the eye: a little brighter than the middle of the skin's
    span (a closed lid bulges into the light), following each column's brightness within reason."""
    colour = np.percentile(bright[skin], 60, axis=0)
    columns = _column_median(bright @ _LUMA, skin, middle)
    ratio = np.clip(columns / max(float(colour @ _LUMA), 1e-3), 0.85, 1.15)
    tone = (ratio[:, None] * colour)[None].astype(np.float32)
    return cv2.GaussianBlur(tone, (0, 0), max(0.05 * width, 1.0))[0]


def _closed_lid(
    band: np.ndarray, bright: np.ndarray, tone: np.ndarray, at: np.ndarray, height: np.ndarray,
    top: np.ndarray, bottom: np.ndarray, ring: np.ndarray, width: float,
) -> np.ndarray:  # fmt: skip
    """(T, U, 3) the closed lid's rows, at depths ``at`` (T, U) below the brow: the open band
    (``band``, rows from the brow down the (U,) ``height`` to the lid line) as it is down to its
    skin's span (``top`` to ``bottom``, below the ``ring``), then the skin's ``tone``, a little
    round, with the grain of the lashless band (``bright``) repeated, mirrored back and forth
    within the span. Depths in eye widths."""
    rows, nu = band.shape[:2]
    shading = cv2.GaussianBlur(bright, (0, 0), max(0.04 * width, 1.5), borderType=cv2.BORDER_REFLECT)
    grain = bright - cv2.GaussianBlur(bright, (0, 0), max(0.012 * width, 1.0), borderType=cv2.BORDER_REFLECT)
    span = np.maximum(bottom - top, 1e-3)
    phase = np.mod(at - top, 2 * span)
    mirrored = np.where(at < top, at, top + np.where(phase < span, phase, 2 * span - phase))
    x = np.broadcast_to(np.arange(nu, dtype=np.float32), at.shape)
    scale = (rows - 1) / height

    def read(pixels: np.ndarray, where: np.ndarray) -> np.ndarray:
        return cv2.remap(pixels, x, (where * scale).astype(np.float32), cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)  # fmt: skip

    closed = at[-1]
    down = np.clip((at - top) / np.maximum(closed - top, 1e-3), 0, 1)
    into = _smoothstep(down / 0.3)[..., None]
    round_ = (0.96 + 0.04 * np.sin(np.pi * down))[..., None]  # lit mid-lid, shaded at the fold and lashes
    base = read(shading, np.minimum(at, top)) * (1 - into) + tone[None] * into * round_
    kept = _smoothstep((top - at) / np.maximum(0.5 * (top - ring), 0.06))[..., None]
    return read(band, at) * kept + (base + 0.7 * read(grain, mirrored)) * (1 - kept)


def _column_median(values: np.ndarray, mask: np.ndarray, empty: float) -> np.ndarray:
    """(W,) the median of each column of ``values`` (H, W) where ``mask``, ``empty`` where none is."""
    picked = np.where(mask, values, np.nan)
    picked[:, ~mask.any(axis=0)] = empty
    return np.nanmedian(picked, axis=0)


def _lash_reach(
    dark: np.ndarray, depth: np.ndarray, top: np.ndarray, height: np.ndarray, band: np.ndarray, width: float
) -> np.ndarray:
    """How far (eye widths) the dark lashes reach above the lid line in each column of a band
    (rows from the brow down to the lid line), from :data:`_LASH_MARGIN` to half the band."""
    reach = np.where(dark & (depth >= top), height - depth, 0.0).max(axis=0)
    k = max(int(0.06 * width) | 1, 3)  # a column without a lash between lashes still holds them
    reach = cv2.dilate(reach[None].astype(np.float32), np.ones((1, k), np.uint8))[0]
    reach = cv2.GaussianBlur(reach[None], (0, 0), max(0.03 * width, 1.0))[0]
    return np.clip(reach, _LASH_MARGIN, np.maximum(0.5 * band, _LASH_MARGIN))


def _fill(pixels: np.ndarray, known: np.ndarray, sigma: float) -> np.ndarray:
    """(H, W, 3) ``pixels`` averaged over the ``known`` (H, W) ones near each, by a Gaussian
    ``sigma`` wide (wider where none is near)."""
    out = np.zeros_like(pixels)
    total = np.zeros(known.shape + (1,), np.float32)
    for s in (sigma, 4 * sigma):
        weight = cv2.GaussianBlur(known, (0, 0), s, borderType=cv2.BORDER_REFLECT)[..., None]
        blurred = cv2.GaussianBlur(pixels * known[..., None], (0, 0), s, borderType=cv2.BORDER_REFLECT)
        share = 1e-3 if s > sigma else 1.0  # the wide one only where the near one has nothing
        out += share * blurred
        total += share * weight
    return out / np.maximum(total, 1e-9) if known.any() else pixels


def _eyeball(image: np.ndarray, frame: _Frame, shape: _Shape, centre: np.ndarray, radius: float) -> _Patch:
    """The source's eye opening with the iris taken out, extended beyond the lids.

    The source's own pixels where it shows the sclera; behind the iris and beyond the lids, a
    model of the sclera's shading (:func:`_sclera`).
    """
    scale = frame.width
    u0, v0 = -0.1, float(shape.upper[:, 1].min()) - 0.2
    size = (
        int(np.ceil((float(shape.lower[:, 1].max()) + 0.2 - v0) * scale)) + 1,
        int(np.ceil(1.2 * scale)) + 1,
    )
    u, v = _grid(u0, v0, size, scale)
    pixels = _sample(image, frame, u, v)
    iris = np.hypot(u - centre[0], v - centre[1]) < radius + 1.0 / scale
    seen = _opening(shape, u, v, 0.0) & ~iris
    clean = _opening(shape, u, v, 1.5 / scale) & ~iris  # clear of the lid margins: sclera
    if clean.sum() < 8:  # a closed source eye: nothing of its eyeball to see
        return _Patch(pixels, u0, v0, scale, scale)
    upper, lower = _lids(shape, u)
    depth = (v - upper) / np.maximum(lower - upper, 1e-3)  # 0 at the upper lid, 1 at the lower
    model = _sclera(pixels[clean], u[clean], depth[clean], u, depth)
    keep = cv2.GaussianBlur(seen.astype(np.float32), (0, 0), 1.0) * seen  # into the model over a pixel or two
    return _Patch(model + keep[..., None] * (pixels - model), u0, v0, scale, scale)


def _sclera(
    colours: np.ndarray, u: np.ndarray, depth: np.ndarray, at_u: np.ndarray, at_depth: np.ndarray
) -> np.ndarray:
    """The sclera's colour (H, W, 3) at ``at_u``, ``at_depth`` (H, W) from the (N, 3) ``colours``
    seen at (N,) ``u`` and ``depth`` (0 at the upper lid, 1 at the lower).

    Medians over a coarse grid (the corners are shaded, the upper lid shades the top), that
    outvote the iris's rim, specks and the caruncle; cells with nothing seen (behind the iris)
    take the brighter of their neighbours along the eye (sclera rather than a corner's caruncle),
    then rows with nothing seen the nearest row's.
    """
    nu, nd = 6, 4
    cell = np.clip((depth * nd).astype(int), 0, nd - 1) * nu + np.clip((u * nu).astype(int), 0, nu - 1)
    grid = np.full((nd * nu, 3), np.nan, np.float32)
    for k in np.unique(cell):
        if (cell == k).sum() >= 3:
            grid[k] = np.median(colours[cell == k], axis=0)
    grid = grid.reshape(nd, nu, 3)
    for row in grid:
        ok = np.flatnonzero(~np.isnan(row[:, 0]))
        for j in np.flatnonzero(np.isnan(row[:, 0])) if len(ok) else ():
            sides = [ok[ok < j][-1:], ok[ok > j][:1]]
            row[j] = max((row[k[0]] for k in sides if len(k)), key=lambda c: float(c @ _LUMA))
    rows = np.flatnonzero(~np.isnan(grid[:, 0, 0]))
    if not len(rows):
        return np.broadcast_to(np.median(colours, axis=0), (*at_u.shape, 3)).astype(np.float32)
    grid = grid[rows[np.abs(rows[None, :] - np.arange(nd)[:, None]).argmin(1)]]  # across it
    return _Patch(grid, -0.5 / nu, -0.5 / nd, nu, nd).at(at_u, at_depth)


def _iris(image: np.ndarray, frame: _Frame, shape: _Shape, centre: np.ndarray, radius: float) -> _Patch:
    """The iris as an RGBA disc centred on (0, 0): its visible part as in the source, the part
    under the lids mirrored from the other side of its centre (irises are about symmetric), the
    rest inpainted."""
    scale, half = frame.width, radius + 2.0 / frame.width
    n = int(np.ceil(2 * half * scale)) + 1
    u, v = _grid(centre[0] - half, centre[1] - half, (n, n), scale)
    pixels = _sample(image, frame, u, v)
    r = np.hypot(u - centre[0], v - centre[1])
    disc = r <= radius + 0.5 / scale
    seen = _opening(shape, u, v, 1.0 / scale) & disc
    mirror = seen[::-1] & disc & ~seen  # rows mirrored about the centre row
    rgb = np.where(mirror[..., None], pixels[::-1], pixels)
    known = seen | mirror
    if known.sum() >= 8 and not known[disc].all():
        filled = cv2.inpaint(
            np.clip(rgb, 0, 255).astype(np.uint8), (~known).astype(np.uint8), 2, cv2.INPAINT_TELEA
        )
        rgb = np.where(known[..., None], rgb, filled.astype(np.float32))
    alpha = np.clip((radius - r) * scale + 0.5, 0.0, 1.0) if known.any() else np.zeros_like(r)
    return _Patch(np.dstack([rgb, alpha]).astype(np.float32), -half, -half, scale, scale)


def _lash_colour(image: np.ndarray, frame: _Frame, shape: _Shape) -> np.ndarray:
    """The lash line's colour (3,): the upper lid margin's darkest tenth, darker and greyer (it
    may hold iris)."""
    u = np.linspace(0.1, 0.9, 24)
    v = _lids(shape, u)[0][None, :] - np.linspace(0.0, _LASH_MARGIN, 6)[:, None]
    pixels = _sample(image, frame, np.broadcast_to(u, v.shape), v).reshape(-1, 3)
    luma = pixels @ _LUMA
    dark = pixels[luma <= np.percentile(luma, 10)].mean(0)
    return (0.75 * (0.5 * dark + 0.5 * dark.mean())).astype(np.float32)


def paint_lids(lids: LidSource, frame: np.ndarray, target: np.ndarray) -> None:
    """Redraw, in place, each eye of a warped ``frame`` (H, W, 3) uint8 that the target
    landmarks (478, 3) close beyond the source or whose iris they move in the eye.

    An eye neither closed beyond the source nor with its iris moved is left as the warp drew
    it, bit for bit.
    """
    pts = np.asarray(target, np.float64)[:, :2]
    for eye, source in zip(_EYES, lids.eyes, strict=True):
        if source is not None:
            _paint_eye(source, eye, frame, pts)


def _paint_eye(src: _EyeSource, eye: _EyePoints, frame: np.ndarray, pts: np.ndarray) -> None:
    tf = _Frame.of(pts, eye)
    shape = _Shape.of(pts, eye, tf)
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
    src: _EyeSource,
    shape: _Shape,
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
        cover = _smoothstep((closure - 0.25) / 0.35) * _smoothstep((v - upper_s + _SHUT_REACH) / _SHUT_REACH)
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
    return colour, _smoothstep(fade_up * fade_down * fade_u)


def _columns(src: _EyeSource, shape: _Shape, width: float, u: np.ndarray, closure: float) -> np.ndarray:
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
    hidden = np.interp(g, src.hidden[0], src.hidden[1]) * _smoothstep(closure / 0.5)
    inside = np.clip(g, 0, 1)
    bare = _smoothstep((closure - 0.25) / 0.5) * _smoothstep((upper_t - upper_s) / _BARE_DESCENT)
    bare *= _smoothstep(np.minimum(inside, 1 - inside) / 0.3 + 0.15)
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


def _skin(src: _EyeSource, u: np.ndarray, v: np.ndarray) -> np.ndarray:
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


def _smoothstep(x: np.ndarray | float) -> np.ndarray | float:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)
