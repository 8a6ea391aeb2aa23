"""Options of an animation run (frozen; the CLI and the app build them, the Animator reads them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vivify.motion.editing import FaceEdit

Region = Literal["all", "exp", "pose", "lips", "eyes"]
REGIONS = ("all", "exp", "pose", "lips", "eyes")
DrivingOption = Literal["expression-friendly", "pose-friendly"]
DRIVING_OPTIONS = ("expression-friendly", "pose-friendly")
NEUTRAL_SEARCH_FRAMES = 50  # frames searched for the most neutral driving face (2 s at 25 fps)
FaceSelection = int | tuple[int, ...] | Literal["all"]


@dataclass(frozen=True)
class AnimationOptions:
    """How to animate (each backend applies the options that make sense for it).

    Attributes:
        relative: transfer the driving face's change since its reference frame (True) or its
            expression and head rotation as they are (False).
        region: which motion to transfer.
        multiplier: scales the transferred motion.
        reference_frame: driving frame whose face is the reference (relative mode): a frame
            number, "first", "neutral" (the frame with the most closed mouth and normally open
            eyes among the first :data:`NEUTRAL_SEARCH_FRAMES`), or None for the backend's
            default ("first" for the neural backend, as LivePortrait does; "neutral" for the mesh
            backend, which cannot close a mouth beyond closed when the driver starts talking).
        face_index: which source face(s) to animate: an index (largest face first), several, or
            "all".
        paste_back: paste the animated face into the full picture (False: output the crop).
        concat: write source | driving | result side by side.
        fps: output frame rate (default: the driving video's, or 25).
        max_frames: stop after this many driving frames.
        keep_audio: mux the driving video's audio into the output.
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
        smoothing: Kalman smoothing of the motion over time, as the observation variance
            (larger is smoother; 3e-7 is LivePortrait's light smoothing, 1e-4 is strong; 0 is
            off). None: LivePortrait's behaviour: 3e-7 for a source video (neural backend: its
            expression and head rotation per frame), none otherwise. Given explicitly for an
            image source, it smooths the driving motion (keypoints or landmarks). The output
            lags the input by a few frames (at most 2 s) while the smoother looks ahead.
        batch_size: neural backend, one face with one driver: driving frames rendered per
            network batch (more throughput on a GPU; none on a CPU).
    """

    relative: bool = True
    region: Region = "all"
    multiplier: float = 1.0
    reference_frame: int | Literal["first", "neutral"] | None = None
    face_index: FaceSelection = 0
    paste_back: bool = True
    concat: bool = False
    fps: float | None = None
    max_frames: int | None = None
    keep_audio: bool = True
    stitching: bool = True
    driving_option: DrivingOption = "expression-friendly"
    eye_retargeting: bool = False
    lip_retargeting: bool = False
    eye_ratio: float | None = None
    lip_ratio: float | None = None
    normalize_lip: bool = False
    edit: FaceEdit | None = None
    smoothing: float | None = None
    batch_size: int = 1

    def __post_init__(self) -> None:
        if self.region not in REGIONS:
            raise ValueError(f"region must be one of {REGIONS}, got {self.region!r}")
        if self.driving_option not in DRIVING_OPTIONS:
            raise ValueError(f"driving_option must be one of {DRIVING_OPTIONS}, got {self.driving_option!r}")
        faces = (self.face_index,) if isinstance(self.face_index, int) else self.face_index
        if faces != "all" and (not faces or any(not isinstance(i, int) or i < 0 for i in faces)):
            raise ValueError(f"face_index must be an index >= 0, several, or 'all', got {self.face_index!r}")
        ref = self.reference_frame
        if ref is not None and ref not in ("first", "neutral") and not (isinstance(ref, int) and ref >= 0):
            raise ValueError(f"reference_frame must be a frame number, 'first' or 'neutral', got {ref!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.max_frames is not None and self.max_frames < 1:
            raise ValueError("max_frames must be >= 1")
        if self.smoothing is not None and not (0.0 <= self.smoothing < float("inf")):
            raise ValueError(f"smoothing must be a variance >= 0, got {self.smoothing}")
        for name in ("eye_ratio", "lip_ratio"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")
