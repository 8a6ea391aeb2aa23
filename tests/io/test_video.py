"""probe_video / VideoReader / VideoWriter on synthetic clips and the real driving videos."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from vivify.errors import InputError
from vivify.io import (
    VideoReader,
    VideoWriter,
    is_video_file,
    media_kind,
    probe_video,
    save_image,
    write_video,
)

DRIVING = ["d0", "d3", "d6", "d9", "d12", "d14", "d18", "d19", "d20"]
FAST = {"preset": "ultrafast"}  # encoding speed, not quality, is what these tests need


def _card(h: int, w: int, shade: int = 0) -> np.ndarray:
    """(h, w, 3) frame with a red top-left quadrant, grey elsewhere (shade shifts the grey)."""
    img = np.full((h, w, 3), 100 + shade, np.uint8)
    img[: h // 2, : w // 2] = (255, 0, 0)
    return img


def _frames(n: int, h: int = 48, w: int = 64) -> Iterator[np.ndarray]:
    for i in range(n):
        yield _card(h, w, shade=i % 50)


def _is_red(pixel: np.ndarray) -> bool:
    return bool(pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60)


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _raw_av_video(path: Path, n: int, *, rotation_ccw: int = 0, gop: int | None = None) -> None:
    """Encode ``n`` 64x32 test cards with PyAV directly (to set a display matrix)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
        stream.options = {"preset": "ultrafast"} | ({"g": str(gop)} if gop else {})
        if rotation_ccw:
            stream.set_display_rotation(rotation_ccw)
        for frame in _frames(n, 32, 64):
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def _sine_m4a(path: Path, seconds: float, rate: int = 44100) -> None:
    """An audio-only AAC file holding a 440 Hz tone."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=rate)
        stream.layout = "mono"
        t = np.arange(round(seconds * rate)) / rate
        samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def _decoded_frame_count(path: Path) -> int:
    """Frames that actually decode (no RGB conversion), independent of the container's count."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return sum(1 for _ in container.decode(stream))


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
    _sine_m4a(tmp_path / "tone.m4a", 0.5)
    with pytest.raises(InputError, match="no video stream"):
        probe_video(tmp_path / "tone.m4a")


def test_still_image_is_not_a_video(tmp_path: Path) -> None:
    save_image(tmp_path / "still.png", _card(16, 16))
    with pytest.raises(InputError, match="still image"):
        probe_video(tmp_path / "still.png")


