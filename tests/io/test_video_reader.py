"""probe_video / VideoReader / media_kind on synthetic clips and the real driving videos."""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from video_clips import FAST, card, card_frames, is_red, raw_av_video, sine_m4a

from vivify.errors import InputError
from vivify.io import VideoReader, is_video_file, media_kind, probe_video, save_image, write_video

# --- probing: real files ---------------------------------------------------------------------


def test_probe_non_square_pixels(shared_data: Path) -> None:
    info = probe_video(shared_data / "driving" / "d9.mp4")
    assert info.sample_aspect_ratio == Fraction(15, 16)
    assert (info.coded_width, info.coded_height) == (512, 480)
    assert (info.width, info.height) == (480, 480)  # 512 * 15/16 = 480
    assert info.rotation == 0 and info.codec == "h264"
    with VideoReader(info.path, max_frames=3) as reader:
        frames = list(reader)
    assert [f.shape for f in frames] == [(480, 480, 3)] * 3


def test_probe_square_with_audio(shared_data: Path) -> None:
    info = probe_video(shared_data / "driving" / "d6.mp4")
    assert (info.width, info.height, info.fps, info.n_frames) == (480, 480, 30.0, 1008)
    assert info.sample_aspect_ratio == 1
    assert info.duration == pytest.approx(33.6)
    assert info.has_audio and info.audio_duration == pytest.approx(33.62, abs=0.01)


def test_probe_without_audio(shared_data: Path) -> None:
    info = probe_video(shared_data / "driving" / "d0.mp4")
    assert not info.has_audio and info.audio_duration is None
    assert info.n_frames == 78


# --- probing: bad input ----------------------------------------------------------------------


def test_text_file_renamed_mp4(tmp_path: Path) -> None:
    bad = tmp_path / "fake.mp4"
    bad.write_text("definitely not a video\n" * 50)
    with pytest.raises(InputError, match="not a video") as info:
        probe_video(bad)
    assert str(info.value).startswith(f"{bad}: ")
    with pytest.raises(InputError):
        VideoReader(bad)


@pytest.mark.parametrize("kind", ["empty", "folder", "missing"])
def test_not_a_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "x.mp4"
    if kind == "empty":
        path.touch()
    elif kind == "folder":
        path.mkdir()
    with pytest.raises(
        InputError, match={"empty": "empty", "folder": "folder", "missing": "not found"}[kind]
    ):
        probe_video(path)


def test_video_stream_without_packets(tmp_path: Path) -> None:
    # A header-only MP4: FFmpeg's demuxer drops the empty track, so there is no video stream.
    path = tmp_path / "zero.mp4"
    out = av.open(str(path), "w")
    stream = out.add_stream("libx264", rate=25)
    stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
    out.start_encoding()
    out.close()
    assert path.stat().st_size > 0
    with pytest.raises(InputError, match="no video stream"):
        probe_video(path)


def test_video_stream_with_no_decodable_frame(tmp_path: Path) -> None:
    # A video stream whose packets are all garbage: there is a stream but no frame.
    path = tmp_path / "garbage.mp4"
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
        out.start_encoding()
        for i in range(5):
            packet = av.Packet(rng.integers(0, 256, 200, dtype=np.uint8).tobytes())
            packet.stream, packet.pts, packet.dts, packet.time_base = stream, i, i, Fraction(1, 25)
            out.mux(packet)
    with av.open(str(path)) as check:
        assert check.streams.video[0].frames == 5
    with pytest.raises(InputError, match="no decodable video frames"):
        probe_video(path)


def test_audio_only_file_is_not_a_video(tmp_path: Path) -> None:
    sine_m4a(tmp_path / "tone.m4a", 0.5)
    with pytest.raises(InputError, match="no video stream"):
        probe_video(tmp_path / "tone.m4a")


def test_still_image_is_not_a_video(tmp_path: Path) -> None:
    save_image(tmp_path / "still.png", card(16, 16))
    with pytest.raises(InputError, match="still image"):
        probe_video(tmp_path / "still.png")


