"""The 64 bits the watermark carries: a known magic, vivify's version, a user payload and a CRC.

Layout (most significant bit first within each field)::

    bits  0..15  magic      16 known bits ("vi" in ASCII): what the detector tests for
    bits 16..18  major       3 bits (vivify major version, modulo 8)
    bits 19..23  minor       5 bits (vivify minor version, modulo 32)
    bits 24..55  payload    32 bits chosen by the caller
    bits 56..63  crc         8 bits, CRC-8 (polynomial 0x07) of bits 16..55

Presence is decided on the magic bits alone (a z-score, see :mod:`vivify.watermark.detect`);
the CRC only tells whether the decoded version and payload can be trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version

import numpy as np

MAGIC = 0x7669  # "vi"
MAGIC_BITS = 16
MAJOR_BITS = 3
MINOR_BITS = 5
PAYLOAD_BITS = 32
CRC_BITS = 8
N_BITS = MAGIC_BITS + MAJOR_BITS + MINOR_BITS + PAYLOAD_BITS + CRC_BITS  # 64
#: Indices of the bits every vivify mark shares (the magic).
KNOWN = slice(0, MAGIC_BITS)
_CHECKED = slice(MAGIC_BITS, N_BITS - CRC_BITS)  # version + payload, covered by the CRC
_CRC_POLY = 0x07


def int_to_bits(value: int, n: int) -> np.ndarray:
    """``value`` as ``n`` bits, most significant first: (n,) uint8 of 0/1."""
    return np.array([(value >> (n - 1 - i)) & 1 for i in range(n)], dtype=np.uint8)


def bits_to_int(bits: np.ndarray) -> int:
    """Inverse of :func:`int_to_bits` for a (n,) array of 0/1."""
    value = 0
    for bit in np.asarray(bits).astype(int):
        value = (value << 1) | int(bit)
    return value


def crc8(bits: np.ndarray) -> int:
    """CRC-8 (polynomial x^8 + x^2 + x + 1, initial value 0) of a bit string, MSB first."""
    crc = 0
    for bit in np.asarray(bits).astype(int):
        feedback = ((crc >> 7) & 1) ^ int(bit)
        crc = (crc << 1) & 0xFF
        if feedback:
            crc ^= _CRC_POLY
    return crc


@lru_cache(maxsize=1)  # read once: every marked frame asks
def current_version() -> tuple[int, int]:
    """vivify's installed (major, minor), reduced modulo 8 and 32 to fit the message.

    A source tree without installed metadata gives (0, 0).
    """
    try:
        text = version("vivify")
    except PackageNotFoundError:
        return (0, 0)
    parts = (text.split("+")[0].split(".") + ["0", "0"])[:2]
    try:
        major, minor = (int(p) for p in parts)
    except ValueError:  # e.g. a pre-release tag glued to a number
        return (0, 0)
    return (major % (1 << MAJOR_BITS), minor % (1 << MINOR_BITS))


@dataclass(frozen=True)
class Message:
    """What one mark says besides "made by vivify".

    Args:
        major: vivify major version, 0..7.
        minor: vivify minor version, 0..31.
        payload: caller's data, 0 .. 2**32 - 1.

    Raises:
        ValueError: a field out of its range.
    """

    major: int
    minor: int
    payload: int = 0

    def __post_init__(self) -> None:
        for name, value, bits in (
            ("major", self.major, MAJOR_BITS),
            ("minor", self.minor, MINOR_BITS),
            ("payload", self.payload, PAYLOAD_BITS),
        ):
            if not isinstance(value, (int, np.integer)) or not 0 <= value < (1 << bits):
                raise ValueError(f"{name} must be an integer in 0..{(1 << bits) - 1}, got {value!r}")

    @classmethod
    def default(cls, payload: int = 0) -> Message:
        """The message of this vivify installation (its version) with ``payload``."""
        major, minor = current_version()
        return cls(major, minor, payload)

    @property
    def version(self) -> str:
        """``"major.minor"``."""
        return f"{self.major}.{self.minor}"

    def to_bits(self) -> np.ndarray:
        """The 64 embedded bits: (64,) uint8 of 0/1 in the layout of the module docstring."""
        checked = np.concatenate(
            [
                int_to_bits(self.major, MAJOR_BITS),
                int_to_bits(self.minor, MINOR_BITS),
                int_to_bits(self.payload, PAYLOAD_BITS),
            ]
        )
        return np.concatenate([int_to_bits(MAGIC, MAGIC_BITS), checked, int_to_bits(crc8(checked), CRC_BITS)])

    @classmethod
    def from_bits(cls, bits: np.ndarray) -> Message | None:
        """Decode 64 bits; None when the CRC does not match (the magic is not checked here)."""
        bits = np.asarray(bits).astype(np.uint8)
        if bits.shape != (N_BITS,):
            raise ValueError(f"expected {N_BITS} bits, got shape {bits.shape}")
        checked = bits[_CHECKED]
        if crc8(checked) != bits_to_int(bits[N_BITS - CRC_BITS :]):
            return None
        major = bits_to_int(checked[:MAJOR_BITS])
        minor = bits_to_int(checked[MAJOR_BITS : MAJOR_BITS + MINOR_BITS])
        return cls(major, minor, bits_to_int(checked[MAJOR_BITS + MINOR_BITS :]))


def known_bits() -> np.ndarray:
    """The magic: (16,) uint8 of 0/1, the first bits of every vivify message."""
    return int_to_bits(MAGIC, MAGIC_BITS)
