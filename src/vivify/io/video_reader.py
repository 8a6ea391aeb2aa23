"""Video input with PyAV: probe a file, stream its frames as RGB arrays.

Reading decisions:
    * Frames come out as the viewer would show them: display-matrix rotation (90/180/270) is
      applied, and non-square pixels are corrected by resampling the *width* to
      ``round(coded_width * SAR)`` (the height is kept: it is the line count). E.g. a 512x480
      stream with SAR 15:16 is read as 480x480 frames.
    * Corrupt packets mid-stream are skipped (logged once as a warning with the count): the
      decoder conceals damage in the next frames, and one bad packet should not throw away a
      long driving video. A video where *no* frame decodes is an ``InputError``, and so is a
      container read (demux) failure, which means the file itself is broken.
    * Frames are decoded one at a time; memory use does not grow with the video's length.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
import numpy as np
from av.video.reformatter import Interpolation

from vivify.errors import InputError
from vivify.io.files import check_readable_file
from vivify.io.formats import VIDEO_EXTENSIONS

logger = logging.getLogger(__name__)


#: Frame rates outside this range come from broken timestamps, not from a camera.
MIN_FPS, MAX_FPS = 1.0, 240.0
FALLBACK_FPS = 25.0
_WARNED: set[tuple[Path, float]] = set()

# swscale's default YUV<->RGB fast path truncates instead of rounding and skips horizontal chroma
# interpolation, which darkens every pixel by ~1-2 levels per read/write cycle; these flags (with
# the writer's ``_WRITE_SWS``) make an encode/decode round trip colour-neutral (measured mean
# bias < 0.1 level) for ~1.5 ms/frame.
_READ_SWS = Interpolation.BICUBIC | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT


def is_video_file(path: str | Path) -> bool:
    """Whether ``path`` has a video extension (by name only; see ``media.media_kind``)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


@dataclass(frozen=True)
class VideoInfo:
    """What ``probe_video`` learns about a video file.

    Attributes:
        path: the file.
        width, height: display size of the frames ``VideoReader`` yields (after non-square
            pixel correction, then rotation).
        coded_width, coded_height: size of the frames as stored in the stream.
        fps: average frame rate.
        n_frames: number of frames (from the container, or counted by decoding if it has none).
        duration: video duration in seconds.
        rotation: clockwise rotation in degrees (0, 90, 180, 270) applied for display.
        sample_aspect_ratio: pixel width / pixel height as stored (1 for square pixels).
        has_audio: whether the file has an audio stream.
        audio_duration: duration of the first audio stream in seconds, None without audio.
        codec: video codec name (e.g. "h264").
    """

    path: Path
    width: int
    height: int
    coded_width: int
    coded_height: int
    fps: float
    n_frames: int
    duration: float
    rotation: int
    sample_aspect_ratio: Fraction
    has_audio: bool
    audio_duration: float | None
    codec: str


@dataclass(frozen=True)
class _StreamFacts:
    """What one pass over the container's headers and first video frame tells about it."""

    codec: str
    coded_width: int
    coded_height: int
    rotation: int
    sar: Fraction
    rate: Fraction | None
    n_frames: int  # 0 when the container records no frame count
    duration: float | None
    has_audio: bool


def open_container(path: Path) -> av.container.InputContainer:
    """Open a video or audio file for demuxing, mapping FFmpeg's errors to one-line ``InputError``s."""
    check_readable_file(path)
    try:
        return av.open(str(path), "r")
    except PermissionError as exc:
        raise InputError("permission denied", path) from exc
    except av.error.InvalidDataError as exc:
        raise InputError("not a video or audio file (unrecognised or corrupt data)", path) from exc
    except av.error.EOFError as exc:
        raise InputError("contains no media data (empty or truncated container)", path) from exc
    except (av.error.FFmpegError, OSError) as exc:
        raise InputError(f"cannot be read as a video or audio file ({exc})", path) from exc


def _is_image_demuxer(container: av.container.InputContainer) -> bool:
    """FFmpeg opens still images too (image2, png_pipe, ...); those are not videos here."""
    name = container.format.name
    return name == "image2" or name.endswith("_pipe")


def _rotation_cw(frame: av.VideoFrame, stream: av.video.stream.VideoStream) -> int:
    """Clockwise display rotation, snapped to 0/90/180/270.

    FFmpeg exports the MP4 display matrix as frame side data (``frame.rotation``, counter-
    clockwise degrees); very old demuxers used a ``rotate`` tag (clockwise) instead.
    """
    ccw = float(frame.rotation or 0)
    cw = -ccw
    if ccw == 0 and "rotate" in stream.metadata:
        try:
            cw = float(stream.metadata["rotate"])
        except ValueError:
            cw = 0.0
    snapped = int(round(cw / 90.0)) * 90 % 360
    if abs(((cw - snapped) + 180) % 360 - 180) > 1:
        logger.warning("rotation of %.1f degrees is not a multiple of 90; using %d", cw, snapped)
    return snapped


