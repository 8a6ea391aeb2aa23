"""VideoWriter / write_video on synthetic clips and round trips of the real driving videos."""

from __future__ import annotations

import gc
from pathlib import Path

import av
import numpy as np
import pytest
from video_clips import FAST, card, card_frames, is_red, sine_m4a

from vivify.errors import InputError
from vivify.io import VideoReader, VideoWriter, probe_video, write_video

DRIVING = ["d0", "d3", "d6", "d9", "d12", "d14", "d18", "d19", "d20"]


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _decoded_frame_count(path: Path) -> int:
    """Frames that actually decode (no RGB conversion), independent of the container's count."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return sum(1 for _ in container.decode(stream))


# --- writing ---------------------------------------------------------------------------------


def test_write_odd_size_is_padded_to_even(tmp_path: Path) -> None:
    path = tmp_path / "odd.mp4"
    frames = [card(17, 33, s) for s in range(3)]
    frames[0][:, -1] = (0, 0, 255)  # last column blue: the padding column must repeat it
    assert write_video(path, frames, 25, crf=0, **FAST) == 3
    info = probe_video(path)
    assert (info.width, info.height) == (34, 18) and info.n_frames == 3
    first = next(iter(VideoReader(path)))
    assert np.abs(first[:17, 33].astype(int) - (0, 0, 255)).max() < 40  # edge replicated, not black
    assert np.abs(first[17, 20:].astype(int) - first[16, 20:]).max() < 10


def test_write_colours_and_fraction_fps(tmp_path: Path) -> None:
    path = tmp_path / "ntsc.mp4"
    frames = list(card_frames(5))
    write_video(path, frames, 30000 / 1001, crf=0, **FAST)
    info = probe_video(path)
    assert info.fps == pytest.approx(29.97, abs=0.01)
    back = list(VideoReader(path))
    assert len(back) == 5
    # Lossless x264 + yuv420p: only chroma subsampling at the red/grey edge changes pixels.
    assert abs(float(back[2].astype(int).mean() - frames[2].astype(int).mean())) < 0.5
    assert is_red(back[2][5, 5]) and tuple(back[2][-5, -5]) == tuple(frames[2][-5, -5])


def test_write_faststart(tmp_path: Path) -> None:
    path = tmp_path / "fs.mp4"
    write_video(path, card_frames(3), 25, **FAST)
    data = path.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")


def test_frame_size_change_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fixed by the first frame"):
        with VideoWriter(tmp_path / "v.mp4", 25, **FAST) as writer:
            writer.write(card(32, 32))
            writer.write(card(32, 48))
    assert _listing(tmp_path) == []


def test_bad_frame_type_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="uint8"):
        with VideoWriter(tmp_path / "v.mp4", 25) as writer:
            writer.write(card(16, 16).astype(np.float32))
    assert _listing(tmp_path) == []


def test_exception_in_block_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "v.mp4"
    target.write_bytes(b"previous result")
    with pytest.raises(RuntimeError, match="model crashed"):
        with VideoWriter(target, 25, **FAST) as writer:
            for frame in card_frames(5):
                writer.write(frame)
            raise RuntimeError("model crashed")
    assert target.read_bytes() == b"previous result"  # untouched
    assert _listing(tmp_path) == ["v.mp4"]  # and no temp file

    write_video(target, card_frames(2), 25, **FAST)  # a successful write does replace it
    assert probe_video(target).n_frames == 2
    assert _listing(tmp_path) == ["v.mp4"]


def test_failure_while_finalising_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_finish(self: object, seconds: float) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("vivify.io.audio.AudioTrack.finish", broken_finish)
    tone = tmp_path / "tone.m4a"
    sine_m4a(tone, 1.0)
    with pytest.raises(OSError, match="disk full"):
        write_video(tmp_path / "out" / "v.mp4", card_frames(5), 25, audio_from=tone, **FAST)
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
        write_video(tmp_path / "v.mp4", card_frames(2), 25, audio_from=notes)
    assert _listing(tmp_path) == ["notes.mp4"]


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


def test_writer_dropped_without_close_leaves_no_temp(tmp_path: Path) -> None:
    writer = VideoWriter(tmp_path / "v.mp4", 25, **FAST)
    for frame in card_frames(60, 16, 16):  # enough for the encoder to emit packets to the temp file
        writer.write(frame)
    [temp] = _listing(tmp_path)
    assert temp.startswith(".v.tmp-") and temp.endswith(".mp4")
    del writer
    gc.collect()
    assert _listing(tmp_path) == []
