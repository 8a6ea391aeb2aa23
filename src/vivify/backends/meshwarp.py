"""Weight-free renderer: piecewise-affine warp of the source through its face mesh.

The source's 478 landmarks plus a fixed ring around the face and the corners of a working region
are triangulated once. Per frame, every output pixel of the region finds its triangle in the
moved mesh and samples the source through that triangle's affine map (one ``cv2.remap``, maps
from :mod:`vivify.backends.mesh_maps`); outside the ring nothing moves, so the background and
the frame edge stay exactly as they were. A mouth opened wider than the source's gets a shaded
cavity, and a closing eye lid skin (:mod:`vivify.backends.mesh_mouth`, :mod:`vivify.backends.mesh_lids`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import sparse
from scipy.spatial import Delaunay

from vivify.backends.base import LANDMARKS, BackendCapabilities, DrivingFrame, ReadyFrames, SyncRendering
from vivify.backends.mesh_lids import LidSource, paint_lids, prepare_lids
from vivify.backends.mesh_maps import RING_SCALE, MapSettings, warp_maps
from vivify.backends.mesh_mouth import MouthSource, paint_mouth, prepare_mouth
from vivify.face.align import CropConfig, crop_matrix
from vivify.face.crop import warp_crop
from vivify.face.geometry import canonical_face
from vivify.face.types import Face
from vivify.motion.editing import FaceEdit
from vivify.motion.mesh import adjust_turn, close_irises, compose, decompose, limit_travel, transfer
from vivify.motion.mesh_editing import edit_landmarks
from vivify.motion.transfer_options import DriveMode, TransferOptions

# Rings around the face oval (scale about its centre, share of the face edge's motion they
# follow): hair, ears and neck move with the nearest part of the face's outline and fade to still
# at the outermost ring, so the footprint's edge follows the face's outline, never a straight line.
_RINGS = ((RING_SCALE, 1.0), (1.55, 0.5), (1.95, 0.0))
_RING_POINTS = 48
# A warped picture shows a tracker about 0.7 of a nod (measured on s0, s5 x d12 and s42 x d3:
# 0.66-0.80): a 2-D warp cannot show the occlusions a real nod changes. Nods are rendered this
# much larger so that the output nods as much as the driver.
PITCH_GAIN = 1.4  # per ring, spaced evenly along the oval's outline


@dataclass
class MeshSource:
    """Per-source state of the mesh backend."""

    image: np.ndarray  # (H, W, 3) uint8
    landmarks: np.ndarray  # (478, 3)
    fixed: np.ndarray  # (K, 2) rings + region corners at rest, in region coordinates
    follow: sparse.csr_matrix  # (K, 478) share of each landmark's motion each ring vertex follows
    triangles: np.ndarray  # (T, 3) vertex indices into [landmarks; fixed]
    region: tuple[int, int, int, int]  # x0, y0, x1, y1 in the image
    src_vertices: np.ndarray  # (478 + K, 2) in region coordinates
    face_size: float
    crop_m_o2c: np.ndarray  # (2, 3) source -> 512 crop (for --no-paste-back)
    mouth: MouthSource  # what the mouth painter samples of the source
    lids: LidSource  # what the lid painter samples of the source
    outline: np.ndarray  # (N, 2) the outermost ring, in image coordinates (the footprint's edge)


def _along(closed: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points evenly spaced along a closed polyline (M, 2): (n, 2) points and the (n, M)
    weights that interpolate them from the polyline's vertices."""
    loop = np.concatenate([closed, closed[:1]])
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(loop, axis=0), axis=1))])
    at = np.linspace(0.0, arc[-1], n, endpoint=False)
    seg = np.clip(np.searchsorted(arc, at, side="right") - 1, 0, len(closed) - 1)
    frac = (at - arc[seg]) / np.maximum(arc[seg + 1] - arc[seg], 1e-9)
    weights = np.zeros((n, len(closed)))
    weights[np.arange(n), seg] = 1 - frac
    weights[np.arange(n), (seg + 1) % len(closed)] += frac
    return weights @ closed, weights


