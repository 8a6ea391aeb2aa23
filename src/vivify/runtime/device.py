"""The one place where a device name ("auto", "cpu", "cuda", "cuda:1", ...) becomes a torch device."""

from __future__ import annotations

import torch

from vivify.errors import UserError


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """The torch device for a name; "auto" is the first CUDA device when there is one, else the CPU.

    Raises:
        UserError: a name torch does not know, or a CUDA device on a machine without one.
    """
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, ValueError):
        raise UserError(f"unknown device {device!r} (use auto, cpu, cuda or cuda:N)") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {device!r} asked for, but this machine has no usable CUDA GPU")
    return resolved
