"""Following one face through a video: ROI tracking, re-detection when lost, One-Euro smoothing."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from vivify.face.detect import FaceDetector
from vivify.face.types import Face, FaceBox

logger = logging.getLogger(__name__)

_TRACK_ROI_SCALE = 1.5  # ROI side relative to the previous landmark box (the mesh's own habit)
_MIN_IOU = 0.3  # a tracked face must overlap its previous box this much, or it counts as lost
_ROI_HOLD = 0.02  # the tracking crop stays put while the face moves less than this (fraction of its side)


@dataclass(frozen=True)
class OneEuroConfig:
    """One-Euro filter settings (Casiez et al. 2012) on face-size-normalised coordinates.

    ``min_cutoff`` (Hz) sets the smoothing at rest (lower = steadier); ``beta`` how fast the
    cutoff rises with speed (higher = less lag on blinks and quick turns).
    """

    min_cutoff: float = 1.0
    beta: float = 60.0
    d_cutoff: float = 1.0


class OneEuroFilter:
    """Element-wise One-Euro filter over arrays of a fixed shape."""

    def __init__(self, config: OneEuroConfig = OneEuroConfig()) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    @staticmethod
    def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
        tau = 1.0 / (2.0 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, x: np.ndarray, dt: float) -> np.ndarray:
        """Filter one sample ``x`` taken ``dt`` seconds after the previous one."""
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._x.shape != x.shape:
            self._x, self._dx = x.copy(), np.zeros_like(x)
            return x.copy()
        dx = (x - self._x) / dt
        a_d = self._alpha(self.config.d_cutoff, dt)
        self._dx = a_d * dx + (1 - a_d) * self._dx
        a = self._alpha(self.config.min_cutoff + self.config.beta * np.abs(self._dx), dt)
        self._x = a * x + (1 - a) * self._x
        return self._x.copy()


@dataclass(frozen=True)
class TrackedFace:
    """The tracked face in one video frame.

    Attributes:
        frame_index: index of the frame in the video.
        face: the face with smoothed landmarks (what crops should use).
        raw_landmarks: (478, 3) landmarks as measured on this frame, unsmoothed.
        redetected: True on the first frame and whenever the face is found again after being
            lost (or after the tracker jumped to a full-frame detection); smoothing restarts there.
    """

    frame_index: int
    face: Face
    raw_landmarks: np.ndarray
    redetected: bool


class FaceTracker:
    """Follows one face across frames.

    Each frame, the mesh runs on a crop around the face's previous position; when that fails the
    whole frame is searched again and the face nearest the last known position is taken, so the
    tracker stays on the same person when several are in view.

    Args:
        detector: a :class:`FaceDetector` (e.g. ``MediaPipeFaceDetector``).
        face_index: which face to follow, in the detector's order on the first frame with faces.
        fps: frame rate, for the smoothing filter's time step.
        smoothing: One-Euro settings; None disables smoothing.
    """

    def __init__(
        self,
        detector: FaceDetector,
        face_index: int = 0,
        fps: float = 25.0,
        smoothing: OneEuroConfig | None = OneEuroConfig(),
    ) -> None:
        self.detector = detector
        self.face_index = face_index
        self.dt = 1.0 / fps if fps and fps > 0 else 1.0 / 25.0
        self._filter = OneEuroFilter(smoothing) if smoothing is not None else None
        self._last: Face | None = None
        self._roi: tuple[np.ndarray, float] | None = None
        self._lost = False
        self._scale = 1.0
        self._frame_index = -1

    def reset(self) -> None:
        self._last = None
        self._roi = None
        self._lost = False
        self._frame_index = -1
        if self._filter is not None:
            self._filter.reset()

    def _follow(self, frame: np.ndarray) -> Face | None:
        last = self._last
        assert last is not None
        center, side = np.asarray(last.box.center, np.float64), _TRACK_ROI_SCALE * last.size
        # Keep the previous crop while the face stays within a small tolerance of it: the mesh
        # model's output depends on where the crop sits, so a crop re-centred on every frame's
        # landmarks feeds their noise back (a still picture would jitter by itself).
        if self._roi is not None:
            old_center, old_side = self._roi
            if (np.abs(center - old_center).max() <= _ROI_HOLD * old_side
                    and abs(side / old_side - 1.0) <= _ROI_HOLD):  # fmt: skip
                center, side = old_center, old_side
        self._roi = (center, side)
        face = self.detector.landmarks_in_roi(frame, (float(center[0]), float(center[1])), side)
        if face is not None and face.box.iou(last.box) >= _MIN_IOU:
            return face
        return None

    def _redetect(self, frame: np.ndarray) -> Face | None:
        faces = self.detector.detect(frame)
        if not faces:
            return None
        if self._last is None:
            return faces[self.face_index] if self.face_index < len(faces) else None
        return _nearest(faces, self._last.box)

    def update(self, frame: np.ndarray) -> TrackedFace | None:
        """Track the face in the next frame (RGB uint8); None when it is not found."""
        self._frame_index += 1
        face = self._follow(frame) if self._last is not None else None
        redetected = face is None or self._lost
        if face is None:
            face = self._redetect(frame)
        self._lost = face is None
        if face is None:
            return None
        if redetected:
            self._roi = None
        if redetected and self._filter is not None:
            self._filter.reset()  # don't smooth across a jump
            self._scale = max(face.size, 1.0)
        self._last = face
        raw = face.landmarks
        smooth = raw
        if self._filter is not None:
            smooth = (self._filter(raw / self._scale, self.dt) * self._scale).astype(np.float32)
        return TrackedFace(
            frame_index=self._frame_index,
            face=Face(smooth, FaceBox.from_points(smooth, face.score), face.score),
            raw_landmarks=raw,
            redetected=redetected,
        )


def _nearest(faces: list[Face], box: FaceBox) -> Face | None:
    """The face overlapping ``box`` most, else the nearest one within two face sizes."""
    best = max(faces, key=lambda f: f.box.iou(box))
    if best.box.iou(box) > 0:
        return best
    size = max(box.width, box.height)
    dist = [math.dist(f.box.center, box.center) for f in faces]
    i = int(np.argmin(dist))
    return faces[i] if dist[i] <= 2 * size else None


def track_faces(
    frames: Iterable[np.ndarray],
    detector: FaceDetector,
    fps: float = 25.0,
    face_index: int = 0,
    smoothing: OneEuroConfig | None = OneEuroConfig(),
) -> Iterator[TrackedFace | None]:
    """Track one face through ``frames``, yielding one result (or None) per frame."""
    tracker = FaceTracker(detector, face_index=face_index, fps=fps, smoothing=smoothing)
    for frame in frames:
        yield tracker.update(frame)
