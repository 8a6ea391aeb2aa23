"""All four checks over the consecutive frames of one animation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from vivify.face.openness import lip_open
from vivify.render_checks.eyes import ClosedEyeCheck, closed_eye_checks, eye_references
from vivify.render_checks.mouth import MouthCheck, mouth_check
from vivify.render_checks.seam import SeamCheck, seam_check
from vivify.render_checks.streaks import StreakCheck, streak_check


@dataclass(frozen=True)
class FrameChecks:
    """The four checks of one frame (``streaks`` is None on the first frame)."""

    index: int
    seam: SeamCheck
    streaks: StreakCheck | None
    mouth: MouthCheck
    eyes: tuple[ClosedEyeCheck, ClosedEyeCheck]


class FrameChecker:
    """Runs every check over the consecutive frames of one animation of one source.

    Args:
        source: (H, W, 3) uint8 RGB source picture.
        source_landmarks: (478, 2+) its landmarks.
        footprint: (H, W) bool, the pixels the renderer may change (the backend's ``footprint``).
    """

    def __init__(self, source: np.ndarray, source_landmarks: np.ndarray, footprint: np.ndarray) -> None:
        self.source, self.footprint = source, footprint
        self.eyes = eye_references(source, source_landmarks)
        self.source_gap = float(lip_open(np.asarray(source_landmarks, np.float64)[:, :2]))
        self._previous: tuple[np.ndarray, np.ndarray] | None = None
        self._index = 0

    def update(self, frame: np.ndarray, landmarks: np.ndarray) -> FrameChecks:
        """The checks of the next frame, rendered for the target ``landmarks`` (478, 2+)."""
        streaks = None
        if self._previous is not None:
            before, before_landmarks = self._previous
            streaks = streak_check(before, frame, before_landmarks, landmarks, self.footprint)
        checks = FrameChecks(
            self._index,
            seam_check(frame, self.source, self.footprint),
            streaks,
            mouth_check(frame, landmarks, source_gap=self.source_gap),
            closed_eye_checks(frame, landmarks, self.eyes),
        )
        self._previous = (frame.copy(), np.array(landmarks, np.float64))
        self._index += 1
        return checks


@contextmanager
def recording_targets(backend) -> Iterator[list[np.ndarray]]:
    """Record the target landmarks (478, 3) a mesh backend's ``warp`` is asked for, in call order
    (the checks need what each frame was rendered for)."""
    targets: list[np.ndarray] = []
    warp = backend.warp

    def recording_warp(state, target, canvas=None):
        targets.append(np.array(target, np.float64))
        return warp(state, target, canvas)

    backend.warp = recording_warp
    try:
        yield targets
    finally:
        del backend.warp
