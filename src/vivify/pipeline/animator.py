"""The Animator: prepare a source once, then stream animated frames for a driving input."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vivify.backends import RenderBackend, load_backend
from vivify.errors import NoFaceError, UserError
from vivify.face.align import CropConfig, crop_matrix
from vivify.face.crop import warp_crop
from vivify.face.detect import FaceDetector, MediaPipeFaceDetector, find_face
from vivify.io import VideoWriter, load_image
from vivify.io.prefetch import prefetch
from vivify.pipeline.driving import DrivingSource
from vivify.pipeline.options import AnimationOptions

logger = logging.getLogger(__name__)


@dataclass
class PreparedSource:
    """A source portrait ready to animate (see :meth:`Animator.prepare`)."""

    image: np.ndarray
    landmarks: np.ndarray
    state: object
    crop_m_o2c: np.ndarray


def _fit_height(image: np.ndarray, height: int) -> np.ndarray:
    h, w = image.shape[:2]
    return cv2.resize(image, (max(1, round(w * height / h)), height), interpolation=cv2.INTER_AREA)


def _landmark_panel(
    landmarks: np.ndarray | None, size: tuple[int, int], scale_from: tuple[int, int] | None
) -> np.ndarray:
    """A grey panel with the driving landmarks drawn (for templates, which carry no pixels)."""
    h, w = size
    panel = np.full((h, w, 3), 40, np.uint8)
    if landmarks is not None:
        pts = landmarks[:, :2].astype(np.float64)
        if scale_from is None:
            lo, hi = pts.min(0), pts.max(0)
            k = 0.8 * min(w, h) / max(hi - lo)
            pts = (pts - (lo + hi) / 2) * k + [w / 2, h / 2]
        else:
            pts = pts * [w / scale_from[1], h / scale_from[0]]
        for x, y in pts.astype(int):
            cv2.circle(panel, (int(x), int(y)), 1, (120, 220, 160), -1)
    return panel


class Animator:
    """Animate portraits with a render backend.

    Args:
        backend: "auto", "mesh" or "neural" (or a backend object).
        detector: face detector to use (default: MediaPipe).

    Examples:
        >>> from vivify import Animator, AnimationOptions
        >>> Animator().animate("portrait.jpg", "driving.mp4", "out.mp4")  # doctest: +SKIP
    """

    def __init__(self, backend: str | RenderBackend = "auto", detector: FaceDetector | None = None) -> None:
        self.backend = load_backend(backend) if isinstance(backend, str) else backend
        self._detector = detector

    @property
    def detector(self) -> FaceDetector:
        if self._detector is None:
            self._detector = MediaPipeFaceDetector()
        return self._detector

    def prepare(self, source: str | Path | np.ndarray, face_index: int = 0) -> PreparedSource:
        """Find the face in the source image and do the backend's per-source work once."""
        path = None if isinstance(source, np.ndarray) else Path(source)
        image = source if isinstance(source, np.ndarray) else load_image(source)
        face = find_face(image, self.detector, face_index=face_index, path=path)
        state = self.backend.prepare(image, face)
        return PreparedSource(image, face.landmarks, state, crop_matrix(face.landmarks, CropConfig()))

    def _reference(self, driving: DrivingSource, index: int) -> object | None:
        """The backend motion of driving frame ``index`` (or the first later one with a face)."""
        if index <= 0:
            return None
        for frame in driving:
            if frame.index >= index:
                motion = self.backend.motion(frame)
                if motion is not None:
                    return motion
        raise NoFaceError(
            f"no face found in the driving input at or after reference frame {index}", driving.path
        )

    def _at_rest(self, source: PreparedSource, options: AnimationOptions) -> np.ndarray:
        """The source unchanged (before the driving face is first seen)."""
        if options.paste_back:
            return source.image
        return warp_crop(source.image, source.crop_m_o2c, CropConfig().dsize)

    def frames(
        self, source: PreparedSource, driving: DrivingSource, options: AnimationOptions | None = None
    ) -> Iterator[np.ndarray]:
        """Yield one animated frame per driving frame (constant memory for any length).

        Frames whose driving face is lost repeat the last motion (the source at rest before the
        first face is seen). Raises NoFaceError at the end if the driving input had no face at all.
        """
        options = options or AnimationOptions()
        if driving.kind == "template" and not driving.has_motion_for(self.backend.name):
            raise UserError(
                f"this template holds no motion the {self.backend.name} backend can use "
                f"(it has {driving.motion_kinds()}); choose the backend with --backend",
                driving.path,
            )
        reference = self._reference(driving, options.reference_frame)
        still = driving.kind == "image"
        last = None
        for frame in prefetch(driving, name="vivify-driving"):  # decode + track ahead
            motion = self.backend.motion(frame)
            if motion is not None:
                last = motion
                if reference is None:
                    reference = motion
            if last is None:
                out = self._at_rest(source, options)
            else:
                out = self.backend.render(source.state, last, reference, options, still=still)
            if options.concat:
                h = out.shape[0]
                drv = (_fit_height(frame.image, h) if frame.image is not None
                       else _landmark_panel(frame.landmarks, (h, h), None))  # fmt: skip
                out = np.concatenate([_fit_height(source.image, h), drv, out], axis=1)
            yield out
        if last is None:
            raise NoFaceError("no face found in any driving frame", driving.path)

    def animate(
        self,
        source: str | Path | np.ndarray,
        driving: str | Path | DrivingSource,
        output: str | Path,
        options: AnimationOptions | None = None,
        progress: bool = False,
        *,
        crf: int = 18,
        preset: str = "medium",
    ) -> Path:
        """Animate ``source`` with ``driving`` (video, image or template) into the MP4 ``output``.

        The driving video's audio is muxed in (``options.keep_audio``); the file appears only when
        complete. ``crf`` and ``preset`` are the H.264 encoder's quality and speed settings.
        """
        options = options or AnimationOptions()
        prepared = self.prepare(source, options.face_index)
        drv = (driving if isinstance(driving, DrivingSource)
               else DrivingSource(driving, self.detector, max_frames=options.max_frames))  # fmt: skip
        fps = options.fps or drv.fps or 25.0
        audio = drv.audio_path if options.keep_audio else None
        stream = prefetch(self.frames(prepared, drv, options), name="vivify-render")  # encode meanwhile
        if progress:
            from tqdm import tqdm  # noqa: PLC0415

            stream = tqdm(stream, total=len(drv), unit="frame", desc="animating", leave=False)
        with VideoWriter(output, fps, audio_from=audio, crf=crf, preset=preset) as writer:
            for frame in stream:
                writer.write(frame)
        return Path(output)
