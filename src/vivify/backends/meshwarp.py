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
from vivify.motion.mesh import close_irises, compose, decompose, transfer
from vivify.motion.mesh_editing import edit_landmarks

if TYPE_CHECKING:
    from vivify.motion.editing import FaceEdit
    from vivify.pipeline.options import AnimationOptions

_RING_SCALE = 1.22  # fixed ring around the face oval: the warp fades to identity there
_REGION_SCALE = 1.15  # working region around the ring
# per eye: the upper-lid points and the skin ring above them (between the lid and the brow)
_LID_SKIN = {
    "right": ((246, 161, 160, 159, 158, 157, 173), (113, 225, 224, 223, 222, 221, 189)),
    "left": ((466, 388, 387, 386, 385, 384, 398), (342, 445, 444, 443, 442, 441, 413)),
}
_EYE_CONTOURS = {  # corner, upper lid, corner, lower lid (reversed), as a closed polygon
    "right": (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7),
    "left": (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249),
}
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
    lid_colors: dict[str, np.ndarray]  # per eye: (3,) skin colour of the upper lid


def _lid_color(image: np.ndarray, pts: np.ndarray, ring: tuple[int, ...]) -> np.ndarray:
    """Colour of the lit skin in the band between an upper lid's points and the ring above them."""
    lid = pts[list(_LID_SKIN["right" if ring[0] == 113 else "left"][0])]
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


def _polygon_area(p: np.ndarray) -> float:
    x, y = p[:, 0], p[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


class MeshWarpBackend:
    """The weight-free ``mesh`` backend (CPU, no downloads)."""

    name = "mesh"
    # relative motion from a neutral driving face: a source can't close its mouth beyond closed
    default_reference = "neutral"
    needs_pixels = False  # animates with the driving landmarks alone

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
            lid_colors={eye: _lid_color(image, pts, ring) for eye, (_, ring) in _LID_SKIN.items()},
        )

    def __init__(self, map_step: int = 2, smooth_outside: float = 0.05, sharp_core: float = 0.9) -> None:
        self.map_step = map_step
        self.sharp_core = sharp_core
        self.smooth_outside = smooth_outside  # blur of the warp outside the face, in face sizes
        # the warp stays sharp inside the face oval shrunk by this factor: the band at the face's
        # edge is smoothed too, where a turning head folds the mesh into a saw-tooth seam

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
        if self.smooth_outside > 0:
            # Outside the face the warp only drags hair, ears and neck along; its piecewise-affine
            # field bends straight strands at every triangle edge, and where a turn folds the
            # mesh at the face's edge it tears a saw-tooth seam. Smooth it there (not in the
            # face's core, where lids and lips need their sharp edges).
            sigma = max(self.smooth_outside * state.face_size / step, 0.5)
            oval = dst[list(L.FACE_OVAL)]
            center = oval.mean(0)

            def polygon(scale: float) -> np.ndarray:  # the face oval scaled about its centre
                mask = np.zeros((sh, sw), np.float32)
                pts = np.round((center + scale * (oval - center) - half) / step * 4).astype(np.int32)
                cv2.fillPoly(mask, [pts], 1.0, cv2.LINE_AA, shift=2)
                return cv2.GaussianBlur(mask, (0, 0), sigma / 2)

            # a band around the face's edge; towards the fixed ring the warp fades out as it was,
            # so nothing beyond the ring moves
            weight = (1.0 - polygon(self.sharp_core)) * polygon(1.0 + (_RING_SCALE - 1.0) / 2)
            for m in (map_x, map_y):
                m += weight * (cv2.GaussianBlur(m, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE) - m)
        full = (sw * step, sh * step)
        disp_x = cv2.resize(map_x.astype(np.float32), full, interpolation=cv2.INTER_LINEAR)[:rh, :rw]
        disp_y = cv2.resize(map_y.astype(np.float32), full, interpolation=cv2.INTER_LINEAR)[:rh, :rw]
        fx, fy = np.meshgrid(np.arange(rw, dtype=np.float32) + x0, np.arange(rh, dtype=np.float32) + y0)
        return (fx + disp_x).astype(np.float32), (fy + disp_y).astype(np.float32)

    def motion(self, frame: DrivingFrame) -> np.ndarray | None:
        """The mesh backend animates with the driving face's landmarks (478, 3)."""
        return frame.landmarks

    @staticmethod
    def motion_vector(motion: np.ndarray) -> np.ndarray:
        """The landmarks as a flat float64 vector, to smooth over time."""
        return np.asarray(motion, np.float64).reshape(-1)

    @staticmethod
    def from_vector(motion: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """Landmarks shaped and typed as ``motion`` from a (smoothed) vector."""
        return vector.reshape(motion.shape).astype(motion.dtype)

    @staticmethod
    def reference(pose: np.ndarray, expression: np.ndarray) -> np.ndarray:
        """Landmarks with the head pose of ``pose`` and the expression (shape) of ``expression``."""
        return compose(decompose(pose)[0], decompose(expression)[1])

    def render(
        self,
        state: MeshSource,
        motion: np.ndarray,
        reference: np.ndarray,
        options: AnimationOptions,
        *,
        still: bool = False,
        canvas: np.ndarray | None = None,
        source_video: bool = False,
    ) -> np.ndarray:
        """Move the source's landmarks like the driving face (see :func:`transfer`) and warp."""
        if still and options.relative:
            # a single driving image is its own reference: take its expression relative to the
            # neutral canonical face, keep the source's head pose
            pose, _ = decompose(motion)
            reference = compose(pose, canonical_face())
        target = transfer(state.landmarks, motion, reference, options.relative, options.region,
                          options.multiplier, keep_position=source_video)  # fmt: skip
        if options.edit is not None:
            target = edit_landmarks(target, options.edit)
        return self._output(state, self.warp(state, target, canvas), options)

    def edit(
        self,
        state: MeshSource,
        edit: FaceEdit,
        options: AnimationOptions,
        *,
        canvas: np.ndarray | None = None,
    ) -> np.ndarray:
        """The source with editing controls applied to its own landmarks."""
        return self._output(state, self.warp(state, edit_landmarks(state.landmarks, edit), canvas), options)

    @staticmethod
    def _output(state: MeshSource, frame: np.ndarray, options: AnimationOptions) -> np.ndarray:
        if not options.paste_back:
            return warp_crop(frame, state.crop_m_o2c, CropConfig().dsize)
        return frame

    def warp(self, state: MeshSource, target: np.ndarray, canvas: np.ndarray | None = None) -> np.ndarray:
        """The source with its landmarks moved to ``target`` (478, 3), pasted into ``canvas``
        (default: the source image), which must be source-sized."""
        x0, y0, x1, y1 = state.region
        origin = np.array([x0, y0], dtype=np.float64)
        target = close_irises(target, state.landmarks)
        dst = np.concatenate([target[:, :2].astype(np.float64) - origin, state.fixed])
        far = float(target[:, 2].max()) + state.face_size  # the fixed ring lies behind the face
        depth = np.concatenate([target[:, 2].astype(np.float64), np.full(len(state.fixed), far)])
        map_x, map_y = self._maps(state, dst, depth)
        out = (state.image if canvas is None else canvas).copy()
        out[y0:y1, x0:x1] = cv2.remap(
            state.image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        self._fill_mouth(state, out, target)
        self._close_lids(state, out, target)
        return out

    def _close_lids(self, state: MeshSource, frame: np.ndarray, target: np.ndarray) -> None:
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
