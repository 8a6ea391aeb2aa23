"""vivify: bring a still portrait to life."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vivify")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from vivify.errors import InputError, NoFaceError, UserError, VivifyError

__all__ = ["InputError", "NoFaceError", "UserError", "VivifyError", "__version__"]
