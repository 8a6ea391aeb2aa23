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
from scipy.spatial import Delaunay

from vivify.backends.base import LANDMARKS, BackendCapabilities, DrivingFrame, ReadyFrames, SyncRendering
from vivify.backends.mesh_lids import LidSource, paint_lids, prepare_lids
from vivify.backends.mesh_maps import RING_SCALE, MapSettings, warp_maps
from vivify.backends.mesh_mouth import MouthSource, paint_mouth, prepare_mouth
from vivify.face import landmarks as L
from vivify.face.align import CropConfig, crop_matrix
from vivify.face.crop import warp_crop
from vivify.face.geometry import canonical_face
from vivify.face.types import Face
from vivify.motion.editing import FaceEdit
from vivify.motion.mesh import close_irises, compose, decompose, transfer
from vivify.motion.mesh_editing import edit_landmarks
from vivify.motion.transfer_options import DriveMode, TransferOptions

_REGION_SCALE = 1.15  # working region around the ring


@dataclass
class MeshSource:
    """Per-source state of the mesh backend."""

    image: np.ndarray  # (H, W, 3) uint8
    landmarks: np.ndarray  # (478, 3)
    fixed: np.ndarray  # (K, 2) ring + region corners, in region coordinates
    triangles: np.ndarray  # (T, 3) vertex indices into [landmarks; fixed]
    region: tuple[int, int, int, int]  # x0, y0, x1, y1 in the image
    src_vertices: np.ndarray  # (478 + K, 2) in region coordinates
    face_size: float
    crop_m_o2c: np.ndarray  # (2, 3) source -> 512 crop (for --no-paste-back)
    mouth: MouthSource  # what the mouth painter samples of the source
    lids: LidSource  # what the lid painter samples of the source


def _mesh(pts: np.ndarray, face_size: float, shape: tuple[int, ...]):
    """The working region around the face, its fixed vertices (a ring around the face oval, the
    region's border) and the triangulated mesh, in region coordinates."""
    h, w = shape[:2]
    oval = pts[list(L.FACE_OVAL)]
    center = oval.mean(axis=0)
    ring = center + RING_SCALE * (oval - center)
    lo = np.floor(np.minimum(ring.min(0), pts.min(0)) - (_REGION_SCALE - 1) * face_size).astype(int)
    hi = np.ceil(np.maximum(ring.max(0), pts.max(0)) + (_REGION_SCALE - 1) * face_size).astype(int)
    x0, y0 = max(lo[0], 0), max(lo[1], 0)
    x1, y1 = min(hi[0], w), min(hi[1], h)
    origin = np.array([x0, y0], dtype=np.float64)
    rw, rh = x1 - x0, y1 - y0
    border = np.array(
        [[0, 0], [rw / 2, 0], [rw, 0], [rw, rh / 2], [rw, rh], [rw / 2, rh], [0, rh], [0, rh / 2]]
    )
    fixed = np.concatenate([np.clip(ring - origin, 0, [rw, rh]), border])
    vertices = np.concatenate([pts - origin, fixed])
    return (x0, y0, x1, y1), fixed, vertices, Delaunay(vertices).simplices


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

    def __init__(self, map_step: int = 2, smooth_outside: float = 0.05, sharp_core: float = 0.9) -> None:
        self.maps = MapSettings(map_step, smooth_outside, sharp_core)

    def prepare(self, image: np.ndarray, face: Face) -> MeshSource:
        pts = face.landmarks[:, :2].astype(np.float64)
        region, fixed, vertices, triangles = _mesh(pts, face.size, image.shape)
        return MeshSource(
            image=image,
            landmarks=face.landmarks.copy(),
            fixed=fixed,
            triangles=triangles,
            region=region,
            src_vertices=vertices,
            face_size=face.size,
            crop_m_o2c=crop_matrix(face.landmarks, CropConfig()),
            mouth=prepare_mouth(image, face.landmarks, face.size),
            lids=prepare_lids(image, face.landmarks, face.size),
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
        return target if options.edit is None else edit_landmarks(target, options.edit)

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
        mask = np.zeros(state.image.shape[:2], bool)
        x0, y0, x1, y1 = state.region
        mask[y0:y1, x0:x1] = True
        return mask

    @staticmethod
    def _output(state: MeshSource, frame: np.ndarray, paste_back: bool) -> np.ndarray:
        return frame if paste_back else warp_crop(frame, state.crop_m_o2c, CropConfig().dsize)

    def warp(self, state: MeshSource, target: np.ndarray, canvas: np.ndarray | None = None) -> np.ndarray:
        """The source with its landmarks moved to ``target`` (478, 3), pasted into ``canvas``
        (default: the source image), which must be source-sized."""
        x0, y0, x1, y1 = state.region
        origin = np.array([x0, y0], dtype=np.float64)
        target = close_irises(target, state.landmarks)
        dst = np.concatenate([target[:, :2].astype(np.float64) - origin, state.fixed])
        far = float(target[:, 2].max()) + state.face_size  # the fixed ring lies behind the face
        depth = np.concatenate([target[:, 2].astype(np.float64), np.full(len(state.fixed), far)])
        map_x, map_y = warp_maps(state.region, state.triangles, state.src_vertices, dst, depth,
                                 state.face_size, self.maps)  # fmt: skip
        out = (state.image if canvas is None else canvas).copy()
        out[y0:y1, x0:x1] = cv2.remap(
            state.image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        paint_mouth(state.mouth, out, target)
        paint_lids(state.lids, out, target)
        return out