# --- reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize("clockwise", [90, 180, 270])
def test_rotation_metadata_applied(tmp_path: Path, clockwise: int) -> None:
    path = tmp_path / f"rot{clockwise}.mp4"
    _raw_av_video(path, 3, rotation_ccw=-clockwise)  # display matrix angles are counter-clockwise
    info = probe_video(path)
    assert info.rotation == clockwise
    assert (info.coded_width, info.coded_height) == (64, 32)
    expected = np.rot90(_card(32, 64), k=-clockwise // 90)  # what a player shows
    assert (info.height, info.width) == expected.shape[:2]
    frame = next(iter(VideoReader(path)))
    assert frame.shape == expected.shape
    # The red quadrant ends up in the corner where rotating the picture puts it.
    h, w = expected.shape[:2]
    corners = {(0, 0): (2, 2), (0, 1): (2, w - 3), (1, 0): (h - 3, 2), (1, 1): (h - 3, w - 3)}
    for y, x in corners.values():
        assert _is_red(frame[y, x]) == _is_red(expected[y, x])


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
    _raw_av_video(good, 10, gop=1)  # intra-only: a lost packet damages one frame only
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
    with caplog.at_level(logging.WARNING, logger="vivify.io.video"):
        frames = list(VideoReader(bad))
    assert len(frames) == 9
    assert "skipped 1 corrupt video packet" in caplog.text


def test_frame_count_fallback_decodes(tmp_path: Path) -> None:
    path = tmp_path / "clip.mkv"  # Matroska stores no frame count
    write_video(path, _frames(7), 25, **FAST)
    with av.open(str(path)) as container:
        assert container.streams.video[0].frames == 0
    info = probe_video(path)
    assert info.n_frames == 7
    assert info.duration == pytest.approx(7 / 25, abs=0.01)


# --- writing ---------------------------------------------------------------------------------


def test_write_odd_size_is_padded_to_even(tmp_path: Path) -> None:
    path = tmp_path / "odd.mp4"
    frames = [_card(17, 33, s) for s in range(3)]
    frames[0][:, -1] = (0, 0, 255)  # last column blue: the padding column must repeat it
    assert write_video(path, frames, 25, crf=0, **FAST) == 3
    info = probe_video(path)
    assert (info.width, info.height) == (34, 18) and info.n_frames == 3
    first = next(iter(VideoReader(path)))
    assert np.abs(first[:17, 33].astype(int) - (0, 0, 255)).max() < 40  # edge replicated, not black
    assert np.abs(first[17, 20:].astype(int) - first[16, 20:]).max() < 10


def test_write_colours_and_fraction_fps(tmp_path: Path) -> None:
    path = tmp_path / "ntsc.mp4"
    frames = list(_frames(5))
    write_video(path, frames, 30000 / 1001, crf=0, **FAST)
    info = probe_video(path)
    assert info.fps == pytest.approx(29.97, abs=0.01)
    back = list(VideoReader(path))
    assert len(back) == 5
    # Lossless x264 + yuv420p: only chroma subsampling at the red/grey edge changes pixels.
    assert abs(float(back[2].astype(int).mean() - frames[2].astype(int).mean())) < 0.5
    assert _is_red(back[2][5, 5]) and tuple(back[2][-5, -5]) == tuple(frames[2][-5, -5])


def test_write_faststart(tmp_path: Path) -> None:
    path = tmp_path / "fs.mp4"
    write_video(path, _frames(3), 25, **FAST)
    data = path.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")


def test_frame_size_change_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fixed by the first frame"):
        with VideoWriter(tmp_path / "v.mp4", 25, **FAST) as writer:
            writer.write(_card(32, 32))
            writer.write(_card(32, 48))
    assert _listing(tmp_path) == []


def test_bad_frame_type_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="uint8"):
        with VideoWriter(tmp_path / "v.mp4", 25) as writer:
            writer.write(_card(16, 16).astype(np.float32))
    assert _listing(tmp_path) == []


def test_exception_in_block_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "v.mp4"
    target.write_bytes(b"previous result")
    with pytest.raises(RuntimeError, match="model crashed"):
        with VideoWriter(target, 25, **FAST) as writer:
            for frame in _frames(5):
                writer.write(frame)
            raise RuntimeError("model crashed")
    assert target.read_bytes() == b"previous result"  # untouched
    assert _listing(tmp_path) == ["v.mp4"]  # and no temp file

    write_video(target, _frames(2), 25, **FAST)  # a successful write does replace it
    assert probe_video(target).n_frames == 2
    assert _listing(tmp_path) == ["v.mp4"]


def test_failure_while_finalising_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_finish(self: object, seconds: float) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("vivify.io.video._AudioTrack.finish", broken_finish)
    tone = tmp_path / "tone.m4a"
    _sine_m4a(tone, 1.0)
    with pytest.raises(OSError, match="disk full"):
        write_video(tmp_path / "out" / "v.mp4", _frames(5), 25, audio_from=tone, **FAST)
    assert _listing(tmp_path / "out") == []


def test_no_frames_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no frames"):
        with VideoWriter(tmp_path / "v.mp4", 25):
            pass
    assert _listing(tmp_path) == []


