"""Speed settings of the neural renderer: reduced precision, memory layout and compilation.

The warp (W) and decoder (G) are nearly all of a frame's cost, and nearly all of theirs is
convolution, so the settings act on those two networks:

- ``precision``: W and G run under autocast in bfloat16 or float16 (convolutions and matrix
  products in the low precision, normalisations, softmax and sampling in float32, as autocast
  decides). LivePortrait itself runs under float16 autocast on CUDA. bfloat16 needs a CPU with
  native bf16 (AVX512-BF16 / AMX) to be fast, or a recent GPU. Results differ from float32 by a
  few grey levels (measured in benchmarks/RESULTS.md); float32 stays the reference.
- ``channels_last``: convolution weights and activations in NHWC (NDHWC for the 3-D parts), the
  layout oneDNN and cuDNN prefer for reduced precision. Exact in float32.
- ``compile``: ``torch.compile`` of W and G (first frames are slow while it compiles; on CUDA
  the "reduce-overhead" mode also captures CUDA graphs).
- ``device_paste``: paste the decoded crops into the picture on the renderer's device and
  download finished frames (:mod:`vivify.backends.device_paste`); default on for a GPU, where
  the host's OpenCV paste would otherwise bound the frame rate.
- ``threads``: the CPU threads of the networks; by default every core this process may use
  (:func:`vivify.runtime.threads.available_cores`, which respects a container's CPU quota).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

Precision = Literal["float32", "bfloat16", "float16"]
PRECISIONS: tuple[str, ...] = ("float32", "bfloat16", "float16")
_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (oneDNN's check)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@dataclass(frozen=True)
class SpeedOptions:
    """How the neural backend runs W and G (see the module docstring).

    Attributes:
        precision: "float32" (exact), "bfloat16" or "float16" autocast.
        channels_last: NHWC / NDHWC memory layout.
        compile: ``torch.compile`` W and G.
        device_paste: paste back on the renderer's device (None: on a GPU, not on a CPU).
        threads: CPU threads of the networks (None: the cores this process may use).
    """

    precision: Precision = "float32"
    channels_last: bool = False
    compile: bool = False
    device_paste: bool | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")

    @classmethod
    def fast(cls, device: str | torch.device) -> SpeedOptions:
        """The fastest approximate settings for ``device``: float16 on CUDA, bfloat16 on a CPU
        with native bf16, float32 otherwise; channels-last in every case."""
        kind = torch.device(device).type
        if kind == "cuda":
            return cls("float16", channels_last=True)
        return cls("bfloat16" if cpu_has_bf16() else "float32", channels_last=True)

    def autocast(self, device: torch.device) -> contextlib.AbstractContextManager:
        """The autocast context for W and G (a no-op for float32)."""
        if self.precision == "float32":
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=_DTYPES[self.precision])

    def layout(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` in the chosen memory layout (4-D and 5-D tensors)."""
        if not self.channels_last or x.ndim not in (4, 5):
            return x
        return x.contiguous(memory_format=torch.channels_last if x.ndim == 4 else torch.channels_last_3d)


def to_channels_last(module: nn.Module) -> nn.Module:
    """Convolution weights of ``module`` in NHWC / NDHWC, in place (values unchanged)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            layer.weight.data = layer.weight.data.contiguous(memory_format=torch.channels_last)
        elif isinstance(layer, (nn.Conv3d, nn.ConvTranspose3d)):
            layer.weight.data = layer.weight.data.contiguous(memory_format=torch.channels_last_3d)
    return module


def compiled(module: nn.Module, device: torch.device) -> nn.Module:
    """``torch.compile`` of ``module`` (CUDA graphs through "reduce-overhead" on CUDA)."""
    mode = "reduce-overhead" if device.type == "cuda" else None
    return torch.compile(module, mode=mode, dynamic=False)
