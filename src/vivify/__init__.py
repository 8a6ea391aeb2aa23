"""vivify: bring a still portrait to life.

The names below are imported on first use (PEP 562), so that ``import vivify`` and the command
line's ``--help`` and usage errors do not load torch, PyAV or OpenCV.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

try:
    __version__ = version("vivify")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from vivify.errors import InputError, NoFaceError, UserError, VivifyError
from vivify.lazy import lazy_exports

#: Exported name -> the module that defines it.
_LAZY = {
    "AnimationOptions": "vivify.pipeline",
    "Animator": "vivify.pipeline",
    "DrivingFrame": "vivify.pipeline",
    "DrivingSource": "vivify.pipeline",
    "MotionSource": "vivify.pipeline",
    "TransferOptions": "vivify.pipeline",
    "FaceEdit": "vivify.motion.editing",
    "DriveMode": "vivify.motion.transfer_options",
}

if TYPE_CHECKING:
    from vivify.motion.editing import FaceEdit
    from vivify.motion.transfer_options import DriveMode
    from vivify.pipeline import (
        AnimationOptions,
        Animator,
        DrivingFrame,
        DrivingSource,
        MotionSource,
        TransferOptions,
    )


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


def load_liveportrait(*args, **kwargs):
    """Load the five LivePortrait networks; see :func:`vivify.weights.load_liveportrait`."""
    from vivify.weights.build import load_liveportrait as _load  # noqa: PLC0415 - keep `import vivify` light

    return _load(*args, **kwargs)


__all__ = [
    "AnimationOptions",
    "Animator",
    "DriveMode",
    "DrivingFrame",
    "DrivingSource",
    "MotionSource",
    "TransferOptions",
    "FaceEdit",
    "InputError",
    "NoFaceError",
    "UserError",
    "VivifyError",
    "__version__",
    "load_liveportrait",
]
