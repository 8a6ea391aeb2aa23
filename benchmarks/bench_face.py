"""Face detection, tracking and crop/paste-back benchmarks on the shared real media.

Usage: python benchmarks/bench_face.py [--quick] [--data DIR]

Prints Markdown tables: A faces on portraits, B tracking on videos, C tracking time vs
resolution, D crop -> paste-back round trip. Numbers only; nothing is asserted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
from _common import best_of, device_line, fmt, load_note, median, now, p90, parse_args, print_table, timed

from vivify.face import Face, FaceTracker, MediaPipeFaceDetector, crop_face, head_pose, paste_back
from vivify.io import VideoReader, load_image, probe_video
from vivify.metrics import psnr

WARMUP = 5  # tracking frames left out of the per-frame statistics (graph start-up, first detection)


class CountingDetector:
    """Wraps a detector and counts full-frame ``detect`` calls (the tracker's re-detections)."""

    def __init__(self, inner: MediaPipeFaceDetector) -> None:
        self.inner = inner
        self.detect_calls = 0

    def detect(self, image: np.ndarray, max_faces: int = 8) -> list[Face]:
        self.detect_calls += 1
        return self.inner.detect(image, max_faces)

    def landmarks_in_roi(self, image: np.ndarray, center: tuple[float, float], side: float) -> Face | None:
        return self.inner.landmarks_in_roi(image, center, side)


def table_faces(
    portraits: list[Path], det: MediaPipeFaceDetector, repeats: int
) -> dict[str, tuple[np.ndarray, list[Face]]]:
    """Table A; returns each portrait's image and faces for table D."""
    found: dict[str, tuple[np.ndarray, list[Face]]] = {}
    rows = []
    for path in portraits:
        image = load_image(path)
        faces, ms = best_of(repeats, det.detect, image)
        found[path.name] = (image, faces)
        h, w = image.shape[:2]
        row: list[object] = [path.name, f"{w}x{h}", len(faces)]
        if faces:
            f = faces[0]
            yaw, pitch, roll = head_pose(f.landmarks)
            row += [f"{f.box.width:.0f}x{f.box.height:.0f}", fmt(f.score, 2), ms, yaw, pitch, roll]
        else:
            row += ["-", "-", ms, None, None, None]
        rows.append(row)
    print_table(
        "A. Faces on portraits",
        ["image", "size", "faces", "face box", "score", "detect ms", "yaw", "pitch", "roll"],
        rows,
        note=f"detect ms: median of {repeats} `detector.detect` call(s) after one untimed call; box, score "
        "and pose (degrees, absolute) are the largest face's.",
    )
    return found


def table_tracking(videos: list[Path], det: MediaPipeFaceDetector, max_frames: int | None) -> None:
    """Table B: decode and track every frame of each video."""
    rows = []
    for path in videos:
        counting = CountingDetector(det)
        info = probe_video(path)
        tracker = FaceTracker(counting, fps=info.fps)
        decode_ms: list[float] = []
        track_ms: list[float] = []
        with_face = redetections = 0
        with VideoReader(path, max_frames=max_frames) as reader:
            frames: Iterator[np.ndarray] = iter(reader)
            while True:
                t0 = now()
                frame = next(frames, None)
                t1 = now()
                if frame is None:
                    break
                tracked = tracker.update(frame)
                t2 = now()
                decode_ms.append((t1 - t0) * 1000)
                track_ms.append((t2 - t1) * 1000)
                if tracked is not None:
                    with_face += 1
                    if tracked.redetected and with_face > 1:
                        redetections += 1
        n = len(track_ms)
        steady = track_ms[WARMUP:] or track_ms
        rows.append([
            f"{path.parent.name}/{path.name}", f"{info.width}x{info.height}", fmt(info.fps, 0), n, with_face,
            100.0 * with_face / max(n, 1), redetections, counting.detect_calls, median(steady), p90(steady),
            sum(decode_ms) / max(n, 1),
        ])  # fmt: skip
    print_table(
        "B. Tracking on driving and source videos",
        ["video", "size", "fps", "frames", "with face", "coverage %", "re-detections", "full detects",
         "track ms/frame (median)", "track p90", "decode ms/frame (mean)"],
        rows,
        note=f"`FaceTracker.update` per frame, median/p90 after {WARMUP} warm-up frames. re-detections: "
        "frames where the face was found again by full detection after the first one (lost, or ROI failed); "
        "full detects: all `detector.detect` calls, including the first frame and frames where nothing "
        "was found. decode: `VideoReader` time per frame, timed separately."
        + (f" Capped at {max_frames} frames per video (--quick)." if max_frames else ""),
    )  # fmt: skip


def _pad_1080p(frame: np.ndarray) -> np.ndarray:
    """Centre the frame unscaled on a black 1920x1080 canvas (the face keeps its pixel size)."""
    h, w = frame.shape[:2]
    top, left = (1080 - h) // 2, (1920 - w) // 2
    return cv2.copyMakeBorder(frame, top, 1080 - h - top, left, 1920 - w - left, cv2.BORDER_CONSTANT, value=0)


def _upscale_1080p(frame: np.ndarray) -> np.ndarray:
    """Upscale (bicubic, aspect kept) to 1080 lines, then pillarbox to 1920x1080 with black."""
    h, w = frame.shape[:2]
    up = cv2.resize(frame, (round(w * 1080 / h), 1080), interpolation=cv2.INTER_CUBIC)
    return _pad_1080p(up)


def table_resolution(video: Path, det: MediaPipeFaceDetector, n_track: int, n_detect: int) -> None:
    """Table C: the same frames tracked and detected at 512x512 and at 1080p."""
    with VideoReader(video, max_frames=WARMUP + n_track) as reader:
        frames = [cv2.resize(f, (512, 512), interpolation=cv2.INTER_AREA) for f in reader]
    fps = probe_video(video).fps
    variants: list[tuple[str, Callable[[np.ndarray], np.ndarray]]] = [
        ("512x512 (native frames)", lambda f: f),
        ("1920x1080 padded (face at 512-frame size)", _pad_1080p),
        ("1920x1080 upscaled x2.1 + pillarbox", _upscale_1080p),
    ]
    rows = []
    for name, make in variants:
        tracker = FaceTracker(det, fps=fps)
        track_ms: list[float] = []
        with_face = 0
        for frame in frames:
            tracked, ms = timed(tracker.update, make(frame))
            track_ms.append(ms)
            with_face += tracked is not None
        steady = track_ms[WARMUP:]
        det_frames = [make(f) for f in frames[:n_detect]]
        det.detect(det_frames[0])  # warm-up at this size
        detect_ms = [timed(det.detect, f)[1] for f in det_frames]
        med = median(steady)
        rows.append([name, len(steady), with_face, med, p90(steady), 1000.0 / med, median(detect_ms)])
    print_table(
        f"C. Per-frame tracking time vs resolution ({video.name})",
        ["input", "timed frames", "frames with face", "track ms (median)", "track ms (p90)", "track fps",
         "full detect ms (median)"],
        rows,
        note=f"First {WARMUP + n_track} frames of {video.name}, resized to 512x512; {WARMUP} warm-up frames "
        "excluded. 'padded': the 512 frame centred on a black 1080p canvas (realistic face size for a "
        "1080p shot); 'upscaled': bicubic 512->1080 (aspect kept) then black side bars. full detect: "
        f"`detector.detect` on the first {n_detect} frames after one warm-up call.",
    )  # fmt: skip


def table_roundtrip(found: dict[str, tuple[np.ndarray, list[Face]]], repeats: int) -> None:
    """Table D: crop the face, paste the unmodified crop back, compare with the original."""
    rows = []
    for name, (image, faces) in found.items():
        if not faces:
            rows.append([name, "no face", None, None, None, None, None, None, None])
            continue
        crop, crop_ms = best_of(repeats, crop_face, image, faces[0].landmarks)
        plain, plain_ms = best_of(repeats, paste_back, image, crop.image, crop.m_c2o)
        detail, detail_ms = best_of(
            repeats, paste_back, image, crop.image, crop.m_c2o, reference_crop=crop.image
        )
        h, w = image.shape[:2]
        side = crop.image.shape[0]
        inside = cv2.warpAffine(np.full((side, side), 255, np.uint8), crop.m_c2o[:2], (w, h)) > 0
        max_diff = int(np.abs(detail.astype(np.int16) - image).max())
        rows.append([
            name, 100.0 * inside.mean(), fmt(psnr(plain, image), 2),
            fmt(psnr(plain[inside], image[inside]), 2), fmt(psnr(detail, image), 2),
            crop_ms, plain_ms, detail_ms, max_diff,
        ])  # fmt: skip
    print_table(
        "D. Crop -> paste-back round trip (unmodified crop)",
        ["image", "crop covers % of frame", "plain PSNR dB (frame)", "plain PSNR dB (crop area)",
         "detail PSNR dB (frame)", "crop ms", "paste plain ms", "paste detail ms", "detail max abs diff"],
        rows,
        note="Largest face, `CropConfig()` (512x512). plain: `paste_back(frame, crop, m_c2o)` (LivePortrait "
        "blend); detail: `reference_crop=` the same unedited crop (should give the frame back exactly: "
        "inf dB). PSNR over the whole frame; 'crop area' = pixels the crop covers. "
        f"ms: median of {repeats} after one untimed call.",
    )  # fmt: skip


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    quick = args.quick
    print(device_line())
    portraits = sorted((args.data / "portraits").glob("*.jpg"))
    videos = [p for sub in ("driving", "source_videos") for p in sorted((args.data / sub).glob("*.mp4"))]
    t0 = now()
    with MediaPipeFaceDetector() as det:
        found = table_faces(portraits, det, repeats=1 if quick else 3)
        table_tracking(videos, det, max_frames=30 if quick else None)
        resolution_video = args.data / "driving" / "d14.mp4"
        if not resolution_video.exists():
            resolution_video = videos[0]
        table_resolution(resolution_video, det, n_track=25 if quick else 60, n_detect=5 if quick else 20)
        table_roundtrip(found, repeats=1 if quick else 5)
    print(f"Total time: {now() - t0:.0f} s{' (--quick)' if quick else ''}; {load_note()} at end")


if __name__ == "__main__":
    main()
