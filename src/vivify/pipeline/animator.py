"""The Animator: prepare a source once, then stream animated frames for a driving input."""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vivify.backends import RenderBackend, SpeedOptions, load_backend
from vivify.backends.base import DrivingFrame
from vivify.errors import NoFaceError, UserError
from vivify.face.align import CropConfig, crop_matrix
from vivify.face.crop import warp_crop
from vivify.face.detect import FaceDetector, MediaPipeFaceDetector, find_face
from vivify.face.geometry import eye_open, lip_open
from vivify.face.types import Face, FaceBox
from vivify.io import VideoWriter, load_image, media_kind, probe_video, save_image
from vivify.io.prefetch import prefetch
from vivify.motion.editing import FaceEdit
from vivify.motion.smoothing import OBSERVATION_VARIANCE, smooth_stream
from vivify.pipeline.driving import DrivingSource
from vivify.pipeline.options import NEUTRAL_SEARCH_FRAMES, AnimationOptions, FaceSelection

logger = logging.getLogger(__name__)

MAX_FACES = 8  # faces found with face_index="all"


@dataclass
class PreparedSource:
    """A source portrait ready to animate (see :meth:`Animator.prepare`)."""

    image: np.ndarray
    landmarks: np.ndarray
    state: object
    crop_m_o2c: np.ndarray


@dataclass(frozen=True)
class _VideoStep:
    """One output frame of a source video: pass ``source`` through (``state`` None) or render it."""

    source: DrivingFrame
    driving: DrivingFrame
    crop_m: np.ndarray | None
    driven: bool  # a driving face has been seen by this frame
    state: object | None = None
    motion: object | None = None
    reference: object | None = None
    targets: np.ndarray | None = None


def _center_crop(image: np.ndarray) -> np.ndarray:
    """Crop matrix of the largest centred square (for a source frame without a face)."""
    h, w = image.shape[:2]
    side = min(h, w)
    k = CropConfig().dsize / side
    return np.array([[k, 0, -k * (w - side) / 2], [0, k, -k * (h - side) / 2]], np.float32)


