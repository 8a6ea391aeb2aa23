"""Video input/output with PyAV: probe, stream frames as RGB arrays, encode H.264 MP4 (+ audio).

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

Writing decisions:
    * H.264 (libx264) yuv420p, BT.709 limited range (tagged in the stream so players decode
      the colours as encoded), ``+faststart`` so playback can begin before the download ends.
    * yuv420p needs even dimensions: an odd width/height is padded by one row/column that
      repeats the edge pixels (no visible border, unlike black padding; no content lost, unlike
      cropping).
    * Audio from ``audio_from`` is re-encoded to AAC, interleaved with the video as frames are
      written, and made exactly as long as the video (frames / fps): longer audio is cut, shorter
      audio is padded with silence. The audio is taken from the start of its stream.
    * The file is written under a hidden temporary name in the target folder and renamed into
      place only when complete; on any error nothing is left behind.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import av.error
import numpy as np
from av.video.reformatter import Interpolation

from vivify.errors import InputError
from vivify.io.atomic import atomic_path
from vivify.io.files import check_readable_file

logger = logging.getLogger(__name__)

#: Extensions treated as videos (lower case, with the dot).
VIDEO_EXTENSIONS: frozenset[str] = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi"})

# Containers VideoWriter can produce (H.264 + AAC fit all of them).
_WRITABLE_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".mkv"})
_FASTSTART_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v"})  # movflags is an MP4/MOV option
X264_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast",
    "medium", "slow", "slower", "veryslow", "placebo",
)  # fmt: skip
# Sample rates the AAC encoder accepts; anything else is resampled to 48 kHz.
_AAC_RATES = frozenset({96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000})
# FFmpeg enum values (AVCOL_*) for BT.709 tagging and limited ("MPEG", 16-235) range.
_AVCOL_BT709 = 1
_AVCOL_RANGE_MPEG = 1
# swscale's default YUV<->RGB fast path truncates instead of rounding and skips horizontal chroma
# interpolation, which darkens every pixel by ~1-2 levels per read/write cycle; these flags make
# an encode/decode round trip colour-neutral (measured mean bias < 0.1 level) for ~1.5 ms/frame.
_READ_SWS = Interpolation.BICUBIC | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
_WRITE_SWS = Interpolation.BICUBIC | Interpolation.ACCURATE_RND


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


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _open_container(path: Path) -> av.container.InputContainer:
    """Open ``path`` for demuxing, mapping FFmpeg's errors to one-line ``InputError``s."""
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


def _display_size(coded_w: int, coded_h: int, sar: Fraction, rotation: int) -> tuple[int, int]:
    """(width, height) after correcting non-square pixels (width only), then rotating."""
    width = max(1, round(coded_w * sar)) if sar != 1 else coded_w
    return (coded_h, width) if rotation in (90, 270) else (width, coded_h)


def _count_frames(path: Path) -> int:
    """Count decodable frames by decoding them all (for containers without a frame count)."""
    count = 0
    with _open_container(path) as container:
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
    with _open_container(path) as container:
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
        coded_w, coded_h = first.width, first.height
        rotation = _rotation_cw(first, stream)
        sar = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
        sar = Fraction(sar) if sar else Fraction(1)  # 0/1 or missing means "unknown": square
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        n_frames = stream.frames or 0
        duration = _seconds(stream.duration, stream.time_base)
        if duration is None and container.duration:
            duration = container.duration / 1_000_000  # AV_TIME_BASE units
        has_audio = bool(container.streams.audio)

    if n_frames <= 0:
        n_frames = _count_frames(path)
        if n_frames == 0:
            raise InputError("contains no decodable video frames", path)
    if rate:
        fps = float(rate)
    elif duration:
        fps = n_frames / duration
    else:
        raise InputError("has no frame rate and no duration", path)
    if not duration:
        duration = n_frames / fps
    audio_duration = None
    if has_audio:
        with _open_container(path) as container:
            audio_duration = _audio_duration(container)

    width, height = _display_size(coded_w, coded_h, sar, rotation)
    return VideoInfo(
        path=path,
        width=width,
        height=height,
        coded_width=coded_w,
        coded_height=coded_h,
        fps=fps,
        n_frames=n_frames,
        duration=float(duration),
        rotation=rotation,
        sample_aspect_ratio=sar,
        has_audio=has_audio,
        audio_duration=audio_duration,
        codec=codec,
    )


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
        container = _open_container(self.path)
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
        finally:
            container.close()
            if skipped:
                logger.warning("%s: skipped %d corrupt video packet(s)", self.path, skipped)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _to_fraction(fps: float | Fraction) -> Fraction:
    """Frame rate as an exact fraction (29.97002997... -> 30000/1001, 25.0 -> 25)."""
    if isinstance(fps, Fraction):
        return fps
    return Fraction(fps).limit_denominator(10000)


