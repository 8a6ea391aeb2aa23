"""One driver's motion stream: driving frames in, the backend's motion per frame out.

Per frame: the backend's motion (extracted from pixels, or carried by the frame), pixels dropped
unless a preview shows them, the reference found in the same pass (:mod:`.reference`),
optional Kalman smoothing, and a lost face holding the last motion. With one driver, decoding
and tracking run in a thread of their own, and on an asynchronous device (a GPU) so does
motion extraction; the stream owns those threads and stops them when it is closed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from vivify.backends.base import DrivingFrame, RenderBackend
from vivify.io.prefetch import prefetch
from vivify.motion.smoothing import smooth_stream
from vivify.pipeline.motion_source import MotionSource
from vivify.pipeline.options import ReferenceFrame
from vivify.pipeline.reference import Pair, find_reference


@dataclass(frozen=True)
class MotionStep:
    """One driving frame's contribution to an output frame.

    Attributes:
        frame: the driving frame (its pixels only when a preview needs them).
        motion: the backend's motion to render: this frame's, or the last one seen while the
            face is lost; None until a face has been seen.
        reference: the reference motion of relative mode (None until it is known).
    """

    frame: DrivingFrame
    motion: Any | None
    reference: Any | None


def _pairs(
    backend: RenderBackend, frames: Iterator[DrivingFrame], keep_pixels: bool, host: bool
) -> Iterator[Pair]:
    for frame in frames:
        motion = backend.motion(frame, host=host)
        yield (frame if keep_pixels else dataclasses.replace(frame, image=None)), motion


def _smoothed(pairs: Iterator[Pair], backend: RenderBackend, variance: float) -> Iterator[Pair]:
    return smooth_stream(
        pairs,
        lambda pair: None if pair[1] is None else backend.motion_vector(pair[1]),
        lambda pair, v: (pair[0], backend.from_vector(pair[1], v)),
        variance,
    )


def motion_steps(
    backend: RenderBackend,
    driver: MotionSource,
    choice: ReferenceFrame,
    *,
    smoothing: float = 0.0,
    keep_pixels: bool = False,
    threaded: bool = False,
) -> Iterator[MotionStep]:
    """The driver's frames as :class:`MotionStep` s, in order, in constant memory.

    Args:
        backend: turns frames into motion.
        driver: the source of motion.
        choice: the reference frame: a number, "first" or "neutral".
        smoothing: Kalman observation variance of the motion's smoothing (0: none). Smoothed
            motion is read on the host; otherwise it may stay on the device.
        keep_pixels: keep each frame's pixels (for a side-by-side preview).
        threaded: decode and track in a thread of their own (one driver: the face detector is
            not shared with another thread).
    """
    owned = []
    if threaded:
        frames = prefetch(driver, name="vivify-driving")
        owned.append(frames)
    else:
        frames = iter(driver)
    pairs: Iterator[Pair] = _pairs(backend, frames, keep_pixels, host=smoothing > 0)
    if threaded and backend.capabilities.asynchronous:
        # the device runs behind the host: extract motion ahead in a thread, beside rendering
        pairs = prefetch(pairs, name="vivify-motion")
        owned.append(pairs)
    try:
        reference, pairs = find_reference(pairs, choice, backend, driver)
        if smoothing:
            pairs = _smoothed(pairs, backend, smoothing)
        last = None
        for frame, motion in pairs:
            if motion is not None:
                last = motion
                reference = motion if reference is None else reference
            yield MotionStep(frame, last, reference)
    finally:
        for stream in reversed(owned):  # the motion thread reads the driving thread: it stops first
            stream.close()
