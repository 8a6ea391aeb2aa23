"""Video I/O benchmarks on the driving videos: decode/encode speed and an audio round trip.

Usage: python benchmarks/bench_io.py [--quick] [--data DIR]

Prints Markdown tables. Outputs go to a temporary folder that is deleted at the end.
"""

from __future__ import annotations

import inspect
import tempfile
from pathlib import Path

import numpy as np
from _common import device_line, fmt, load_note, now, parse_args, print_table, timed

from vivify.io import VideoInfo, VideoReader, VideoWriter, probe_video
from vivify.metrics import psnr

DEFAULT_PRESET: str = inspect.signature(VideoWriter).parameters["preset"].default


def decode(path: Path, max_frames: int | None) -> list[np.ndarray]:
    with VideoReader(path, max_frames=max_frames) as reader:
        return list(reader)


def encode(path: Path, frames: list[np.ndarray], fps: float, **kwargs: object) -> None:
    with VideoWriter(path, fps, **kwargs) as writer:  # type: ignore[arg-type]
        for frame in frames:
            writer.write(frame)


def av_gap_ms(info: VideoInfo) -> float | None:
    """Audio duration minus video duration in milliseconds (None without audio)."""
    return None if info.audio_duration is None else (info.audio_duration - info.duration) * 1000.0


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    max_frames = 60 if args.quick else None
    print(device_line())
    videos = sorted((args.data / "driving").glob("*.mp4"))
    speed_rows: list[list[object]] = []
    trip_rows: list[list[object]] = []
    t_start = now()
    with tempfile.TemporaryDirectory(prefix="vivify-bench-io-") as tmp:
        out = Path(tmp)
        for path in videos:
            info = probe_video(path)
            frames, dec_ms = timed(decode, path, max_frames)
            n = len(frames)
            speed: list[object] = [path.name, f"{info.width}x{info.height}", n, 1000.0 * n / dec_ms]
            sizes: list[object] = []
            for preset in (DEFAULT_PRESET, "ultrafast"):
                target = out / f"{path.stem}_{preset}.mp4"
                _, enc_ms = timed(encode, target, frames, info.fps, preset=preset)
                speed.append(1000.0 * n / enc_ms)
                sizes.append(target.stat().st_size / 1e6)
            speed_rows.append(speed + [fmt(s, 2) for s in sizes])

            target = out / f"{path.stem}_audio.mp4"
            _, trip_ms = timed(encode, target, frames, info.fps, audio_from=path)
            out_info = probe_video(target)
            back = decode(target, None)
            same = len(back) == n and all(b.shape == f.shape for b, f in zip(back, frames, strict=False))
            quality = float(np.mean([psnr(b, f) for b, f in zip(back, frames, strict=False)]))
            trip_rows.append([
                path.name, f"{info.width}x{info.height}", f"{out_info.width}x{out_info.height}", n, len(back),
                out_info.n_frames, "yes" if same else "NO", fmt(av_gap_ms(info), 1),
                fmt(av_gap_ms(out_info), 1), fmt(quality, 2), 1000.0 * n / trip_ms,
            ])  # fmt: skip
    cap = f" Capped at {max_frames} frames per video (--quick)." if max_frames else ""
    print_table(
        "Decode and encode speed",
        ["video", "display size", "frames", "decode fps", f"encode fps ({DEFAULT_PRESET})",
         "encode fps (ultrafast)", f"MB ({DEFAULT_PRESET})", "MB (ultrafast)"],
        speed_rows,
        note="decode: `VideoReader` over the whole video (RGB arrays out). encode: `VideoWriter` from "
        f"frames in memory, crf 18, no audio, including the final flush and rename.{cap}",
    )  # fmt: skip
    print_table(
        "Round trip with audio (audio_from = the original video)",
        ["video", "display in", "display out", "frames in", "frames out (decoded)", "frames out (probe)",
         "frames & sizes match", "audio - video in (ms)", "audio - video out (ms)", "mean PSNR dB",
         "encode+mux fps"],
        trip_rows,
        note=f"Decoded frames -> `VideoWriter(preset={DEFAULT_PRESET!r}, audio_from=original)` -> decoded "
        "again. audio - video: `probe_video` audio_duration minus duration (positive: audio longer). "
        f"PSNR: mean over frames, output vs the decoded input.{cap}",
    )  # fmt: skip
    print(f"Total time: {now() - t_start:.0f} s{' (--quick)' if args.quick else ''}; {load_note()} at end")


if __name__ == "__main__":
    main()
