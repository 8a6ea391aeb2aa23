"""The source side of the loop: a picture whose faces are prepared once, or a video whose are not.

Both yield one :class:`SourceFrame` per output frame: the picture the animated faces are drawn
into (and shown unchanged while no face is driven), the faces in it, and their prepared backend
state. A picture yields the same frame for ever; a source video yields its frames, each face
prepared only when it is rendered.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vivify.backends.base import RenderBackend
from vivify.errors import UserError
from vivify.face.align import CropConfig, crop_matrix
from vivify.face.detect import MediaPipeFaceDetector
from vivify.face.types import Face, FaceBox
from vivify.pipeline.driving import DrivingSource


@dataclass
class PreparedSource:
    """A source face ready to animate (see :meth:`vivify.Animator.prepare`).

    Attributes:
        image: (H, W, 3) uint8 picture the face is in.
        landmarks: (478, 3) its face mesh.
        state: what the backend prepared for it.
        crop_m_o2c: (2, 3) picture → 512 aligned crop.
    """

    image: np.ndarray
    landmarks: np.ndarray
    state: object
    crop_m_o2c: np.ndarray


@dataclass
class SourceFrame:
    """One frame of the source side.

    Attributes:
        image: (H, W, 3) uint8 picture the faces are drawn into; the output at rest.
        crop_m: (2, 3) picture → 512 crop of the first face (the output without paste-back).
        faces: per face slot, the face in this frame (None: lost in this frame of a video).
        states: per face slot, its prepared backend state (made on first use, see :meth:`state`).
    """

    image: np.ndarray
    crop_m: np.ndarray
    faces: list[Face | None]
    states: list[Any | None] = field(default_factory=list)

    def state(self, slot: int, backend: RenderBackend) -> Any | None:
        """The prepared state of face ``slot``, None when it is lost in this frame."""
        if not self.states:
            self.states = [None] * len(self.faces)
        face = self.faces[slot]
        if self.states[slot] is None and face is not None:
            self.states[slot] = backend.prepare(self.image, face)
        return self.states[slot]


def center_crop(image: np.ndarray) -> np.ndarray:
    """Crop matrix of the largest centred square (for a source frame without a face)."""
    h, w = image.shape[:2]
    side = min(h, w)
    k = CropConfig().dsize / side
    return np.array([[k, 0, -k * (w - side) / 2], [0, k, -k * (h - side) / 2]], np.float32)


class PictureTrack:
    """A source picture: the same prepared faces in every frame, for ever."""

    source_video = False

    def __init__(self, sources: list[PreparedSource]) -> None:
        if not sources:
            raise ValueError("no source face")
        self.sources = sources
        self.path: Path | None = None

    def __len__(self) -> int:
        return len(self.sources)

    def __iter__(self) -> Iterator[SourceFrame]:
        first = self.sources[0]
        frame = SourceFrame(first.image, first.crop_m_o2c, [None] * len(self.sources),
                            [s.state for s in self.sources])  # fmt: skip
        while True:
            yield frame


class VideoTrack:
    """A source video: every frame keeps its own head and takes the driver's expression.

    Its face is tracked with a detector of its own, so that it runs beside the driver's
    decode/track thread. Frames whose face is lost keep the last crop for a crop-only output.
    """

    source_video = True

    def __init__(self, path: str | Path, face_index: int = 0, max_frames: int | None = None) -> None:
        self.path = Path(path)
        self.face_index, self.max_frames = face_index, max_frames

    def __len__(self) -> int:
        return 1

    def __iter__(self) -> Iterator[SourceFrame]:
        with MediaPipeFaceDetector() as detector:
            video = DrivingSource(self.path, detector, max_frames=self.max_frames, face_index=self.face_index)
            if video.kind != "video":
                raise UserError("expected a video source", self.path)
            crop_m = None
            for frame in video:
                lm = frame.landmarks
                face = None if lm is None else Face(lm, FaceBox.from_points(lm), 1.0)
                if lm is not None:
                    crop_m = crop_matrix(lm, CropConfig())
                yield SourceFrame(frame.image, center_crop(frame.image) if crop_m is None else crop_m, [face])
