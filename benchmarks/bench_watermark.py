"""Watermark benchmark: robustness, false positives, visual cost and speed of vivify.watermark.

Usage: python benchmarks/bench_watermark.py [--quick] [--data DIR]

Images: every shared .jpg (portraits/, driving/), centre-cropped and resized to 512 x 512, marked
with a random payload each, attacked, detected. Videos: the first 40 frames of every shared
.mp4 (driving/, source_videos/), marked, re-encoded with libx264 (preset medium, yuv420p),
detected over all frames and frame by frame. False positives: the unmarked originals (images at
full size, videos over their first 120 frames), with the crop search on. Prints Markdown tables.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np
from _common import best_of, device_line, fmt, load_note, now, parse_args, print_table

from vivify.watermark import Detection, Detector, Message, detect, embed
from vivify.watermark.cells import luma, resize_square
from vivify.watermark.detect import cell_statistics, decide
from vivify.watermark.pattern import keyed_tables
from vivify.watermark.search import CANVAS, SEARCH_THRESHOLD, hypothesis_count, search

Attack = Callable[[list[np.ndarray]], list[np.ndarray]]


def load_rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def square(rgb: np.ndarray, size: int = 512) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    return cv2.resize(rgb[y : y + s, x : x + s], (size, size), interpolation=cv2.INTER_AREA)


def read_frames(path: Path, n: int) -> list[np.ndarray]:
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == n:
                break
    return frames


def h264(frames: list[np.ndarray], crf: int = 23) -> list[np.ndarray]:
    """libx264 encode (preset medium, yuv420p, even size) and decode, in memory."""
    buffer = io.BytesIO()
    h, w = (d - d % 2 for d in frames[0].shape[:2])
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": str(crf)}
        for rgb in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:h, :w]), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    buffer.seek(0)
    with av.open(buffer) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def crop(rgb: np.ndarray, x: float = 0.05, y: float = 0.05) -> np.ndarray:
    """Remove a fraction x of the width and y of the height on each side."""
    h, w = rgb.shape[:2]
    dy, dx = round(y * h), round(x * w)
    return rgb[dy : h - dy, dx : w - dx]


def scale(rgb: np.ndarray, factor: float, interp: int = cv2.INTER_AREA) -> np.ndarray:
    h, w = rgb.shape[:2]
    return cv2.resize(rgb, (round(w * factor), round(h * factor)), interpolation=interp)


def png(rgb: np.ndarray) -> np.ndarray:
    return cv2.imdecode(cv2.imencode(".png", rgb)[1], cv2.IMREAD_UNCHANGED)


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    data = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])[1]
    return cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1]


def each(fn: Callable[[np.ndarray], np.ndarray]) -> Attack:
    return lambda frames: [fn(f) for f in frames]


IMAGE_ATTACKS: dict[str, Attack] = {
    "none": each(lambda f: f),
    "H.264 crf 23 (1-frame video)": h264,
    "H.264 crf 28 (1-frame video)": lambda fs: h264(fs, 28),
    "0.5x downscale (area)": each(lambda f: scale(f, 0.5)),
    "0.5x downscale + H.264 crf 23": lambda fs: h264([scale(f, 0.5) for f in fs]),
    "crop 10 % of border (5 %/side)": each(crop),
    "crop 10 % of border + H.264 crf 23": lambda fs: h264([crop(f) for f in fs]),
    "screenshot: PNG round trip": each(png),
    "screenshot: PNG + 0.8x bilinear": each(lambda f: png(scale(f, 0.8, cv2.INTER_LINEAR))),
    "screenshot: PNG + 1.5x bicubic": each(lambda f: png(scale(f, 1.5, cv2.INTER_CUBIC))),
    "JPEG quality 75": each(lambda f: jpeg(f, 75)),
    "limit: crop 10 % of width only": each(lambda f: crop(f, 0.05, 0.0)),
    "limit: horizontal flip": each(lambda f: f[:, ::-1]),
}
VIDEO_ATTACKS: dict[str, Attack] = {
    "H.264 crf 23": h264,
    "H.264 crf 18 then crf 23": lambda fs: h264(h264(fs, 18), 23),
    "H.264 crf 28": lambda fs: h264(fs, 28),
    "0.5x downscale (frames, no re-encode)": each(lambda f: scale(f, 0.5)),
    "0.5x downscale + H.264 crf 23": lambda fs: h264([scale(f, 0.5) for f in fs]),
    "crop 10 % of border + H.264 crf 23": lambda fs: h264([crop(f) for f in fs]),
}


def summarise(name: str, found: list[Detection], truths: list[Message], extra: list[float] | None) -> list:
    acc = [float(np.mean(d.bits == t.to_bits())) for d, t in zip(found, truths, strict=True)]
    n = len(found)
    row = [name, f"{sum(d.present for d in found)}/{n}", fmt(np.mean(acc), 3), fmt(min(acc), 3)]
    row += [f"{sum(d.message == t for d, t in zip(found, truths, strict=True))}/{n}"]
    row += [fmt(min(d.z for d in found)), fmt(float(np.median([d.z for d in found])))]
    return row + ([fmt(np.mean(extra), 3), fmt(min(extra), 3)] if extra is not None else [])


def image_tables(images: list[np.ndarray], rng: np.random.Generator, what: str = "shared images") -> None:
    messages = [Message.default(int(rng.integers(0, 2**32))) for _ in images]
    marked = [embed(rgb, m) for rgb, m in zip(images, messages, strict=True)]
    psnrs = [psnr(a, b) for a, b in zip(marked, images, strict=True)]
    rows = []
    for name, attack in IMAGE_ATTACKS.items():
        found = [detect(attack([rgb])[0]) for rgb in marked]
        rows.append(summarise(name, found, messages, None))
    headers = ["attack", "present", "bit acc mean", "bit acc min", "payload exact", "z min", "z median"]
    note = (
        f"{len(images)} {what} at 512x512, strength 1.5; PSNR vs unmarked: mean "
        f"{np.mean(psnrs):.2f} dB, min {min(psnrs):.2f} dB. Bit accuracy over all 64 bits; crop "
        f"search on (aligned threshold z >= 5.5, search z >= {SEARCH_THRESHOLD})."
    )
    print_table(f"Images: robustness (single frames, {what})", headers, rows, note)


HELD_OUT = (
    "astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "moon", "hubble_deep_field",
    "immunohistochemistry", "retina", "grass", "gravel", "brick", "cell", "clock",
)  # fmt: skip


def held_out_images() -> dict[str, np.ndarray]:
    """scikit-image's bundled photos (greyscale ones as RGB): never used to choose a parameter."""
    from skimage import data  # noqa: PLC0415 - only this table needs it

    out = {}
    for name in HELD_OUT:
        rgb = getattr(data, name)()
        out[name] = np.ascontiguousarray(
            np.repeat(rgb[..., None], 3, axis=2) if rgb.ndim == 2 else rgb[..., :3]
        )
    return out


