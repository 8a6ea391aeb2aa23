"""Weight-free renderer: piecewise-affine warp of the source through its face mesh.

The source's 478 landmarks plus a fixed ring around the face and the corners of a working region
are triangulated once. Per frame, every output pixel of the region finds its triangle in the
moved mesh and samples the source through that triangle's affine map (one ``cv2.remap``);
outside the ring nothing moves, so the background and the frame edge stay exactly as they were.
A mouth opened wider than the source's gets a shaded cavity instead of stretched lip texture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np
from scipy.spatial import Delaunay

from vivify.backends.base import DrivingFrame
from vivify.face import landmarks as L
from vivify.face.align import CropConfig, crop_matrix
from vivify.face.crop import warp_crop
from vivify.face.geometry import canonical_face, lip_open
from vivify.face.types import Face
from vivify.motion.mesh import compose, decompose, transfer

if TYPE_CHECKING:
    from vivify.pipeline.options import AnimationOptions

_RING_SCALE = 1.22  # fixed ring around the face oval: the warp fades to identity there
_REGION_SCALE = 1.15  # working region around the ring
_INNER_LIPS = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)


@dataclass
class MeshSource:
    """Per-source state of the mesh backend."""

    image: np.ndarray  # (H, W, 3) uint8
    landmarks: np.ndarray  # (478, 3)
    fixed: np.ndarray  # (K, 2) ring + region corners, in region coordinates
    triangles: np.ndarray  # (T, 3) vertex indices into [landmarks; fixed]
    region: tuple[int, int, int, int]  # x0, y0, x1, y1 in the image
    src_vertices: np.ndarray  # (478 + K, 2) in region coordinates
    mouth_color: np.ndarray  # (3,) float
    source_mouth_area: float
    source_lip_open: float
    face_size: float
    crop_m_o2c: np.ndarray  # (2, 3) source -> 512 crop (for --no-paste-back)


def _polygon_area(p: np.ndarray) -> float:
    x, y = p[:, 0], p[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


class MeshWarpBackend:
    """The weight-free ``mesh`` backend (CPU, no downloads)."""

    name = "mesh"

    def prepare(self, image: np.ndarray, face: Face) -> MeshSource:
        h, w = image.shape[:2]
        pts = face.landmarks[:, :2].astype(np.float64)
        oval = pts[list(L.FACE_OVAL)]
        center = oval.mean(axis=0)
        ring = center + _RING_SCALE * (oval - center)
        lo = np.floor(np.minimum(ring.min(0), pts.min(0)) - (_REGION_SCALE - 1) * face.size).astype(int)
        hi = np.ceil(np.maximum(ring.max(0), pts.max(0)) + (_REGION_SCALE - 1) * face.size).astype(int)
        x0, y0 = max(lo[0], 0), max(lo[1], 0)
        x1, y1 = min(hi[0], w), min(hi[1], h)
        origin = np.array([x0, y0], dtype=np.float64)
        rw, rh = x1 - x0, y1 - y0
        border = np.array(
            [[0, 0], [rw / 2, 0], [rw, 0], [rw, rh / 2], [rw, rh], [rw / 2, rh], [0, rh], [0, rh / 2]]
        )
        ring_local = np.clip(ring - origin, 0, [rw, rh])
        fixed = np.concatenate([ring_local, border])
        vertices = np.concatenate([pts - origin, fixed])
        triangles = Delaunay(vertices).simplices
        inner = pts[list(_INNER_LIPS)]
        lip_mask = np.zeros((h, w), np.uint8)
        cv2.fillPoly(
            lip_mask,
            [
                pts[
                    [
                        61,
                        185,
                        40,
                        39,
                        37,
                        0,
                        267,
                        269,
                        270,
                        409,
                        291,
                        375,
                        321,
                        405,
                        314,
                        17,
                        84,
                        181,
                        91,
                        146,
                    ]
                ].astype(np.int32)
            ],
            1,
        )
        lip_color = image[lip_mask > 0].mean(axis=0) if lip_mask.any() else np.array([150.0, 80, 80])
        return MeshSource(
            image=image,
            landmarks=face.landmarks.copy(),
            fixed=fixed,
            triangles=triangles,
            region=(x0, y0, x1, y1),
            src_vertices=vertices,
            mouth_color=np.asarray(lip_color, np.float64),
            source_mouth_area=_polygon_area(inner),
            source_lip_open=float(lip_open(face.landmarks)),
            face_size=face.size,
            crop_m_o2c=crop_matrix(face.landmarks, CropConfig()),
        )

    def __init__(self, map_step: int = 2) -> None:
        self.map_step = map_step

    def _maps(self, state: MeshSource, dst: np.ndarray, depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Backward maps (region-sized float32) sending output pixels to source pixels.

        The piecewise-affine displacement is evaluated on a grid ``map_step`` times coarser and
        interpolated: it is continuous across triangle edges, so this costs little accuracy and
        saves most of the per-pixel work. Displacement (not position) is interpolated so that a
        mesh at rest maps every pixel exactly onto itself.
        """
        x0, y0, x1, y1 = state.region
        rw, rh = x1 - x0, y1 - y0
        step = self.map_step
        half = (step - 1) / 2  # coarse pixel u sits at full coordinate step * u + half
        sw, sh = -(-rw // step), -(-rh // step)
        tri = state.triangles
        d = dst[tri]  # (T, 3, 2) destination triangles
        s = state.src_vertices[tri]
        # per triangle affine A with s = A @ [d; 1]: solve in one batch
        dh = np.concatenate([d, np.ones((len(tri), 3, 1))], axis=2)  # (T, 3, 3)
        det = np.linalg.det(dh)
        ok = np.abs(det) > 1e-9
        affine = np.zeros((len(tri), 2, 3))
        affine[:, 0, 0] = affine[:, 1, 1] = 1.0
        affine[ok] = np.swapaxes(np.linalg.solve(dh[ok], s[ok]), 1, 2)
        ids = np.full((sh, sw), -1, np.int32)
        # painter's order: far triangles first, so where a turned head folds the mesh (the far
        # cheek sliding behind the nose) the near surface ends up on top
        order = np.argsort(-depth[tri].mean(axis=1))
        shift = 4  # sub-pixel precision for the rasteriser
        pts = np.round((d - half) / step * (1 << shift)).astype(np.int32)
        for k in order:
            if ok[k]:
                cv2.fillConvexPoly(ids, pts[k], int(k), lineType=cv2.LINE_8, shift=shift)
        gx, gy = np.meshgrid(np.arange(sw) * step + half, np.arange(sh) * step + half)
        a = affine[np.maximum(ids, 0)]  # (sh, sw, 2, 3)
        map_x = a[..., 0, 0] * gx + a[..., 0, 1] * gy + a[..., 0, 2] - gx  # displacement
        map_y = a[..., 1, 0] * gx + a[..., 1, 1] * gy + a[..., 1, 2] - gy
        holes = ids < 0
        if holes.any():
            # folds in the moved mesh leave pixels no triangle covers: give them the map of the
            # nearest covered pixel rather than the unwarped source (which shows as speckles)
            _, labels = cv2.distanceTransformWithLabels(
                holes.astype(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
            )
            covered = np.flatnonzero(~holes.ravel())  # labelled 1..N in raster order
            if len(covered):
                nearest = covered[labels[holes] - 1]
                map_x[holes], map_y[holes] = map_x.ravel()[nearest], map_y.ravel()[nearest]
        full = (sw * step, sh * step)
        disp_x = cv2.resize(map_x.astype(np.float32), full, interpolation=cv2.INTER_LINEAR)[:rh, :rw]
        disp_y = cv2.resize(map_y.astype(np.float32), full, interpolation=cv2.INTER_LINEAR)[:rh, :rw]
        fx, fy = np.meshgrid(np.arange(rw, dtype=np.float32) + x0, np.arange(rh, dtype=np.float32) + y0)
        return (fx + disp_x).astype(np.float32), (fy + disp_y).astype(np.float32)

    def motion(self, frame: DrivingFrame) -> np.ndarray | None:
        """The mesh backend animates with the driving face's landmarks (478, 3)."""
        return frame.landmarks

    def render(
        self,
        state: MeshSource,
        motion: np.ndarray,
        reference: np.ndarray,
        options: AnimationOptions,
        *,
        still: bool = False,
        canvas: np.ndarray | None = None,
    ) -> np.ndarray:
        """Move the source's landmarks like the driving face (see :func:`transfer`) and warp."""
        if still and options.relative:
            # a single driving image is its own reference: take its expression relative to the
            # neutral canonical face, keep the source's head pose
            pose, _ = decompose(motion)
            reference = compose(pose, canonical_face())
        target = transfer(state.landmarks, motion, reference, options.relative, options.region,
                          options.multiplier)  # fmt: skip
        out = self.warp(state, target, canvas)
        if not options.paste_back:
            return warp_crop(out, state.crop_m_o2c, CropConfig().dsize)
        return out

    def warp(self, state: MeshSource, target: np.ndarray, canvas: np.ndarray | None = None) -> np.ndarray:
        """The source with its landmarks moved to ``target`` (478, 3), pasted into ``canvas``
        (default: the source image), which must be source-sized."""
        x0, y0, x1, y1 = state.region
        origin = np.array([x0, y0], dtype=np.float64)
        dst = np.concatenate([target[:, :2].astype(np.float64) - origin, state.fixed])
        far = float(target[:, 2].max()) + state.face_size  # the fixed ring lies behind the face
        depth = np.concatenate([target[:, 2].astype(np.float64), np.full(len(state.fixed), far)])
        map_x, map_y = self._maps(state, dst, depth)
        out = (state.image if canvas is None else canvas).copy()
        out[y0:y1, x0:x1] = cv2.remap(
            state.image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        self._fill_mouth(state, out, target)
        return out

    def _fill_mouth(self, state: MeshSource, frame: np.ndarray, target: np.ndarray) -> None:
        """Shade the mouth interior where it opens beyond the source's opening.

        Only a mouth that was (nearly) closed in the source needs it: its interior is then lip
        texture stretched thin. An open source mouth (teeth showing) stretches plausibly itself.
        """
        inner = target[list(_INNER_LIPS), :2].astype(np.float64)
        extra = _polygon_area(inner) - state.source_mouth_area
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
        depth = np.clip(
            1 - np.abs((np.arange(by1 - by0)[:, None] - (upper + lower) / 2) / (span / 2 + 1)), 0, 1
        )
        base = 0.15 * state.mouth_color + np.array([38.0, 12.0, 14.0])  # dark red-brown
        cavity = base[None, None, :] * (1.0 - 0.5 * depth[..., None]) * (0.9 + 0.2 * (1 - yy[..., None]))
        teeth_band = np.clip(1 - (np.arange(by1 - by0)[:, None] - upper) / (0.22 * span + 1), 0, 1)
        cavity = cavity * (1 - 0.6 * teeth_band[..., None]) + 0.6 * teeth_band[..., None] * np.array(
            [205.0, 195, 185]
        )
        alpha = (mask * strength)[..., None]
        patch = frame[by0:by1, bx0:bx1].astype(np.float32)
        frame[by0:by1, bx0:bx1] = np.clip(alpha * cavity + (1 - alpha) * patch, 0, 255).astype(np.uint8)
