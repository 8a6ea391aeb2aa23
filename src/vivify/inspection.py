"""What vivify sees in an image or video: the API behind ``vivify inspect``."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vivify.errors import NoFaceError
from vivify.face.detect import FaceDetector, MediaPipeFaceDetector
from vivify.face.geometry import head_pose
from vivify.face.openness import eye_open, lip_open
from vivify.face.track import FaceTracker
from vivify.io import VideoInfo, VideoReader, load_image, media_kind, probe_video


@dataclass(frozen=True)
class FaceSummary:
    """One face: box (x0, y0, x1, y1) in pixels, detector score, landmark count and pose."""

    box: tuple[float, float, float, float]
    score: float
    n_landmarks: int
    yaw: float
    pitch: float
    roll: float
    eye_open: float
    lip_open: float


@dataclass(frozen=True)
class ImageReport:
    path: str
    width: int
    height: int
    faces: list[FaceSummary]
    kind: str = "image"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class VideoReport:
    """Video properties and how many of the inspected frames had the tracked face."""

    path: str
    info: VideoInfo
    frames_inspected: int
    frames_with_face: int
    missing_ranges: list[tuple[int, int]] = field(default_factory=list)  # inclusive frame ranges
    ms_per_frame: float = 0.0
    kind: str = "video"

    @property
    def coverage(self) -> float:
        return self.frames_with_face / self.frames_inspected if self.frames_inspected else 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["info"] = {k: (str(v) if not isinstance(v, int | float | bool | type(None)) else v)
                     for k, v in asdict(self.info).items()}  # fmt: skip
        d["coverage"] = self.coverage
        return d


def _summary(face) -> FaceSummary:
    yaw, pitch, roll = head_pose(face.landmarks)
    b = face.box
    return FaceSummary(
        box=(round(b.x0, 1), round(b.y0, 1), round(b.x1, 1), round(b.y1, 1)),
        score=round(face.score, 3),
        n_landmarks=len(face.landmarks),
        yaw=round(yaw, 1),
        pitch=round(pitch, 1),
        roll=round(roll, 1),
        eye_open=round(float(eye_open(face.landmarks)), 3),
        lip_open=round(float(lip_open(face.landmarks)), 3),
    )


def inspect_image(path: str | Path, detector: FaceDetector | None = None) -> ImageReport:
    """Faces found in an image, largest first."""
    image = load_image(path)
    if detector is None:
        with MediaPipeFaceDetector() as own:
            return inspect_image(path, own)
    faces = detector.detect(image)
    return ImageReport(str(path), image.shape[1], image.shape[0], [_summary(f) for f in faces])


def _ranges(flags: list[bool]) -> list[tuple[int, int]]:
    out, start = [], None
    for i, ok in enumerate([*flags, True]):
        if not ok and start is None:
            start = i
        elif ok and start is not None:
            out.append((start, i - 1))
            start = None
    return out


def inspect_video(
    path: str | Path, detector: FaceDetector | None = None, max_frames: int | None = None, face_index: int = 0
) -> VideoReport:
    """Video properties and per-frame coverage of the tracked face."""
    if detector is None:
        with MediaPipeFaceDetector() as own:
            return inspect_video(path, own, max_frames, face_index)
    info = probe_video(path)
    tracker = FaceTracker(detector, face_index=face_index, fps=info.fps, smoothing=None)
    found: list[bool] = []
    start = time.perf_counter()
    with VideoReader(path, max_frames=max_frames) as reader:
        for frame in reader:
            found.append(tracker.update(frame) is not None)
    elapsed = time.perf_counter() - start
    return VideoReport(
        path=str(path),
        info=info,
        frames_inspected=len(found),
        frames_with_face=sum(found),
        missing_ranges=_ranges(found),
        ms_per_frame=round(1000 * elapsed / max(len(found), 1), 2),
    )


def inspect_media(path: str | Path, max_frames: int | None = None) -> ImageReport | VideoReport:
    """Inspect an image or a video (told apart by content)."""
    with MediaPipeFaceDetector() as detector:
        if media_kind(path) == "image":
            return inspect_image(path, detector)
        return inspect_video(path, detector, max_frames=max_frames)


def require_face(report: ImageReport) -> None:
    """Raise :class:`NoFaceError` when an image report has no face."""
    if not report.faces:
        raise NoFaceError("no face found (try a larger, frontal, well-lit face)", report.path)
