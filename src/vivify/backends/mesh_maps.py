"""Backward maps of the mesh warp: the piecewise-affine field of a moved mesh, as ``cv2.remap`` maps.

Every output pixel of the working region finds its triangle in the moved mesh and samples the
source through that triangle's affine map. The field is evaluated on a grid ``step`` times
coarser and interpolated: it is continuous across triangle edges, so this costs little accuracy
and saves most of the per-pixel work. Displacement (not position) is interpolated so that a mesh
at rest maps every pixel exactly onto itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vivify.face import landmarks as L

RING_SCALE = 1.22  # fixed ring around the face oval: the warp fades to identity there


@dataclass(frozen=True)
class MapSettings:
    """How the warp field is sampled and smoothed.

    Attributes:
        step: the field is evaluated every ``step`` pixels and interpolated in between.
        smooth_outside: blur of the field outside the face's core, in face sizes (0: none).
        sharp_core: the field stays sharp inside the face oval shrunk by this factor; the band
            at the face's edge is smoothed, where a turning head folds the mesh into a saw tooth.
    """

    step: int = 2
    smooth_outside: float = 0.12
    sharp_core: float = 0.7


MIN_AREA_RATIO = 0.05  # moved / rest area under which a triangle counts as folded away


def _triangle_affines(dst_tri: np.ndarray, src_tri: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per triangle the affine A (2, 3) with ``src = A @ [dst; 1]`` and whether to draw it.

    A triangle squeezed to a sliver or turned over (a fold, a closed lid, a turn's far side) is
    not drawn: its affine would spread its whole source triangle over a line of pixels, which
    shows as a row of specks; its neighbours or the nearest drawn pixels cover it instead.
    """
    n = len(dst_tri)
    dh = np.concatenate([dst_tri, np.ones((n, 3, 1))], axis=2)  # (T, 3, 3)
    sh = np.concatenate([src_tri, np.ones((n, 3, 1))], axis=2)
    det_dst, det_src = np.linalg.det(dh), np.linalg.det(sh)
    ok = np.abs(det_dst) > 1e-9
    rest = np.abs(det_src) > 1e-6
    ok[rest] &= det_dst[rest] / det_src[rest] > MIN_AREA_RATIO
    affine = np.zeros((n, 2, 3))
    affine[:, 0, 0] = affine[:, 1, 1] = 1.0
    affine[ok] = np.swapaxes(np.linalg.solve(dh[ok], src_tri[ok]), 1, 2)
    return affine, ok


def _rasterise(
    dst_tri: np.ndarray, depth: np.ndarray, ok: np.ndarray, shape: tuple[int, int], step: int
) -> np.ndarray:
    """(sh, sw) int32 triangle index per coarse pixel, -1 where no triangle covers it."""
    half = (step - 1) / 2  # coarse pixel u sits at full coordinate step * u + half
    ids = np.full(shape, -1, np.int32)
    # painter's order: far triangles first, so where a turned head folds the mesh (the far cheek
    # sliding behind the nose) the near surface ends up on top
    order = np.argsort(-depth.mean(axis=1))
    shift = 4  # sub-pixel precision for the rasteriser
    pts = np.round((dst_tri - half) / step * (1 << shift)).astype(np.int32)
    for k in order:
        if ok[k]:
            cv2.fillConvexPoly(ids, pts[k], int(k), lineType=cv2.LINE_8, shift=shift)
    return ids