def held_out_tables(rng: np.random.Generator) -> None:
    """Robustness and false positives on photos outside the design set."""
    photos = held_out_images()
    image_tables([square(rgb) for rgb in photos.values()], rng, "held-out scikit-image photos")
    rows = []
    for name, rgb in photos.items():
        found = detect(rgb)
        rows.append([name, f"{rgb.shape[1]}x{rgb.shape[0]}", fmt(found.z), "yes" if found.present else "no"])
    positives = sum(row[-1] == "yes" for row in rows)
    note = f"False positives: {positives}/{len(rows)} (unmarked, full size, crop search on)."
    print_table("Held-out photos: false positives", ["photo", "size", "aligned z", "present"], rows, note)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def strength_table(images: list[np.ndarray]) -> None:
    message = Message.default(0x5A5A5A5A)
    rows = []
    for strength in (0.75, 1.0, 1.5, 2.0):
        marked = [embed(rgb, message, strength=strength) for rgb in images]
        psnrs = [psnr(a, b) for a, b in zip(marked, images, strict=True)]
        found = [detect(h264([m])[0], search_crops=False) for m in marked]
        acc = [float(np.mean(d.bits == message.to_bits())) for d in found]
        rows.append(
            [fmt(strength, 2), fmt(np.mean(psnrs), 2), fmt(min(psnrs), 2), fmt(np.mean(acc), 3)]
            + [fmt(min(acc), 3), f"{sum(d.present for d in found)}/{len(found)}"]
            + [fmt(min(d.z for d in found))]
        )
    headers = ["strength", "PSNR mean dB", "PSNR min dB", "crf 23 acc mean", "crf 23 acc min"]
    headers += ["present", "z min"]
    print_table("Images: strength vs visual cost and H.264 crf 23 robustness", headers, rows)


def video_table(videos: list[Path], n_frames: int, rng: np.random.Generator) -> None:
    clips = [read_frames(p, n_frames) for p in videos]
    messages = [Message.default(int(rng.integers(0, 2**32))) for _ in clips]
    marked = [[embed(f, m) for f in clip] for clip, m in zip(clips, messages, strict=True)]
    psnrs = [psnr(m, f) for c, mc in zip(clips, marked, strict=True) for m, f in zip(mc, c, strict=True)]
    rows = []
    for name, attack in VIDEO_ATTACKS.items():
        found, single = [], []
        for clip, message in zip(marked, messages, strict=True):
            frames = attack(clip)
            found.append(detect(frames))
            per_frame = [detect(f).bits for f in frames[::4]]
            single.append(float(np.mean([np.mean(b == message.to_bits()) for b in per_frame])))
        rows.append(summarise(name, found, messages, single))
    headers = ["attack", "present", "bit acc mean", "bit acc min", "payload exact", "z min", "z median"]
    headers += ["1-frame acc mean", "1-frame acc min"]
    names = ", ".join(p.name for p in videos)
    note = (
        f"{len(videos)} videos ({names}), first {n_frames} frames each, strength 1.5; per-frame PSNR "
        f"vs unmarked: mean {np.mean(psnrs):.2f} dB, min {min(psnrs):.2f} dB. '1-frame acc' decodes "
        "every 4th frame of the attacked video alone, crop search on (mean over frames, then "
        "mean/min over videos)."
    )
    print_table("Videos: robustness (detection accumulated over all frames)", headers, rows, note)