def _mesh(landmarks: np.ndarray, shape: tuple[int, ...]):
    """The working region (the outermost ring's box), its fixed vertices (the rings, the
    region's border) with the share of the oval's motion each follows, and the triangulated
    mesh, in region coordinates."""
    h, w = shape[:2]
    pts = landmarks[:, :2].astype(np.float64)
    outline = _outline(pts)
    oval, weights = _along(pts[outline], _RING_POINTS)
    center = oval.mean(axis=0)
    rings = np.concatenate([center + scale * (oval - center) for scale, _ in _RINGS])
    follow = np.concatenate([share * weights for _, share in _RINGS])
    lo = np.floor(np.minimum(rings.min(0), pts.min(0))).astype(int)
    hi = np.ceil(np.maximum(rings.max(0), pts.max(0))).astype(int) + 1
    x0, y0 = max(lo[0], 0), max(lo[1], 0)
    x1, y1 = min(hi[0], w), min(hi[1], h)
    origin = np.array([x0, y0], dtype=np.float64)
    rw, rh = x1 - x0, y1 - y0
    border = np.array(
        [[0, 0], [rw / 2, 0], [rw, 0], [rw, rh / 2], [rw, rh], [rw / 2, rh], [0, rh], [0, rh / 2]]
    )
    clipped = np.clip(rings - origin, 0, [rw, rh])
    inside = (clipped == rings - origin).all(axis=1)
    follow[~inside] = 0.0  # the picture's edge stays where it is
    fixed = np.concatenate([clipped, border])
    follow = np.concatenate([follow, np.zeros((len(border), follow.shape[1]))])
    full = np.zeros((len(follow), len(pts)))
    full[:, outline] = follow
    vertices = np.concatenate([pts - origin, fixed])
    return (x0, y0, x1, y1), fixed, sparse.csr_matrix(full), vertices, Delaunay(vertices).simplices


def _outline(pts: np.ndarray) -> np.ndarray:
    """Indices of the landmarks on the face's silhouette (its convex hull), in order.

    Not the mesh's face oval: on a turned head the far side's oval points lie behind the cheek
    and the nose, which then form the outline.
    """
    return cv2.convexHull(pts.astype(np.float32), clockwise=True, returnPoints=False)[:, 0]


