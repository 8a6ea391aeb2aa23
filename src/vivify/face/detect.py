"""Face detection and 478-point landmarks with MediaPipe's bundled models (offline, CPU).

Faces are found with the MediaPipe face detector (short-range model, then full-range if it finds
nothing), then each face is cropped square around its box and the face-mesh model runs on that
crop. Running the mesh on a crop rather than the whole frame keeps small faces in large images
findable and lets the tracker ask for one particular face.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from vivify.errors import DependencyError, NoFaceError
from vivify.face.landmarks import N_LANDMARKS
from vivify.face.types import Face, FaceBox

logger = logging.getLogger(__name__)

_ROI_SIZE = 256  # the mesh model itself runs at 192x192; a little more keeps its detector happy
_ROI_SCALE = 1.8  # crop side relative to the detector box's longer side
_SAME_SIZE = 0.8  # faces within this area ratio count as equally large when ordering


class FaceDetector(Protocol):
    """Finds faces with landmarks in an RGB image."""

    def detect(self, image: np.ndarray, max_faces: int = 8) -> list[Face]: ...

    def landmarks_in_roi(
        self, image: np.ndarray, center: tuple[float, float], side: float
    ) -> Face | None: ...


def _import_mediapipe():
    # MediaPipe's C++ side logs through glog and TFLite to stderr; keep the terminal for vivify.
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype", category=UserWarning)
    try:
        import mediapipe as mp  # noqa: PLC0415 - heavy import, only when a detector is built
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise DependencyError(
            "MediaPipe is not installed: run `pip install --no-deps mediapipe==0.10.14` "
            "(see scripts/install.sh)"
        ) from exc
    if not hasattr(mp, "solutions"):  # pragma: no cover
        raise DependencyError(
            f"MediaPipe {getattr(mp, '__version__', '?')} has no bundled face models: "
            "install mediapipe==0.10.14"
        )
    return mp


@contextlib.contextmanager
def _native_stderr_silenced():
    """Silence C++ log lines (TFLite delegate notices) written straight to file descriptor 2."""
    try:
        saved = os.dup(2)
    except OSError:  # pragma: no cover - no stderr at all
        yield
        return
    with open(os.devnull, "wb") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def sort_faces(faces: list[Face]) -> list[Face]:
    """Order faces largest first; faces of about the same size (area ratio >= 0.8) left to right."""
    by_size = sorted(faces, key=lambda f: -f.box.area)
    ordered: list[Face] = []
    group: list[Face] = []
    for face in by_size:
        if group and face.box.area < _SAME_SIZE * group[0].box.area:
            ordered += sorted(group, key=lambda f: f.box.center[0])
            group = []
        group.append(face)
    return ordered + sorted(group, key=lambda f: f.box.center[0])


def _dedupe(faces: list[Face], iou: float = 0.5) -> list[Face]:
    """Drop faces whose landmark box overlaps an earlier, higher-scoring one."""
    kept: list[Face] = []
    for face in sorted(faces, key=lambda f: -f.score):
        if all(face.box.iou(k.box) < iou for k in kept):
            kept.append(face)
    return kept


class MediaPipeFaceDetector:
    """MediaPipe face detector + face mesh (with irises) as one :class:`FaceDetector`.

    Args:
        min_confidence: detector score threshold.

    Not thread-safe: use one instance per thread. Close it (or use ``with``) to free the graphs.
    """

    def __init__(self, min_confidence: float = 0.5) -> None:
        self._mp = _import_mediapipe()
        self.min_confidence = min_confidence
        self._graphs: dict[str, object] = {}

    def _new_graph(self, name: str):
        solutions = self._mp.solutions
        if name.startswith("detector"):  # short range suits portraits; full range catches small faces
            model = 0 if name == "detector_short" else 1
            return solutions.face_detection.FaceDetection(
                model_selection=model, min_detection_confidence=self.min_confidence
            )
        return solutions.face_mesh.FaceMesh(
            static_image_mode=True,
            max_num_faces=2 if name == "roi_mesh" else 8,
            refine_landmarks=True,
            min_detection_confidence=0.3,
        )

    def _run(self, name: str, image: np.ndarray):
        """Run graph ``name`` on an image, building it on first use.

        Graphs print start-up notices from their worker threads until their first result is
        out, so building and first use happen together with native stderr silenced.
        """
        graph = self._graphs.get(name)
        if graph is not None:
            return graph.process(image)
        with _native_stderr_silenced():
            graph = self._graphs[name] = self._new_graph(name)
            return graph.process(image)

    def close(self) -> None:
        for graph in self._graphs.values():
            graph.close()
        self._graphs = {}

    def __enter__(self) -> MediaPipeFaceDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def detect_boxes(self, image: np.ndarray) -> list[FaceBox]:
        """Detector boxes (no landmarks) in pixels, short-range model first."""
        h, w = image.shape[:2]
        for name in ("detector_short", "detector_full"):
            result = self._run(name, np.ascontiguousarray(image))
            boxes = []
            for det in result.detections or []:
                rb = det.location_data.relative_bounding_box
                boxes.append(
                    FaceBox(rb.xmin * w, rb.ymin * h, (rb.xmin + rb.width) * w, (rb.ymin + rb.height) * h,
                            float(det.score[0]))
                )  # fmt: skip
            if boxes:
                return boxes
        return []

    def landmarks_in_roi(self, image: np.ndarray, center: tuple[float, float], side: float) -> Face | None:
        """Run the face mesh on a square crop of ``side`` pixels around ``center``.

        Returns the face nearest the crop's centre, in full-image pixels, or None if the mesh
        finds no face there.
        """
        k = _ROI_SIZE / max(side, 1.0)
        m = np.array([[k, 0, _ROI_SIZE / 2 - k * center[0]], [0, k, _ROI_SIZE / 2 - k * center[1]]])
        interp = cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR
        roi = cv2.warpAffine(image, m, (_ROI_SIZE, _ROI_SIZE), flags=interp, borderMode=cv2.BORDER_REPLICATE)
        result = self._run("roi_mesh", roi)
        if not result.multi_face_landmarks:
            return None
        best = min(
            (_to_array(lms) for lms in result.multi_face_landmarks),
            key=lambda p: np.sum((p[:, :2].mean(axis=0) - 0.5) ** 2),
        )
        pts = np.empty_like(best)
        pts[:, 0] = (best[:, 0] * _ROI_SIZE - m[0, 2]) / k
        pts[:, 1] = (best[:, 1] * _ROI_SIZE - m[1, 2]) / k
        pts[:, 2] = best[:, 2] * _ROI_SIZE / k
        return Face(pts, FaceBox.from_points(pts))

    def _full_frame_mesh(self, image: np.ndarray, max_faces: int) -> list[Face]:
        """Fallback: the mesh's own detector on the whole frame."""
        result = self._run("full_mesh", np.ascontiguousarray(image))
        h, w = image.shape[:2]
        faces = []
        for lms in (result.multi_face_landmarks or [])[:max_faces]:
            p = _to_array(lms) * np.array([w, h, w], dtype=np.float32)
            faces.append(Face(p, FaceBox.from_points(p), score=0.5))
        return faces

    def detect(self, image: np.ndarray, max_faces: int = 8) -> list[Face]:
        """All faces in an RGB uint8 image (H, W, 3), largest first, then left to right."""
        _check_image(image)
        faces = []
        for box in self.detect_boxes(image):
            face = self.landmarks_in_roi(image, box.center, _ROI_SCALE * max(box.width, box.height))
            if face is not None:
                faces.append(Face(face.landmarks, FaceBox.from_points(face.landmarks, box.score), box.score))
        if not faces:
            faces = self._full_frame_mesh(image, max_faces)
        return sort_faces(_dedupe(faces))[:max_faces]


