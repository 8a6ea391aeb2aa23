"""The keyed spread-spectrum pattern: a grid of ±1 chips, each cell carrying one message bit.

The image is divided into a ``GRID x GRID`` grid of cells whose size is relative to the image
(so the grid survives any rescaling). A key seeds two tables: a random ±1 chip per cell and a
balanced assignment of cells to the 64 message bits (256 cells per bit, scattered over the
whole image). A cell's sign is its chip times the sign of its bit (+1 for a 1 bit, -1 for a 0
bit). The pattern added to the luma is that sign grid upsampled bilinearly to the image size:
smooth bumps of about 4 px at 512 px (mid/low spatial frequencies that H.264 keeps).
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from vivify.watermark.message import N_BITS

#: Cells per side of the (image-relative) grid; 4 px cells on a 512 px frame.
GRID = 128
#: vivify's own key; a different key gives an unrelated pattern that this one never detects.
DEFAULT_KEY = 0x76697669


@lru_cache(maxsize=8)
def keyed_tables(key: int) -> tuple[np.ndarray, np.ndarray]:
    """The chip and bit-assignment tables of a key.

    Args:
        key: non-negative integer seed.

    Returns:
        ``chips``: (GRID, GRID) float32 of ±1; ``owner``: (GRID, GRID) int64 bit index in
        0..63, each bit owning exactly GRID**2 / 64 cells. Both read-only.

    Raises:
        ValueError: a negative or non-integer key.
    """
    if not isinstance(key, (int, np.integer)) or key < 0:
        raise ValueError(f"the key must be a non-negative integer, got {key!r}")
    rng = np.random.default_rng(np.random.SeedSequence(int(key)))
    chips = (rng.integers(0, 2, (GRID, GRID)) * 2 - 1).astype(np.float32)
    owner = (rng.permutation(GRID * GRID) % N_BITS).reshape(GRID, GRID)
    chips.flags.writeable = False
    owner.flags.writeable = False
    return chips, owner


def cell_signs(bits: np.ndarray, key: int) -> np.ndarray:
    """The ±1 sign of every cell for a message: (GRID, GRID) float32.

    Args:
        bits: (64,) 0/1 message bits.
        key: the pattern key.
    """
    chips, owner = keyed_tables(key)
    signs = np.asarray(bits, dtype=np.float32) * 2 - 1
    return chips * signs[owner]


@lru_cache(maxsize=8)
def _pattern_cached(height: int, width: int, packed_bits: bytes, key: int) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(packed_bits, dtype=np.uint8))[:N_BITS]
    cells = cell_signs(bits, key)
    # Bilinear upsampling gives smooth bumps; below the grid's size, area averaging avoids aliasing.
    interp = cv2.INTER_LINEAR if min(height, width) >= GRID else cv2.INTER_AREA
    pattern = cv2.resize(cells, (width, height), interpolation=interp)
    pattern /= max(float(np.sqrt(np.mean(pattern.astype(np.float64) ** 2))), 1e-6)
    pattern.flags.writeable = False
    return pattern


def pattern(height: int, width: int, bits: np.ndarray, key: int) -> np.ndarray:
    """The mark's luma pattern at an image size, with unit RMS: (height, width) float32, read-only.

    Cached per (size, message, key): a video's frames share one pattern.
    """
    packed = np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes()
    return _pattern_cached(int(height), int(width), packed, int(key))
