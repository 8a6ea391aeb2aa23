"""Synthetic clips shared by the video and audio I/O tests (test cards, a sine tone, raw PyAV files)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

FAST = {"preset": "ultrafast"}  # encoding speed, not quality, is what these tests need


def card(h: int, w: int, shade: int = 0) -> np.ndarray:
    """(h, w, 3) frame with a red top-left quadrant, grey elsewhere (shade shifts the grey)."""
    img = np.full((h, w, 3), 100 + shade, np.uint8)
    img[: h // 2, : w // 2] = (255, 0, 0)
    return img


def card_frames(n: int, h: int = 48, w: int = 64) -> Iterator[np.ndarray]:
    for i in range(n):
        yield card(h, w, shade=i % 50)


def is_red(pixel: np.ndarray) -> bool:
    return bool(pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60)


def raw_av_video(path: Path, n: int, *, rotation_ccw: int = 0, gop: int | None = None) -> None:
    """Encode ``n`` 64x32 test cards with PyAV directly (to set a display matrix)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
        stream.options = {"preset": "ultrafast"} | ({"g": str(gop)} if gop else {})
        if rotation_ccw:
            stream.set_display_rotation(rotation_ccw)
        for frame in card_frames(n, 32, 64):
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def sine_m4a(path: Path, seconds: float, rate: int = 44100) -> None:
    """An audio-only AAC file holding a 440 Hz tone."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=rate)
        stream.layout = "mono"
        t = np.arange(round(seconds * rate)) / rate
        samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
