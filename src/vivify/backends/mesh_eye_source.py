"""A source eye sampled once for the lid painter (:mod:`vivify.backends.mesh_lids`): the bare
skin of its closed lid and the lashes' reach, what of the eye shows under the lower lid, the
eyeball without its iris, the whole iris, the lash line's colour."""

from __future__ import annotations

import cv2
import numpy as np

from vivify.backends.mesh_eye_model import (
    LUMA,
    EyeFrame,
    EyePoints,
    EyeShape,
    EyeSource,
    Patch,
    grid,
    lid_lines,
    opening,
    sample,
    smoothstep,
)

_LASH_MARGIN = 0.06  # the least of the upper lid's margin (lashes) moved with the lid line, eye widths
_UPPER_SHARE = 0.75  # of the lid gap a shutting upper lid covers (the lower lid the rest)
# the lid band's skin, clear of brow and lashes: shares of the way from the ring under the brow
# down to the lid line (the project's closed-eye check samples the same span)
_SKIN = (0.25, 0.75)


def sample_eye(image: np.ndarray, pts: np.ndarray, eye: EyePoints) -> EyeSource | None:
    frame = EyeFrame.of(pts, eye)
    if frame.width < 4:
        return None
    shape = EyeShape.of(pts, eye, frame)
    around = pts[list(eye.brow + eye.ring + eye.below)]
    lo = np.floor(around.min(0) - 0.1 * frame.width - 2).astype(int).clip(0)
    hi = np.ceil(around.max(0) + 0.1 * frame.width + 2).astype(int)
    skin = Patch(image[lo[1] : hi[1], lo[0] : hi[0]].astype(np.float32), float(lo[0]), float(lo[1]), 1.0, 1.0)
    centre = frame.to_eye(pts[eye.iris[0]][None])[0]
    radius = float(np.linalg.norm(pts[list(eye.iris[1:])] - pts[eye.iris[0]], axis=1).mean()) / frame.width
    bare_lid, lashes = _bare_lid(image, frame, shape)
    return EyeSource(
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
    image: np.ndarray, frame: EyeFrame, shape: EyeShape, centre: np.ndarray, radius: float
) -> np.ndarray:
    """(K, 3) the median colours of the eye's sclera and iris as the source shows them (K < 2
    where it shows none)."""
    n = max(int(frame.width), 8)
    u, v = grid(0.0, -0.5, (n, n), float(n))
    pixels = sample(image, frame, u, v)
    seen = opening(shape, u, v, 1.5 / frame.width)
    iris = np.hypot(u - centre[0], v - centre[1]) < radius
    parts = [pixels[seen & ~iris], pixels[seen & iris]]
    return np.array([np.median(p, axis=0) for p in parts if len(p) >= 4], np.float32).reshape(-1, 3)


