"""Deterministic test weights in the official LivePortrait checkpoint layout.

Implements the recipe "lp-testweights/v1" of shared/spec/liveportrait-architecture.md (section 12):
every tensor draws its own SHAKE-256 byte stream, so values are identical on every platform and
independent of which other keys exist. Used by the parity tests and by ``vivify weights
make-test`` for smoke tests without the real weights.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

RECIPE = "lp-testweights/v1"

# motion-extractor heads: (output std, bias centre, bias std)
_HEADS = {
    "detector.fc_kp": (0.3, 0.0, 0.1),
    "detector.fc_exp": (0.03, 0.0, 0.02),
    "detector.fc_t": (0.05, 0.0, 0.02),
    "detector.fc_scale": (0.05, 1.0, 0.05),
    "detector.fc_pitch": (2.0, 0.0, 0.5),
    "detector.fc_yaw": (2.0, 0.0, 0.5),
    "detector.fc_roll": (2.0, 0.0, 0.5),
}
_GAIN = {"dense_motion_network.occlusion": 3.0, "dense_motion_network.mask": 8.0}
_SQRT3 = math.sqrt(3.0)


def _uniform(ident: str, shape: tuple[int, ...], center: float, half_width: float) -> np.ndarray:
    n = math.prod(shape)
    raw = np.frombuffer(hashlib.shake_256(ident.encode("utf-8")).digest(4 * n), dtype="<u4")
    v = 2.0 * ((raw.astype(np.float64) + 0.5) / 2.0**32) - 1.0
    return (center + half_width * v).astype(np.float32).reshape(shape)


def _std(ident: str, shape: tuple[int, ...], center: float, std: float) -> np.ndarray:
    return _uniform(ident, shape, center, _SQRT3 * std)


def _last_linear(keys: list[str]) -> str:
    """'mlp.<i>' with the numerically highest i among the keys of one MLP."""
    indices = [int(k.split("mlp.")[1].split(".")[0]) for k in keys if "mlp." in k]
    return f"mlp.{max(indices)}"


def tensor_value(
    seed: int, file: str, subdict: str, key: str, shape: tuple[int, ...], siblings: dict[str, np.ndarray],
    last_linear: str | None = None,
) -> np.ndarray:  # fmt: skip
    """The recipe's value of one tensor.

    Args:
        siblings: tensors of the same file made so far (``weight_v`` needs its ``weight_orig``).
        last_linear: for the stitching file, the ``mlp.<i>`` prefix of the MLP's last Linear.
    """
    ident = f"{RECIPE}|seed={seed}|{file}|{subdict}|{key}"
    name, _, leaf = key.rpartition(".")
    fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
    if leaf == "num_batches_tracked":
        return np.zeros(shape, dtype=np.int64)
    if leaf == "running_mean":
        return _std(ident, shape, 0.0, 0.1)
    if leaf == "running_var":
        return _uniform(ident, shape, 1.0, 0.5)
    if leaf == "weight_u":
        u = np.zeros(shape, dtype=np.float32)
        u[0] = 1.0
        return u
    if leaf == "weight_v":
        w = siblings[f"{name}.weight_orig"]
        n = math.prod(w.shape[1:])
        return (np.where(w.reshape(w.shape[0], n)[0] >= 0, 1.0, -1.0) / math.sqrt(n)).astype(np.float32)
    if leaf == "gamma" and len(shape) == 4:
        return _std(ident, shape, 0.0, 0.5)
    if leaf == "beta" and len(shape) == 4:
        return _std(ident, shape, 0.0, 0.1)
    if name in _HEADS:
        out_std, b_center, b_std = _HEADS[name]
        if leaf == "bias":
            return _std(ident, shape, b_center, b_std)
        return _std(ident, shape, 0.0, out_std / math.sqrt(fan_in))
    if last_linear is not None and (name == last_linear or name.endswith("." + last_linear)):
        if leaf == "bias":
            return _std(ident, shape, 0.0, 0.01)
        return _std(ident, shape, 0.0, 0.02 / math.sqrt(fan_in))
    if last_linear is not None and leaf == "weight" and len(shape) >= 2:
        return _std(ident, shape, 0.0, math.sqrt(2.0) / math.sqrt(fan_in))
    if leaf in ("weight", "weight_orig") and len(shape) >= 2:
        return _std(ident, shape, 0.0, _GAIN.get(name, 1.0) / math.sqrt(fan_in))
    if leaf == "weight":
        return _std(ident, shape, 1.0, 0.1)
    if leaf == "bias":
        return _std(ident, shape, 0.0, 0.1)
    raise ValueError(f"{file}: no rule for tensor {key!r} of shape {shape}")


def _state_dict(
    seed: int, file: str, subdict: str, tensors: list[dict], stitching: bool
) -> dict[str, np.ndarray]:
    keys = [t["key"] for t in tensors]
    last = _last_linear(keys) if stitching else None
    out: dict[str, np.ndarray] = {}
    # weight_v depends on weight_orig, which may come later in the stored order
    for t in sorted(tensors, key=lambda t: t["key"].endswith(".weight_v")):
        out[t["key"]] = tensor_value(seed, file, subdict, t["key"], tuple(t["shape"]), out, last)
    return {k: out[k] for k in keys}


def make_test_state_dicts(manifest: dict, seed: int) -> Iterator[tuple[str, dict]]:
    """Yield ``(file name, contents)`` for every checkpoint file of the manifest.

    Contents are numpy arrays: a flat dict for the base files, a dict of three dicts for the
    stitching file (keys as in the manifest, ``module.`` prefix included).
    """
    for file, spec in manifest["files"].items():
        if "subdicts" in spec:
            yield (
                file,
                {
                    sub: _state_dict(seed, file, sub, s["tensors"], True)
                    for sub, s in spec["subdicts"].items()
                },
            )
        else:
            yield file, _state_dict(seed, file, "", spec["tensors"], False)


def digest(contents: dict) -> str:
    """The spec's verification SHA-256 of one file's contents (flat or dict of dicts)."""
    h = hashlib.sha256()
    groups = contents.items() if all(isinstance(v, dict) for v in contents.values()) else [("", contents)]
    for sub, tensors in groups:
        for key, arr in tensors.items():
            arr = np.asarray(arr)
            h.update(f"{sub}|{key}|{arr.dtype.str}|{tuple(arr.shape)}".encode())
            h.update(np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes())
    return h.hexdigest()


def write_test_weights(manifest: dict, seed: int, out_dir: str | Path) -> dict[str, str]:
    """Write an official-layout weights folder of test weights; return {file: digest}.

    Layout: ``OUT/liveportrait/base_models/<4 files>`` and
    ``OUT/liveportrait/retargeting_models/stitching_retargeting_module.pth``.
    """
    import torch  # noqa: PLC0415

    from vivify.io import atomic_path  # noqa: PLC0415
    from vivify.weights.specs import WEIGHT_FILES  # noqa: PLC0415

    relpaths = {spec.filename: spec.relpath for spec in WEIGHT_FILES}
    out_dir = Path(out_dir)
    digests = {}
    for file, contents in make_test_state_dicts(manifest, seed):
        target = out_dir / relpaths[file]
        if all(isinstance(v, dict) for v in contents.values()):
            obj = {s: {k: torch.from_numpy(v) for k, v in d.items()} for s, d in contents.items()}
        else:
            obj = {k: torch.from_numpy(v) for k, v in contents.items()}
        with atomic_path(target) as tmp:
            torch.save(obj, tmp)
        digests[file] = digest(contents)
    return digests
