"""Error hierarchy: user mistakes become one-line CLI messages, everything else is a bug."""

from __future__ import annotations

from pathlib import Path


class VivifyError(Exception):
    """Base class of every error vivify raises on purpose."""


class UserError(VivifyError):
    """A problem with the user's input or usage (CLI exit code 2, no traceback).

    Args:
        message: what is wrong, in one line.
        path: the file concerned, if any; it is named at the start of the message.
    """

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = None if path is None else Path(path)
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path is not None else message)


class InputError(UserError):
    """An input file is missing, unreadable, empty, corrupt or of the wrong kind."""


class NoFaceError(UserError):
    """No face (or not the requested face) was found in an input."""


class DependencyError(VivifyError):
    """A required package is missing or broken in this installation."""
