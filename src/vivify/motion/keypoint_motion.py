"""Driving motion in LivePortrait's keypoint space, as stored per frame in motion templates."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np


@dataclass(frozen=True)
class KeypointMotion:
    """Motion of T driving frames (float32 numpy arrays), what the neural renderer needs of them.

    The canonical keypoints belong to the source, so a driving frame is fully described by its
    head pose, expression and (optionally) its eye/lip open ratios (spec sections 9.3 and 9.6).

    Attributes:
        rotation: (T, 3, 3) head rotation matrices (row-vector convention: ``x @ R``).
        exp: (T, 21, 3) expression offsets.
        t: (T, 3) translation.
        scale: (T, 1) scale.
        eye_ratio: (T, 2) left/right eye open ratios, or None.
        lip_ratio: (T, 1) lip open ratio, or None.
    """

    rotation: np.ndarray
    exp: np.ndarray
    t: np.ndarray
    scale: np.ndarray
    eye_ratio: np.ndarray | None = None
    lip_ratio: np.ndarray | None = None

    # shape of one frame of each field; every array is (T, *shape)
    FRAME_SHAPES: ClassVar[dict[str, tuple[int, ...]]] = {
        "rotation": (3, 3), "exp": (21, 3), "t": (3,), "scale": (1,), "eye_ratio": (2,), "lip_ratio": (1,),
    }  # fmt: skip

    def __len__(self) -> int:
        return len(self.rotation)

    def __getitem__(self, index: int | slice) -> KeypointMotion:
        """Frames ``index`` (an int gives a one-frame motion, T = 1)."""
        sel = slice(index, index + 1 or None) if isinstance(index, (int, np.integer)) else index
        if isinstance(index, (int, np.integer)) and not -len(self) <= index < len(self):
            raise IndexError(index)

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[sel]

        return KeypointMotion(self.rotation[sel], self.exp[sel], self.t[sel], self.scale[sel],
                              pick(self.eye_ratio), pick(self.lip_ratio))  # fmt: skip

    @staticmethod
    def concat(items: list[KeypointMotion]) -> KeypointMotion:
        """Frames of several motions in order (ratios kept only when every item has them)."""

        def cat(name: str) -> np.ndarray | None:
            arrays = [getattr(m, name) for m in items]
            return None if any(a is None for a in arrays) else np.concatenate(arrays)

        return KeypointMotion(*(cat(n) for n in ("rotation", "exp", "t", "scale", "eye_ratio", "lip_ratio")))

    def check_shapes(self) -> None:
        """Check that every present field is a (T, *FRAME_SHAPES[name]) array with the same T.

        Raises:
            ValueError: naming the first field that does not fit.
        """
        n = None
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name in ("eye_ratio", "lip_ratio"):
                continue
            expected = self.FRAME_SHAPES[f.name]
            if not isinstance(value, np.ndarray) or value.shape[1:] != expected:
                got = value.shape if isinstance(value, np.ndarray) else type(value).__name__
                raise ValueError(
                    f"keypoint {f.name} has shape {got}, expected (T, {', '.join(map(str, expected))})"
                )
            if n is not None and len(value) != n:
                raise ValueError(f"keypoint {f.name} has {len(value)} frames, rotation has {n}")
            n = len(value) if n is None else n

    def finite_frames(self) -> np.ndarray:
        """(T,) bool: frames whose every value (pose, expression, ratios) is finite."""
        ok = np.ones(len(self), dtype=bool)
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                ok &= np.isfinite(value).all(axis=tuple(range(1, value.ndim)))
        return ok