def _to_array(landmark_list) -> np.ndarray:
    """MediaPipe NormalizedLandmarkList -> (478, 3) float32 in normalised units."""
    pts = np.array([(p.x, p.y, p.z) for p in landmark_list.landmark], dtype=np.float32)
    if pts.shape[0] != N_LANDMARKS:  # pragma: no cover - refine_landmarks is always on
        raise RuntimeError(f"face mesh returned {pts.shape[0]} points, expected {N_LANDMARKS}")
    return pts


def _check_image(image: np.ndarray) -> None:
    if not (
        isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    ):
        raise ValueError(
            f"expected an RGB uint8 array of shape (H, W, 3), got {getattr(image, 'shape', image)}"
        )


def find_face(
    image: np.ndarray, detector: FaceDetector, face_index: int = 0, path: str | Path | None = None
) -> Face:
    """The ``face_index``-th face of an image (largest first), or a clear :class:`NoFaceError`.

    Args:
        path: the image's file, named in the error message.
    """
    faces = detector.detect(image, max_faces=max(8, face_index + 1))
    if not faces:
        raise NoFaceError("no face found (vivify needs a visible, roughly frontal face)", path)
    if face_index >= len(faces):
        raise NoFaceError(f"face index {face_index} requested but only {len(faces)} face(s) found", path)
    return faces[face_index]
