"""Motion templates: per-frame motion only (no pixels, no pickle) in a ``.npz`` with JSON metadata.

A template holds mesh landmarks (what the mesh backend follows), LivePortrait keypoint motion (what
the neural backend follows), or both for the same frames.

File format ``vivify-motion/2`` (``vivify-motion/1`` files, landmarks only, are still read):

* ``meta_json``: UTF-8 JSON bytes as a uint8 array (``format``, ``fps``, ``n_frames``, ...);
* ``mesh_landmarks``: (T, 478, 3) float32, NaN rows where no face was found (optional in v2);
* ``kp_rotation`` (T, 3, 3), ``kp_exp`` (T, 21, 3), ``kp_t`` (T, 3), ``kp_scale`` (T, 1), and
  optionally ``kp_eye_ratio`` (T, 2) and ``kp_lip_ratio`` (T, 1): float32 keypoint motion.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vivify.errors import InputError
from vivify.face.landmarks import N_LANDMARKS
from vivify.io import atomic_path
from vivify.motion.keypoint_motion import KeypointMotion

FORMAT = "vivify-motion/2"
FORMAT_V1 = "vivify-motion/1"

# npz array name -> KeypointMotion field
KEYPOINT_ARRAYS = {
    "kp_rotation": "rotation",
    "kp_exp": "exp",
    "kp_t": "t",
    "kp_scale": "scale",
    "kp_eye_ratio": "eye_ratio",
    "kp_lip_ratio": "lip_ratio",
}
_OPTIONAL_KEYPOINT_ARRAYS = ("kp_eye_ratio", "kp_lip_ratio")
# uncompressed size limits: about an hour of 25 fps motion per file, and a small metadata blob
MAX_ARRAY_BYTES = 2 * 1024**3
MAX_META_BYTES = 1024**2


@dataclass
class MotionTemplate:
    """Per-frame motion of a driving face, for the mesh backend, the neural backend or both.

    Attributes:
        landmarks: (T, 478, 3) float32 face-mesh landmarks in the driving frames' pixels, NaN rows
            where no face was found; None when the template has no mesh motion.
        fps: frame rate.
        meta: JSON-serialisable metadata (source file name, vivify version, frame size, ...).
        keypoints: T frames of LivePortrait keypoint motion, or None.

    Raises:
        ValueError: if neither landmarks nor keypoints are given, or their frame counts differ.
    """

    landmarks: np.ndarray | None
    fps: float
    meta: dict = field(default_factory=dict)
    keypoints: KeypointMotion | None = None

    def __post_init__(self) -> None:
        if self.landmarks is None and self.keypoints is None:
            raise ValueError("a motion template needs landmarks, keypoints or both")
        if (
            self.landmarks is not None
            and self.keypoints is not None
            and len(self.landmarks) != len(self.keypoints)
        ):
            raise ValueError(
                f"landmarks have {len(self.landmarks)} frames but keypoints have {len(self.keypoints)}"
            )

    def __len__(self) -> int:
        return len(self.landmarks) if self.landmarks is not None else len(self.keypoints)

    @property
    def valid(self) -> np.ndarray:
        """(T,) bool: frames with a face (no NaN landmarks, all keypoint values finite)."""
        ok = np.ones(len(self), dtype=bool)
        if self.landmarks is not None:
            ok &= ~np.isnan(self.landmarks).any(axis=(1, 2))
        if self.keypoints is not None:
            ok &= self.keypoints.finite_frames()
        return ok


def save_template(path: str | Path, template: MotionTemplate) -> Path:
    """Write ``template`` atomically as a ``vivify-motion/2`` ``.npz`` (no pickled objects).

    Args:
        path: output file (``.npz``).
        template: the motion to write.

    Returns:
        ``path`` as a Path.
    """
    from vivify import __version__  # noqa: PLC0415

    # the keys describing the arrays come last so that stale values in ``template.meta`` never win
    meta = {"vivify_version": __version__, **template.meta,
            "format": FORMAT, "fps": float(template.fps), "n_frames": len(template)}  # fmt: skip
    arrays = {}
    if template.landmarks is not None:
        arrays["mesh_landmarks"] = np.asarray(template.landmarks, dtype=np.float32)
    if template.keypoints is not None:
        for name, attr in KEYPOINT_ARRAYS.items():
            value = getattr(template.keypoints, attr)
            if value is not None:
                arrays[name] = np.asarray(value, dtype=np.float32)
    path = Path(path)
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(
            fh, meta_json=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8), **arrays
        )
    return path


def load_template(path: str | Path) -> MotionTemplate:
    """Read a template written by :func:`save_template` (format v2, or v1 with landmarks only).

    Args:
        path: the ``.npz`` file.

    Returns:
        The template; ``meta`` holds the file's metadata except ``format`` and ``fps``.

    Raises:
        InputError: the file is missing, not a vivify template, or holds arrays of the wrong
            dtype, shape, frame count or with infinite values.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("motion template not found", path)
    meta, arrays = _read_npz(path)
    fmt = meta.get("format")
    if fmt not in (FORMAT_V1, FORMAT):
        raise InputError(f"unsupported template format {fmt!r} (expected {FORMAT} or {FORMAT_V1})", path)
    allowed = {"mesh_landmarks"} if fmt == FORMAT_V1 else {"mesh_landmarks", *KEYPOINT_ARRAYS}
    unexpected = sorted(set(arrays) - allowed)
    if unexpected:
        raise InputError(f"unexpected arrays {', '.join(unexpected)} in a {fmt} template", path)
    if fmt == FORMAT_V1 and "mesh_landmarks" not in arrays:
        raise InputError("template has no mesh_landmarks array", path)

    landmarks = None
    if "mesh_landmarks" in arrays:
        landmarks = _float_array(arrays, "mesh_landmarks", path)
        if landmarks.ndim != 3 or landmarks.shape[1:] != (N_LANDMARKS, 3):
            raise InputError(f"template landmarks have shape {landmarks.shape}, expected (T, 478, 3)", path)
    keypoints = _read_keypoints(arrays, path)
    if landmarks is None and keypoints is None:
        raise InputError("template holds no motion (neither landmarks nor keypoints)", path)
    n_frames = len(landmarks) if landmarks is not None else len(keypoints)
    if n_frames == 0:
        raise InputError("template has no frames", path)
    if keypoints is not None and len(keypoints) != n_frames:
        raise InputError(
            f"template has {n_frames} frames of landmarks but {len(keypoints)} of keypoints", path
        )
    declared = meta.get("n_frames")
    if isinstance(declared, int) and declared != n_frames:
        raise InputError(f"template metadata says {declared} frames but its arrays hold {n_frames}", path)
    fps = meta.get("fps", 25.0)
    if type(fps) not in (int, float) or not 0 < fps <= 1000:  # also refuses NaN and inf
        raise InputError(f"template has an invalid frame rate {str(fps)[:40]!r}", path)
    rest = {k: v for k, v in meta.items() if k not in ("format", "fps")}
    return MotionTemplate(landmarks, float(fps), rest, keypoints)


