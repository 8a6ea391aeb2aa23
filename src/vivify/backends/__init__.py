"""Renderers behind one protocol, chosen by name."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import torch

from vivify.backends.base import BackendCapabilities, DrivingFrame, ReadyFrames, RenderBackend, RenderedFrames
from vivify.backends.meshwarp import MeshWarpBackend
from vivify.backends.neural import NeuralBackend
from vivify.backends.speed import SpeedOptions
from vivify.errors import UserError
from vivify.runtime.device import resolve_device
from vivify.weights.download import WeightsNotFoundError, default_weights_dir, resolve_weights_dir

logger = logging.getLogger(__name__)

CHOICES = ("auto", "mesh", "neural")


BACKENDS: dict[str, type] = {"mesh": MeshWarpBackend, "neural": NeuralBackend}


def load_backend(
    name: str = "auto",
    *,
    weights_dir: str | Path | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    speed: SpeedOptions | None = None,
    onnx_dir: str | Path | None = None,
) -> RenderBackend:
    """A backend by name: ``mesh``, ``neural`` or ``auto``.

    ``auto`` is the neural backend when the LivePortrait weights are found (``weights_dir``,
    else ``$VIVIFY_WEIGHTS`` or the user cache), otherwise the weight-free mesh backend, with a
    logged notice saying how to get the weights.

    Args:
        name: backend name.
        weights_dir: LivePortrait weights folder for the neural backend.
        device, dtype: where and in which precision the neural backend runs ("auto": CUDA when
            available, else the CPU).
        speed: the neural backend's reduced precision / layout / compilation settings.
        onnx_dir: run the neural backend's networks from this ONNX export (``vivify export
            onnx``) with onnxruntime instead of PyTorch; no weights folder is needed then.

    Raises:
        UserError: unknown name, or ``neural`` without weights (the message says how to get them).
        InputError: a weights file is unreadable or not the official architecture.

    Examples:
        >>> backend = load_backend("mesh")
        >>> backend.name
        'mesh'
    """
    if name not in CHOICES:
        raise UserError(f"unknown backend {name!r} (choose from {', '.join(CHOICES)})")
    if onnx_dir is not None:
        if name == "mesh":
            raise UserError("--onnx runs the neural backend's networks, not the mesh backend")
        return _onnx_backend(onnx_dir, device, speed)
    if name == "mesh":
        return MeshWarpBackend()
    if name == "neural":
        device = resolve_device(device)  # a wrong device is named before missing weights are
    try:
        root = resolve_weights_dir(weights_dir)
    except WeightsNotFoundError as exc:
        where = Path(weights_dir).expanduser() if weights_dir else default_weights_dir()
        if name == "auto":
            logger.warning(
                "LivePortrait weights not found in %s: using the weight-free mesh backend "
                "(run `vivify weights download` for the neural one)",
                where,
            )
            return MeshWarpBackend()
        fetch = f"vivify weights download --dir {where}" if weights_dir else "vivify weights download"
        raise UserError(
            f"the neural backend needs the LivePortrait weights, not found in {where}: run `{fetch}`"
        ) from exc
    return NeuralBackend(root, device=resolve_device(device), dtype=dtype, speed=speed)


def _onnx_backend(
    folder: str | Path, device: str | torch.device, speed: SpeedOptions | None
) -> NeuralBackend:
    """The neural backend on an ONNX export run by onnxruntime (CUDA provider on a CUDA device)."""
    from vivify.runtime import OnnxLivePortrait  # noqa: PLC0415 - optional extra

    speed = speed or SpeedOptions()
    if dataclasses.replace(speed, threads=None, device_paste=None) != SpeedOptions():
        raise UserError("--precision, --fast and --compile apply to the PyTorch networks, not to --onnx")
    provider = "cuda" if resolve_device(device).type == "cuda" else "cpu"
    models = OnnxLivePortrait(folder, provider=provider, threads=speed.threads)
    return NeuralBackend(models=models, speed=speed)


__all__ = [
    "BACKENDS",
    "CHOICES",
    "BackendCapabilities",
    "DrivingFrame",
    "MeshWarpBackend",
    "NeuralBackend",
    "ReadyFrames",
    "RenderBackend",
    "RenderedFrames",
    "SpeedOptions",
    "load_backend",
]
