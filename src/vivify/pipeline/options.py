"""Options of an animation run (frozen; the CLI and the app build them, the Animator reads them).

:class:`AnimationOptions` is everything a run takes: the transfer options the backends apply
(:class:`~vivify.motion.transfer_options.TransferOptions`), the output options only the pipeline
reads (:class:`OutputOptions`), and how the motion stream is measured (reference frame,
smoothing). Backends are handed ``options.transfer`` alone.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from vivify.io import X264_PRESETS
from vivify.io.provenance import Provenance
from vivify.motion.transfer_options import DRIVING_OPTIONS, REGIONS, DrivingOption, Region, TransferOptions

NEUTRAL_SEARCH_FRAMES = 50  # frames searched for the most neutral driving face (2 s at 25 fps)
FaceSelection = int | tuple[int, ...] | Literal["all"]
ReferenceFrame = int | Literal["first", "neutral"]

__all__ = [
    "DRIVING_OPTIONS",
    "NEUTRAL_SEARCH_FRAMES",
    "REGIONS",
    "AnimationOptions",
    "DrivingOption",
    "FaceSelection",
    "OutputOptions",
    "Region",
    "TransferOptions",
]


@dataclass(frozen=True)
class OutputOptions:
    """What the pipeline makes of the rendered faces (the backends never see these).

    Attributes:
        face_index: which source face(s) to animate: an index (largest face first), several, or
            "all".
        paste_back: paste the animated face into the full picture (False: output the crop).
        concat: write source | driving | result side by side.
        fps: output frame rate (default: the driving video's, or 25).
        max_frames: stop after this many driving frames.
        keep_audio: mux the driving video's audio into the output.
        batch_size: one face with one driver: driving frames rendered per network batch (more
            throughput on a GPU with the neural backend; none on a CPU).
        crf: H.264 quality, 0-51 (lower is better).
        preset: H.264 speed preset (ultrafast ... veryslow).
        watermark: every generated frame carries vivify's invisible watermark (see
            docs/watermark.md); off, the output's metadata says so.
        watermark_payload: 32-bit number the watermark carries (0 .. 2**32 - 1).
    """

    face_index: FaceSelection = 0
    paste_back: bool = True
    concat: bool = False
    fps: float | None = None
    max_frames: int | None = None
    keep_audio: bool = True
    batch_size: int = 1
    crf: int = 18
    preset: str = "medium"
    watermark: bool = True
    watermark_payload: int = 0

    def __post_init__(self) -> None:
        self.provenance  # noqa: B018 - validates the payload
        faces = (self.face_index,) if isinstance(self.face_index, int) else self.face_index
        if faces != "all" and (not faces or any(not isinstance(i, int) or i < 0 for i in faces)):
            raise ValueError(f"face_index must be an index >= 0, several, or 'all', got {self.face_index!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.max_frames is not None and self.max_frames < 1:
            raise ValueError("max_frames must be >= 1")
        if not 0 <= self.crf <= 51:
            raise ValueError(f"crf must be within 0..51, got {self.crf}")
        if self.preset not in X264_PRESETS:
            raise ValueError(f"preset must be one of {', '.join(X264_PRESETS)}, got {self.preset!r}")

    @property
    def provenance(self) -> Provenance:
        """The mark and the metadata tags every output gets."""
        return Provenance(self.watermark, self.watermark_payload)

    @property
    def output(self) -> OutputOptions:
        """These options alone (a subclass's extra fields dropped)."""
        return OutputOptions(**{f.name: getattr(self, f.name) for f in fields(OutputOptions)})


@dataclass(frozen=True)
class AnimationOptions(TransferOptions, OutputOptions):
    """How to animate: transfer options (what moves), output options (what is written) and the
    motion stream's reference frame and smoothing.

    See :class:`~vivify.motion.transfer_options.TransferOptions` and :class:`OutputOptions` for
    their fields; ``transfer`` and ``output`` give each part alone.

    Attributes:
        reference_frame: driving frame whose face is the reference (relative mode): a frame
            number, "first", "neutral" (the frame with the most closed mouth and normally open
            eyes among the first :data:`NEUTRAL_SEARCH_FRAMES`), or None for the backend's
            default ("first" for the neural backend, as LivePortrait does; "neutral" for the mesh
            backend, which cannot close a mouth beyond closed when the driver starts talking).
        smoothing: Kalman smoothing of the motion over time, as the observation variance
            (larger is smoother; 3e-7 is LivePortrait's light smoothing, 1e-4 is strong; 0 is
            off). None: LivePortrait's behaviour: 3e-7 for a source video (neural backend: its
            expression and head rotation per frame), none otherwise. Given explicitly, it smooths
            the driving motion (keypoints or landmarks). The output lags the input by a few
            frames (at most 2 s) while the smoother looks ahead.

    Examples:
        >>> AnimationOptions(region="lips", concat=True).transfer.region
        'lips'
    """

    reference_frame: ReferenceFrame | None = None
    smoothing: float | None = None

    def __post_init__(self) -> None:
        TransferOptions.__post_init__(self)
        OutputOptions.__post_init__(self)
        ref = self.reference_frame
        if ref is not None and ref not in ("first", "neutral") and not (isinstance(ref, int) and ref >= 0):
            raise ValueError(f"reference_frame must be a frame number, 'first' or 'neutral', got {ref!r}")
        if self.smoothing is not None and not (0.0 <= self.smoothing < float("inf")):
            raise ValueError(f"smoothing must be a variance >= 0, got {self.smoothing}")
