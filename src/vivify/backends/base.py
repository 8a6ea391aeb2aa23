"""The render-backend protocol shared by the weight-free mesh renderer and the neural renderer."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from vivify.face.types import Face


class RenderBackend(Protocol):
    """Prepare a source once, then render one frame per target motion.

    ``prepare`` does the expensive per-source work (crop, triangulation, features); ``render``
    is called per driving frame with the source face's target landmarks (478, 3) in source-image
    pixels and returns the full source-sized RGB uint8 frame.
    """

    name: str

    def prepare(self, image: np.ndarray, face: Face) -> Any: ...

    def render(self, state: Any, target: np.ndarray) -> np.ndarray: ...
