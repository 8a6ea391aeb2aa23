"""Media I/O: images and videos to/from RGB numpy arrays, atomic writes.

Names are imported on first use (:mod:`vivify.lazy`): the checks on paths (``vivify.io.files``,
``vivify.io.outputs``) load neither PyAV nor Pillow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vivify.lazy import lazy_exports

_LAZY = {
    "atomic_path": "vivify.io.atomic",
    "IMAGE_EXTENSIONS": "vivify.io.image",
    "MAX_PIXELS": "vivify.io.image",
    "is_image_file": "vivify.io.image",
    "load_image": "vivify.io.image",
    "save_image": "vivify.io.image",
    "media_kind": "vivify.io.media",
    "VIDEO_EXTENSIONS": "vivify.io.formats",
    "VideoInfo": "vivify.io.video_reader",
    "VideoReader": "vivify.io.video_reader",
    "is_video_file": "vivify.io.video_reader",
    "probe_video": "vivify.io.video_reader",
    "X264_PRESETS": "vivify.io.formats",
    "VideoWriter": "vivify.io.video_writer",
    "write_video": "vivify.io.video_writer",
}

if TYPE_CHECKING:
    from vivify.io.atomic import atomic_path
    from vivify.io.formats import VIDEO_EXTENSIONS, X264_PRESETS
    from vivify.io.image import IMAGE_EXTENSIONS, MAX_PIXELS, is_image_file, load_image, save_image
    from vivify.io.media import media_kind
    from vivify.io.video_reader import VideoInfo, VideoReader, is_video_file, probe_video
    from vivify.io.video_writer import VideoWriter, write_video

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_PIXELS",
    "VIDEO_EXTENSIONS",
    "VideoInfo",
    "VideoReader",
    "VideoWriter",
    "X264_PRESETS",
    "atomic_path",
    "is_image_file",
    "is_video_file",
    "load_image",
    "media_kind",
    "probe_video",
    "save_image",
    "write_video",
]
