"""Media I/O: images and videos to/from RGB numpy arrays, atomic writes."""

from vivify.io.atomic import atomic_path
from vivify.io.image import IMAGE_EXTENSIONS, MAX_PIXELS, is_image_file, load_image, save_image
from vivify.io.media import media_kind
from vivify.io.video_reader import VIDEO_EXTENSIONS, VideoInfo, VideoReader, is_video_file, probe_video
from vivify.io.video_writer import X264_PRESETS, VideoWriter, write_video

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
