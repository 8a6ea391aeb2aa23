"""Re-synchronisation after a crop: find where the received frame sits in the original grid.

A cropped frame keeps a part of the original cell grid, stretched to the new frame size. The
search tries crops covering a fraction ``s`` of the original, the same horizontally and
vertically, for ``MIN_COVER <= s <= 1`` in steps of one cell, at half-cell phases: for each
(scale, phase) it resamples the accumulated luma so that one cell is one value, removes the
content (:func:`~vivify.watermark.cells.normalised_residual`) and correlates the result with the
key's known (magic) cells at every integer cell offset at once (FFT). The best hypothesis is then
refined (position and width/height separately, to a sixteenth of a cell) before decoding.

Every (scale, phase, offset) is one more chance for unmarked content to score high, so the
search's own decision needs a higher z-score, ``SEARCH_THRESHOLD``: with ``H`` hypotheses
(:func:`hypothesis_count`, 53 581) the false-positive probability is below
``H * exp(-SEARCH_THRESHOLD**2 / 2)`` = 3e-7 (union bound; the refinement only improves the
decoding and is not used for the decision).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import cv2
import numpy as np

from vivify.watermark.cells import normalised_residual
from vivify.watermark.message import KNOWN, N_BITS, known_bits
from vivify.watermark.pattern import GRID, keyed_tables

#: Canvas samples per cell: the accumulated luma is kept at (GRID * SUB, GRID * SUB).
SUB = 2
CANVAS = GRID * SUB
#: Smallest fraction of the original (per side) a cropped frame may show.
MIN_COVER = 0.75
SEARCH_THRESHOLD = 7.2
_REFINE_ROUNDS = 4


@dataclass(frozen=True)
class Alignment:
    """The received frame's box in the original grid, in cells, and the score of the search.

    Attributes:
        left, top: the frame's top-left corner in the original grid (cells).
        width, height: the frame's size in the original grid (cells; GRID = uncropped).
        z: z-score of the known bits for the coarse hypothesis that the search chose.
    """

    left: float
    top: float
    width: float
    height: float
    z: float

    def as_fractions(self) -> tuple[float, float, float, float]:
        """(left, top, width, height) as fractions of the original frame."""
        return (self.left / GRID, self.top / GRID, self.width / GRID, self.height / GRID)


def _sizes() -> range:
    """Canvas sizes (samples) of the hypotheses: one cell apart, from the full grid down."""
    return range(CANVAS, int(math.ceil(MIN_COVER * CANVAS)) - 1, -SUB)


def hypothesis_count() -> int:
    """Number of (scale, phase, offset) alignments the search tests (for the union bound)."""
    total = 0
    for size in _sizes():
        for dy in range(SUB):
            for dx in range(SUB):
                n = min(size - dy, size - dx) // SUB
                total += (GRID - n + 1) ** 2
    return total


@lru_cache(maxsize=4)
def _template_spectra(key: int) -> tuple[np.ndarray, np.ndarray]:
    """FFTs of the known cells' expected signs and of their support: (GRID, GRID // 2 + 1) each."""
    chips, owner = keyed_tables(key)
    signs = known_bits().astype(np.float32) * 2 - 1
    known = owner < KNOWN.stop
    template = np.where(known, chips * signs[np.minimum(owner, KNOWN.stop - 1)], 0.0)
    return np.fft.rfft2(template), np.fft.rfft2(known.astype(np.float64))


