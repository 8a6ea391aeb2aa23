"""The audio track VideoWriter muxes in: cut or padded to the video, absent when the source is silent."""

from __future__ import annotations

from pathlib import Path

import pytest
from video_clips import FAST, card_frames, sine_m4a

from vivify.io import probe_video, write_video


@pytest.mark.parametrize(("video_seconds", "audio_seconds"), [(2.0, 1.0), (0.6, 1.5)])
def test_audio_padded_or_trimmed_to_video(tmp_path: Path, video_seconds: float, audio_seconds: float) -> None:
    tone = tmp_path / "tone.m4a"
    sine_m4a(tone, audio_seconds)
    out = tmp_path / "v.mp4"
    fps = 25
    write_video(out, card_frames(round(video_seconds * fps)), fps, audio_from=tone, **FAST)
    info = probe_video(out)
    assert info.has_audio and info.audio_duration is not None
    assert abs(info.audio_duration - info.duration) < 1 / fps
    assert info.duration == pytest.approx(video_seconds, abs=1e-6)


def test_audio_from_silent_video_gives_silent_output(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "v.mp4"
    write_video(out, card_frames(3), 25, audio_from=shared_data / "driving" / "d0.mp4", **FAST)
    info = probe_video(out)
    assert info.n_frames == 3 and not info.has_audio
