"""Checks on an output path made before any work: never over an input, and a place that takes files."""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from vivify.errors import UserError


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file: the same resolved path (symlinks followed), or the same
    inode (a hard link, a bind mount). A path that does not exist yet is no existing file."""
    a, b = Path(a).expanduser(), Path(b).expanduser()
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _existing_ancestor(path: Path) -> Path:
    """The nearest folder at or above ``path``'s parent that exists (the one a write would create in)."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _probe_writable(folder: Path, output: Path) -> None:
    """Create and remove a hidden file in ``folder``: the only test that holds for root, read-only
    mounts and pseudo-filesystems alike (``os.access`` says yes to root everywhere)."""
    probe = folder / f".{output.name}.probe-{secrets.token_hex(4)}"
    try:
        with open(probe, "xb"):
            pass
    except OSError as exc:
        reason = {errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
                  errno.EPERM: "permission denied", errno.ENOSPC: "no space left on the device"}  # fmt: skip
        raise UserError(f"cannot write here ({reason.get(exc.errno, exc.strerror)})", output) from exc
    try:
        probe.unlink()
    except OSError:
        pass


def check_output(output: str | Path, inputs: Iterable[str | Path | None] = ()) -> Path:
    """Refuse, before any work, an output that would destroy an input or could not be written.

    Args:
        output: the file to write.
        inputs: every file the run reads (None entries are ignored).

    Returns:
        ``output`` as a Path (``~`` expanded).

    Raises:
        UserError: the output is one of the inputs (by path, symlink or hard link), is a folder,
            or its folder cannot take a new file.
    """
    out = Path(output).expanduser()
    for source in inputs:
        if source is not None and same_file(out, source):
            raise UserError("is also an input: choose another output name (the input is kept)", out)
    if out.is_dir():
        raise UserError("is a folder: name an output file", out)
    folder = _existing_ancestor(out)
    if not folder.is_dir():
        raise UserError(f"cannot write here ({folder} is not a folder)", out)
    _probe_writable(folder, out)
    return out
