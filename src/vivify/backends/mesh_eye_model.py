"""An eye in its own frame, for the lid painter (:mod:`vivify.backends.mesh_lids`): its landmarks,
its frame (``u`` from the outer to the inner corner, ``v`` across towards the cheek, both in eye
widths), its lines in that frame, patches of pixels sampled along it, and what is kept of a source
eye."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass(frozen=True)
class EyePoints:
    """Landmark indices of one eye; every line runs from the outer side to the inner one."""

    outer: int
    inner: int
    upper: tuple[int, ...]  # upper lid, between the corners
    lower: tuple[int, ...]
    ring: tuple[int, ...]  # the ring under the brow, with its own corners
    below: tuple[int, ...]  # the ring on the cheek
    brow: tuple[int, ...]  # the brow's lower edge
    iris: tuple[int, ...]  # centre, then the rim


EYES = (  # image-left eye (the subject's right) first
    EyePoints(33, 133, (246, 161, 160, 159, 158, 157, 173), (7, 163, 144, 145, 153, 154, 155),
               (226, 113, 225, 224, 223, 222, 221, 189, 244), (226, 31, 228, 229, 230, 231, 232, 233, 244),
               (46, 53, 52, 65, 55), (468, 469, 470, 471, 472)),
    EyePoints(263, 362, (466, 388, 387, 386, 385, 384, 398), (249, 390, 373, 374, 380, 381, 382),
               (446, 342, 445, 444, 443, 442, 441, 413, 464), (446, 261, 448, 449, 450, 451, 452, 453, 464),
               (276, 283, 282, 295, 285), (473, 474, 475, 476, 477)),
)  # fmt: skip


@dataclass(frozen=True)
class EyeFrame:
    """An eye's frame: origin at the outer corner, ``u`` towards the inner one, ``v`` across
    towards the cheek, both in units of the corner-to-corner ``width`` (pixels)."""

    origin: np.ndarray  # (2,)
    axes: np.ndarray  # (2, 2): unit u and v directions in the image, as rows
    width: float

    @classmethod
    def of(cls, pts: np.ndarray, eye: EyePoints) -> EyeFrame:
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
class EyeShape:
    """An eye's lines in its own frame, as (K, 2) polylines sorted by ``u``."""

    upper: np.ndarray  # upper lid, corners included
    lower: np.ndarray
    brow: np.ndarray
    ring: np.ndarray
    below: np.ndarray
    gap: float  # mean lid gap, eye widths

    @classmethod
    def of(cls, pts: np.ndarray, eye: EyePoints, frame: EyeFrame) -> EyeShape:
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
class Patch:
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
class EyeSource:
    """What the painter keeps of one source eye."""

    frame: EyeFrame
    shape: EyeShape
    skin: Patch  # the source around the eye, in image pixels (u, v: x, y)
    bare_lid: Patch  # the closed lid, u across, the share of the way from the brow down (see mesh_eye_source)
    lashes: np.ndarray  # (2, U): u, and how far the lashes reach above the lid line there
    hidden: np.ndarray  # (2, U): u, and how far below the lower lid line the eye still shows
    eyeball: Patch  # the eye's opening with the iris taken out, extended beyond the lids
    iris: Patch  # RGBA: the whole iris disc, centred on (0, 0)
    iris_centre: np.ndarray  # (2,) in eye coordinates
    lash: np.ndarray  # (3,) float32 colour of the lash line


def sample(image: np.ndarray, frame: EyeFrame, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The image at eye coordinates ``u``, ``v`` (H, W) as (H, W, 3) float32."""
    x, y = frame.to_image(u, v)
    return cv2.remap(image, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)


def grid(u0: float, v0: float, size: tuple[int, int], scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Eye coordinates (H, W) of a patch's pixels, ``scale`` pixels per eye width."""
    u, v = u0 + np.arange(size[1]) / scale, v0 + np.arange(size[0]) / scale
    return np.broadcast_to(u[None, :], size), np.broadcast_to(v[:, None], size)


def lid_lines(shape: EyeShape, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.interp(u, shape.upper[:, 0], shape.upper[:, 1]), np.interp(
        u, shape.lower[:, 0], shape.lower[:, 1]
    )


def opening(shape: EyeShape, u: np.ndarray, v: np.ndarray, inset: float) -> np.ndarray:
    """Which eye coordinates lie between the lids, ``inset`` eye widths from them."""
    upper, lower = lid_lines(shape, u)
    return (v > upper + inset) & (v < lower - inset) & (u > 0) & (u < 1)


def smoothstep(x: np.ndarray | float) -> np.ndarray | float:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)
