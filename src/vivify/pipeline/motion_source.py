"""Sources of motion: anything that yields driving frames drives a portrait through one loop.

A driving video, a driving image, a motion template, the demo's procedural motion, and next a
speech track or a live camera are all a :class:`MotionSource`: an iterable of
:class:`~vivify.backends.base.DrivingFrame` that says what its frames carry (pixels, face-mesh
landmarks, LivePortrait keypoints), at what rate, and with which audio. The Animator turns
each frame into the backend's motion and renders it; a backend that cannot use what a source
carries is refused before any work is done.

Examples:
    A source of motion in a few lines, here a slow nod of a face mesh (``face`` (478, 3))::

        class Nod(MotionSource):
            carries = frozenset({"landmarks"})
            fps = 25.0

            def __iter__(self):
                for i in range(50):
                    yield DrivingFrame(i, nodded(face, degrees=5 * np.sin(i / 8)), None)

        Animator("mesh").animate("portrait.jpg", Nod(), "nod.mp4")
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from vivify.backends.base import KEYPOINTS, LANDMARKS, PIXELS, DrivingFrame

__all__ = ["KEYPOINTS", "LANDMARKS", "PIXELS", "DrivingFrame", "MotionSource"]


class MotionSource:
    """Per-frame driving motion, with optional pixels for previews.

    Subclasses set what applies and implement ``__iter__``.

    Attributes:
        carries: what every frame may hold: ``"pixels"``, ``"landmarks"``, ``"keypoints"``.
        fps: the frame rate, None when unknown (the output then uses 25).
        n_frames: how many frames it yields, None when unknown (for progress bars).
        still: a single driving image, its own reference (:class:`~vivify.motion.DriveMode`).
        path: the file it reads, named in error messages; None for one made in memory.
        audio_path: a file whose audio goes with the motion (muxed into the output).
    """

    carries: frozenset[str] = frozenset()
    fps: float | None = None
    n_frames: int | None = None
    still: bool = False
    path: Path | None = None
    audio_path: Path | None = None

    def __iter__(self) -> Iterator[DrivingFrame]:
        raise NotImplementedError

    @property
    def name(self) -> str:
        """How error messages call it: its file, or its class."""
        return str(self.path) if self.path is not None else type(self).__name__

    def describe_motion(self) -> str:
        """What its frames carry, in words (for error messages)."""
        words = {PIXELS: "pixels", LANDMARKS: "mesh landmarks", KEYPOINTS: "keypoint motion"}
        kinds = [words[k] for k in (PIXELS, LANDMARKS, KEYPOINTS) if k in self.carries]
        return " and ".join(kinds) or "no motion"
