"""The reference driving frame of relative motion, found while the driver is read once.

The reference is a frame number, the first frame with a face, or "neutral": the expression of
the most neutral face among the first :data:`NEUTRAL_SEARCH_FRAMES` with the head pose of the
first face, so that the head starts where the source's is. A search reads the frames it needs
from the stream of (frame, motion) pairs and hands them back for rendering, so nothing is
decoded or tracked twice.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np

from vivify.backends.base import DrivingFrame, RenderBackend
from vivify.errors import NoFaceError
from vivify.face.openness import eye_open, lip_open
from vivify.pipeline.motion_source import MotionSource
from vivify.pipeline.options import NEUTRAL_SEARCH_FRAMES, ReferenceFrame

Pair = tuple[DrivingFrame, Any]  # a driving frame and the backend's motion of it (None: no face)


def neutral_score(landmarks: np.ndarray) -> float:
    """How far a face is from neutral: mouth opening plus eyes away from normally open (0.3)."""
    return float(lip_open(landmarks) + 0.5 * abs(eye_open(landmarks) - 0.3))


def reference_choice(choice: ReferenceFrame | None, backend: RenderBackend) -> ReferenceFrame:
    """The reference frame asked for, or the backend's default ("first" or "neutral")."""
    return backend.capabilities.default_reference if choice is None else choice


def neutral_reference(pairs: list[Pair], backend: RenderBackend) -> Any | None:
    """The expression of the most neutral face (see :func:`neutral_score`) among ``pairs`` with
    the head pose of the first face; None when no frame has a face with landmarks."""
    first, best, best_score = None, None, np.inf
    for frame, motion in pairs:
        if frame.landmarks is None or motion is None:
            continue
        if first is None:
            first = motion
        score = neutral_score(frame.landmarks)
        if score < best_score:
            best, best_score = motion, score
    return None if best is None else backend.reference(first, best)


def find_reference(
    pairs: Iterator[Pair], choice: ReferenceFrame, backend: RenderBackend, driver: MotionSource
) -> tuple[Any | None, Iterator[Pair]]:
    """The reference motion of ``choice`` and the pairs again, those read for it included.

    Returns None for "first" (the stream's first motion is the reference then). A frame number
    takes the motion of that frame, or of the first later one with a face.

    Raises:
        NoFaceError: no face at or after the numbered reference frame.
    """
    if choice in ("first", 0):
        return None, pairs
    if choice == "neutral":
        head = list(itertools.islice(pairs, NEUTRAL_SEARCH_FRAMES))
        return neutral_reference(head, backend), itertools.chain(head, pairs)
    head = []
    for frame, motion in pairs:
        head.append((frame, motion))
        if frame.index >= choice and motion is not None:
            return motion, itertools.chain(head, pairs)
    raise NoFaceError(f"no face found in the driving input at or after reference frame {choice}", driver.path)
