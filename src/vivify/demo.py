"""The built-in demo: runs on a bundled portrait with no user files, weights or network.

NASA's public-domain astronaut portrait (shipped inside scikit-image) animated by vivify's
procedural motion template (blinks, a nod, a turn, speech-like mouth motion, a smile) with the
weight-free mesh backend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vivify.pipeline import AnimationOptions, Animator, DrivingSource
from vivify.pipeline.procedural import procedural_template


def builtin_portrait() -> np.ndarray:
    """NASA's astronaut portrait (public domain), (512, 512, 3) uint8 RGB, from scikit-image."""
    from skimage import data  # noqa: PLC0415 - only the demo needs it

    return np.ascontiguousarray(data.astronaut())


def run_demo(
    output: str | Path = "vivify-demo.mp4",
    concat: bool = False,
    progress: bool = False,
    watermark: bool = True,
) -> Path:
    """Animate the built-in portrait with the built-in motion; return the MP4's path."""
    driving = DrivingSource.from_template(procedural_template(), name="procedural")
    options = AnimationOptions(concat=concat, keep_audio=False, watermark=watermark)
    return Animator("mesh").animate(builtin_portrait(), driving, output, options, progress=progress)
