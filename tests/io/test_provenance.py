"""Provenance: the metadata every output carries, and finding the mark again in a file."""

from __future__ import annotations

import numpy as np
import pytest

from vivify.errors import InputError
from vivify.io import VideoWriter, load_image, save_image
from vivify.io.image import read_metadata
from vivify.io.provenance import MAX_PAYLOAD, Provenance, parse_description
from vivify.io.verify import read_tags, verify


def _textured(seed: int, size: int = 256) -> np.ndarray:
    """A smooth random picture with some texture (what the mark hides in)."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (-(-size // 16), -(-size // 16), 3)).astype(np.float32)
    blocks = np.kron(coarse, np.ones((16, 16, 1), np.float32))[:size, :size]
    return np.clip(blocks + rng.normal(0, 6, (size, size, 3)), 0, 255).astype(np.uint8)


def test_tags_say_who_generated_the_file_and_whether_the_mark_is_on():
    on, off = Provenance(payload=42).tags(), Provenance(watermark=False).tags()
    assert "vivify" in on["comment"] and "on" in on["comment"] and "--no-watermark" in off["comment"]
    assert parse_description(on["description"]) == {
        "generator": on["description"].split(";")[0].split("=")[1], "ai-generated": "yes",
        "watermark": "on", "payload": "42",
    }  # fmt: skip
    assert parse_description(off["description"])["watermark"] == "off"
    assert "payload" not in parse_description(off["description"])
    assert parse_description("a holiday photo") is None and parse_description(None) is None


@pytest.mark.parametrize("payload", [-1, MAX_PAYLOAD + 1, 1.5])
def test_payload_out_of_range_is_refused(payload):
    with pytest.raises(ValueError, match="payload"):
        Provenance(payload=payload)


def test_mark_is_skipped_when_off_or_too_small():
    rgb = _textured(0)
    assert Provenance(watermark=False).mark(rgb) is rgb
    tiny = rgb[:32, :32]
    assert Provenance().mark(tiny) is tiny
    marked = Provenance().mark(rgb)
    assert marked is not rgb and marked.shape == rgb.shape and np.any(marked != rgb)
    assert np.array_equal(rgb, _textured(0))  # the input is untouched


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp"])
def test_image_metadata_round_trips(tmp_path, suffix):
    tags = Provenance(payload=7).tags() | {"software": "vivify test"}
    path = tmp_path / f"out{suffix}"
    save_image(path, _textured(1), metadata=tags)
    found = read_metadata(path)
    assert parse_description(found["description"])["payload"] == "7"
    assert found["software"] == "vivify test"
    if suffix != ".webp":  # WebP keeps EXIF only: no comment
        assert found["comment"] == tags["comment"]
    assert load_image(path).shape == (256, 256, 3)


def test_image_without_metadata_has_none(tmp_path):
    path = tmp_path / "plain.png"
    save_image(path, _textured(2))
    assert read_metadata(path) == {}


def test_video_metadata_round_trips(tmp_path):
    tags = Provenance(watermark=False).tags()
    path = tmp_path / "v.mp4"
    with VideoWriter(path, 25, metadata=tags) as writer:
        for i in range(3):
            writer.write(_textured(i, 64))
    found = read_tags(path)
    assert found["comment"] == tags["comment"]
    assert parse_description(found["description"])["watermark"] == "off"


@pytest.fixture(scope="module")
def portrait(shared_data) -> np.ndarray:
    return load_image(shared_data / "portraits" / "s5.jpg")


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_verify_finds_the_mark_and_its_payload_in_a_picture(tmp_path, suffix, portrait):
    provenance = Provenance(payload=123456)
    path = tmp_path / f"marked{suffix}"
    save_image(path, provenance.mark(portrait), metadata=provenance.tags())
    result = verify(path)
    assert result.kind == "image" and result.marked
    assert result.detection.payload == 123456 and result.detection.bit_accuracy >= 0.95
    assert result.provenance["watermark"] == "on"


def test_verify_finds_no_mark_in_an_unmarked_picture(tmp_path, portrait):
    path = tmp_path / "plain.png"
    save_image(path, portrait)
    result = verify(path)
    assert not result.marked and result.provenance is None and result.detection.payload is None


def test_verify_reads_a_video_up_to_max_frames(tmp_path, portrait):
    provenance = Provenance(payload=9)
    path = tmp_path / "marked.mp4"
    with VideoWriter(path, 25, crf=23, metadata=provenance.tags()) as writer:
        for i in range(12):
            writer.write(provenance.mark(np.roll(portrait[::2, ::2], 3 * i, axis=1)))
    result = verify(path, max_frames=5)
    assert result.kind == "video" and result.marked and result.detection.n_frames == 5
    assert result.detection.payload == 9


def test_verify_reports_unreadable_files(tmp_path):
    with pytest.raises(InputError, match="not found|no such"):
        verify(tmp_path / "missing.png")
    save_image(tmp_path / "tiny.png", _textured(5, 8))
    with pytest.raises(InputError, match="tiny.png"):
        verify(tmp_path / "tiny.png")
