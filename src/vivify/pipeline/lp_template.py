"""Safe import of LivePortrait's ``.pkl`` motion templates as keypoint-only :class:`MotionTemplate`.

LivePortrait pickles its templates, and unpickling calls whatever the file names. vivify reads them
with an unpickler that can build plain containers and NumPy arrays of plain numbers and nothing else:
any other global is refused by name before it could run. The NumPy names a template uses are
answered with vivify stand-ins that check their arguments and rebuild each array with
``np.frombuffer`` (NumPy's own unpickling code never sees the file's data), and the opcode stream is
checked first so a crafted file cannot make the unpickler allocate huge tables.

Layout of a LivePortrait template (a pickled dict; older files use the ``_d`` key names)::

    n_frames: int                 output_fps: int
    motion: list of n_frames dicts {"scale": (1, 1), "R" | "R_d": (1, 3, 3), "exp": (1, 21, 3),
                                    "t": (1, 3), possibly more such as "kp", "x_s" (ignored)}
    c_eyes_lst | c_d_eyes_lst: optional list of n_frames (1, 2) eye open ratios
    c_lip_lst | c_d_lip_lst:   optional list of n_frames (1, 1) lip open ratios

Every array is float32, pickled as ``numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b"b")``
plus a state holding its shape, a ``numpy.dtype("f4", False, True)`` and its raw bytes.
"""

from __future__ import annotations

import io
import logging
import math
import pickle
import pickletools
import reprlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vivify.errors import InputError
from vivify.motion.keypoint_motion import KeypointMotion
from vivify.pipeline.templates import MotionTemplate

logger = logging.getLogger(__name__)

MAX_PICKLE_BYTES = 512 * 1024**2  # LivePortrait's templates are ~0.5 kB per frame
# a one-byte opcode can make a ~100-byte object, so the file size alone does not bound memory; the
# opcode cap does (~1.5 GB at worst) while allowing about an hour at 30 fps (LivePortrait: 100-150/frame)
MAX_PICKLE_OPS = 16_000_000
MAX_FPS = 1000

_RECONSTRUCT = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}
_NDARRAY, _DTYPE = ("numpy", "ndarray"), ("numpy", "dtype")
_DTYPE_CODES = frozenset({"b1", "f2", "f4", "f8"} | {f"{k}{n}" for k in "iu" for n in (1, 2, 4, 8)})
# opcodes that reach outside the file (persistent ids, the copyreg extension registry, buffers)
_REFUSED_OPCODES = frozenset(
    {"PERSID", "BINPERSID", "EXT1", "EXT2", "EXT4", "NEXT_BUFFER", "READONLY_BUFFER"}
)
_MEMO_OPCODES = frozenset({"PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET"})
_PARSE_ERRORS = (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
                 KeyError, OverflowError, RecursionError, MemoryError)  # fmt: skip
_FRAME_FIELDS = {"scale": (1,), "exp": (21, 3), "t": (3,)}