def false_positive_table(image_paths: list[Path], videos: list[Path], n_frames: int) -> None:
    rows, media = [], []
    for path in image_paths:
        media.append((path.name, [load_rgb(path)]))
    for path in videos:
        media.append((path.name, read_frames(path, n_frames)))
    for name, frames in media:
        aligned = detect(frames, search_crops=False)
        canvas = np.mean([resize_square(luma(f), CANVAS) for f in frames], axis=0).astype(np.float32)
        searched = search(canvas, Detector().key)
        found = detect(frames)
        verdict = "yes" if found.present else "no"
        rows.append([name, len(frames), fmt(aligned.z, 2), fmt(searched.z, 2), verdict])
    headers = ["unmarked media", "frames", "aligned z", "best search z", "present"]
    bound = np.exp(-(5.5**2) / 2) + hypothesis_count() * np.exp(-(SEARCH_THRESHOLD**2) / 2)
    note = (
        f"False positives: {sum(r[-1] == 'yes' for r in rows)}/{len(rows)}. Thresholds: aligned z >= 5.5, "
        f"search z >= {SEARCH_THRESHOLD} over {hypothesis_count()} hypotheses; bound on the "
        f"false-positive probability per image/video: {bound:.1e}."
    )
    print_table("False positives on unmarked real media (search on)", headers, rows, note)
    null_calibration([frames for _, frames in media])


def null_calibration(media: list[list[np.ndarray]], n_keys: int = 300) -> None:
    """The aligned z of unmarked media under many keys: should be about N(0, 1)."""
    zs = []
    for frames in media:
        cells = np.sum([cell_statistics(f) for f in frames], axis=0)
        for key in range(1000, 1000 + n_keys):
            chips, owner = keyed_tables(key)
            correlation = np.bincount(owner.ravel(), (chips * cells).ravel(), 64)
            energy = np.bincount(owner.ravel(), (cells * cells).ravel(), 64)
            zs.append(decide(correlation, energy, 5.5, 1).z)
        keyed_tables.cache_clear()
    z = np.array(zs)
    row = [len(media), n_keys, z.size, fmt(z.mean(), 3), fmt(z.std(), 3), fmt(z.max(), 2)]
    row.append(fmt(np.mean(z > 3), 4))
    headers = ["media", "keys", "z values", "mean", "std", "max", "P(z > 3) (normal: 0.0013)"]
    print_table("Null calibration: aligned z of unmarked media under other keys", headers, [row])


def timing_table(repeats: int) -> None:
    rng = np.random.default_rng(1)
    rows = []
    for h, w in ((512, 512), (720, 1280), (1080, 1920)):
        rgb = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 2)
        message = Message.default(int(rng.integers(0, 2**32)))
        t0 = now()
        embed(rgb, message)
        cold = (now() - t0) * 1000
        _, warm = best_of(repeats, embed, rgb, message)
        marked = embed(rgb, message)
        _, add = best_of(repeats, cell_statistics, marked)
        _, found = best_of(repeats, detect, marked)
        _, unmarked = best_of(max(1, repeats // 5), detect, rgb)
        rows.append([f"{w}x{h}", fmt(cold), fmt(warm, 2), fmt(add, 2), fmt(found, 2), fmt(unmarked)])
    headers = ["frame", "embed 1st ms", "embed ms", "detector add ms", "detect marked ms"]
    headers.append("detect unmarked ms")
    note = (
        "Median ms. 'embed 1st' builds the pattern for the size/message (cached afterwards); "
        "'detector add' is the per-frame cost of Detector.add; 'detect unmarked' includes the "
        "crop search that runs when the aligned test fails."
    )
    print_table("Speed", headers, rows, note)


def imwatermark_note() -> None:
    try:
        import imwatermark  # noqa: F401, PLC0415 - optional comparison only
    except ImportError:
        print("\n(imwatermark is not installed: no invisible-watermark comparison in this run)")
        return
    print("\n(imwatermark is importable but this script does not benchmark it)")


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    print(device_line())
    start = now()
    rng = np.random.default_rng(0)
    image_paths = sorted(args.data.glob("*/*.jpg"))
    videos = sorted(args.data.glob("*/*.mp4"))
    if args.quick:
        image_paths, videos = image_paths[:4], videos[:2]
    images = [square(load_rgb(p)) for p in image_paths]
    image_tables(images, rng)
    held_out_tables(rng)
    strength_table(images)
    video_table(videos, 12 if args.quick else 40, rng)
    false_positive_table(image_paths, videos, 20 if args.quick else 120)
    timing_table(5 if args.quick else 30)
    imwatermark_note()
    print(f"\nTotal {now() - start:.0f} s; {load_note()} at the end.")


if __name__ == "__main__":
    main()