def _sample_aspect_ratio(stream: Any) -> Fraction:
    """The stream's pixel aspect ratio; 0/1 or missing means "unknown", read as square."""
    sar = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
    return Fraction(sar) if sar else Fraction(1)


def _display_size(coded_w: int, coded_h: int, sar: Fraction, rotation: int) -> tuple[int, int]:
    """(width, height) after correcting non-square pixels (width only), then rotating."""
    width = max(1, round(coded_w * sar)) if sar != 1 else coded_w
    return (coded_h, width) if rotation in (90, 270) else (width, coded_h)


def _count_frames(path: Path) -> int:
    """Count decodable frames by decoding them all (for containers without a frame count)."""
    count = 0
    with open_container(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for packet in container.demux(stream):
            try:
                count += len(stream.decode(packet))
            except av.error.InvalidDataError:
                continue  # same policy as VideoReader: corrupt packets are skipped
    return count


def _first_frame(container: av.container.InputContainer, stream: Any) -> av.VideoFrame | None:
    """Decode and return the first decodable frame of ``stream``, or None if there is none."""
    for packet in container.demux(stream):
        try:
            frames = stream.decode(packet)
        except av.error.InvalidDataError:
            continue
        if frames:
            return frames[0]
    return None


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    """Stream timestamp to seconds, None when unknown."""
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def _audio_duration(container: av.container.InputContainer) -> float | None:
    """Duration of the first audio stream; summed packet durations if the header lacks it."""
    stream = container.streams.audio[0]
    duration = _seconds(stream.duration, stream.time_base)
    if duration is not None:
        return duration
    total = sum(p.duration or 0 for p in container.demux(stream))  # demux only, no decode
    return _seconds(total, stream.time_base) if total else None


def _stream_facts(container: av.container.InputContainer, path: Path) -> _StreamFacts:
    """Read the first video stream's headers and decode its first frame.

    Raises:
        InputError: a still image, no video stream, or no decodable video frame.
    """
    if _is_image_demuxer(container):
        raise InputError("is a still image, not a video", path)
    if not container.streams.video:
        raise InputError("contains no video stream", path)
    stream = container.streams.video[0]
    codec = stream.codec_context.name
    try:
        first = _first_frame(container, stream)
    except av.error.FFmpegError as exc:
        raise InputError(f"cannot be decoded ({exc})", path) from exc
    if first is None:
        raise InputError("contains no decodable video frames", path)
    duration = _seconds(stream.duration, stream.time_base)
    if duration is None and container.duration:
        duration = container.duration / 1_000_000  # AV_TIME_BASE units
    return _StreamFacts(
        codec=codec,
        coded_width=first.width,
        coded_height=first.height,
        rotation=_rotation_cw(first, stream),
        sar=_sample_aspect_ratio(stream),
        rate=stream.average_rate or stream.guessed_rate or stream.base_rate,
        n_frames=stream.frames or 0,
        duration=duration,
        has_audio=bool(container.streams.audio),
    )


def _frame_rate(rate: Fraction | None, n_frames: int, duration: float | None, path: Path) -> float:
    """Frames per second: the stream's rate, else frames over duration; one no camera records
    (broken timestamps) becomes :data:`FALLBACK_FPS`, with a warning."""
    if rate:
        fps = float(rate)
    elif duration:
        fps = n_frames / duration
    else:
        raise InputError("has no frame rate and no duration", path)
    if MIN_FPS <= fps <= MAX_FPS:
        return fps
    if (path, fps) not in _WARNED:  # probed several times per run: say it once
        _WARNED.add((path, fps))
        logger.warning(
            "%s: its timestamps say %.4g fps, which no camera records; read as %g fps (choose "
            "the output's with --fps)", path, fps, FALLBACK_FPS,
        )  # fmt: skip
    return FALLBACK_FPS


def probe_video(path: str | Path) -> VideoInfo:
    """Inspect a video file (and decode its first frame, to be sure it is playable).

    Args:
        path: video file.

    Returns:
        Its ``VideoInfo``.

    Raises:
        InputError: missing path, folder, empty file, not a media file, a still image, no
            video stream, or no decodable video frame.
    """
    path = Path(path)
    with open_container(path) as container:
        facts = _stream_facts(container, path)
    n_frames = facts.n_frames
    if n_frames <= 0:
        n_frames = _count_frames(path)
        if n_frames == 0:
            raise InputError("contains no decodable video frames", path)
    fps = _frame_rate(facts.rate, n_frames, facts.duration, path)
    duration = facts.duration or n_frames / fps
    audio_duration = None
    if facts.has_audio:
        with open_container(path) as container:
            audio_duration = _audio_duration(container)
    width, height = _display_size(facts.coded_width, facts.coded_height, facts.sar, facts.rotation)
    return VideoInfo(
        path=path,
        width=width,
        height=height,
        coded_width=facts.coded_width,
        coded_height=facts.coded_height,
        fps=fps,
        n_frames=n_frames,
        duration=float(duration),
        rotation=facts.rotation,
        sample_aspect_ratio=facts.sar,
        has_audio=facts.has_audio,
        audio_duration=audio_duration,
        codec=facts.codec,
    )


def _check_complete(path: Path, decoded: int, declared: int) -> None:
    """Warn when a video ends well before the frame count it declares (a truncated download)."""
    if declared and decoded < declared - max(2, declared // 50):
        msg = "%s: only %d of the %d frames it declares could be decoded (truncated or damaged?)"
        logger.warning(msg + "; the output stops there", path, decoded, declared)


class VideoReader:
    """Iterate over a video's frames as (H, W, 3) uint8 RGB arrays, one at a time.

    Frames are rotated and pixel-aspect corrected to ``info.width`` x ``info.height`` (every
    frame, even if the stream changes resolution midway). Each ``iter()`` starts from the
    first frame with its own decoder; leaving the ``with`` block (or ``close()``) releases them.

    Example:
        >>> with VideoReader("in.mp4", max_frames=100) as reader:
        ...     for rgb in reader:  # (H, W, 3) uint8
        ...         ...

    Args:
        path: video file.
        max_frames: stop after this many frames (None: all).

    Raises:
        InputError: see ``probe_video`` (raised at construction); also during iteration if the
            container cannot be read further.
    """

    def __init__(self, path: str | Path, max_frames: int | None = None) -> None:
        if max_frames is not None and max_frames < 0:
            raise ValueError(f"max_frames must be >= 0 or None, got {max_frames}")
        self.path = Path(path)
        self.max_frames = max_frames
        self.info: VideoInfo = probe_video(self.path)
        self._live: list[Iterator[np.ndarray]] = []

    def __len__(self) -> int:
        """Number of frames iteration yields (``info.n_frames``, capped by ``max_frames``)."""
        n = self.info.n_frames
        return n if self.max_frames is None else min(n, self.max_frames)

    def __iter__(self) -> Iterator[np.ndarray]:
        gen = self._frames()
        self._live.append(gen)
        return gen

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop any iteration in progress and release its decoder and file."""
        for gen in self._live:
            gen.close()  # type: ignore[attr-defined]  # runs the generator's `finally`
        self._live.clear()

    def _to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        """Decoded frame -> (H, W, 3) uint8 RGB at display size and orientation."""
        info = self.info
        turns = info.rotation // 90
        # Size before rotation; swscale does the colour conversion and SAR resampling in one go.
        w, h = (info.height, info.width) if turns % 2 else (info.width, info.height)
        rgb = frame.to_ndarray(format="rgb24", width=w, height=h, interpolation=_READ_SWS)
        if turns:
            rgb = np.ascontiguousarray(np.rot90(rgb, k=-turns))  # negative k: clockwise
        return rgb

    def _frames(self) -> Iterator[np.ndarray]:
        limit = len(self) if self.max_frames is not None else None
        if limit == 0:
            return
        yielded = skipped = 0
        container = open_container(self.path)
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"  # frame + slice threads: decoding is the bottleneck
            packets = container.demux(stream)
            while True:
                try:
                    packet = next(packets)
                except StopIteration:
                    break
                except av.error.FFmpegError as exc:
                    raise InputError(f"read error after {yielded} frames ({exc})", self.path) from exc
                try:
                    frames = stream.decode(packet)  # the final empty packet flushes the decoder
                except av.error.InvalidDataError as exc:
                    skipped += 1
                    logger.debug("%s: skipping corrupt packet (%s)", self.path, exc)
                    continue
                for frame in frames:
                    yield self._to_rgb(frame)
                    yielded += 1
                    if limit is not None and yielded >= limit:
                        return
            if yielded == 0:
                raise InputError("contains no decodable video frames", self.path)
            _check_complete(self.path, yielded, self.info.n_frames)
        finally:
            container.close()
            if skipped:
                logger.warning("%s: skipped %d corrupt video packet(s)", self.path, skipped)