def _correlate(spectrum: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """``out[o] = sum_j t[o + j] * cells[j]`` for every offset o (no wrap for valid offsets)."""
    padded = np.zeros((GRID, GRID))
    padded[: cells.shape[0], : cells.shape[1]] = cells
    return np.fft.irfft2(spectrum * np.conj(np.fft.rfft2(padded)), s=(GRID, GRID))


def _best_offset(cells: np.ndarray, key: int) -> tuple[float, int, int]:
    """The z-score and (row, col) offset of the best match of square ``cells`` inside the grid."""
    template_f, support_f = _template_spectra(key)
    valid = GRID - cells.shape[0] + 1
    num = _correlate(template_f, cells)[:valid, :valid]
    den = _correlate(support_f, cells * cells)[:valid, :valid]
    z = num / np.sqrt(np.maximum(den, 1e-9))
    row, col = np.unravel_index(int(np.argmax(z)), z.shape)
    return float(z[row, col]), int(row), int(col)


def search(canvas: np.ndarray, key: int) -> Alignment:
    """The coarse crop hypothesis that best matches the key's known cells.

    Args:
        canvas: (CANVAS, CANVAS) luma of the received frame(s) (mean over frames).
        key: the pattern key.

    Returns:
        The best :class:`Alignment` (z = 0 for a blank canvas).
    """
    best = Alignment(0.0, 0.0, GRID, GRID, -math.inf)
    for size in _sizes():
        resized = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)
        for dy in range(SUB):
            for dx in range(SUB):
                n = min(size - dy, size - dx) // SUB
                block = resized[dy : dy + n * SUB, dx : dx + n * SUB]
                cells = normalised_residual(block.reshape(n, SUB, n, SUB).mean(axis=(1, 3)))  # (n, n)
                z, row, col = _best_offset(cells, key)
                if z > best.z:
                    best = Alignment(col - dx / SUB, row - dy / SUB, size / SUB, size / SUB, z)
    return best


def aligned_cells(canvas: np.ndarray, box: Alignment) -> tuple[np.ndarray, tuple[int, int]]:
    """The normalised residual of the original cells lying wholly inside the received frame.

    Returns:
        ``cells``: (ny, nx) float32; ``origin``: (row, col) of ``cells[0, 0]`` in the grid.
    """
    c0, r0 = max(math.ceil(box.left), 0), max(math.ceil(box.top), 0)
    nx = min(math.floor(box.left + box.width), GRID) - c0
    ny = min(math.floor(box.top + box.height), GRID) - r0
    if nx < 3 or ny < 3:
        return np.zeros((0, 0), np.float32), (r0, c0)
    # Inverse map: output sample q (SUB per cell) -> canvas pixel, for x and y.
    ax, ay = CANVAS / (SUB * box.width), CANVAS / (SUB * box.height)
    bx = (c0 + 0.5 / SUB - box.left) / box.width * CANVAS - 0.5
    by = (r0 + 0.5 / SUB - box.top) / box.height * CANVAS - 0.5
    matrix = np.array([[ax, 0.0, bx], [0.0, ay, by]])
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    samples = cv2.warpAffine(canvas, matrix, (nx * SUB, ny * SUB), flags=flags, borderMode=cv2.BORDER_REFLECT)
    cells = samples.reshape(ny, SUB, nx, SUB).mean(axis=(1, 3))  # (ny, nx)
    return normalised_residual(cells), (r0, c0)


def bit_sums(cells: np.ndarray, origin: tuple[int, int], key: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-bit correlation with the chips and energy of cells placed at ``origin``: (64,) each."""
    chips, owner = keyed_tables(key)
    ny, nx = cells.shape
    row, col = origin
    own = owner[row : row + ny, col : col + nx].ravel()
    chip = chips[row : row + ny, col : col + nx]
    correlation = np.bincount(own, (chip * cells).ravel(), N_BITS)
    energy = np.bincount(own, (cells * cells).ravel(), N_BITS)
    return correlation, energy


def _known_z(canvas: np.ndarray, box: Alignment, key: int) -> float:
    correlation, energy = bit_sums(*aligned_cells(canvas, box), key)
    signs = known_bits().astype(np.float64) * 2 - 1
    total = float(energy[KNOWN].sum())
    return float(signs @ correlation[KNOWN]) / math.sqrt(total) if total > 1e-9 else -math.inf


def refine(canvas: np.ndarray, box: Alignment, key: int) -> Alignment:
    """Improve a coarse alignment by coordinate ascent on left, top, width and height.

    Steps start at half a cell and halve each round. The returned box keeps the coarse ``z``
    (the decision stays with the counted hypotheses); only the decoding uses the refined box.
    """
    fields = ("left", "top", "width", "height")
    best, best_z = box, _known_z(canvas, box, key)
    step = 0.5
    for _ in range(_REFINE_ROUNDS):
        for field in fields:
            for delta in (-step, step):
                trial = replace(best, **{field: getattr(best, field) + delta})
                trial_z = _known_z(canvas, trial, key)
                if trial_z > best_z:
                    best, best_z = trial, trial_z
        step /= 2
    return best
