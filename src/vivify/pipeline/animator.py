"""The Animator: prepare a source once, then stream animated frames for any source of motion."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path

import numpy as np

from vivify.backends import RenderBackend, SpeedOptions, load_backend
from vivify.errors import NoFaceError, UserError
from vivify.face.align import CropConfig, crop_matrix
from vivify.face.detect import FaceDetector, MediaPipeFaceDetector, find_face
from vivify.io import VideoWriter, load_image, media_kind, probe_video, save_image
from vivify.io.formats import IMAGE_OUTPUTS
from vivify.io.outputs import check_output
from vivify.io.prefetch import prefetch
from vivify.motion.editing import FaceEdit
from vivify.motion.smoothing import OBSERVATION_VARIANCE
from vivify.pipeline.driving import DrivingSource
from vivify.pipeline.motion_source import MotionSource
from vivify.pipeline.motion_stream import motion_steps
from vivify.pipeline.options import AnimationOptions, FaceSelection
from vivify.pipeline.reference import reference_choice
from vivify.pipeline.render_steps import SourceTrack, render_steps, smooth_targets
from vivify.pipeline.scheduler import Schedule, Scheduler
from vivify.pipeline.source_track import PictureTrack, PreparedSource, VideoTrack

logger = logging.getLogger(__name__)

MAX_FACES = 8  # faces found with face_index="all"

Source = str | Path | np.ndarray
Sources = PreparedSource | Sequence[PreparedSource] | str | Path | np.ndarray
Drivers = MotionSource | Sequence[MotionSource]


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
        >>> animator = Animator("mesh")  # doctest: +SKIP
        >>> source = animator.prepare("portrait.jpg")  # doctest: +SKIP
        >>> for frame in animator.frames(source, animator.open("driving.mp4")):  # doctest: +SKIP
        ...     ...
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

    def open(self, driving: str | Path | MotionSource, max_frames: int | None = None) -> MotionSource:
        """A driving file (video, image, ``.npz`` or ``.pkl`` template) as a source of motion."""
        if isinstance(driving, MotionSource):
            return driving
        return DrivingSource(driving, self.detector, max_frames=max_frames)

    def prepare(self, source: Source, face_index: int = 0) -> PreparedSource:
        """Find the face in the source image and do the backend's per-source work once."""
        return self.prepare_faces(source, (face_index,))[0]

    def prepare_faces(self, source: Source, faces: FaceSelection = "all") -> list[PreparedSource]:
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
        return [PreparedSource(image, face.landmarks, self.backend.prepare(image, face),
                               crop_matrix(face.landmarks, CropConfig())) for face in found]  # fmt: skip

    def edit(
        self,
        source: Source,
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
        if output is not None:
            check_output(output, [_path_of(source)])
            if Path(output).suffix.lower() not in IMAGE_OUTPUTS:
                raise UserError(f"an edit is written as a picture ({', '.join(IMAGE_OUTPUTS)})", output)
        sources = self.prepare_faces(source, options.face_index)
        if not options.paste_back and len(sources) > 1:
            raise UserError("--no-paste-back outputs one face's crop; select a single face")
        canvas = None
        for prepared in sources:
            canvas = self.backend.edit(prepared.state, edit, options.transfer, paste_back=options.paste_back,
                                       canvas=canvas)  # fmt: skip
        assert canvas is not None
        canvas = options.provenance.mark(canvas)
        if output is not None:
            save_image(output, canvas, metadata=options.provenance.tags())
        return canvas

    def _track(self, source: Sources, options: AnimationOptions) -> SourceTrack:
        """A picture's prepared faces, or a source video to prepare frame by frame."""
        if isinstance(source, PreparedSource):
            return PictureTrack([source])
        if isinstance(source, (str, Path, np.ndarray)):
            if isinstance(source, np.ndarray) or media_kind(Path(source)) != "video":
                return PictureTrack(self.prepare_faces(source, options.face_index))
            if not isinstance(options.face_index, int):
                raise UserError("a source video animates one face; choose it with --face-index", source)
            return VideoTrack(source, options.face_index, options.max_frames)
        return PictureTrack(list(source))

    def _check(self, track: SourceTrack, drivers: list[MotionSource], options: AnimationOptions) -> None:
        """Refuse, before any work, what cannot be animated."""
        if track.source_video and len(drivers) != 1:
            raise UserError("a source video takes one driving input", track.path)
        if len(drivers) not in (1, len(track)):
            raise UserError(f"{len(drivers)} driving inputs for {len(track)} faces: give one, or one each")
        if not options.paste_back and len(track) > 1:
            raise UserError("--no-paste-back outputs one face's crop; select a single face")
        for driver in drivers:
            if not self.backend.capabilities.can_drive(driver.carries):
                what = (
                    "template" if isinstance(driver, DrivingSource) and driver.kind == "template" else "input"
                )
                raise UserError(
                    f"this {what} holds no motion the {self.backend.name} backend can use (it has "
                    f"{driver.describe_motion()}); choose the backend with --backend",
                    driver.path,
                )

    def _smoothing(self, track: SourceTrack, options: AnimationOptions) -> tuple[float, float]:
        """Observation variances of the driving motion's smoothing and of a source video's
        targets (LivePortrait smooths the latter by default, in relative mode)."""
        if track.source_video and self.backend.capabilities.video_targets:
            variance = OBSERVATION_VARIANCE if options.smoothing is None else options.smoothing
            return 0.0, variance if options.relative else 0.0
        return options.smoothing or 0.0, 0.0

    def frames(
        self, source: Sources, driving: Drivers, options: AnimationOptions | None = None
    ) -> Iterator[np.ndarray]:
        """Yield one animated frame per driving frame (constant memory for any length).

        ``source`` is a prepared picture face, several faces of one picture, a picture (its faces
        chosen by ``options.face_index``), or a source *video* (each frame keeps its own head
        position and size and takes the driver's expression, and head turn for regions
        "all"/"pose"). Several faces are each driven by
        their own source of motion, in order, or all by one, into the same frame. Drivers of
        different lengths run to the longest, a finished one holding its last motion; a source
        video stops at the shorter of it and its driver (a driving image drives it to its end).
        Frames whose driving face is lost repeat the last motion (the source at rest before the
        first face is seen). Raises NoFaceError at the end if a driver had no face at all.
        Each frame carries the invisible watermark unless ``options.watermark`` is False.
        """
        options = options or AnimationOptions()
        track = self._track(source, options)
        drivers = [driving] if isinstance(driving, MotionSource) else list(driving)
        self._check(track, drivers, options)
        choice = reference_choice(options.reference_frame, self.backend)
        motion_variance, target_variance = self._smoothing(track, options)
        single = len(drivers) == 1  # one driver: decoding, tracking and motion get threads of their own
        keep_pixels = options.concat  # the side-by-side preview shows the driving frames
        streams = [motion_steps(self.backend, d, choice, smoothing=motion_variance, keep_pixels=keep_pixels,
                                threaded=single) for d in drivers]  # fmt: skip
        planned = render_steps(track, streams, drivers, self.backend, options.max_frames)
        steps = (
            smooth_targets(planned, self.backend, options.transfer, target_variance)
            if target_variance
            else planned
        )
        ahead = 1 if single and self.backend.capabilities.asynchronous else 0
        schedule = Schedule(options.batch_size, ahead, options.paste_back, options.concat)
        mark = options.provenance.mark
        try:
            for frame in Scheduler(self.backend, options.transfer, schedule).frames(steps):
                yield mark(frame)
        finally:
            planned.close()  # stops the driving threads and closes the source video

    def video_frames(
        self, source: str | Path, driving: MotionSource, options: AnimationOptions | None = None
    ):
        """:meth:`frames` for a source video (its path)."""
        return self.frames(Path(source), driving, options)

    def _animate_picture(
        self,
        source: Source,
        drivers: list[MotionSource],
        output: str | Path,
        options: AnimationOptions,
        video: bool,
    ) -> Path:
        """A still driver on a picture, written as a picture (the output names an image)."""
        moving = [d for d in drivers if not d.still]
        if video or moving:
            what = "a source video" if video else f"the moving driver {moving[0].path or moving[0]}"
            raise UserError(f"is a picture, but {what} makes a video: name a video file (.mp4)", output)
        sources = self.prepare_faces(source, options.face_index)
        with closing(self.frames(sources, drivers, options)) as frames:
            frame = next(frames)
        save_image(output, frame, metadata=options.provenance.tags())
        return Path(output)

    def animate(
        self,
        source: Source,
        driving: str | Path | MotionSource | Sequence[str | Path | MotionSource],
        output: str | Path,
        options: AnimationOptions | None = None,
        progress: bool = False,
    ) -> Path:
        """Animate ``source`` (a picture or a video) with ``driving`` (a video, image, template or
        any :class:`MotionSource`) into the MP4 ``output``, or into a picture when ``output``
        names one (.png, .jpg, .jpeg, .webp) and every driver is a still image.

        Refused before any work: an output that is one of the inputs, or that cannot be written.

        ``options.face_index`` selects the face(s) to animate; with several faces, ``driving`` may
        be a list with one source of motion per face. The first driver's audio (else a source
        video's) is muxed in (``options.keep_audio``); the file appears only when complete.
        """
        options = options or AnimationOptions()
        items = [driving] if isinstance(driving, (str, Path, MotionSource)) else list(driving)
        check_output(output, [_path_of(source), *(_path_of(d) for d in items)])
        drivers = [self.open(d, options.max_frames) for d in items]
        video = not isinstance(source, np.ndarray) and media_kind(Path(source)) == "video"
        if Path(output).suffix.lower() in IMAGE_OUTPUTS:
            return self._animate_picture(source, drivers, output, options, video)
        info = probe_video(source) if video else None
        sources = Path(source) if video else self.prepare_faces(source, options.face_index)
        timed = (info.fps if info else None) or next((d.fps for d in drivers if not d.still and d.fps), None)
        fps = options.fps or timed or 25.0
        if options.fps and timed and abs(options.fps - timed) > 0.01 * timed:
            logger.warning(
                "output at %g fps from motion recorded at %g fps: frames are not resampled, so the "
                "motion plays %.2g× as fast%s", options.fps, timed, options.fps / timed,
                " (the audio keeps its speed: it will not match)" if options.keep_audio else "",
            )  # fmt: skip
        audio = drivers[0].audio_path if options.keep_audio else None
        if options.keep_audio and audio is None and info is not None and info.has_audio:
            audio = Path(source)
        total = _expected_frames(drivers, info)
        rendered = prefetch(self.frames(sources, drivers, options), name="vivify-render")  # encode meanwhile
        stream = rendered
        if progress:
            from tqdm import tqdm  # noqa: PLC0415

            stream = tqdm(rendered, total=total, unit="frame", desc="animating", leave=False)
        # closing: an interrupt or a failed write stops the render, driving and decoding threads
        # here, not whenever the generator happens to be collected
        encoding = {"crf": options.crf, "preset": options.preset, "metadata": options.provenance.tags()}
        with closing(rendered), VideoWriter(output, fps, audio_from=audio, **encoding) as writer:
            for frame in stream:
                writer.write(frame)
        return Path(output)


def _path_of(item: object) -> Path | None:
    """The file behind a source or a driver, if it has one (a MotionSource says which)."""
    if isinstance(item, (str, Path)):
        return Path(item)
    return getattr(item, "path", None) if isinstance(item, MotionSource) else None


def _expected_frames(drivers: list[MotionSource], video_info) -> int | None:
    """Output frames to expect (for a progress bar), None when a driver does not say."""
    counts = [d.n_frames for d in drivers if not (video_info is not None and d.still)]
    if any(c is None for c in counts):
        return None
    if video_info is not None:
        return min([video_info.n_frames, *counts])
    return max(counts) if counts else None
