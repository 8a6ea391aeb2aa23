"""Check a picture or a video for vivify's provenance: the invisible mark and the metadata tags."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av

from vivify.errors import InputError
from vivify.io.image import load_image, read_metadata
from vivify.io.media import media_kind
from vivify.io.provenance import parse_description
from vivify.io.video_reader import VideoReader
from vivify.watermark import Detection, Detector

#: Video frames read by default: the evidence grows with each frame, and 250 (10 s at 25 fps)
#: is far more than a re-encoded mark needs (docs/watermark.md).
VERIFY_FRAMES = 250


@dataclass(frozen=True)
class Verification:
    """What :func:`verify` found in one file.

    Attributes:
        path: the file.
        kind: "image" or "video".
        detection: the watermark detector's result (``detection.present``: the mark is there).
        tags: the file's metadata texts (``comment``, ``description``, ...), as found.
    """

    path: Path
    kind: str
    detection: Detection
    tags: dict[str, str]

    @property
    def marked(self) -> bool:
        """The invisible mark is present (the metadata is easily stripped; the mark is not)."""
        return self.detection.present

    @property
    def provenance(self) -> dict[str, str] | None:
        """The description vivify wrote (generator, watermark on/off, payload), if any."""
        return parse_description(self.tags.get("description"))


def read_tags(path: str | Path, kind: str | None = None) -> dict[str, str]:
    """A picture's or a video's metadata texts (container tags of a video)."""
    path = Path(path)
    if (kind or media_kind(path)) == "image":
        return read_metadata(path)
    try:
        with av.open(str(path)) as container:
            return {str(k).lower(): str(v) for k, v in container.metadata.items()}
    except (av.error.FFmpegError, OSError) as exc:
        raise InputError(f"cannot read the video's metadata ({exc})", path) from exc


def verify(path: str | Path, *, max_frames: int = VERIFY_FRAMES) -> Verification:
    """Look for vivify's watermark in a picture, or in the first ``max_frames`` of a video, and
    read its metadata.

    Raises:
        InputError: missing or unreadable file, or a picture too small to hold the mark.
    """
    path = Path(path)
    kind = media_kind(path)
    detector = Detector()
    try:
        if kind == "image":
            detector.add(load_image(path))
        else:
            with VideoReader(path, max_frames=max_frames) as reader:
                for frame in reader:
                    detector.add(frame)
    except ValueError as exc:  # a frame the detector can't read (too small)
        raise InputError(str(exc), path) from exc
    return Verification(path, kind, detector.result(), read_tags(path, kind))
