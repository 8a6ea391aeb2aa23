"""Driving inputs read from files: a video, a single image or a motion template, as motion sources."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from vivify.backends.base import KEYPOINTS, LANDMARKS, PIXELS, DrivingFrame, RenderBackend
from vivify.errors import NoFaceError
from vivify.face.detect import FaceDetector, find_face
from vivify.face.track import FaceTracker
from vivify.io import VideoReader, load_image, media_kind, probe_video
from vivify.io.prefetch import prefetch
from vivify.motion.keypoint_motion import KeypointMotion
from vivify.pipeline.lp_template import load_liveportrait_template
from vivify.pipeline.motion_source import MotionSource
from vivify.pipeline.templates import MotionTemplate, load_template


class DrivingSource(MotionSource):
    """A driving file opened for streaming: a video, an image, or a motion template.

    Args:
        path: a video, an image, a ``.npz`` motion template or a LivePortrait ``.pkl`` template.
        detector: face detector (videos and images).
        max_frames: stop after this many frames.
        face_index: which face to follow in a video (largest first on the first frame with faces).

    Attributes:
        kind: "video", "image" or "template".
    """

    def __init__(
        self,
        path: str | Path,
        detector: FaceDetector | None,
        max_frames: int | None = None,
        face_index: int = 0,
    ) -> None:
        self.path = Path(path)
        self.detector = detector
        self.max_frames = max_frames
        self.face_index = face_index
        self.audio_path: Path | None = None
        self._template: MotionTemplate | None = None
        if self.path.suffix.lower() in (".npz", ".pkl"):
            # a LivePortrait .pkl goes through the restricted reader only (never plain pickle)
            reader = load_liveportrait_template if self.path.suffix.lower() == ".pkl" else load_template
            self._use_template(reader(self.path))
            total = len(self._template)
        elif media_kind(self.path) == "image":
            self.kind, self.fps, total = "image", 25.0, 1
            self.carries = frozenset({PIXELS, LANDMARKS})
        else:
            info = probe_video(self.path)
            self.kind, self.fps, total = "video", info.fps, info.n_frames
            self.carries = frozenset({PIXELS, LANDMARKS})
            self.audio_path = self.path if info.has_audio else None
        self.n_frames = total if max_frames is None else min(total, max_frames)
        self.still = self.kind == "image"

    def _use_template(self, template: MotionTemplate) -> None:
        self.kind, self._template, self.fps = "template", template, template.fps
        kinds = ({LANDMARKS} if template.landmarks is not None else set()) | (
            {KEYPOINTS} if template.keypoints is not None else set()
        )
        self.carries = frozenset(kinds)

    @classmethod
    def from_template(
        cls, template: MotionTemplate, name: str = "template", max_frames: int | None = None
    ) -> DrivingSource:
        """A driving source over an in-memory template (e.g. the built-in procedural one)."""
        src = cls.__new__(cls)
        src.path, src.detector, src.max_frames, src.audio_path = Path(name), None, max_frames, None
        src.face_index, src.still = 0, False
        src._use_template(template)
        src.n_frames = len(template) if max_frames is None else min(len(template), max_frames)
        return src

    def __len__(self) -> int:
        return self.n_frames

    def __iter__(self) -> Iterator[DrivingFrame]:
        if self.kind == "template":
            yield from self._template_frames()
        elif self.kind == "image":
            image = load_image(self.path)
            yield DrivingFrame(0, find_face(image, self.detector, path=self.path).landmarks, image)
        else:
            yield from self._video_frames()

    def _template_frames(self) -> Iterator[DrivingFrame]:
        template = self._template
        assert template is not None
        keypoints = template.keypoints
        finite = None if keypoints is None else keypoints.finite_frames()
        for i in range(self.n_frames):
            lm = None if template.landmarks is None else template.landmarks[i]
            kp = None if keypoints is None or not finite[i] else keypoints[i]
            yield DrivingFrame(i, None if lm is None or np.isnan(lm).any() else lm, None, kp)

    def _video_frames(self) -> Iterator[DrivingFrame]:
        tracker = FaceTracker(self.detector, face_index=self.face_index, fps=self.fps)
        with VideoReader(self.path, max_frames=self.max_frames) as reader:
            # decoding runs a couple of frames ahead in a thread of its own, beside tracking;
            # it is stopped before the reader closes
            frames = prefetch(reader, depth=2, name="vivify-decode")
            try:
                for i, frame in enumerate(frames):
                    tracked = tracker.update(frame)
                    yield DrivingFrame(i, None if tracked is None else tracked.face.landmarks, frame)
            finally:
                frames.close()


def record_template(source: MotionSource, keypoint_backend: RenderBackend | None = None) -> MotionTemplate:
    """Track a driving video or image into a template (NaN rows where the face is lost).

    With ``keypoint_backend`` (the neural backend) the template also holds each frame's keypoint
    motion, so it drives both backends.
    """
    rows, size, motions = [], None, []
    for frame in source:
        if frame.image is not None:
            size = frame.image.shape[:2]
        rows.append(np.full((478, 3), np.nan, np.float32) if frame.landmarks is None else frame.landmarks)
        if keypoint_backend is not None:
            motion = keypoint_backend.motion(frame)
            motions.append(None if motion is None else motion.keypoints())
    landmarks = np.stack(rows).astype(np.float32)
    if np.isnan(landmarks).all():
        raise NoFaceError("no face found in any driving frame", source.path)
    keypoints = None
    if motions:
        good = next(m for m in motions if m is not None)
        fields = (good.rotation, good.exp, good.t, good.scale, good.eye_ratio, good.lip_ratio)
        lost = KeypointMotion(*(None if a is None else np.full_like(a, np.nan) for a in fields))
        keypoints = KeypointMotion.concat([lost if m is None else m for m in motions])
    name = source.path.name if source.path is not None else type(source).__name__
    meta = {"source": name, "frame_size": list(size) if size else None}
    return MotionTemplate(landmarks, source.fps, meta, keypoints)
