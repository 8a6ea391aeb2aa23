"""The render-backend protocol shared by the weight-free mesh renderer and the neural renderer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from vivify.face.types import Face
from vivify.motion.keypoint_motion import KeypointMotion

if TYPE_CHECKING:
    from vivify.motion.editing import FaceEdit
    from vivify.pipeline.options import AnimationOptions


@dataclass
class DrivingFrame:
    """One driving frame as the backends see it.

    Attributes:
        index: frame number in the driving input.
        landmarks: (478, 3) face-mesh landmarks in the frame's pixels, None when no face was found
            (or when a template holds keypoint motion only).
        image: (H, W, 3) uint8 RGB pixels, None for templates.
        keypoints: LivePortrait keypoint motion of this frame (T = 1) when a template stores it.
    """

    index: int
    landmarks: np.ndarray | None
    image: np.ndarray | None
    keypoints: KeypointMotion | None = None


class RenderBackend(Protocol):
    """Prepare a source once, then render one frame per driving frame.

    ``prepare`` does the expensive per-source work (crop, triangulation, features). ``motion``
    turns a driving frame into what this backend animates with (landmarks for the mesh backend,
    keypoint motion for the neural one); it returns None when the frame carries no usable face.
    ``render`` applies one driving motion, relative to the ``reference`` motion, to the source and
    returns the full source-sized RGB uint8 frame (or the face crop when ``options.paste_back`` is
    off). ``still`` marks a single driving image (its own reference). ``canvas`` is the picture to
    paste into instead of the source image (several faces animated into one frame).
    ``source_video`` marks a frame of a source video: it keeps its own head position and scale
    and takes the driver's expression (and, for region "all"/"pose", head turn). ``edit``
    renders the source with editing controls alone (no driving motion). ``motion_vector`` and
    ``from_vector`` flatten a motion into a float vector and back, so that driving motion can
    be smoothed over time whatever the backend.

    A backend may also offer ``video_targets(state, motion, reference, options, still=)``: the
    per-frame values it wants smoothed over a source video (then passed back to ``render`` as
    ``targets=``), as the neural backend does for LivePortrait's smoothing of expression and
    rotation.
    """

    name: str

    def prepare(self, image: np.ndarray, face: Face) -> Any: ...

    def motion(self, frame: DrivingFrame) -> Any | None: ...

    def motion_vector(self, motion: Any) -> np.ndarray: ...

    def from_vector(self, motion: Any, vector: np.ndarray) -> Any: ...

    def render(
        self,
        state: Any,
        motion: Any,
        reference: Any,
        options: AnimationOptions,
        *,
        still: bool = False,
        canvas: np.ndarray | None = None,
        source_video: bool = False,
    ) -> np.ndarray: ...

    def reference(self, pose: Any, expression: Any) -> Any:
        """A reference motion with the head pose of ``pose`` and the expression of ``expression``."""
        ...

    def edit(
        self, state: Any, edit: FaceEdit, options: AnimationOptions, *, canvas: np.ndarray | None = None
    ) -> np.ndarray: ...
