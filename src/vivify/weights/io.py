"""Safe checkpoint reading and writing: safetensors, or ``torch.load(weights_only=True)``.

Nested checkpoints (the stitching file is a dict of three state dicts) are stored in safetensors
with ``<subdict>/<key>`` names and nested again on load.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from vivify.errors import InputError
from vivify.io import atomic_path

_SEP = "/"


def load_checkpoint(path: str | Path) -> dict:
    """Read a ``.pth``/``.pt``/``.safetensors`` checkpoint without executing code from it.

    Returns:
        ``{key: tensor}``, or ``{subdict: {key: tensor}}`` for nested checkpoints.

    Raises:
        InputError: missing, unreadable, or not a tensor-only checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("weights file not found", path)
    try:
        if path.suffix == ".safetensors":
            flat = load_file(str(path), device="cpu")
            nested: dict = {}
            for key, value in flat.items():
                if _SEP in key:
                    sub, _, rest = key.partition(_SEP)
                    nested.setdefault(sub, {})[rest] = value
                else:
                    nested[key] = value
            return nested
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (
        SafetensorError,
        pickle.UnpicklingError,
        zipfile.BadZipFile,
        RuntimeError,
        EOFError,
        OSError,
    ) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"not a readable tensor checkpoint ({first[:200]})", path) from exc
    if not isinstance(obj, dict):
        raise InputError(f"expected a dict of tensors, found {type(obj).__name__}", path)
    return obj


def save_safetensors(path: str | Path, checkpoint: dict, dtype: torch.dtype | None = None) -> None:
    """Write a (possibly nested) checkpoint as safetensors, atomically; floats cast to ``dtype``."""

    def cast(t: torch.Tensor) -> torch.Tensor:
        t = t.detach().cpu().contiguous()
        return t.to(dtype) if dtype is not None and t.is_floating_point() else t

    flat = {}
    for key, value in checkpoint.items():
        if isinstance(value, dict):
            flat.update({f"{key}{_SEP}{k}": cast(v) for k, v in value.items()})
        else:
            flat[key] = cast(value)
    with atomic_path(path) as tmp:
        save_file(flat, str(tmp))
