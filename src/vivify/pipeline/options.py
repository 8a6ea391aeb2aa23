"""Options of an animation run (frozen; the CLI and the app build them, the Animator reads them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Region = Literal["all", "exp", "pose", "lips", "eyes"]
REGIONS = ("all", "exp", "pose", "lips", "eyes")


@dataclass(frozen=True)
class AnimationOptions:
    """How to animate.

    Attributes:
        relative: transfer the driving face's change since its reference frame (True) or its
            expression and head rotation as they are (False).
        region: which motion to transfer.
        multiplier: scales the transferred motion.
        reference_frame: driving frame whose face is the neutral reference (relative mode).
        face_index: which source face to animate (largest first).
        paste_back: paste the animated face into the full picture (False: output the crop).
        concat: write source | driving | result side by side.
        fps: output frame rate (default: the driving video's, or 25).
        max_frames: stop after this many driving frames.
        keep_audio: mux the driving video's audio into the output.
    """

    relative: bool = True
    region: Region = "all"
    multiplier: float = 1.0
    reference_frame: int = 0
    face_index: int = 0
    paste_back: bool = True
    concat: bool = False
    fps: float | None = None
    max_frames: int | None = None
    keep_audio: bool = True

    def __post_init__(self) -> None:
        if self.region not in REGIONS:
            raise ValueError(f"region must be one of {REGIONS}, got {self.region!r}")
        if self.max_frames is not None and self.max_frames < 1:
            raise ValueError("max_frames must be >= 1")
