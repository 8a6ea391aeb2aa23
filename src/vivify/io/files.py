"""Checks shared by every reader of user files."""

from __future__ import annotations

from pathlib import Path

from vivify.errors import InputError


def check_readable_file(path: Path) -> None:
    """Raise ``InputError`` unless ``path`` is an existing, non-empty regular file."""
    if not path.exists():
        raise InputError("file not found", path)
    if path.is_dir():
        raise InputError("is a folder, not a file", path)
    if path.stat().st_size == 0:
        raise InputError("file is empty (0 bytes)", path)
