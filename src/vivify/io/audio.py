"""Audio for written videos: copy another file's first audio stream into an output as AAC.

Decisions:
    * The audio is re-encoded to AAC, interleaved with the video as frames are written, and
      made exactly as long as the video (frames / fps): longer audio is cut, shorter audio is
      padded with silence. The audio is taken from the start of its stream.
    * Mono stays mono; anything with more channels becomes stereo. Sample rates the AAC encoder
      does not take are resampled to 48 kHz.
    * Corrupt audio packets are skipped (logged once as a warning with the count).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
import numpy as np

from vivify.io.video_reader import open_container

logger = logging.getLogger(__name__)

# Sample rates the AAC encoder accepts; anything else is resampled to 48 kHz.
_AAC_RATES = frozenset({96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000})


class AudioTrack:
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
    def open(cls, path: Path, output: av.container.OutputContainer) -> AudioTrack | None:
        """An audio track from ``path``, or None if that file has no audio stream."""
        source = open_container(path)
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
