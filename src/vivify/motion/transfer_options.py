"""What driving motion is transferred to a source, and in which drive mode (both backends read them)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # a field's type only: the options stay importable without torch
    from vivify.motion.editing import FaceEdit

Region = Literal["all", "exp", "pose", "lips", "eyes"]
REGIONS = ("all", "exp", "pose", "lips", "eyes")
DrivingOption = Literal["expression-friendly", "pose-friendly"]
DRIVING_OPTIONS = ("expression-friendly", "pose-friendly")


class DriveMode(Enum):
    """How the driving motion reaches the source.

    ``SEQUENCE``: a picture driven by driving frames, each measured against a reference frame.
    ``STILL``: a picture driven by one driving image, its own reference (relative to LivePortrait's
    reference expression for the neural backend, to the neutral canonical face for the mesh one).
    ``VIDEO`` and ``VIDEO_STILL``: the same two for a source *video*, whose every frame keeps its
    own head position and size and takes the driver's expression (and head turn).
    """

    SEQUENCE = "sequence"
    STILL = "still"
    VIDEO = "video"
    VIDEO_STILL = "video-still"

    @classmethod
    def of(cls, *, source_video: bool, still_driver: bool) -> DriveMode:
        """The mode for a picture or video source and a moving or still driver."""
        if source_video:
            return cls.VIDEO_STILL if still_driver else cls.VIDEO
        return cls.STILL if still_driver else cls.SEQUENCE

    @property
    def still_driver(self) -> bool:
        """The driver is a single image (its own reference)."""
        return self in (DriveMode.STILL, DriveMode.VIDEO_STILL)

    @property
    def source_video(self) -> bool:
        """The source is a video frame that keeps its own placement."""
        return self in (DriveMode.VIDEO, DriveMode.VIDEO_STILL)


@dataclass(frozen=True)
class TransferOptions:
    """What to transfer from the driving face and how (each backend applies what makes sense for it).

    Attributes:
        relative: transfer the driving face's change since its reference frame (True) or its
            expression and head rotation as they are (False).
        region: which motion to transfer.
        multiplier: scales the transferred motion.
        stitching: neural backend: keep the animated face consistent with the unchanged shoulders
            and background (the stitching MLP).
        driving_option: neural backend, relative mode: "expression-friendly" rescales the motion
            to the source's keypoint volume, "pose-friendly" transfers it as is.
        eye_retargeting: neural backend: drive the eyes by the driver's eye-open ratio (or by
            ``eye_ratio`` when given) through the eye-retargeting MLP.
        lip_retargeting: likewise for the lips (``lip_ratio``).
        eye_ratio: fixed target eye-open ratio for eye retargeting (None: follow the driver).
        lip_ratio: fixed target lip-open ratio for lip retargeting (None: follow the driver).
        normalize_lip: neural backend, relative mode: close the source's open mouth first.
        edit: editing controls (head pose, smile, blink, gaze, ...) added on top of the driving
            motion in every frame (see :class:`vivify.motion.FaceEdit` and docs/editing.md).
    """

    relative: bool = True
    region: Region = "all"
    multiplier: float = 1.0
    stitching: bool = True
    driving_option: DrivingOption = "expression-friendly"
    eye_retargeting: bool = False
    lip_retargeting: bool = False
    eye_ratio: float | None = None
    lip_ratio: float | None = None
    normalize_lip: bool = False
    edit: FaceEdit | None = None

    def __post_init__(self) -> None:
        if self.region not in REGIONS:
            raise ValueError(f"region must be one of {REGIONS}, got {self.region!r}")
        if self.driving_option not in DRIVING_OPTIONS:
            raise ValueError(f"driving_option must be one of {DRIVING_OPTIONS}, got {self.driving_option!r}")
        for name in ("eye_ratio", "lip_ratio"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")

    @property
    def transfer(self) -> TransferOptions:
        """These options alone (a subclass's extra fields dropped): what a backend is given."""
        return TransferOptions(**{f.name: getattr(self, f.name) for f in fields(TransferOptions)})
