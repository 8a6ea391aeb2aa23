"""vivify: bring a still portrait to life."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vivify")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from vivify.errors import InputError, NoFaceError, UserError, VivifyError
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
