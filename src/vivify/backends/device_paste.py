"""Paste-back on the renderer's device: the decoded crops never leave the GPU as crops.

The host path (:func:`vivify.face.crop.paste_back`) downloads each 512 crop and blends it into
the picture with OpenCV. On a GPU rendering hundreds of frames a second that host work becomes
the bottleneck, so the same blend runs where the crops are: the source picture is uploaded once,
and everything that depends only on the source (the footprint of the crop in the picture, the
sampling grid into the crop, the warped feathered mask) is computed once per source. Per batch,
the crops are sampled into the footprint, blended and written into copies of the picture; one
download of finished uint8 frames follows.

The arithmetic is the host path's: bilinear warps with zeros outside the crop, rounded to uint8
levels like OpenCV's, then ``α·crop + (1 − α)·picture`` truncated to uint8. OpenCV interpolates
with 1/32-pixel fixed-point weights, so a few pixels differ from the host path's by a grey level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from vivify.face.align import invert_affine
from vivify.face.crop import crop_footprint


@dataclass(frozen=True)
class PasteTarget:
    """A source picture on the device and the fixed geometry of its crop's footprint.

    Attributes:
        picture: (H, W, 3) uint8 source picture on the device.
        box: (y0, y1, x0, x1) footprint of the crop in the picture (grown by a pixel).
        grid: (1, h, w, 2) float32 ``grid_sample`` coordinates of the footprint's pixels in the crop.
        alpha: (1, 1, h, w) float32 feathered mask warped into the footprint, in [0, 1].
        region: (1, 3, h, w) float32 the picture's pixels under the footprint.
    """

    picture: torch.Tensor
    box: tuple[int, int, int, int]
    grid: torch.Tensor
    alpha: torch.Tensor
    region: torch.Tensor


def _sample(source: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of (B, C, S, S) ``source`` at ``grid`` (B, h, w, 2), zeros outside."""
    return F.grid_sample(source, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def paste_target(
    picture: np.ndarray, m_c2o: np.ndarray, mask: np.ndarray, device: torch.device | str
) -> PasteTarget:
    """Upload ``picture`` (H, W, 3) uint8 and prepare pasting (S, S) crops into it.

    Args:
        picture: the source picture.
        m_c2o: (3, 3) or (2, 3) crop → picture matrix.
        mask: (S, S) uint8 feathered mask in crop space.
        device: where the crops will be.
    """
    h, w = picture.shape[:2]
    size = mask.shape[0]
    y0, y1, x0, x1 = crop_footprint(m_c2o, size, (h, w))
    m_o2c = invert_affine(np.asarray(m_c2o, np.float64))[:2]
    # crop coordinates of each footprint pixel centre, then grid_sample's [-1, 1] (pixel i at i)
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    u = m_o2c[0, 0] * xs + m_o2c[0, 1] * ys + m_o2c[0, 2]
    v = m_o2c[1, 0] * xs + m_o2c[1, 1] * ys + m_o2c[1, 2]
    grid = np.stack([u, v], axis=-1) * (2.0 / (size - 1)) - 1.0
    grid_t = torch.as_tensor(grid[None], dtype=torch.float32, device=device)
    mask_t = torch.as_tensor(np.asarray(mask, np.float32)[None, None], device=device)
    picture_t = torch.tensor(picture, dtype=torch.uint8, device=device)  # a copy: never aliases
    region = picture_t[y0:y1, x0:x1].permute(2, 0, 1)[None].float()
    if grid_t.numel():
        alpha = torch.round(_sample(mask_t, grid_t)) / 255.0  # OpenCV rounds the warped uint8 mask
    else:
        alpha = mask_t.new_zeros((1, 1, y1 - y0, x1 - x0))
    return PasteTarget(picture_t, (y0, y1, x0, x1), grid_t, alpha, region)


def paste_crops(target: PasteTarget, crops: torch.Tensor) -> torch.Tensor:
    """Blend B decoded crops into copies of the target's picture, on the crops' device.

    Args:
        target: from :func:`paste_target`.
        crops: (B, 3, S, S) decoder images in (0, 1), any float dtype.

    Returns:
        (B, H, W, 3) uint8 frames on the same device.
    """
    n = len(crops)
    # the crop as the host path has it: truncated to uint8 levels (LivePortrait's conversion)
    levels = torch.floor(crops.float().clamp(0, 1) * 255.0)
    frames = target.picture.expand(n, *target.picture.shape).clone()
    y0, y1, x0, x1 = target.box
    if y1 <= y0 or x1 <= x0:
        return frames
    pasted = torch.round(_sample(levels, target.grid.expand(n, -1, -1, -1)))
    blend = target.alpha * pasted + (1 - target.alpha) * target.region
    frames[:, y0:y1, x0:x1] = blend.clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    return frames
