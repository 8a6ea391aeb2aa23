"""Acceptance checks of a rendered portrait animation: seam, streaks, mouth interior, closed eyes.

Pure functions on RGB frames (``(H, W, 3)`` uint8) and 478-point face meshes (``(478, 2+)``
pixels, image convention). Each returns a small frozen dataclass with the figures it measured and
a ``passed`` property for the acceptance limit. :class:`FrameChecker` runs all four over the
consecutive frames of one animation. Luminance is ``0.299 R + 0.587 G + 0.114 B`` throughout.

Modules: :mod:`~vivify.render_checks.common` (luminance, masks), :mod:`~vivify.render_checks.seam`,
:mod:`~vivify.render_checks.streaks`, :mod:`~vivify.render_checks.mouth`,
:mod:`~vivify.render_checks.eyes` and :mod:`~vivify.render_checks.frames` (all four together).
"""

from vivify.render_checks.common import luminance
from vivify.render_checks.eyes import (
    EYE_CLOSED_RATIO,
    EYES,
    IRIS_DISTANCE,
    IRIS_MAX_FRACTION,
    IRIS_STRAY_PIXELS,
    LASH_BAND,
    ClosedEyeCheck,
    EyeReference,
    closed_eye_check,
    closed_eye_checks,
    eye_references,
    lid_region,
)
from vivify.render_checks.frames import FrameChecker, FrameChecks, recording_targets
from vivify.render_checks.mouth import (
    MOUTH_BEYOND_SOURCE,
    MOUTH_MIN_DARKNESS,
    MOUTH_MIN_STD,
    MOUTH_OPEN_GAP,
    MouthCheck,
    mouth_check,
    mouth_regions,
)
from vivify.render_checks.seam import (
    SEAM_GRADIENT_FLOOR,
    SEAM_MAX_RATIO,
    SEAM_TILE,
    SeamCheck,
    boundary_band,
    gradient_magnitude,
    seam_check,
)
from vivify.render_checks.streaks import CORE_SCALE, STREAK_TOLERANCE, StreakCheck, face_core, streak_check

__all__ = [
    "recording_targets",
    "CORE_SCALE",
    "ClosedEyeCheck",
    "EYES",
    "EYE_CLOSED_RATIO",
    "EyeReference",
    "FrameChecker",
    "FrameChecks",
    "IRIS_DISTANCE",
    "IRIS_MAX_FRACTION",
    "IRIS_STRAY_PIXELS",
    "LASH_BAND",
    "MOUTH_BEYOND_SOURCE",
    "MOUTH_MIN_DARKNESS",
    "MOUTH_MIN_STD",
    "MOUTH_OPEN_GAP",
    "MouthCheck",
    "SEAM_GRADIENT_FLOOR",
    "SEAM_MAX_RATIO",
    "SEAM_TILE",
    "STREAK_TOLERANCE",
    "SeamCheck",
    "StreakCheck",
    "boundary_band",
    "closed_eye_check",
    "closed_eye_checks",
    "eye_references",
    "face_core",
    "gradient_magnitude",
    "lid_region",
    "luminance",
    "mouth_check",
    "mouth_regions",
    "seam_check",
    "streak_check",
]
