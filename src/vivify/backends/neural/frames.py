"""The neural backend's rendered frames: decoder output, uint8 conversion, and batches in flight."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class DecodedFrames:
    """Decoder output of B frames: ``image`` (B, 3, 512, 512) in (0, 1), ``occlusion`` (B, 1, 64, 64)."""

    image: torch.Tensor
    occlusion: torch.Tensor


def uint8_images(image: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) in (0, 1) → (B, H, W, 3) uint8 on the same device, truncating like
    LivePortrait (spec 9.5)."""
    return (image.clamp(0, 1) * 255).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)


class PendingFrames:
    """A rendered batch whose download from the device may still be running.

    :meth:`result` waits for it (on a GPU, the next batch can be queued meanwhile) and returns the
    frames, pasted into the picture on the host when that was left to do (``finish``).
    """

    def __init__(
        self, frames: torch.Tensor, finish: Callable[[np.ndarray], np.ndarray] | None = None
    ) -> None:
        self._event = None
        if frames.device.type == "cuda":  # copy into pinned memory without waiting for it
            host = torch.empty(frames.shape, dtype=frames.dtype, pin_memory=True)
            host.copy_(frames, non_blocking=True)
            self._event = torch.cuda.Event()
            self._event.record()
            frames = host
        else:
            frames = frames.cpu()
        self._frames, self._finish = frames, finish

    def result(self) -> list[np.ndarray]:
        """(H, W, 3) uint8 frames."""
        if self._event is not None:
            self._event.synchronize()
        frames = list(self._frames.numpy())
        return frames if self._finish is None else [self._finish(f) for f in frames]
