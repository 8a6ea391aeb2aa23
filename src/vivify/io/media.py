"""Tell images from videos by their content, not only their name."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from vivify.errors import InputError
from vivify.io.image import is_image_file, load_image
from vivify.io.video_reader import is_video_file, probe_video

logger = logging.getLogger(__name__)

MediaKind = Literal["image", "video"]


def media_kind(path: str | Path) -> MediaKind:
    """Classify ``path`` as a still image or a video by decoding it.

    The extension only decides which reader is tried first (so the usual case costs one probe);
    a mislabelled file (a PNG saved as ``.mp4``) is still classified by what it contains. An
    animated GIF/WebP counts as an image (its first frame), as ``load_image`` reads it.

    Raises:
        InputError: missing, empty, or neither a readable image nor a readable video. The
            message is the error of the reader matching the extension, being the most helpful.
    """
    path = Path(path)
    checks: list[tuple[MediaKind, object]] = [("image", load_image), ("video", probe_video)]
    if is_video_file(path) or not is_image_file(path):
        checks.reverse()
    first_error: InputError | None = None
    for kind, check in checks:
        try:
            check(path)  # type: ignore[operator]
        except InputError as exc:
            if not path.is_file() or path.stat().st_size == 0:
                raise  # missing/folder/empty: the second reader would say the same
            first_error = first_error or exc
            continue
        return kind
    assert first_error is not None
    raise InputError(f"neither an image nor a video ({first_error.message})", path)
