"""The render-backend protocol shared by the weight-free mesh renderer and the neural renderer.

A backend prepares a source face once, turns driving frames into motion in its own
representation, and renders batches of frames from that motion. What it can do and what it
needs is declared in :class:`BackendCapabilities`; how motion reaches the source is a
:class:`~vivify.motion.transfer_options.DriveMode`, what is transferred a
:class:`~vivify.motion.transfer_options.TransferOptions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from vivify.face.types import Face
from vivify.motion.editing import FaceEdit
from vivify.motion.keypoint_motion import KeypointMotion
from vivify.motion.transfer_options import DriveMode, TransferOptions

# what a driving frame may carry (see DrivingFrame)
PIXELS, LANDMARKS, KEYPOINTS = "pixels", "landmarks", "keypoints"


@dataclass
class DrivingFrame:
    """One driving frame: per-frame motion in one or more representations, pixels optional.

    Attributes:
        index: frame number in the driving input.
        landmarks: (478, 3) face-mesh landmarks in the frame's pixels, None when no face was found
            (or when the frame holds keypoint motion only).
        image: (H, W, 3) uint8 RGB pixels, None when the motion comes without them (templates,
            speech); a preview then shows the landmarks.
        keypoints: LivePortrait keypoint motion of this frame (T = 1), when the source of motion
            provides it (templates).
    """

    index: int
    landmarks: np.ndarray | None
    image: np.ndarray | None
    keypoints: KeypointMotion | None = None


@dataclass(frozen=True)
class BackendCapabilities:
    """What a backend animates with and how it runs.

    Attributes:
        drives_from: the alternative sets of what a driving frame must carry for this backend to
            get motion from it (each of ``"pixels"``, ``"landmarks"``, ``"keypoints"``).
        default_reference: the reference driving frame when none is asked for: ``"first"`` or
            ``"neutral"`` (the most neutral face of the first seconds).
        asynchronous: the device runs behind the host (a GPU): the pipeline extracts motion in a
            thread of its own and keeps a rendered batch in flight.
        video_targets: over a source video, the backend smooths its own per-frame targets
            (:meth:`RenderBackend.video_targets`) rather than the driving motion.
    """

    drives_from: tuple[frozenset[str], ...]
    default_reference: Literal["first", "neutral"] = "first"
    asynchronous: bool = False
    video_targets: bool = False

    def can_drive(self, carries: frozenset[str]) -> bool:
        """Whether driving frames that carry ``carries`` give this backend its motion."""
        return any(needed <= carries for needed in self.drives_from)


class RenderedFrames(Protocol):
    """A rendered batch, possibly still on its way from the device."""

    def result(self) -> list[np.ndarray]:
        """The (H, W, 3) uint8 frames, waiting for them if needed."""
        ...


class ReadyFrames:
    """Frames already on the host, as a :class:`RenderedFrames`."""

    def __init__(self, frames: Sequence[np.ndarray]) -> None:
        self._frames = list(frames)

    def result(self) -> list[np.ndarray]:
        return self._frames


class RenderBackend(Protocol):
    """Prepare a source once, then render frames from driving motion.

    ``prepare`` does the expensive per-source work (crop, triangulation, features). ``motion``
    turns a driving frame into what this backend animates with (landmarks for the mesh backend,
    keypoint motion for the neural one), None when the frame carries no usable face; ``host``
    False lets the motion stay on the device when nothing on the host reads it. ``render_async``
    applies T driving motions, relative to the ``reference`` motion, to the source and returns
    the source-sized RGB uint8 frames (the aligned face crops with ``paste_back`` off), pasted
    into ``canvas`` instead of the source picture when given (several faces in one frame).
    ``video_targets`` gives what a backend with ``capabilities.video_targets`` smooths over a
    source video (passed back to ``render_async`` as ``targets``). ``edit`` renders the source
    with editing controls alone. ``motion_vector`` and ``from_vector`` flatten a motion into a
    float vector and back, so that driving motion can be smoothed whatever the backend;
    ``reference`` combines the head pose of one motion with the expression of another.
    """

    name: str
    capabilities: BackendCapabilities

    def prepare(self, image: np.ndarray, face: Face) -> Any: ...

    def motion(self, frame: DrivingFrame, *, host: bool = True) -> Any | None: ...

    def motion_vector(self, motion: Any) -> np.ndarray: ...

    def from_vector(self, motion: Any, vector: np.ndarray) -> Any: ...

    def reference(self, pose: Any, expression: Any) -> Any: ...

    def render_async(
        self,
        state: Any,
        motions: Sequence[Any],
        reference: Any,
        options: TransferOptions,
        mode: DriveMode = DriveMode.SEQUENCE,
        *,
        paste_back: bool = True,
        canvas: np.ndarray | None = None,
        targets: np.ndarray | None = None,
    ) -> RenderedFrames: ...

    def video_targets(
        self, state: Any, motion: Any, reference: Any, options: TransferOptions, mode: DriveMode
    ) -> np.ndarray | None: ...

    def edit(
        self,
        state: Any,
        edit: FaceEdit,
        options: TransferOptions,
        *,
        paste_back: bool = True,
        canvas: np.ndarray | None = None,
    ) -> np.ndarray: ...


class SyncRendering:
    """``render_batch`` and ``render`` for a backend that has ``render_async``."""

    def render_batch(self, state: Any, motions: Sequence[Any], reference: Any, options: TransferOptions,
                     mode: DriveMode = DriveMode.SEQUENCE, **kwargs: Any) -> list[np.ndarray]:  # fmt: skip
        """Render T frames in one batch and wait for them (see :meth:`RenderBackend.render_async`)."""
        return self.render_async(state, motions, reference, options, mode, **kwargs).result()  # type: ignore[attr-defined]

    def render(self, state: Any, motion: Any, reference: Any, options: TransferOptions,
               mode: DriveMode = DriveMode.SEQUENCE, **kwargs: Any) -> np.ndarray:  # fmt: skip
        """One frame: the source animated by ``motion`` relative to ``reference``."""
        return self.render_batch(state, [motion], reference, options, mode, **kwargs)[0]
