"""Motion templates: per-frame motion only (no pixels, no pickle) in a ``.npz`` with JSON metadata."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vivify.errors import InputError
from vivify.face.landmarks import N_LANDMARKS
from vivify.io import atomic_path

FORMAT = "vivify-motion/1"


@dataclass
class MotionTemplate:
    """Per-frame motion of a driving face.

    Attributes:
        landmarks: (T, 478, 3) float32 face-mesh landmarks in the driving frames' pixels; NaN rows
            where no face was found.
        fps: frame rate.
        meta: JSON-serialisable metadata (source file name, vivify version, frame size, ...).
    """

    landmarks: np.ndarray
    fps: float
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.landmarks)

    @property
    def valid(self) -> np.ndarray:
        """(T,) bool: frames with a face."""
        return ~np.isnan(self.landmarks).any(axis=(1, 2))


def save_template(path: str | Path, template: MotionTemplate) -> Path:
    """Write ``template`` atomically as ``.npz`` (arrays + UTF-8 JSON metadata, no pickled objects)."""
    from vivify import __version__  # noqa: PLC0415

    meta = {"format": FORMAT, "fps": float(template.fps), "n_frames": len(template),
            "vivify_version": __version__, **template.meta}  # fmt: skip
    path = Path(path)
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(
            fh,
            mesh_landmarks=template.landmarks.astype(np.float32),
            meta_json=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
        )
    return path


def load_template(path: str | Path) -> MotionTemplate:
    """Read a template written by :func:`save_template`; refuses anything else with an InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError("motion template not found", path)
    try:
        with np.load(path, allow_pickle=False) as data:
            landmarks = np.asarray(data["mesh_landmarks"], dtype=np.float32)
            meta = json.loads(bytes(data["meta_json"]).decode("utf-8"))
    except (
        OSError,
        ValueError,
        KeyError,
        zipfile.BadZipFile,
        json.JSONDecodeError,
        UnicodeDecodeError,
    ) as exc:
        raise InputError(
            f"not a vivify motion template ({type(exc).__name__}: {str(exc)[:120]})", path
        ) from exc
    if meta.get("format") != FORMAT:
        raise InputError(f"unsupported template format {meta.get('format')!r} (expected {FORMAT})", path)
    if landmarks.ndim != 3 or landmarks.shape[1:] != (N_LANDMARKS, 3) or len(landmarks) == 0:
        raise InputError(f"template landmarks have shape {landmarks.shape}, expected (T, 478, 3)", path)
    fps = float(meta.get("fps", 25.0))
    if not np.isfinite(fps) or fps <= 0:
        raise InputError(f"template has an invalid frame rate {fps}", path)
    return MotionTemplate(landmarks, fps, {k: v for k, v in meta.items() if k not in ("format", "fps")})