def _fill_holes(ids: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> None:
    """Give pixels no triangle covers (folds in the moved mesh) the map of the nearest covered
    pixel rather than the unwarped source (which shows as speckles), in place."""
    holes = ids < 0
    if not holes.any():
        return
    _, labels = cv2.distanceTransformWithLabels(holes.astype(np.uint8), cv2.DIST_L2, 3,
                                                labelType=cv2.DIST_LABEL_PIXEL)  # fmt: skip
    covered = np.flatnonzero(~holes.ravel())  # labelled 1..N in raster order
    if len(covered):
        nearest = covered[labels[holes] - 1]
        map_x[holes], map_y[holes] = map_x.ravel()[nearest], map_y.ravel()[nearest]


def _drop_specks(disp: np.ndarray, jump: float = 2.0) -> np.ndarray:
    """The coarse displacement (sh, sw) with lone outliers replaced by their 3x3 median.

    Where a sliver of a folded triangle crosses the coarse grid it claims single grid points
    that sample the source far from their neighbours (skin dotted into hair). A smooth field
    equals its median up to ``jump`` pixels; an edge of real motion is kept by the median too.
    """
    disp = disp.astype(np.float32)
    median = cv2.medianBlur(disp, 3)
    return np.where(np.abs(disp - median) > jump, median, disp)


def _smooth_outside(
    map_x: np.ndarray, map_y: np.ndarray, outline: np.ndarray, face_size: float, settings: MapSettings
) -> None:
    """Blur the field in a band around the face's edge, in place.

    Outside the face the warp only drags hair, ears and neck along; its piecewise-affine field
    bends straight strands at every triangle edge, and where a turn folds the mesh at the face's
    edge it tears a saw-tooth seam. Smooth it there, not in the face's core, where lids and lips
    need their sharp edges. ``outline`` is the moved face's silhouette (its convex hull: on a
    turned head the cheek and nose, not the mesh's far oval, form the edge).
    """
    step = settings.step
    half = (step - 1) / 2
    sigma = max(settings.smooth_outside * face_size / step, 0.5)
    center = outline.mean(0)

    def polygon(scale: float) -> np.ndarray:  # the silhouette scaled about its centre
        mask = np.zeros(map_x.shape, np.float32)
        pts = np.round((center + scale * (outline - center) - half) / step * 4).astype(np.int32)
        cv2.fillPoly(mask, [pts], 1.0, cv2.LINE_AA, shift=2)
        return cv2.GaussianBlur(mask, (0, 0), sigma / 2)

    weight = (1.0 - polygon(settings.sharp_core)) * polygon(1.0 + (RING_SCALE - 1.0) / 2)
    for m in (map_x, map_y):
        m += weight * (cv2.GaussianBlur(m, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE) - m)


def warp_maps(
    region: tuple[int, int, int, int],
    triangles: np.ndarray,
    src_vertices: np.ndarray,
    dst: np.ndarray,
    depth: np.ndarray,
    face_size: float,
    settings: MapSettings = MapSettings(),
) -> tuple[np.ndarray, np.ndarray]:
    """Backward maps (region-sized float32) sending output pixels to source pixels.

    Args:
        region: x0, y0, x1, y1 of the working region in the picture.
        triangles: (T, 3) vertex indices.
        src_vertices, dst: (V, 2) vertices at rest and moved, in region coordinates.
        depth: (V,) depth of the moved vertices (larger is farther).
        face_size: the face's size in pixels (scales the smoothing).
    """
    x0, y0, x1, y1 = region
    rw, rh = x1 - x0, y1 - y0
    step = settings.step
    half = (step - 1) / 2
    sw, sh = -(-rw // step), -(-rh // step)
    d = dst[triangles]  # (T, 3, 2) destination triangles
    affine, ok = _triangle_affines(d, src_vertices[triangles])
    ids = _rasterise(d, depth[triangles], ok, (sh, sw), step)
    gx, gy = np.meshgrid(np.arange(sw) * step + half, np.arange(sh) * step + half)
    a = affine[np.maximum(ids, 0)]  # (sh, sw, 2, 3)
    map_x = a[..., 0, 0] * gx + a[..., 0, 1] * gy + a[..., 0, 2] - gx  # displacement
    map_y = a[..., 1, 0] * gx + a[..., 1, 1] * gy + a[..., 1, 2] - gy
    _fill_holes(ids, map_x, map_y)
    map_x, map_y = _drop_specks(map_x), _drop_specks(map_y)
    if settings.smooth_outside > 0:
        face = dst[: L.N_LANDMARKS].astype(np.float32)
        silhouette = face[cv2.convexHull(face, returnPoints=False)[:, 0]].astype(np.float64)
        _smooth_outside(map_x, map_y, silhouette, face_size, settings)
    full = (sw * step, sh * step)
    disp_x = cv2.resize(map_x.astype(np.float32), full, interpolation=cv2.INTER_LINEAR)[:rh, :rw]
    disp_y = cv2.resize(map_y.astype(np.float32), full, interpolation=cv2.INTER_LINEAR)[:rh, :rw]
    fx, fy = np.meshgrid(np.arange(rw, dtype=np.float32) + x0, np.arange(rh, dtype=np.float32) + y0)
    return (fx + disp_x).astype(np.float32), (fy + disp_y).astype(np.float32)
