"""The file formats vivify reads and writes: plain constants (no PyAV, no Pillow), so that the
command line can offer them without loading the media libraries."""

from __future__ import annotations

#: Extensions treated as videos (lower case, with the dot).
VIDEO_EXTENSIONS: frozenset[str] = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi"})
#: Image formats vivify writes (Pillow picks the format from the extension).
IMAGE_OUTPUTS = (".png", ".jpg", ".jpeg", ".webp")
#: libx264 speed presets, fastest first.
X264_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast",
    "medium", "slow", "slower", "veryslow", "placebo",
)  # fmt: skip