def test_invalid_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        VideoWriter(tmp_path / "v.gif", 25)
    with pytest.raises(ValueError):
        VideoWriter(tmp_path / "v.mp4", 0)
    with pytest.raises(ValueError):
        VideoWriter(tmp_path / "v.mp4", 25, preset="warp-speed")
    with pytest.raises(InputError, match="not found"):
        VideoWriter(tmp_path / "v.mp4", 25, audio_from=tmp_path / "missing.wav")
    notes = tmp_path / "notes.mp4"
    notes.write_text("not media\n" * 20)
    with pytest.raises(InputError, match="not a video"):
        write_video(tmp_path / "v.mp4", _frames(2), 25, audio_from=notes)
    assert _listing(tmp_path) == ["notes.mp4"]


@pytest.mark.parametrize(("video_seconds", "audio_seconds"), [(2.0, 1.0), (0.6, 1.5)])
def test_audio_padded_or_trimmed_to_video(tmp_path: Path, video_seconds: float, audio_seconds: float) -> None:
    tone = tmp_path / "tone.m4a"
    _sine_m4a(tone, audio_seconds)
    out = tmp_path / "v.mp4"
    fps = 25
    write_video(out, _frames(round(video_seconds * fps)), fps, audio_from=tone, **FAST)
    info = probe_video(out)
    assert info.has_audio and info.audio_duration is not None
    assert abs(info.audio_duration - info.duration) < 1 / fps
    assert info.duration == pytest.approx(video_seconds, abs=1e-6)


def test_audio_from_silent_video_gives_silent_output(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "v.mp4"
    write_video(out, _frames(3), 25, audio_from=shared_data / "driving" / "d0.mp4", **FAST)
    info = probe_video(out)
    assert info.n_frames == 3 and not info.has_audio


# --- round trips on the real driving videos --------------------------------------------------


@pytest.mark.parametrize("name", DRIVING)
def test_driving_round_trip(tmp_path: Path, shared_data: Path, name: str) -> None:
    """Read every frame, re-encode with the original's audio, check what comes out."""
    src = shared_data / "driving" / f"{name}.mp4"
    if not src.exists():
        pytest.skip(f"{src} not present")
    out = tmp_path / f"{name}.mp4"
    with VideoReader(src) as reader:
        info = reader.info
        n = write_video(out, reader, info.fps, audio_from=src, **FAST)  # streamed, never a list
    assert n == info.n_frames

    got = probe_video(out)
    assert _decoded_frame_count(out) == got.n_frames == info.n_frames
    assert (got.width, got.height) == (info.width, info.height)  # display aspect kept (d9)
    assert got.sample_aspect_ratio == 1 and got.fps == pytest.approx(info.fps)
    assert got.has_audio == info.has_audio
    if info.has_audio:
        assert got.audio_duration is not None
        assert abs(got.audio_duration - got.duration) <= 1 / info.fps
        assert got.duration == pytest.approx(info.n_frames / info.fps)


# --- classification --------------------------------------------------------------------------


def test_media_kind(tmp_path: Path, shared_data: Path) -> None:
    assert media_kind(shared_data / "portraits" / "s0.jpg") == "image"
    assert media_kind(shared_data / "driving" / "d0.mp4") == "video"
    disguised = tmp_path / "really_a_png.mp4"
    save_image(tmp_path / "p.png", _card(8, 8))
    (tmp_path / "p.png").rename(disguised)
    assert media_kind(disguised) == "image"
    text = tmp_path / "x.jpg"
    text.write_text("hello\n")
    with pytest.raises(InputError, match="neither an image nor a video"):
        media_kind(text)
    with pytest.raises(InputError, match="not found"):
        media_kind(tmp_path / "missing.mp4")
    assert is_video_file("A.MP4") and not is_video_file("a.jpg")


def test_writer_dropped_without_close_leaves_no_temp(tmp_path: Path) -> None:
    writer = VideoWriter(tmp_path / "v.mp4", 25, **FAST)
    for frame in _frames(60, 16, 16):  # enough for the encoder to emit packets to the temp file
        writer.write(frame)
    [temp] = _listing(tmp_path)
    assert temp.startswith(".v.tmp-") and temp.endswith(".mp4")
    del writer
    gc.collect()
    assert _listing(tmp_path) == []
