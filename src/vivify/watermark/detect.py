"""Detection: per-cell statistics of each frame, accumulated over a video, correlated with the key.

A frame is reduced to one number per grid cell: its luma is resized to ``GRID x GRID`` (area
averaging, so any scale maps to the same cells), image content is removed by subtracting the
mean of the four neighbouring cells (the pattern's cells are independent, smooth content is
not), and each cell is divided by the local RMS of that residual (texture, edges and codec noise
then weigh no more than flat areas). A video adds these (GRID, GRID) maps over its frames: the
mark is the same in every frame while the content moves, so the mark's share grows.

Each bit's soft value is the correlation of its cells with their chips. Presence is tested on
the 16 known magic bits only, with ``z = sum_known(sign * chip * x) / sqrt(sum_known(x**2))``.
In unmarked media the chips are independent of the content, so ``z`` is a Rademacher sum and
Hoeffding's inequality bounds ``P(z >= t) <= exp(-t**2 / 2)`` whatever the content: the default
threshold 5.5 gives a false-positive probability below 2.7e-7 per image or video, and the crop
search (run only when that test fails) adds at most 3.0e-7 (:mod:`vivify.watermark.search`).
This assumes the content was not made to match the key, which is public (docs/watermark.md).

Call :meth:`Detector.result` once per file: testing again after every frame and stopping at the
first success multiplies the chances of a false positive.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from vivify.watermark.cells import luma, normalised_residual, resize_square
from vivify.watermark.embed import check_frame
from vivify.watermark.message import KNOWN, N_BITS, Message, known_bits
from vivify.watermark.pattern import DEFAULT_KEY, GRID, keyed_tables
from vivify.watermark.search import CANVAS, SEARCH_THRESHOLD, aligned_cells, bit_sums, refine, search

#: Default z-score above which a mark is declared present (false-positive bound exp(-z**2/2)).
DEFAULT_THRESHOLD = 5.5
MIN_DETECT_SIZE = 16


@dataclass(frozen=True)
class Detection:
    """What a detector found.

    Attributes:
        present: True when ``z >= threshold``: the media carries a vivify mark of this key.
        z: z-score of the known (magic) bits; about N(0, 1) in unmarked media.
        p_value: bound on the chance that unmarked media score ``z`` or more, ``exp(-z**2/2)``.
        bit_accuracy: fraction of the 16 known bits decoded correctly (about 0.5 if unmarked).
        message: the decoded version and payload when present and the CRC matches, else None.
        n_frames: frames accumulated.
        bits: (64,) uint8, the hard-decided bits (meaningful only when present).
        bit_z: (64,) float64, each bit's own z-score (its sign gives the bit).
        crop: when found by the crop search, the box (left, top, width, height) the media
            shows of the original frame, as fractions of it; None when the media is aligned
            with the original grid (not cropped).
    """

    present: bool
    z: float
    p_value: float
    bit_accuracy: float
    message: Message | None
    n_frames: int
    bits: np.ndarray
    bit_z: np.ndarray
    crop: tuple[float, float, float, float] | None = None

    @property
    def version(self) -> str | None:
        """``"major.minor"`` of the vivify that made the mark, when decoded."""
        return None if self.message is None else self.message.version

    @property
    def payload(self) -> int | None:
        """The 32-bit payload, when decoded."""
        return None if self.message is None else self.message.payload


def cell_statistics(rgb: np.ndarray) -> np.ndarray:
    """One frame's content-free, normalised per-cell luma: (GRID, GRID) float32.

    Args:
        rgb: (H, W, 3) uint8 frame of any size >= 16 px.
    """
    return normalised_residual(resize_square(luma(rgb), GRID))


class Detector:
    """Streaming detector: feed frames with :meth:`add`, read the verdict with :meth:`result`.

    Frames may differ in size (the grid is relative to each frame). Memory is constant: a
    (GRID, GRID) sum, plus a (2 * GRID, 2 * GRID) luma sum for the crop search.

    Example:
        >>> detector = Detector()
        >>> for rgb in frames:  # (H, W, 3) uint8
        ...     detector.add(rgb)
        >>> detector.result().present

    Args:
        key: the key the mark was embedded with.
        threshold: z-score needed to declare a mark present without search.
        search_crops: when the aligned test fails, search for a crop of the original frame
            (see :mod:`vivify.watermark.search`; its threshold is ``SEARCH_THRESHOLD``, 7.2,
            whatever ``threshold`` is).

    Raises:
        ValueError: a negative or non-integer key.
    """

    def __init__(
        self, key: int = DEFAULT_KEY, threshold: float = DEFAULT_THRESHOLD, search_crops: bool = True
    ) -> None:
        keyed_tables(key)  # validate the key now
        self.key = key
        self.threshold = float(threshold)
        self.search_crops = search_crops
        self._sum = np.zeros((GRID, GRID), np.float64)
        self._canvas = np.zeros((CANVAS, CANVAS), np.float64) if search_crops else None
        self.n_frames = 0

    def add(self, rgb: np.ndarray) -> None:
        """Accumulate one (H, W, 3) uint8 RGB frame.

        Raises:
            ValueError: wrong shape or dtype, or smaller than 16 px.
        """
        check_frame(rgb, MIN_DETECT_SIZE)
        frame_luma = luma(rgb)
        self._sum += normalised_residual(resize_square(frame_luma, GRID))
        if self._canvas is not None:
            self._canvas += resize_square(frame_luma, CANVAS)
        self.n_frames += 1

    def result(self) -> Detection:
        """The verdict on the frames added so far (no frame: not present)."""
        chips, owner = keyed_tables(self.key)
        flat_owner = owner.ravel()
        correlation = np.bincount(flat_owner, (chips * self._sum).ravel(), N_BITS)  # (64,)
        energy = np.bincount(flat_owner, (self._sum**2).ravel(), N_BITS)  # (64,)
        plain = decide(correlation, energy, self.threshold, self.n_frames)
        if plain.present or self._canvas is None or self.n_frames == 0:
            return plain
        canvas = (self._canvas / self.n_frames).astype(np.float32)
        coarse = search(canvas, self.key)
        if coarse.z < SEARCH_THRESHOLD:
            return plain
        box = refine(canvas, coarse, self.key)
        correlation, energy = bit_sums(*aligned_cells(canvas, box), self.key)
        return decide(
            correlation, energy, SEARCH_THRESHOLD, self.n_frames, crop=box.as_fractions(), z=coarse.z
        )


def decide(
    correlation: np.ndarray,
    energy: np.ndarray,
    threshold: float,
    n_frames: int,
    crop: tuple[float, float, float, float] | None = None,
    z: float | None = None,
) -> Detection:
    """Turn per-bit correlations with the chips into a verdict.

    Args:
        correlation: (64,) sum over each bit's cells of chip * statistic.
        energy: (64,) sum over each bit's cells of statistic ** 2.
        threshold: z-score needed for ``present``.
        n_frames: frames behind the statistics (reported only).
        crop: the box found by the crop search, if it was used.
        z: the z-score to decide on, when it comes from elsewhere (the crop search's counted
            hypotheses); by default the known bits' z of ``correlation`` and ``energy``.
    """
    bit_z = correlation / np.sqrt(np.maximum(energy, 1e-12))
    bits = (correlation > 0).astype(np.uint8)
    expected = known_bits()
    signs = expected.astype(np.float64) * 2 - 1
    known_energy = float(energy[KNOWN].sum())
    if z is None:
        z = float(signs @ correlation[KNOWN]) / math.sqrt(known_energy) if known_energy > 1e-12 else 0.0
    present = n_frames > 0 and z >= threshold
    return Detection(
        present=bool(present),
        z=z,
        p_value=math.exp(-z * z / 2) if z > 0 else 1.0,
        bit_accuracy=float(np.mean(bits[KNOWN] == expected)),
        message=Message.from_bits(bits) if present else None,
        n_frames=n_frames,
        bits=bits,
        bit_z=bit_z,
        crop=crop,
    )


def detect(
    frames: Iterable[np.ndarray] | np.ndarray,
    *,
    key: int = DEFAULT_KEY,
    threshold: float = DEFAULT_THRESHOLD,
    search_crops: bool = True,
) -> Detection:
    """Detect the mark in an image or a sequence of frames.

    Args:
        frames: one (H, W, 3) uint8 image, or an iterable of such frames (a video).
        key: the key the mark was embedded with.
        threshold: z-score needed to declare a mark present without search.
        search_crops: search for a crop when the aligned test fails (see :class:`Detector`).

    Returns:
        The :class:`Detection` over all frames.
    """
    detector = Detector(key=key, threshold=threshold, search_crops=search_crops)
    if isinstance(frames, np.ndarray) and frames.ndim == 3:
        frames = [frames]
    for rgb in frames:
        detector.add(rgb)
    return detector.result()