# --- reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize("clockwise", [90, 180, 270])
def test_rotation_metadata_applied(tmp_path: Path, clockwise: int) -> None:
    path = tmp_path / f"rot{clockwise}.mp4"
    raw_av_video(path, 3, rotation_ccw=-clockwise)  # display matrix angles are counter-clockwise
    info = probe_video(path)
    assert info.rotation == clockwise
    assert (info.coded_width, info.coded_height) == (64, 32)
    expected = np.rot90(card(32, 64), k=-clockwise // 90)  # what a player shows
    assert (info.height, info.width) == expected.shape[:2]
    frame = next(iter(VideoReader(path)))
    assert frame.shape == expected.shape
    # The red quadrant ends up in the corner where rotating the picture puts it.
    h, w = expected.shape[:2]
    corners = {(0, 0): (2, 2), (0, 1): (2, w - 3), (1, 0): (h - 3, 2), (1, 1): (h - 3, w - 3)}
    for y, x in corners.values():
        assert is_red(frame[y, x]) == is_red(expected[y, x])


def test_reader_streams_lazily_and_caps(shared_data: Path) -> None:
    reader = VideoReader(shared_data / "driving" / "d0.mp4", max_frames=10)
    assert len(reader) == 10
    it = iter(reader)
    assert iter(it) is it and not isinstance(it, (list, tuple))  # a generator, not a list
    first = next(it)
    assert first.shape == (512, 512, 3) and first.dtype == np.uint8 and first.flags.c_contiguous
    assert sum(1 for _ in it) == 9
    again = next(iter(reader))  # a new iteration restarts from the first frame
    np.testing.assert_array_equal(again, first)
    reader.close()
    assert len(VideoReader(shared_data / "driving" / "d0.mp4")) == 78


def test_reader_skips_corrupt_packet(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    good = tmp_path / "good.mp4"
    raw_av_video(good, 10, gop=1)  # intra-only: a lost packet damages one frame only
    bad = tmp_path / "bad.mp4"
    with av.open(str(good)) as src, av.open(str(bad), "w") as dst:
        in_stream = src.streams.video[0]
        out_stream = dst.add_stream_from_template(in_stream)
        for i, packet in enumerate(src.demux(in_stream)):
            if packet.size == 0:
                continue
            if i == 4:  # replace one frame's data by noise with an invalid NAL length prefix
                noisy = av.Packet(b"\xff\xff\xff\xff" + os.urandom(packet.size))
                noisy.pts, noisy.dts, noisy.time_base = packet.pts, packet.dts, packet.time_base
                packet = noisy
            packet.stream = out_stream
            dst.mux(packet)
    with caplog.at_level(logging.WARNING, logger="vivify.io.video_reader"):
        frames = list(VideoReader(bad))
    assert len(frames) == 9
    assert "skipped 1 corrupt video packet" in caplog.text


def test_frame_count_fallback_decodes(tmp_path: Path) -> None:
    path = tmp_path / "clip.mkv"  # Matroska stores no frame count
    write_video(path, card_frames(7), 25, **FAST)
    with av.open(str(path)) as container:
        assert container.streams.video[0].frames == 0
    info = probe_video(path)
    assert info.n_frames == 7
    assert info.duration == pytest.approx(7 / 25, abs=0.01)


# --- classification --------------------------------------------------------------------------


def test_media_kind(tmp_path: Path, shared_data: Path) -> None:
    assert media_kind(shared_data / "portraits" / "s0.jpg") == "image"
    assert media_kind(shared_data / "driving" / "d0.mp4") == "video"
    disguised = tmp_path / "really_a_png.mp4"
    save_image(tmp_path / "p.png", card(8, 8))
    (tmp_path / "p.png").rename(disguised)
    assert media_kind(disguised) == "image"
    text = tmp_path / "x.jpg"
    text.write_text("hello\n")
    with pytest.raises(InputError, match="neither an image nor a video"):
        media_kind(text)
    with pytest.raises(InputError, match="not found"):
        media_kind(tmp_path / "missing.mp4")
    assert is_video_file("A.MP4") and not is_video_file("a.jpg")