def _hidden_below(image: np.ndarray, frame: EyeFrame, shape: EyeShape, colours: np.ndarray) -> np.ndarray:
    """(2, U): ``u``, and how far (eye widths) the eye itself still shows below the lower lid line
    there (a lid line set high, as on a painted or drawn eye): a shutting eye's lower lid rises
    from below it, so that no sclera or iris is left under the lashes."""
    u = np.linspace(-0.15, 1.15, max(int(1.3 * frame.width), 8))
    lower, below = (np.interp(u, c[:, 0], c[:, 1]) for c in (shape.lower, shape.below))
    height = np.maximum(below - lower, 1e-3)
    rows = max(int(np.ceil(float(height.max()) * frame.width)), 4)
    t = np.linspace(0.0, 1.0, rows)[:, None]
    band = sample(image, frame, np.broadcast_to(u, (rows, len(u))), lower + t * height)
    if not len(colours):
        return np.stack([u, np.zeros_like(u)])
    skin = np.median(band[rows // 2 :].reshape(-1, 3), axis=0)
    to_eye = np.min([np.linalg.norm(band - c, axis=-1) for c in colours], axis=0)
    eyeish = (to_eye < 0.6 * np.linalg.norm(band - skin, axis=-1)) & (t < 0.5)
    reach = np.cumprod(eyeish, axis=0).sum(axis=0) / (rows - 1) * height  # from the lid line down
    reach = cv2.GaussianBlur(reach[None].astype(np.float32), (0, 0), max(0.03 * frame.width, 1.0))[0]
    return np.stack([u, reach])


def _bare_lid(image: np.ndarray, frame: EyeFrame, shape: EyeShape) -> tuple[Patch, np.ndarray]:
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
    band = sample(
        image, frame, np.broadcast_to(u, (rows, nu)), brow + np.linspace(0, 1, rows)[:, None] * height
    )
    # the lit skin: (rows, nu) depth below the brow of the band's pixels, those of the skin span
    ring_depth = np.clip(ring - brow, 0, height)
    top, bottom = (ring_depth + share * np.maximum(upper - brow - ring_depth, 0) for share in _SKIN)
    depth = np.linspace(0, 1, rows, dtype=np.float32)[:, None] * height
    luma = band @ LUMA
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
    return Patch(lid, u0, 0.0, frame.width, nt - 1.0), np.stack([u, lashes])


def _skin_tone(bright: np.ndarray, skin: np.ndarray, middle: float, width: float) -> np.ndarray:
    """(U, 3) a closed lid's tone along the eye: a little brighter than the middle of the skin's
    span (a closed lid bulges into the light), following each column's brightness within reason."""
    colour = np.percentile(bright[skin], 60, axis=0)
    columns = _column_median(bright @ LUMA, skin, middle)
    ratio = np.clip(columns / max(float(colour @ LUMA), 1e-3), 0.85, 1.15)
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
    into = smoothstep(down / 0.3)[..., None]
    round_ = (0.96 + 0.04 * np.sin(np.pi * down))[..., None]  # lit mid-lid, shaded at the fold and lashes
    base = read(shading, np.minimum(at, top)) * (1 - into) + tone[None] * into * round_
    kept = smoothstep((top - at) / np.maximum(0.5 * (top - ring), 0.06))[..., None]
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


def _eyeball(image: np.ndarray, frame: EyeFrame, shape: EyeShape, centre: np.ndarray, radius: float) -> Patch:
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
    u, v = grid(u0, v0, size, scale)
    pixels = sample(image, frame, u, v)
    iris = np.hypot(u - centre[0], v - centre[1]) < radius + 1.0 / scale
    seen = opening(shape, u, v, 0.0) & ~iris
    clean = opening(shape, u, v, 1.5 / scale) & ~iris  # clear of the lid margins: sclera
    if clean.sum() < 8:  # a closed source eye: nothing of its eyeball to see
        return Patch(pixels, u0, v0, scale, scale)
    upper, lower = lid_lines(shape, u)
    depth = (v - upper) / np.maximum(lower - upper, 1e-3)  # 0 at the upper lid, 1 at the lower
    model = _sclera(pixels[clean], u[clean], depth[clean], u, depth)
    keep = cv2.GaussianBlur(seen.astype(np.float32), (0, 0), 1.0) * seen  # into the model over a pixel or two
    return Patch(model + keep[..., None] * (pixels - model), u0, v0, scale, scale)


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
            row[j] = max((row[k[0]] for k in sides if len(k)), key=lambda c: float(c @ LUMA))
    rows = np.flatnonzero(~np.isnan(grid[:, 0, 0]))
    if not len(rows):
        return np.broadcast_to(np.median(colours, axis=0), (*at_u.shape, 3)).astype(np.float32)
    grid = grid[rows[np.abs(rows[None, :] - np.arange(nd)[:, None]).argmin(1)]]  # across it
    return Patch(grid, -0.5 / nu, -0.5 / nd, nu, nd).at(at_u, at_depth)


def _iris(image: np.ndarray, frame: EyeFrame, shape: EyeShape, centre: np.ndarray, radius: float) -> Patch:
    """The iris as an RGBA disc centred on (0, 0): its visible part as in the source, the part
    under the lids mirrored from the other side of its centre (irises are about symmetric), the
    rest inpainted."""
    scale, half = frame.width, radius + 2.0 / frame.width
    n = int(np.ceil(2 * half * scale)) + 1
    u, v = grid(centre[0] - half, centre[1] - half, (n, n), scale)
    pixels = sample(image, frame, u, v)
    r = np.hypot(u - centre[0], v - centre[1])
    disc = r <= radius + 0.5 / scale
    seen = opening(shape, u, v, 1.0 / scale) & disc
    mirror = seen[::-1] & disc & ~seen  # rows mirrored about the centre row
    rgb = np.where(mirror[..., None], pixels[::-1], pixels)
    known = seen | mirror
    if known.sum() >= 8 and not known[disc].all():
        filled = cv2.inpaint(
            np.clip(rgb, 0, 255).astype(np.uint8), (~known).astype(np.uint8), 2, cv2.INPAINT_TELEA
        )
        rgb = np.where(known[..., None], rgb, filled.astype(np.float32))
    alpha = np.clip((radius - r) * scale + 0.5, 0.0, 1.0) if known.any() else np.zeros_like(r)
    return Patch(np.dstack([rgb, alpha]).astype(np.float32), -half, -half, scale, scale)


def _lash_colour(image: np.ndarray, frame: EyeFrame, shape: EyeShape) -> np.ndarray:
    """The lash line's colour (3,): the upper lid margin's darkest tenth, darker and greyer (it
    may hold iris)."""
    u = np.linspace(0.1, 0.9, 24)
    v = lid_lines(shape, u)[0][None, :] - np.linspace(0.0, _LASH_MARGIN, 6)[:, None]
    pixels = sample(image, frame, np.broadcast_to(u, v.shape), v).reshape(-1, 3)
    luma = pixels @ LUMA
    dark = pixels[luma <= np.percentile(luma, 10)].mean(0)
    return (0.75 * (0.5 * dark + 0.5 * dark.mean())).astype(np.float32)