def _pad_even(rgb: np.ndarray) -> np.ndarray:
    """Pad an odd height/width by one edge-replicated row/column (yuv420p needs even sizes)."""
    h, w = rgb.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return rgb
    return np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


class _AudioTrack:
    """Re-encodes the first audio stream of a file into an output container as AAC.

    Audio is pulled from the source as the video advances (``write_until``) so audio and video
    packets are interleaved in the file and memory stays bounded.
    """

    def __init__(self, source: av.container.InputContainer, output: av.container.OutputContainer) -> None:
        self._source = source
        in_stream = source.streams.audio[0]
        in_ctx = in_stream.codec_context
        # Mono stays mono; anything with more channels becomes stereo (what every player takes).
        self._layout = "mono" if in_ctx.layout.nb_channels == 1 else "stereo"
        self.rate = in_ctx.sample_rate if in_ctx.sample_rate in _AAC_RATES else 48000
        self._output = output
        self.stream = output.add_stream("aac", rate=self.rate)
        self.stream.layout = self._layout
        self.stream.format = "fltp"  # the native AAC encoder's only sample format
        self.stream.bit_rate = 96_000 if self._layout == "mono" else 192_000
        self._resampler = av.AudioResampler(format="fltp", layout=self._layout, rate=self.rate)
        self._chunks = self._decode(in_stream)
        self._buffer: list[np.ndarray] = []  # decoded, not yet encoded: (channels, n) float32
        self._buffered = 0
        self._sent = 0  # samples given to the encoder so far
        self._exhausted = False  # the source has no more audio

    @classmethod
    def open(cls, path: Path, output: av.container.OutputContainer) -> _AudioTrack | None:
        """An audio track from ``path``, or None if that file has no audio stream."""
        source = _open_container(path)
        if not source.streams.audio:
            logger.debug("%s has no audio stream; writing video only", path)
            source.close()
            return None
        try:
            return cls(source, output)
        except BaseException:
            source.close()
            raise

    def _decode(self, stream: Any) -> Iterator[np.ndarray]:
        """Yield the source audio as (channels, n) float32 chunks at the output rate/layout."""
        skipped = 0
        for packet in self._source.demux(stream):
            try:
                frames = stream.decode(packet)
            except av.error.InvalidDataError:
                skipped += 1
                continue
            if packet.size == 0:  # end of stream: drain the resampler too
                frames = [*frames, None]
            for frame in frames:
                for out in self._resampler.resample(frame):
                    yield out.to_ndarray().reshape(len(out.layout.channels), -1)
        if skipped:
            logger.warning("%s: skipped %d corrupt audio packet(s)", self._source.name, skipped)

    def _take(self, n: int) -> np.ndarray:
        """Remove and return the first ``n`` buffered samples (n <= buffered)."""
        data = np.concatenate(self._buffer, axis=1) if len(self._buffer) > 1 else self._buffer[0]
        head, rest = data[:, :n], data[:, n:]
        self._buffer = [rest] if rest.shape[1] else []
        self._buffered = rest.shape[1]
        return head

    def write_until(self, seconds: float) -> None:
        """Encode audio up to ``seconds`` from the start, with silence once the source has ended.

        Silence is written as the video advances (not all at the end) so the file stays
        interleaved, in chunks of at most one second so memory stays bounded.
        """
        target = round(seconds * self.rate)
        while self._sent + self._buffered < target and not self._exhausted:
            chunk = next(self._chunks, None)
            if chunk is None:
                self._exhausted = True
                break
            self._buffer.append(chunk)
            self._buffered += chunk.shape[1]
        n = min(target - self._sent, self._buffered)
        if n > 0:
            self._encode(self._take(n))
        channels = 1 if self._layout == "mono" else 2
        while self._exhausted and self._sent < target:
            self._encode(np.zeros((channels, min(self.rate, target - self._sent)), np.float32))

    def _encode(self, samples: np.ndarray) -> None:
        data = np.ascontiguousarray(samples, np.float32)
        frame = av.AudioFrame.from_ndarray(data, format="fltp", layout=self._layout)
        frame.sample_rate = self.rate
        frame.pts = self._sent
        frame.time_base = Fraction(1, self.rate)
        self._sent += samples.shape[1]
        for packet in self.stream.encode(frame):
            self._output.mux(packet)

    def finish(self, seconds: float) -> None:
        """Write the rest of the audio up to exactly ``seconds``, flush the encoder."""
        self.write_until(seconds)
        for packet in self.stream.encode(None):
            self._output.mux(packet)
        self.close()

    def close(self) -> None:
        self._source.close()


