"""The watermark message: layout, CRC and validation."""

import numpy as np
import pytest

from vivify.watermark import Message, current_version
from vivify.watermark.message import MAGIC_BITS, N_BITS, bits_to_int, crc8, int_to_bits, known_bits


def test_bits_round_trip_and_layout():
    message = Message(3, 17, 0xDEADBEEF)
    bits = message.to_bits()
    assert bits.shape == (N_BITS,) and bits.dtype == np.uint8 and set(np.unique(bits)) <= {0, 1}
    assert np.array_equal(bits[:MAGIC_BITS], known_bits())
    assert bits_to_int(bits[:MAGIC_BITS]) == 0x7669
    assert Message.from_bits(bits) == message


def test_crc_rejects_every_single_bit_error_after_the_magic():
    bits = Message(0, 1, 12345).to_bits()
    for i in range(MAGIC_BITS, N_BITS):
        flipped = bits.copy()
        flipped[i] ^= 1
        assert Message.from_bits(flipped) is None, i


def test_int_bits_and_crc_known_values():
    assert int_to_bits(0b1011, 4).tolist() == [1, 0, 1, 1]
    assert bits_to_int(int_to_bits(0xABCD, 16)) == 0xABCD
    check = np.concatenate([int_to_bits(byte, 8) for byte in b"123456789"])
    assert crc8(check) == 0xF4  # the published check value of CRC-8/SMBUS (poly 0x07, init 0)


@pytest.mark.parametrize("fields", [(8, 0, 0), (0, 32, 0), (0, 0, 1 << 32), (-1, 0, 0), (0, 0, 1.5)])
def test_out_of_range_fields_raise(fields):
    with pytest.raises(ValueError):
        Message(*fields)


def test_default_carries_this_version():
    message = Message.default(payload=7)
    assert (message.major, message.minor) == current_version()
    assert message.payload == 7 and message.version == f"{message.major}.{message.minor}"