def _read_npz(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The metadata dict and every other array of an ``.npz``, refusing pickles and oversized arrays."""
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("a single .npy array, not an .npz archive")
        with data:
            sizes = {info.filename: info.file_size for info in data.zip.infolist()}
            if sizes.get("meta_json.npy", 0) > MAX_META_BYTES or sum(sizes.values()) > MAX_ARRAY_BYTES:
                raise ValueError(f"arrays of {sum(sizes.values())} bytes, more than a template may hold")
            raw = data["meta_json"]
            if raw.dtype != np.uint8 or raw.ndim != 1:
                raise ValueError(f"meta_json is {raw.dtype} {raw.shape}, expected 1-D uint8")
            meta = json.loads(raw.tobytes().decode("utf-8"))
            arrays = {name: data[name] for name in data.files if name != "meta_json"}
    except (
        OSError,
        ValueError,
        KeyError,
        EOFError,
        zipfile.BadZipFile,
        json.JSONDecodeError,
        UnicodeDecodeError,
    ) as exc:
        message = " ".join(str(exc).split())[:120]
        raise InputError(f"not a vivify motion template ({type(exc).__name__}: {message})", path) from exc
    if not isinstance(meta, dict):
        raise InputError("not a vivify motion template (metadata is not a JSON object)", path)
    return meta, arrays


def _float_array(arrays: dict[str, np.ndarray], name: str, path: Path) -> np.ndarray:
    """``arrays[name]`` as float32; refuses non-float dtypes and infinities (NaN marks a lost face)."""
    value = arrays[name]
    if value.dtype.kind != "f":
        raise InputError(f"template array {name} has dtype {value.dtype}, expected float32", path)
    if np.isinf(value).any():
        raise InputError(f"template array {name} has infinite values", path)
    return value.astype(np.float32, copy=False)


def _read_keypoints(arrays: dict[str, np.ndarray], path: Path) -> KeypointMotion | None:
    """The keypoint arrays as a KeypointMotion, None if there are none; partial sets are refused."""
    present = [name for name in KEYPOINT_ARRAYS if name in arrays]
    if not present:
        return None
    missing = [n for n in KEYPOINT_ARRAYS if n not in arrays and n not in _OPTIONAL_KEYPOINT_ARRAYS]
    if missing:
        raise InputError(f"template keypoint motion lacks {', '.join(missing)}", path)
    values = {
        attr: _float_array(arrays, name, path) for name, attr in KEYPOINT_ARRAYS.items() if name in arrays
    }
    keypoints = KeypointMotion(**values)
    try:
        keypoints.check_shapes()
    except ValueError as exc:
        raise InputError(f"template {exc}", path) from exc
    return keypoints
