"""Small typed containers shared by detection, tracking, cropping and both render backends."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FaceBox:
    """Axis-aligned face box in image pixels (x0, y0 inclusive; x1, y1 exclusive)."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float = 1.0

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    @property
    def center(self) -> tuple[float, float]:
        return (0.5 * (self.x0 + self.x1), 0.5 * (self.y0 + self.y1))

    def iou(self, other: FaceBox) -> float:
        """Intersection over union with another box, in [0, 1]."""
        ix = max(0.0, min(self.x1, other.x1) - max(self.x0, other.x0))
        iy = max(0.0, min(self.y1, other.y1) - max(self.y0, other.y0))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    @classmethod
    def from_points(cls, points: np.ndarray, score: float = 1.0) -> FaceBox:
        """Tight box around points of shape (N, 2+)."""
        xy = np.asarray(points)[:, :2]
        x0, y0 = xy.min(axis=0)
        x1, y1 = xy.max(axis=0)
        return cls(float(x0), float(y0), float(x1), float(y1), score)


@dataclass(frozen=True)
class Face:
    """One face found in an image.

    Attributes:
        landmarks: (478, 3) float32 face-mesh points in image pixels: x right, y down, z depth in the
            same pixel scale as x (smaller = nearer the camera). Points 468-477 are the irises.
        box: tight box around the landmarks.
        score: detector confidence in [0, 1].
    """

    landmarks: np.ndarray
    box: FaceBox
    score: float = 1.0

    @property
    def size(self) -> float:
        """Face size in pixels: the longer side of the landmark box."""
        return max(self.box.width, self.box.height)
