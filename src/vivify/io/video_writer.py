"""Video output with PyAV: encode RGB frames to an H.264 MP4 (+ audio).

Writing decisions:
    * H.264 (libx264) yuv420p, BT.709 limited range (tagged in the stream so players decode
      the colours as encoded), ``+faststart`` so playback can begin before the download ends.
    * yuv420p needs even dimensions: an odd width/height is padded by one row/column that
      repeats the edge pixels (no visible border, unlike black padding; no content lost, unlike
      cropping).
    * Audio from ``audio_from`` is re-encoded to AAC, interleaved with the video as frames are
      written, and made exactly as long as the video (frames / fps): longer audio is cut, shorter
      audio is padded with silence. The audio is taken from the start of its stream (see
      :mod:`vivify.io.audio`).
    * The file is written under a hidden temporary name in the target folder and renamed into
      place only when complete; on any error nothing is left behind.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Iterable, Mapping
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import numpy as np
from av.video.reformatter import Interpolation

from vivify.io.atomic import atomic_path
from vivify.io.audio import AudioTrack
from vivify.io.files import check_readable_file
from vivify.io.formats import X264_PRESETS

logger = logging.getLogger(__name__)

# Containers VideoWriter can produce (H.264 + AAC fit all of them).
_WRITABLE_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".mkv"})
_FASTSTART_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v"})  # movflags is an MP4/MOV option
# FFmpeg enum values (AVCOL_*) for BT.709 tagging and limited ("MPEG", 16-235) range.
_AVCOL_BT709 = 1
_AVCOL_RANGE_MPEG = 1
# Rounding (not truncating) RGB->YUV conversion: with the reader's flags an encode/decode round
# trip is colour-neutral (why and measurements: ``_READ_SWS`` in vivify.io.video_reader).
_WRITE_SWS = Interpolation.BICUBIC | Interpolation.ACCURATE_RND


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
        metadata: container tags, e.g. ``comment`` and ``description`` (MP4 keeps those two,
            ``title`` and a few others; FFmpeg drops keys the container has no place for).

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
        metadata: Mapping[str, str] | None = None,
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
        self.metadata = dict(metadata or {})
        self.n_frames = 0
        self._size: tuple[int, int] | None = None  # (height, width) of the input frames
        self._atomic: Any = None  # the atomic_path context manager, once opened
        self._container: av.container.OutputContainer | None = None
        self._stream: Any = None
        self._audio: AudioTrack | None = None
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
            self._container.metadata.update(self.metadata)
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
                self._audio = AudioTrack.open(self.audio_from, self._container)
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
    metadata: Mapping[str, str] | None = None,
) -> int:
    """Write an iterable of (H, W, 3) uint8 RGB frames to ``path`` (see ``VideoWriter``).

    Returns:
        The number of frames written.
    """
    with VideoWriter(path, fps, audio_from=audio_from, crf=crf, preset=preset, metadata=metadata) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.n_frames
