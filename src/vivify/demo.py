"""The built-in demo: runs on a bundled portrait with no user files, weights or network.

Until the animation backends land, the demo shows the foundation at work on NASA's public-domain
astronaut portrait (shipped inside scikit-image): face detection with 478 landmarks, the aligned
LivePortrait-style crop, and a crop → paste-back round trip.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vivify.face import CropConfig, MediaPipeFaceDetector, crop_face, find_face, head_pose, paste_back
from vivify.face.align import transform_points
from vivify.io import save_image

logger = logging.getLogger(__name__)


def builtin_portrait() -> np.ndarray:
    """NASA's astronaut portrait (public domain), (512, 512, 3) uint8 RGB, from scikit-image."""
    from skimage import data  # noqa: PLC0415 - only the demo needs it

    return np.ascontiguousarray(data.astronaut())


@dataclass(frozen=True)
class DemoResult:
    output: Path
    n_landmarks: int
    box: tuple[float, float, float, float]
    pose: tuple[float, float, float]
    roundtrip_psnr: float


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two uint8 images (inf when identical)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def _annotate(image: np.ndarray, landmarks: np.ndarray, m_c2o: np.ndarray, dsize: int) -> np.ndarray:
    out = image.copy()
    for x, y in landmarks[:, :2].astype(int):
        cv2.circle(out, (int(x), int(y)), 1, (0, 255, 120), -1, lineType=cv2.LINE_AA)
    corners = np.array([[0, 0], [dsize, 0], [dsize, dsize], [0, dsize]], dtype=np.float64)
    quad = transform_points(corners, m_c2o).astype(np.int32)
    cv2.polylines(out, [quad], True, (255, 200, 0), 2, lineType=cv2.LINE_AA)
    return out


def run_face_demo(output: str | Path = "vivify-demo.png", image: np.ndarray | None = None) -> DemoResult:
    """Detect, crop and paste back the built-in portrait; save an annotated picture.

    The picture shows the portrait with its landmarks and crop square, next to the aligned crop.
    """
    image = builtin_portrait() if image is None else image
    with MediaPipeFaceDetector() as detector:
        face = find_face(image, detector)
    config = CropConfig()
    crop = crop_face(image, face.landmarks, config)
    restored = paste_back(image, crop.image, crop.m_c2o, reference_crop=crop.image)
    h = image.shape[0]
    panel = cv2.resize(crop.image, (h, h), interpolation=cv2.INTER_AREA)
    for x, y in transform_points(crop.landmarks, np.diag([h / config.dsize, h / config.dsize, 1.0]))[:, :2]:
        cv2.circle(panel, (int(x), int(y)), 1, (0, 255, 120), -1, lineType=cv2.LINE_AA)
    sheet = np.concatenate([_annotate(image, face.landmarks, crop.m_c2o, config.dsize), panel], axis=1)
    output = Path(output)
    save_image(output, sheet)
    b = face.box
    return DemoResult(output, len(face.landmarks), (b.x0, b.y0, b.x1, b.y1), head_pose(face.landmarks),
                      psnr(restored, image))  # fmt: skip