def load_liveportrait_template(path: str | Path, max_bytes: int = MAX_PICKLE_BYTES) -> MotionTemplate:
    """Read a LivePortrait ``.pkl`` motion template without running any code it names.

    Args:
        path: the ``.pkl`` file (untrusted).
        max_bytes: refuse larger files.

    Returns:
        A keypoint-only template (``landmarks`` is None) with ``keypoints`` of the file's
        ``n_frames`` frames and ``fps`` from its ``output_fps``.

    Raises:
        InputError: the file is missing, too large, not a pickle, names a global other than the
            NumPy array builders (the message names it), or does not hold a LivePortrait template.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("LivePortrait template not found", path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})", path) from exc
    if not data:
        raise InputError("file is empty", path)
    if len(data) > max_bytes:
        raise InputError(f"file is larger than {max_bytes} bytes, too large for a motion template", path)
    _check_opcodes(data, path)
    try:
        obj = _ArrayOnlyUnpickler(data, path).load()
    except _PARSE_ERRORS as exc:
        raise InputError(
            f"not a LivePortrait template ({type(exc).__name__}: {_one_line(exc)})", path
        ) from exc
    keypoints, fps = _to_keypoints(obj, path)
    return MotionTemplate(None, fps, {"source": path.name, "imported_from": "liveportrait"}, keypoints)


class _NdarrayToken:
    """Stands for ``numpy.ndarray`` in a pickle: only the array reconstructor accepts it, and it
    cannot be called or given attributes (``__slots__``), unlike the real class."""

    __slots__ = ()


class _PickledDtype:
    """A ``numpy.dtype(code, False, True)`` of the pickle; its BUILD state sets the byte order."""

    __slots__ = ("code", "dtype")

    def __init__(self, code: str) -> None:
        self.code, self.dtype = code, None

    def __setstate__(self, state: object) -> None:
        # NumPy's dtype state: (version, byte order, subarray, names, fields, elsize, alignment, flags)
        plain = type(state) is tuple and len(state) == 8 and state[2:5] == (None, None, None)
        if self.dtype is not None or not plain or state[1] not in ("<", ">", "|", "="):
            raise pickle.UnpicklingError(f"unexpected state for dtype {self.code}")
        self.dtype = np.dtype(("=" if state[1] in "|=" else state[1]) + self.code)


class _PickledArray:
    """An array of the pickle, rebuilt from its BUILD state (shape, dtype, order, raw bytes)."""

    __slots__ = ("array",)

    def __init__(self) -> None:
        self.array: np.ndarray | None = None

    def __setstate__(self, state: object) -> None:
        if self.array is not None or type(state) is not tuple or len(state) != 5:
            raise pickle.UnpicklingError("unexpected NumPy array state")
        _, shape, dtype, fortran, raw = state
        sizes_ok = type(shape) is tuple and len(shape) <= 8 and all(type(n) is int and n >= 0 for n in shape)
        if not sizes_ok or type(dtype) is not _PickledDtype or dtype.dtype is None or type(raw) is not bytes:
            raise pickle.UnpicklingError("unexpected NumPy array state")
        if math.prod(shape) * dtype.dtype.itemsize != len(raw):
            raise pickle.UnpicklingError(f"array of shape {shape} does not match its {len(raw)} bytes")
        order = "F" if fortran is True else "C"
        self.array = np.frombuffer(raw, dtype=dtype.dtype).reshape(shape, order=order)


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """An unpickler whose only globals are vivify's checked stand-ins for NumPy's array builders."""

    def __init__(self, data: bytes, path: Path) -> None:
        super().__init__(io.BytesIO(data))
        self._path = path
        # fresh per file: a pickle may set attributes on what it gets (BUILD), never on shared objects
        token = _NdarrayToken()
        reconstruct, dtype = _array_builders(token)
        self._globals: dict[tuple[str, str], object] = {_NDARRAY: token, _DTYPE: dtype}
        self._globals.update(dict.fromkeys(_RECONSTRUCT, reconstruct))

    def find_class(self, module: str, name: str) -> object:
        # a table lookup: nothing is imported, and a refused name is never resolved
        found = self._globals.get((module, name))
        if found is None:
            raise InputError(
                f"refused to load {_one_line(f'{module}.{name}')} from the pickle "
                "(a LivePortrait template may only hold NumPy arrays)",
                self._path,
            )
        return found

    def persistent_load(self, pid: object) -> object:
        raise InputError("refused a persistent reference in the pickle", self._path)


def _array_builders(
    token: _NdarrayToken,
) -> tuple[Callable[..., _PickledArray], Callable[..., _PickledDtype]]:
    """Checked stand-ins for ``_reconstruct`` and ``numpy.dtype``, made for one unpickler."""

    def reconstruct(subtype: object, shape: object, typecode: object) -> _PickledArray:
        # NumPy pickles every array as _reconstruct(ndarray, (0,), b"b") followed by a BUILD state
        # with its real shape, dtype and bytes; no other arguments are needed
        plain = type(shape) is tuple and type(typecode) in (bytes, str)
        if not plain or subtype is not token or shape != (0,) or typecode not in (b"b", "b"):
            raise pickle.UnpicklingError("unexpected arguments to the NumPy array reconstructor")
        return _PickledArray()

    def dtype(code: object, align: object = False, copy: object = True) -> _PickledDtype:
        if type(code) is not str or code not in _DTYPE_CODES:
            raise pickle.UnpicklingError(f"refused dtype {_one_line(code)} (only plain numbers)")
        return _PickledDtype(code)

    return reconstruct, dtype


def _check_opcodes(data: bytes, path: Path) -> None:
    """Walk the opcodes without running them; refuse outside references, absurd memo indices (the
    unpickler would allocate a memo table that large) and more than ``MAX_PICKLE_OPS`` opcodes."""
    try:
        for count, (opcode, arg, pos) in enumerate(pickletools.genops(data), start=1):
            if count > MAX_PICKLE_OPS:
                raise InputError(
                    f"pickle has more than {MAX_PICKLE_OPS} opcodes, too many for a motion template", path
                )
            if opcode.name in _REFUSED_OPCODES:
                raise InputError(f"refused pickle opcode {opcode.name} at byte {pos}", path)
            if opcode.name in _MEMO_OPCODES and not 0 <= int(arg) < count:
                raise InputError(f"pickle memo index {arg} at byte {pos} is out of range", path)
    except (ValueError, TypeError) as exc:
        raise InputError(f"not a pickle file ({_one_line(exc)})", path) from exc


def _to_keypoints(obj: object, path: Path) -> tuple[KeypointMotion, float]:
    """Map the unpickled dict to keypoint motion and a frame rate, checking every piece."""
    if type(obj) is not dict:
        raise InputError(f"not a LivePortrait template (holds a {type(obj).__name__}, not a dict)", path)
    motion = obj.get("motion")
    if type(motion) is not list or not motion:
        raise InputError("not a LivePortrait template (no 'motion' list of frames)", path)
    n_frames = obj.get("n_frames", len(motion))
    if type(n_frames) is not int or n_frames != len(motion):
        raise InputError(f"n_frames is {_one_line(n_frames)} but 'motion' has {len(motion)} frames", path)
    fps = obj.get("output_fps")
    if fps is None:
        logger.warning("%s: no output_fps in the template, assuming 25 fps", path)
        fps = 25.0
    if type(fps) not in (int, float) or not 0 < fps <= MAX_FPS:  # also refuses NaN
        raise InputError(f"invalid output_fps {_one_line(fps)}", path)

    columns: dict[str, list[np.ndarray]] = {"rotation": [], **{k: [] for k in _FRAME_FIELDS}}
    for i, frame in enumerate(motion):
        if type(frame) is not dict:
            raise InputError(f"motion frame {i} is a {type(frame).__name__}, not a dict", path)
        key = "R" if "R" in frame else "R_d"
        columns["rotation"].append(_frame_array(frame.get(key), (3, 3), f"motion[{i}].{key}", path))
        for name, shape in _FRAME_FIELDS.items():
            columns[name].append(_frame_array(frame.get(name), shape, f"motion[{i}].{name}", path))
    stacked = {name: np.stack(arrays) for name, arrays in columns.items()}
    rotation = stacked["rotation"]
    if np.abs(rotation @ rotation.transpose(0, 2, 1) - np.eye(3, dtype=np.float32)).max() > 1e-2:
        raise InputError("motion R is not a rotation matrix in every frame", path)
    keypoints = KeypointMotion(
        rotation=rotation,
        exp=stacked["exp"],
        t=stacked["t"],
        scale=stacked["scale"],
        eye_ratio=_ratios(obj, ("c_eyes_lst", "c_d_eyes_lst"), (2,), n_frames, path),
        lip_ratio=_ratios(obj, ("c_lip_lst", "c_d_lip_lst"), (1,), n_frames, path),
    )
    return keypoints, float(fps)


def _frame_array(value: object, shape: tuple[int, ...], what: str, path: Path) -> np.ndarray:
    """One frame's float array of ``shape`` (a leading batch axis of 1 is allowed), as float32."""
    value = value.array if type(value) is _PickledArray else value
    if type(value) is not np.ndarray or value.dtype.kind != "f":
        kind = f"{value.dtype} array" if isinstance(value, np.ndarray) else type(value).__name__
        raise InputError(f"{what} is a {kind}, expected a float array of shape {shape}", path)
    if value.shape not in (shape, (1, *shape)):
        raise InputError(f"{what} has shape {value.shape}, expected {(1, *shape)}", path)
    if not np.isfinite(value).all():
        raise InputError(f"{what} has non-finite values", path)
    return value.reshape(shape).astype(np.float32)


def _ratios(
    obj: dict, keys: tuple[str, ...], shape: tuple[int, ...], n_frames: int, path: Path
) -> np.ndarray | None:
    """The per-frame ratio list under the first of ``keys`` present, (T, *shape); None if absent or empty."""
    key = next((k for k in keys if k in obj), None)
    if key is None or (type(obj[key]) is list and not obj[key]):
        return None
    items = obj[key]
    if type(items) is not list or len(items) != n_frames:
        count = len(items) if type(items) is list else type(items).__name__
        raise InputError(f"{key} has {count} entries, expected one per frame ({n_frames})", path)
    return np.stack([_frame_array(v, shape, f"{key}[{i}]", path) for i, v in enumerate(items)])


def _one_line(value: object, limit: int = 100) -> str:
    """``value`` as a short single line with control characters escaped (for error messages)."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, BaseException):
        text = str(value)
    else:
        text = reprlib.repr(value)  # bounded, however large the object
    return text.encode("unicode_escape").decode("ascii")[:limit]