def neutral_score(landmarks: np.ndarray) -> float:
    """How far a face is from neutral: mouth opening plus eyes away from normally open (0.3)."""
    return float(lip_open(landmarks) + 0.5 * abs(eye_open(landmarks) - 0.3))


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
        weights_dir: LivePortrait weights for the neural backend (default: ``$VIVIFY_WEIGHTS``
            or the user cache).
        device: torch device of the neural backend ("auto": CUDA when available).
        speed: the neural backend's precision / layout / compilation (default float32 eager).
        onnx_dir: run the neural networks from this ONNX export with onnxruntime.

    Examples:
        >>> from vivify import Animator, AnimationOptions
        >>> Animator().animate("portrait.jpg", "driving.mp4", "out.mp4")  # doctest: +SKIP
    """

    def __init__(
        self,
        backend: str | RenderBackend = "auto",
        detector: FaceDetector | None = None,
        *,
        weights_dir: str | Path | None = None,
        device: str = "auto",
        speed: SpeedOptions | None = None,
        onnx_dir: str | Path | None = None,
    ) -> None:
        if isinstance(backend, str):
            backend = load_backend(backend, weights_dir=weights_dir, device=device, speed=speed,
                                   onnx_dir=onnx_dir)  # fmt: skip
        self.backend = backend
        self._detector = detector

    @property
    def detector(self) -> FaceDetector:
        if self._detector is None:
            self._detector = MediaPipeFaceDetector()
        return self._detector

    def prepare(self, source: str | Path | np.ndarray, face_index: int = 0) -> PreparedSource:
        """Find the face in the source image and do the backend's per-source work once."""
        return self.prepare_faces(source, (face_index,))[0]

    def prepare_faces(
        self, source: str | Path | np.ndarray, faces: FaceSelection = "all"
    ) -> list[PreparedSource]:
        """Prepare several faces of one picture: face indices (largest first) or ``"all"``."""
        path = None if isinstance(source, np.ndarray) else Path(source)
        image = source if isinstance(source, np.ndarray) else load_image(source)
        if faces == "all":
            found = self.detector.detect(image, max_faces=MAX_FACES)
            if not found:
                raise NoFaceError("no face found (vivify needs a visible, roughly frontal face)", path)
        else:
            indices = (faces,) if isinstance(faces, int) else tuple(faces)
            if not indices:
                raise ValueError("no face selected")
            found = [find_face(image, self.detector, face_index=i, path=path) for i in indices]
        prepared = []
        for face in found:
            state = self.backend.prepare(image, face)
            m_o2c = crop_matrix(face.landmarks, CropConfig())
            prepared.append(PreparedSource(image, face.landmarks, state, m_o2c))
        return prepared

    def edit(
        self,
        source: str | Path | np.ndarray,
        edit: FaceEdit,
        output: str | Path | None = None,
        options: AnimationOptions | None = None,
    ) -> np.ndarray:
        """The source picture with editing controls applied to the selected face(s).

        ``options.face_index`` selects the faces (an index, several, or "all"); ``paste_back``
        False returns the aligned crop of a single face. Writes ``output`` (an image) atomically
        when given.
        """
        options = options or AnimationOptions()
        sources = self.prepare_faces(source, options.face_index)
        if not options.paste_back and len(sources) > 1:
            raise UserError("--no-paste-back outputs one face's crop; select a single face")
        canvas = None
        for prepared in sources:
            canvas = self.backend.edit(prepared.state, edit, options, canvas=canvas)
        assert canvas is not None
        if output is not None:
            save_image(output, canvas)
        return canvas

    def _check_driver(self, driving: DrivingSource) -> None:
        """A template must hold motion this backend animates with."""
        if driving.kind == "template" and not driving.has_motion_for(self.backend.name):
            raise UserError(
                f"this template holds no motion the {self.backend.name} backend can use "
                f"(it has {driving.motion_kinds()}); choose the backend with --backend",
                driving.path,
            )

    def _reference_choice(self, options: AnimationOptions) -> int | str:
        """The reference frame option, or the backend's default ("first" or "neutral")."""
        if options.reference_frame is None:
            return getattr(self.backend, "default_reference", "first")
        return options.reference_frame

    def _reference(self, driving: DrivingSource, choice: int | str) -> object | None:
        """The backend motion of the reference driving frame (None: the first frame with a face).

        ``choice`` is a frame number (or the first later one with a face), "first" or "neutral".
        """
        if choice == "first" or choice == 0:
            return None
        if choice == "neutral":
            return self._neutral_reference(driving)
        for frame in driving:
            if frame.index >= choice:
                motion = self.backend.motion(frame)
                if motion is not None:
                    return motion
        raise NoFaceError(
            f"no face found in the driving input at or after reference frame {choice}", driving.path
        )

    def _neutral_reference(self, driving: DrivingSource) -> object | None:
        """The "neutral" reference, read from the first frames of ``driving``."""
        return self._neutral_of(itertools.takewhile(lambda f: f.index < NEUTRAL_SEARCH_FRAMES, driving))

    def _neutral_of(self, frames: Iterable[DrivingFrame]) -> object | None:
        """The expression of the frame closest to a neutral face (see :func:`neutral_score`) with
        the head pose of the first frame with a face, so that the head starts as the source's."""
        first, best, best_score = None, None, np.inf
        for frame in frames:
            if frame.landmarks is None:
                continue
            first = first or frame
            score = neutral_score(frame.landmarks)
            if score < best_score:
                best, best_score = frame, score
        if best is None:
            return None
        return self.backend.reference(self.backend.motion(first), self.backend.motion(best))

    def _motions(
        self, frames: Iterable[DrivingFrame], options: AnimationOptions
    ) -> Iterator[tuple[DrivingFrame, object | None]]:
        """(frame, backend motion or None) per driving frame, smoothed over time when asked
        (``options.smoothing``; the frames then lose their pixels unless ``concat`` shows them)."""
        pairs = ((frame, self.backend.motion(frame)) for frame in frames)
        if not options.smoothing:
            yield from pairs
            return
        if not options.concat:
            pairs = ((dataclasses.replace(f, image=None), m) for f, m in pairs)
        backend = self.backend
        yield from smooth_stream(
            pairs,
            lambda item: None if item[1] is None else backend.motion_vector(item[1]),
            lambda item, v: (item[0], backend.from_vector(item[1], v)),
            options.smoothing,
        )

    def _at_rest(self, source: PreparedSource, options: AnimationOptions) -> np.ndarray:
        """The source unchanged (before the driving face is first seen)."""
        if options.paste_back:
            return source.image
        return warp_crop(source.image, source.crop_m_o2c, CropConfig().dsize)

    def frames(
        self,
        source: PreparedSource | Sequence[PreparedSource],
        driving: DrivingSource | Sequence[DrivingSource],
        options: AnimationOptions | None = None,
    ) -> Iterator[np.ndarray]:
        """Yield one animated frame per driving frame (constant memory for any length).

        Several source faces (of one picture) are each driven by their own driving input, in
        order, or all by one; each is rendered into the same frame. Drivers of different lengths
        run to the longest, a finished one holding its last motion. Frames whose driving face is
        lost repeat the last motion (the source at rest before the first face is seen). Raises
        NoFaceError at the end if a driving input had no face at all.
        """
        options = options or AnimationOptions()
        sources = [source] if isinstance(source, PreparedSource) else list(source)
        drivers = [driving] if isinstance(driving, DrivingSource) else list(driving)
        if len(drivers) not in (1, len(sources)):
            raise UserError(f"{len(drivers)} driving inputs for {len(sources)} faces: give one, or one each")
        if not options.paste_back and len(sources) > 1:
            raise UserError("--no-paste-back outputs one face's crop; select a single face")
        for drv in drivers:
            self._check_driver(drv)
        choice = self._reference_choice(options)
        # a backend that animates with landmarks alone finds the neutral frame in the same pass
        # (the searched frames are kept without their pixels); others read the input twice
        lean = not options.concat and not getattr(self.backend, "needs_pixels", True)
        one_pass = choice == "neutral" and lean
        references = [None if one_pass else self._reference(drv, choice) for drv in drivers]
        last: list[object | None] = [None] * len(drivers)
        # decode + track ahead in a thread; several drivers share one face detector, which is not
        # thread-safe, so they are read in turn
        threaded = len(drivers) == 1
        streams = [prefetch(drv, name="vivify-driving") if threaded else iter(drv) for drv in drivers]
        owned = list(streams)  # closed at the end, whatever wraps them
        if one_pass:
            for k, stream in enumerate(streams):
                searched = itertools.islice(stream, NEUTRAL_SEARCH_FRAMES)
                head = [dataclasses.replace(f, image=None) for f in searched]
                references[k] = self._neutral_of(head)
                streams[k] = itertools.chain(head, stream)
        latest: list[DrivingFrame | None] = [None] * len(drivers)
        pairs = [self._motions(stream, options) for stream in streams]
        # a GPU backend runs behind the host: its motion extraction (and download) gets a thread,
        # and one rendered batch stays in flight while the next is queued
        ahead = 1 if getattr(self.backend, "asynchronous", False) else 0
        if ahead and threaded:
            pairs = [prefetch(pairs[0], name="vivify-motion")]
            owned.append(pairs[0])
        # one face with one driver renders through batches (of options.batch_size)
        single = len(sources) == 1 and len(drivers) == 1 and hasattr(self.backend, "render_batch_async")
        batch = options.batch_size
        still = drivers[0].kind == "image"
        pending: list[tuple[DrivingFrame | None, object]] = []  # frames waiting for a full batch
        inflight: deque = deque()  # rendered batches not yet handed out
        try:
            while True:
                advanced = False
                for k, stream in enumerate(pairs):
                    item = next(stream, None) if stream is not None else None
                    if item is None:
                        pairs[k] = None
                        continue
                    advanced = True
                    latest[k], motion = item
                    if motion is not None:
                        last[k] = motion
                        if references[k] is None:
                            references[k] = motion
                if not advanced:
                    break
                if single and last[0] is not None:
                    pending.append((latest[0], last[0]))
                    if len(pending) == batch:
                        yield from self._render_pending(sources[0], pending, references[0], options, still,
                                                        inflight, ahead)  # fmt: skip
                    continue
                canvas = None
                for i, prepared in enumerate(sources):
                    k = i if len(drivers) > 1 else 0
                    if last[k] is None:
                        continue
                    canvas = self.backend.render(prepared.state, last[k], references[k], options,
                                                 still=drivers[k].kind == "image", canvas=canvas)  # fmt: skip
                out = self._at_rest(sources[0], options) if canvas is None else canvas
                if options.concat:
                    out = self._concat(sources[0].image, latest[0], out)
                yield out
            yield from self._render_pending(sources[0], pending, references[0], options, still, inflight, 0)
        finally:
            for stream in owned:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
        for k, drv in enumerate(drivers):
            if last[k] is None:
                raise NoFaceError("no face found in any driving frame", drv.path)

    def _render_pending(
        self,
        source: PreparedSource,
        pending: list,
        reference,
        options: AnimationOptions,
        still: bool,
        inflight: deque,
        ahead: int,
    ) -> Iterator[np.ndarray]:
        """Queue the waiting (driving frame, motion) pairs as one batch and empty the list, then
        yield the frames of every queued batch but the ``ahead`` newest."""
        if pending:
            handle = self.backend.render_batch_async(source.state, [m for _, m in pending], reference,
                                                     options, still=still)  # fmt: skip
            inflight.append(([frame for frame, _ in pending], handle))
            pending.clear()
        while len(inflight) > ahead:
            frames, handle = inflight.popleft()
            for frame, out in zip(frames, handle.result(), strict=True):
                yield self._concat(source.image, frame, out) if options.concat else out

    def video_frames(
        self, source: str | Path, driving: DrivingSource, options: AnimationOptions | None = None
    ) -> Iterator[np.ndarray]:
        """Animate a source *video*: each source frame keeps its own head position and size and
        takes the driver's expression (and head turn, for regions "all"/"pose").

        Source and driving frames are paired in order; the output stops with the shorter.
        Source frames whose face is lost, or that come before the driver's face is seen, are
        passed through unchanged. The source's face is tracked with its own detector so that it
        runs beside the driver's decode/track thread.
        """
        options = options or AnimationOptions()
        if not isinstance(options.face_index, int):
            raise UserError("a source video animates one face; choose it with --face-index", source)
        self._check_driver(driving)
        reference = self._reference(driving, self._reference_choice(options))
        still = driving.kind == "image"
        with MediaPipeFaceDetector() as detector:
            limit = options.max_frames
            src = DrivingSource(source, detector, max_frames=limit, face_index=options.face_index)
            if src.kind != "video":
                raise UserError("expected a video source", source)
            drv_stream = prefetch(itertools.repeat(next(iter(driving))) if still else driving,
                                  name="vivify-driving")  # fmt: skip
            steps = self._video_steps(zip(src, drv_stream, strict=False), reference, options, still)
            seen = driven = False
            try:
                for step in self._smoothed_steps(steps, options, still):
                    driven |= step.driven
                    if step.state is None:
                        out = step.source.image
                        if not options.paste_back:
                            m = step.crop_m if step.crop_m is not None else _center_crop(step.source.image)
                            out = warp_crop(step.source.image, m, CropConfig().dsize)
                    else:
                        seen = True
                        extra = {} if step.targets is None else {"targets": step.targets}
                        out = self.backend.render(step.state, step.motion, step.reference, options,
                                                  still=still, source_video=True, **extra)  # fmt: skip
                    if options.concat:
                        out = self._concat(step.source.image, step.driving, out)
                    yield out
            finally:
                drv_stream.close()
        if not driven:
            raise NoFaceError("no face found in any driving frame", driving.path)
        if not seen:
            raise NoFaceError("no face found in any source frame", source)

    def _video_steps(
        self, pairs: Iterable[tuple[DrivingFrame, DrivingFrame]], reference, options, still: bool
    ) -> Iterator[_VideoStep]:
        """Per (source frame, driving frame): what to render, or a source frame to pass through
        (no face in it, or no driving face seen yet). A lost driving face holds the last motion."""
        last, crop_m = None, None
        for s_frame, d_frame in pairs:
            motion = self.backend.motion(d_frame)
            if motion is not None:
                last = motion
                reference = reference if reference is not None else motion
            lm = s_frame.landmarks
            if lm is not None:
                crop_m = crop_matrix(lm, CropConfig())
            if lm is None or last is None:
                yield _VideoStep(s_frame, d_frame, crop_m, last is not None)
                continue
            state = self.backend.prepare(s_frame.image, Face(lm, FaceBox.from_points(lm), 1.0))
            yield _VideoStep(s_frame, d_frame, crop_m, True, state, last, reference)

    def _smoothed_steps(self, steps: Iterable[_VideoStep], options, still: bool) -> Iterable[_VideoStep]:
        """Steps with their motion smoothed over the video (``options.smoothing``): the backend's
        own video targets where it has them (LivePortrait's smoothing, on by default), else the
        driving motion (only when asked)."""
        backend = self.backend
        targets = getattr(backend, "video_targets", None)
        variance = options.smoothing
        if targets is not None:
            variance = OBSERVATION_VARIANCE if variance is None else variance
            if not variance or not options.relative:
                return steps

            def vector(step):
                return None if step.state is None else targets(step.state, step.motion, step.reference,
                                                               options, still=still)  # fmt: skip

            def apply(step, v):
                return dataclasses.replace(step, targets=v)
        else:
            if not variance:
                return steps

            def vector(step):
                return None if step.state is None else backend.motion_vector(step.motion)

            def apply(step, v):
                return dataclasses.replace(step, motion=backend.from_vector(step.motion, v))

        return smooth_stream(steps, vector, apply, variance)

    @staticmethod
    def _concat(source: np.ndarray, frame: DrivingFrame | None, out: np.ndarray) -> np.ndarray:
        """source | driving | result, side by side at the result's height."""
        h = out.shape[0]
        if frame is not None and frame.image is not None:
            drv = _fit_height(frame.image, h)
        else:
            drv = _landmark_panel(None if frame is None else frame.landmarks, (h, h), None)
        return np.concatenate([_fit_height(source, h), drv, out], axis=1)

    def animate(
        self,
        source: str | Path | np.ndarray,
        driving: str | Path | DrivingSource | Sequence[str | Path | DrivingSource],
        output: str | Path,
        options: AnimationOptions | None = None,
        progress: bool = False,
        *,
        crf: int = 18,
        preset: str = "medium",
    ) -> Path:
        """Animate ``source`` with ``driving`` (video, image or template) into the MP4 ``output``.

        ``options.face_index`` selects the face(s) to animate; with several faces, ``driving`` may
        be a list with one driving input per face. The first driving video's audio is muxed in
        (``options.keep_audio``); the file appears only when complete. ``crf`` and ``preset`` are
        the H.264 encoder's quality and speed settings.
        """
        options = options or AnimationOptions()
        if not isinstance(source, np.ndarray) and media_kind(Path(source)) == "video":
            return self._animate_video(source, driving, output, options, progress, crf=crf, preset=preset)
        sources = self.prepare_faces(source, options.face_index)
        items = [driving] if isinstance(driving, (str, Path, DrivingSource)) else list(driving)
        limit = options.max_frames
        drivers = [d if isinstance(d, DrivingSource) else DrivingSource(d, self.detector, max_frames=limit)
                   for d in items]  # fmt: skip
        fps = options.fps or drivers[0].fps or 25.0
        audio = drivers[0].audio_path if options.keep_audio else None
        stream = prefetch(self.frames(sources, drivers, options), name="vivify-render")  # encode meanwhile
        if progress:
            from tqdm import tqdm  # noqa: PLC0415

            total = max(len(d) for d in drivers)
            stream = tqdm(stream, total=total, unit="frame", desc="animating", leave=False)
        with VideoWriter(output, fps, audio_from=audio, crf=crf, preset=preset) as writer:
            for frame in stream:
                writer.write(frame)
        return Path(output)

    def _animate_video(self, source, driving, output, options, progress, *, crf: int, preset: str) -> Path:
        """:meth:`animate` for a source video (see :meth:`video_frames`)."""
        if not isinstance(driving, (str, Path, DrivingSource)):
            raise UserError("a source video takes one driving input", source)
        drv = driving if isinstance(driving, DrivingSource) else DrivingSource(driving, self.detector)
        info = probe_video(source)
        fps = options.fps or info.fps or drv.fps or 25.0
        audio = None
        if options.keep_audio:
            audio = drv.audio_path or (Path(source) if info.has_audio else None)
        stream = prefetch(self.video_frames(source, drv, options), name="vivify-render")
        if progress:
            from tqdm import tqdm  # noqa: PLC0415

            total = min(info.n_frames, len(drv)) if drv.kind != "image" else info.n_frames
            stream = tqdm(stream, total=total, unit="frame", desc="animating", leave=False)
        with VideoWriter(output, fps, audio_from=audio, crf=crf, preset=preset) as writer:
            for frame in stream:
                writer.write(frame)
        return Path(output)