class VideoWriter:
    """Encode RGB frames to an H.264 MP4, optionally with the audio of another file.

    The first frame fixes the size; the file appears at ``path`` only when the writer is closed
    without error (see the module docstring for padding, colour and audio decisions).

    Example:
        >>> with VideoWriter("out.mp4", fps=25, audio_from="driving.mp4") as writer:
        ...     for rgb in frames:  # (H, W, 3) uint8
        ...         writer.write(rgb)

    Args:
        path: output file (.mp4, .m4v, .mov or .mkv); its folder is created if missing.
        fps: frame rate (float or Fraction; 29.97 and 30000/1001 are both fine).
        audio_from: a video or audio file whose first audio stream is muxed in (None: silent).
            A file without audio is accepted and gives a silent video.
        crf: libx264 constant rate factor (0 = lossless, 18 = visually lossless, 51 = worst).
        preset: libx264 speed/size trade-off ("ultrafast" ... "veryslow").

    Raises:
        ValueError: invalid arguments or frames (programmer errors), or no frame written.
        InputError: ``audio_from`` is missing or not a media file.
    """

    def __init__(
        self,
        path: str | Path,
        fps: float | Fraction,
        *,
        audio_from: str | Path | None = None,
        crf: int = 18,
        preset: str = "medium",
    ) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() not in _WRITABLE_EXTENSIONS:
            raise ValueError(
                f"cannot write a video as {self.path.suffix or 'no extension'!r}; "
                f"use one of {sorted(_WRITABLE_EXTENSIONS)}"
            )
        if not (isinstance(fps, (int, float, Fraction)) and math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        if not 0 <= crf <= 51:
            raise ValueError(f"crf must be in 0..51, got {crf}")
        if preset not in X264_PRESETS:
            raise ValueError(f"unknown x264 preset {preset!r}; use one of {X264_PRESETS}")
        self.fps = _to_fraction(fps)
        self.audio_from = None if audio_from is None else Path(audio_from)
        if self.audio_from is not None:
            check_readable_file(self.audio_from)  # fail before any encoding work is done
        self.crf = crf
        self.preset = preset
        self.n_frames = 0
        self._size: tuple[int, int] | None = None  # (height, width) of the input frames
        self._atomic: Any = None  # the atomic_path context manager, once opened
        self._container: av.container.OutputContainer | None = None
        self._stream: Any = None
        self._audio: _AudioTrack | None = None
        self._closed = False

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self._abort(exc_type, exc, tb)

    def __del__(self) -> None:
        # Safety net for a writer dropped without close()/with: remove its temporary file.
        try:
            if not self._closed and self._atomic is not None:
                logger.warning("VideoWriter for %s was never closed; discarding it", self.path)
                self._abort(None, None, None)
        except Exception:  # never raise from a finaliser (e.g. during interpreter shutdown)
            pass

    def _open(self, height: int, width: int) -> None:
        """Create the temporary output file and its streams for frames of this size."""
        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        try:
            options = {"movflags": "+faststart"} if self.path.suffix.lower() in _FASTSTART_EXTENSIONS else {}
            self._container = av.open(str(tmp), "w", options=options)
            stream = self._container.add_stream("libx264", rate=self.fps)
            stream.width, stream.height = width + width % 2, height + height % 2
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(self.crf), "preset": self.preset}
            ctx = stream.codec_context
            ctx.time_base = 1 / self.fps
            ctx.colorspace = ctx.color_primaries = ctx.color_trc = _AVCOL_BT709
            ctx.color_range = _AVCOL_RANGE_MPEG
            self._stream = stream
            if self.audio_from is not None:
                self._audio = _AudioTrack.open(self.audio_from, self._container)
        except BaseException:
            self._abort(*sys.exc_info())
            raise
        self._size = (height, width)

    def write(self, frame: np.ndarray) -> None:
        """Append one (H, W, 3) uint8 RGB frame.

        Raises:
            ValueError: wrong shape/dtype, a size different from the first frame's, or the
                writer is closed.
        """
        if self._closed:
            raise ValueError("write() on a closed VideoWriter")
        valid = isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim == 3
        if not valid or frame.shape[2] != 3 or frame.shape[0] == 0 or frame.shape[1] == 0:
            raise ValueError(
                "expected an (H, W, 3) uint8 RGB frame, got "
                f"{getattr(frame, 'shape', type(frame))} {getattr(frame, 'dtype', '')}"
            )
        if self._size is None:
            self._open(frame.shape[0], frame.shape[1])
        elif frame.shape[:2] != self._size:
            raise ValueError(
                f"frame {self.n_frames} is {frame.shape[1]}x{frame.shape[0]} but the video is "
                f"{self._size[1]}x{self._size[0]} (fixed by the first frame)"
            )
        try:
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(_pad_even(frame)), format="rgb24")
            # Convert here (not in the encoder) to choose the matrix the stream is tagged with.
            vf = vf.reformat(
                format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG", interpolation=_WRITE_SWS
            )
            vf.pts = self.n_frames
            for packet in self._stream.encode(vf):
                self._container.mux(packet)  # type: ignore[union-attr]
            self.n_frames += 1
            if self._audio is not None:
                self._audio.write_until(self.n_frames / self.fps)
        except BaseException:
            self._abort(*sys.exc_info())
            raise

    def close(self) -> None:
        """Finish the file and move it into place.

        Raises:
            ValueError: no frame was written (no file is created).
        """
        if self._closed:
            return
        if self._container is None:
            self._closed = True
            raise ValueError(f"no frames were written; {self.path} was not created")
        try:
            for packet in self._stream.encode(None):  # flush delayed (B-)frames
                self._container.mux(packet)
            if self._audio is not None:
                self._audio.finish(self.n_frames / self.fps)
            self._container.close()
        except BaseException:
            self._abort(*sys.exc_info())
            raise
        self._closed = True
        self._atomic.__exit__(None, None, None)  # rename into place
        logger.debug("wrote %s (%d frames at %s fps)", self.path, self.n_frames, self.fps)

    def _abort(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Release everything and delete the temporary file (never raises)."""
        if self._closed:
            return
        self._closed = True
        for resource in (self._audio, self._container):
            if resource is not None:
                try:
                    resource.close()
                except Exception as close_exc:  # the original error is the one that matters
                    logger.debug("ignoring error while aborting %s: %s", self.path, close_exc)
        if self._atomic is not None:
            self._atomic.__exit__(exc_type or RuntimeError, exc or RuntimeError("aborted"), tb)


def write_video(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: float | Fraction,
    audio_from: str | Path | None = None,
    *,
    crf: int = 18,
    preset: str = "medium",
) -> int:
    """Write an iterable of (H, W, 3) uint8 RGB frames to ``path`` (see ``VideoWriter``).

    Returns:
        The number of frames written.
    """
    with VideoWriter(path, fps, audio_from=audio_from, crf=crf, preset=preset) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.n_frames
