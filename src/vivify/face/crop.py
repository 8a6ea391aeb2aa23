"""Cropping an aligned face patch and pasting an edited patch back into the full frame."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from vivify.face.align import CropConfig, crop_matrix, invert_affine, transform_points

FEATHER = 16  # width in crop pixels of the mask's linear ramp (LivePortrait's mask template)


@dataclass(frozen=True)
class FaceCrop:
    """An aligned square face crop and the matrices that relate it to its frame.

    Attributes:
        image: (dsize, dsize, 3) uint8 RGB crop.
        m_o2c: (3, 3) float32 original → crop matrix.
        m_c2o: (3, 3) float32 crop → original matrix.
        landmarks: (N, 2 or 3) landmarks in crop pixels.
        frame_size: (height, width) of the frame it was cut from.
    """

    image: np.ndarray
    m_o2c: np.ndarray
    m_c2o: np.ndarray
    landmarks: np.ndarray
    frame_size: tuple[int, int]


def warp_crop(image: np.ndarray, m_o2c: np.ndarray, dsize: int) -> np.ndarray:
    """Cut a (dsize, dsize) crop with bilinear sampling and black outside the frame."""
    return cv2.warpAffine(
        image,
        m_o2c[:2],
        (dsize, dsize),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )


def crop_face(image: np.ndarray, landmarks: np.ndarray, config: CropConfig | None = None) -> FaceCrop:
    """Aligned crop of the face described by ``landmarks`` (478, 203 or 106 points, image pixels)."""
    config = config or CropConfig()
    m_o2c = crop_matrix(landmarks, config)
    return FaceCrop(
        image=warp_crop(image, m_o2c, config.dsize),
        m_o2c=m_o2c,
        m_c2o=invert_affine(m_o2c),
        landmarks=transform_points(landmarks, m_o2c),
        frame_size=image.shape[:2],
    )


@lru_cache(maxsize=4)
def feather_mask(dsize: int = 512, feather: int = FEATHER) -> np.ndarray:
    """(dsize, dsize) uint8 mask: 255 inside, a linear ramp to 0 over ``feather`` pixels at the
    border, with rounded corners (same values as LivePortrait's mask template at 512)."""
    i = np.arange(dsize, dtype=np.float64)
    d = np.minimum(i, dsize - i)  # distance to the crop border, pixel i at coordinate i
    excess = np.maximum(feather - d, 0.0)
    dist = np.hypot(excess[:, None], excess[None, :])
    mask = np.clip((feather - dist) * 255.0 / feather, 0, 255).astype(np.uint8)
    mask.setflags(write=False)
    return mask


def warp_to_frame(crop: np.ndarray, m_c2o: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
    """Warp a crop-space array back into frame space (bilinear, 0 outside the crop)."""
    h, w = frame_size
    return cv2.warpAffine(crop, m_c2o[:2], (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def crop_footprint(
    m_c2o: np.ndarray, crop_size: int, frame_size: tuple[int, int]
) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1): the frame pixels a (crop_size²) crop can touch through ``m_c2o``, grown
    by a pixel and clipped to the frame (empty when the crop lies outside it). Bilinear sampling
    reaches one crop pixel beyond each edge, hence the corners -1 and crop_size."""
    h, w = frame_size
    lo, hi = -1.0, float(crop_size)
    corners = np.array([[lo, lo], [hi, lo], [hi, hi], [lo, hi]], np.float64)
    m = np.asarray(m_c2o, np.float64)
    quad = corners @ m[:2, :2].T + m[:2, 2]
    x0, y0 = (max(int(np.floor(v)) - 1, 0) for v in quad.min(axis=0))
    x1, y1 = min(int(np.ceil(quad[:, 0].max())) + 2, w), min(int(np.ceil(quad[:, 1].max())) + 2, h)
    return y0, max(y1, y0), x0, max(x1, x0)


def paste_back(
    frame: np.ndarray,
    crop: np.ndarray,
    m_c2o: np.ndarray,
    mask: np.ndarray | None = None,
    reference_crop: np.ndarray | None = None,
    change_threshold: float = 12.0,
) -> np.ndarray:
    """Blend an (edited) crop back into its frame through a feathered mask.

    Args:
        frame: (H, W, 3) uint8 original frame; not modified.
        crop: (S, S, 3) uint8 crop to paste.
        m_c2o: (3, 3) crop → frame matrix.
        mask: (S, S) uint8 mask in crop space; default :func:`feather_mask`.
        reference_crop: the unedited crop of ``frame``. When given, the frame's own detail (what
            the crop's resampling lost) is kept wherever the crop is unchanged, fading out where
            it differs by more than ``change_threshold`` grey levels; pasting an unmodified crop
            then returns ``frame`` exactly. When None, the plain blend (LivePortrait's) is used.

    Returns:
        (H, W, 3) uint8 frame.
    """
    size = crop.shape[0]
    if mask is None:
        mask = feather_mask(size)
    # work only inside the crop's footprint: the rest of the frame is copied unchanged (3x faster
    # on large frames; OpenCV's fixed-point warp then differs from a full-frame warp by one grey
    # level on ~1e-5 of the pixels, well inside the reference tolerance)
    y0, y1, x0, x1 = crop_footprint(m_c2o, size, frame.shape[:2])
    out = frame.copy()
    if x1 <= x0 or y1 <= y0:
        return out
    m_roi = np.asarray(m_c2o, np.float64).copy()
    m_roi[:2, 2] -= (x0, y0)
    m_roi = m_roi.astype(np.float32)
    roi_size = (y1 - y0, x1 - x0)
    region = frame[y0:y1, x0:x1].astype(np.float32)

    alpha = warp_to_frame(mask, m_roi, roi_size).astype(np.float32) / 255.0
    alpha = alpha[..., None] if alpha.ndim == 2 else alpha
    pasted = warp_to_frame(crop, m_roi, roi_size).astype(np.float32)
    if reference_crop is None:
        out[y0:y1, x0:x1] = np.clip(alpha * pasted + (1 - alpha) * region, 0, 255).astype(np.uint8)
        return out

    change = np.abs(crop.astype(np.float32) - reference_crop.astype(np.float32)).max(axis=2)
    change = cv2.GaussianBlur(change, (0, 0), 1.5)
    keep = np.clip(1.0 - change / change_threshold, 0.0, 1.0)
    # outside the crop's footprint the weight must stay 1 (the warp pads with 0), so warp 1 - keep
    keep = 1.0 - warp_to_frame(1.0 - keep, m_roi, roi_size)
    detail = region - warp_to_frame(reference_crop, m_roi, roi_size).astype(np.float32)
    pasted += keep[..., None] * detail
    out[y0:y1, x0:x1] = np.clip(np.rint(alpha * pasted + (1 - alpha) * region), 0, 255).astype(np.uint8)
    return out