class MeshWarpBackend(SyncRendering):
    """The weight-free ``mesh`` backend (CPU, no downloads).

    Args:
        map_step, smooth_outside, sharp_core: how the warp field is sampled and smoothed
            (:class:`~vivify.backends.mesh_maps.MapSettings`).
    """

    name = "mesh"
    capabilities = BackendCapabilities(
        drives_from=(frozenset({LANDMARKS}),),  # the driving landmarks alone
        # relative motion from a neutral driving face: a source can't close its mouth beyond closed
        default_reference="neutral",
    )

    def __init__(self, map_step: int = 2, smooth_outside: float = 0.12, sharp_core: float = 0.7) -> None:
        self.maps = MapSettings(map_step, smooth_outside, sharp_core)

    def prepare(self, image: np.ndarray, face: Face) -> MeshSource:
        region, fixed, follow, vertices, triangles = _mesh(face.landmarks, image.shape)
        origin = np.array(region[:2], dtype=np.float64)
        return MeshSource(
            image=image,
            landmarks=face.landmarks.copy(),
            fixed=fixed,
            follow=follow,
            triangles=triangles,
            region=region,
            src_vertices=vertices,
            face_size=face.size,
            crop_m_o2c=crop_matrix(face.landmarks, CropConfig()),
            mouth=prepare_mouth(image, face.landmarks, face.size),
            lids=prepare_lids(image, face.landmarks, face.size),
            outline=fixed[(2 * _RING_POINTS) : (3 * _RING_POINTS)] + origin,
        )

    def motion(self, frame: DrivingFrame, *, host: bool = True) -> np.ndarray | None:
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

    def target(
        self, state: MeshSource, motion: np.ndarray, reference: np.ndarray | None, options: TransferOptions,
        mode: DriveMode = DriveMode.SEQUENCE,
    ) -> np.ndarray:  # fmt: skip
        """The source's landmarks moved like the driving face (see :func:`transfer`), edited."""
        if mode.still_driver and options.relative:
            # a single driving image is its own reference: take its expression relative to the
            # neutral canonical face, keep the source's head pose
            pose, _ = decompose(motion)
            reference = compose(pose, canonical_face())
        target = transfer(state.landmarks, motion, reference, options.relative, options.region,
                          options.multiplier, keep_position=mode.source_video)  # fmt: skip
        target = target if options.edit is None else edit_landmarks(target, options.edit)
        turned = adjust_turn(target, state.landmarks, pitch_gain=PITCH_GAIN)
        return limit_travel(turned, state.landmarks)

    def render_async(
        self,
        state: MeshSource,
        motions: Sequence[np.ndarray],
        reference: np.ndarray | None,
        options: TransferOptions,
        mode: DriveMode = DriveMode.SEQUENCE,
        *,
        paste_back: bool = True,
        canvas: np.ndarray | None = None,
        targets: np.ndarray | None = None,
    ) -> ReadyFrames:
        """Each motion applied to the source (:meth:`target`) and warped (on the host, at once)."""
        frames = [self.warp(state, self.target(state, m, reference, options, mode), canvas) for m in motions]
        return ReadyFrames([self._output(state, frame, paste_back) for frame in frames])

    def video_targets(
        self,
        state: MeshSource,
        motion: np.ndarray,
        reference: np.ndarray,
        options: TransferOptions,
        mode: DriveMode,
    ) -> None:
        """None: over a source video, the mesh backend smooths the driving landmarks themselves."""
        return None

    def edit(
        self,
        state: MeshSource,
        edit: FaceEdit,
        options: TransferOptions,
        *,
        paste_back: bool = True,
        canvas: np.ndarray | None = None,
    ) -> np.ndarray:
        """The source with editing controls applied to its own landmarks."""
        return self._output(
            state, self.warp(state, edit_landmarks(state.landmarks, edit), canvas), paste_back
        )

    @staticmethod
    def footprint(state: MeshSource) -> np.ndarray:
        """(H, W) bool: the pixels a warp of this source may change (outside, the canvas shows)."""
        mask = np.zeros(state.image.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(state.outline * 4).astype(np.int32)], 1, cv2.LINE_8, shift=2)
        x0, y0, x1, y1 = state.region
        mask[:y0] = mask[y1:] = 0
        mask[:, :x0] = mask[:, x1:] = 0
        return mask.astype(bool)

    @staticmethod
    def _output(state: MeshSource, frame: np.ndarray, paste_back: bool) -> np.ndarray:
        return frame if paste_back else warp_crop(frame, state.crop_m_o2c, CropConfig().dsize)

    def warp(self, state: MeshSource, target: np.ndarray, canvas: np.ndarray | None = None) -> np.ndarray:
        """The source with its landmarks moved to ``target`` (478, 3), pasted into ``canvas``
        (default: the source image), which must be source-sized."""
        x0, y0, x1, y1 = state.region
        origin = np.array([x0, y0], dtype=np.float64)
        target = close_irises(target, state.landmarks)
        dst = np.concatenate([target[:, :2].astype(np.float64) - origin, _moved_rings(state, target)])
        far = float(target[:, 2].max()) + state.face_size  # the rings lie behind the face
        depth = np.concatenate([target[:, 2].astype(np.float64), np.full(len(state.fixed), far)])
        map_x, map_y = warp_maps(state.region, state.triangles, state.src_vertices, dst, depth,
                                 state.face_size, self.maps)  # fmt: skip
        out = (state.image if canvas is None else canvas).copy()
        warped = cv2.remap(state.image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        if canvas is None:
            out[y0:y1, x0:x1] = warped
        else:  # another picture under the footprint (a source video's frame): feather the edge
            alpha = _feather(state)[..., None]
            region = out[y0:y1, x0:x1].astype(np.float32)
            out[y0:y1, x0:x1] = np.round(alpha * warped + (1 - alpha) * region).astype(np.uint8)
        paint_mouth(state.mouth, out, target)
        paint_lids(state.lids, out, target)
        return out


def _moved_rings(state: MeshSource, target: np.ndarray) -> np.ndarray:
    """(K, 2) ring vertices in region coordinates, each following its share of the motion of
    the face's outline nearest to it (so the band between the face and a ring never folds)."""
    moved = np.asarray(target[:, :2], np.float64) - state.landmarks[:, :2]
    return state.fixed + state.follow @ moved


def _feather(state: MeshSource) -> np.ndarray:
    """(h, w) float32 weight of the warped picture over a canvas in the working region: 1 inside
    the middle ring, fading to 0 at the outermost ring (along the face's outline)."""
    x0, y0, x1, y1 = state.region
    mask = np.zeros((y1 - y0, x1 - x0), np.float32)
    outline = state.outline - [x0, y0]
    cv2.fillPoly(mask, [np.round(outline * 4).astype(np.int32)], 1.0, cv2.LINE_AA, shift=2)
    size = max(3, int(0.1 * state.face_size) | 1)
    return cv2.blur(cv2.erode(mask, np.ones((size, size), np.uint8)), (size, size))
