"""vivify's invisible watermark: a keyed spread-spectrum mark in the luma of every output frame."""

from vivify.watermark.detect import DEFAULT_THRESHOLD, Detection, Detector, detect
from vivify.watermark.embed import DEFAULT_STRENGTH, embed
from vivify.watermark.message import Message, current_version
from vivify.watermark.pattern import DEFAULT_KEY, GRID

__all__ = [
    "DEFAULT_KEY",
    "DEFAULT_STRENGTH",
    "DEFAULT_THRESHOLD",
    "GRID",
    "Detection",
    "Detector",
    "Message",
    "current_version",
    "detect",
    "embed",
]
