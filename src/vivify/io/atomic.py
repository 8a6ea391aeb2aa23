"""Atomic file output: write to a temporary sibling, rename over the target only on success."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)


@contextmanager
def atomic_path(target: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; move it onto ``target`` if the block succeeds.

    The temporary file lives in the *same folder* as the target so the final ``os.replace`` is a
    rename on one filesystem, which is atomic: readers see either the old file or the complete
    new one, never a half-written file. Its name is hidden (``.NAME.tmp-XXXXXXXX.EXT``) and keeps
    the target's extension because encoders (Pillow, FFmpeg) pick the output format from it.

    The temporary file is *not* created here: the caller's writer creates it, with the usual
    permissions (a ``mkstemp`` file would be mode 0600 and the result would inherit that).

    Args:
        target: final path. Its parent folder is created if missing.
        suffix: extension for the temporary file (e.g. ``".mp4"``); defaults to the target's.

    Yields:
        The temporary path to write to.

    Raises:
        Whatever the block raises (after deleting the temporary file), or ``FileNotFoundError``
        if the block finished without creating the temporary file.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    ext = target.suffix if suffix is None else suffix
    tmp = target.with_name(f".{target.stem}.tmp-{secrets.token_hex(4)}{ext}")
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        # BaseException too: a Ctrl-C mid-write must not leave a stray hidden temp file behind.
        try:
            tmp.unlink(missing_ok=True)
        except OSError as exc:  # never mask the original error with a cleanup failure
            logger.warning("could not remove temporary file %s: %s", tmp, exc)
        raise
