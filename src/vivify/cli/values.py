"""argparse types for every number the CLI takes: each is finite and within a stated range, so a
slip (``--fps 0``, ``--multiplier nan``) is one line naming the option, exit 2."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def number(low: float, high: float, *, low_open: bool = False) -> Callable[[str], float]:
    """A finite float within ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    shown = f"above {low:g} and at most {high:g}" if low_open else f"within {low:g}..{high:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        inside = (low < value if low_open else low <= value) and value <= high
        if not math.isfinite(value) or not inside:
            raise argparse.ArgumentTypeError(f"must be {shown}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


def integer(low: int, high: int) -> Callable[[str], int]:
    """An integer within ``[low, high]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be within {low}..{high}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


MAX_FRAMES = 10_000_000  # ~4 days at 30 fps: anything above is a typo
positive_int = integer(1, MAX_FRAMES)
fps = number(0.0, 240.0, low_open=True)  # an output frame rate players and encoders accept
multiplier = number(0.0, 10.0)  # LivePortrait's motion multiplier; beyond 10 faces tear apart
variance = number(0.0, 1.0)  # Kalman observation variance: 3e-7 light .. 1e-4 strong
ratio = number(0.0, 1.0)  # eye / lip open ratio
crf = integer(0, 51)  # x264's quality scale
batch = integer(1, 1024)
face_index = integer(0, 64)


def reference_frame(text: str) -> int | str:
    """A frame number, 'first' or 'neutral'."""
    if text in ("first", "neutral"):
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, 'first' or 'neutral', got {text!r}") from None
    if not 0 <= value <= MAX_FRAMES:
        raise argparse.ArgumentTypeError(f"must be a frame number >= 0, got {value}")
    return value


payload = integer(0, 2**32 - 1)  # what the watermark carries besides the version
