"""The neural backend: LivePortrait's networks behind the render-backend protocol.

``driving`` (driving crops, motion as tensors), ``source`` (what is prepared per source face),
``frames`` (decoded frames, batches in flight) and ``backend`` (the :class:`NeuralBackend`).
"""

from vivify.backends.neural.backend import NeuralBackend
from vivify.backends.neural.driving import (
    CROP_SIZE,
    DRIVING_CROP,
    INPUT_SIZE,
    DrivingMotion,
    driving_input,
    stack_motions,
)
from vivify.backends.neural.frames import DecodedFrames, PendingFrames, uint8_images
from vivify.backends.neural.source import SOURCE_MAX_DIM, NeuralSource, source_crop

__all__ = [
    "CROP_SIZE",
    "DRIVING_CROP",
    "INPUT_SIZE",
    "SOURCE_MAX_DIM",
    "DecodedFrames",
    "DrivingMotion",
    "NeuralBackend",
    "NeuralSource",
    "PendingFrames",
    "driving_input",
    "source_crop",
    "stack_motions",
    "uint8_images",
]
