"""Neural renderer speed per setting: ms per frame of each network, parity, and the floor.

    python benchmarks/bench_speed.py [--device cpu|cuda] [--weights DIR] [--repeats N]
        [--batch 1 4 ...] [--configs fp32 fp32-cl bf16-cl ...] [--onnx DIR] [--floor] [--e2e N]

For each setting (precision × channels-last × compile, or the onnxruntime export) and batch
size: median milliseconds per frame of the motion extractor (M), the warp (W) and the decoder
(G), the uint8 conversion, and their sum per frame, after warm-up calls (CUDA events on a GPU);
then the frame's difference from float32 eager on the same keypoints (max |Δ| of the decoder
output in [0, 1] and PSNR of the uint8 crop). ``--floor`` counts each network's floating-point
operations (torch's FLOP counter) and the fewest bytes it must move (weights, inputs and outputs
read or written once), measures this device's matrix-product rate in the setting's precision and
its copy bandwidth, and prints the larger of the two times (FLOPs / rate, bytes / bandwidth): the
time no implementation can beat. ``--e2e N``
adds frames per second of ``Animator.animate`` over N frames of a 512² driving video (decode,
track, render, paste-back, encode) per setting and batch size. A last table times pasting a
batch of decoded crops into a 1920×1080 picture, on the host (download, OpenCV) and on the
device (``vivify.backends.device_paste``, then one download of finished frames). Without
--weights, deterministic test weights (real shapes) are written to a temporary folder. Prints
Markdown tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from _common import DEFAULT_DATA, cpu_name, load_note, print_table

from vivify.backends import NeuralBackend
from vivify.backends.device_paste import paste_crops, paste_target
from vivify.backends.speed import SpeedOptions
from vivify.face.crop import feather_mask
from vivify.metrics import psnr
from vivify.pipeline import AnimationOptions, Animator
from vivify.weights import load_liveportrait, manifest, write_test_weights

DEFAULT_FIXTURES = DEFAULT_DATA.parent / "reference" / "fixtures"

CONFIGS = {
    "fp32": SpeedOptions(),
    "fp32-cl": SpeedOptions(channels_last=True),
    "bf16": SpeedOptions("bfloat16"),
    "bf16-cl": SpeedOptions("bfloat16", channels_last=True),
    "fp16": SpeedOptions("float16"),
    "fp16-cl": SpeedOptions("float16", channels_last=True),
    "fp16-cl-compile": SpeedOptions("float16", channels_last=True, compile=True),
    "bf16-cl-compile": SpeedOptions("bfloat16", channels_last=True, compile=True),
    "fp32-compile": SpeedOptions(compile=True),
}


class Timer:
    """Median milliseconds of a call, with device events on CUDA."""

    def __init__(self, device: torch.device, warmup: int, repeats: int) -> None:
        self.device, self.warmup, self.repeats = device, warmup, repeats

    def __call__(self, fn: Callable[[], object]) -> float:
        for _ in range(self.warmup):
            fn()
        times = []
        for _ in range(self.repeats):
            if self.device.type == "cuda":
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(end))
            else:
                t = time.perf_counter()
                fn()
                times.append(1000 * (time.perf_counter() - t))
        return statistics.median(times)


def flop_counts(models, device: torch.device) -> dict[str, float]:
    """Floating-point operations of one frame through F, M, W and G (batch 1)."""
    from torch.utils.flop_counter import FlopCounterMode  # noqa: PLC0415

    x = torch.rand(1, 3, 256, 256, device=device)
    counts = {}
    with torch.inference_mode():
        for name, fn in (
            ("F", lambda: models.appearance_feature_extractor(x)),
            ("M", lambda: models.motion_extractor(x)),
        ):
            with FlopCounterMode(display=False) as counter:
                out = fn()
            counts[name] = counter.get_total_flops()
            if name == "F":
                f_s = out
        kp = torch.rand(1, 21, 3, device=device) * 2 - 1
        with FlopCounterMode(display=False) as counter:
            warped = models.warping_module(f_s, kp + 0.01, kp)
        counts["W"] = counter.get_total_flops()
        with FlopCounterMode(display=False) as counter:
            models.spade_generator(warped.out)
        counts["G"] = counter.get_total_flops()
    return counts


def byte_counts(models, device: torch.device) -> dict[str, float]:
    """The fewest bytes F, M, W and G move per frame at batch 1: every weight, input and output
    read or written once, in float32 numbers (half as many in a 16-bit precision)."""

    def size(*tensors) -> int:
        return sum(t.numel() for t in tensors) * 4

    def weights(net) -> int:
        return size(*net.parameters(), *net.buffers())

    x = torch.rand(1, 3, 256, 256, device=device)
    with torch.inference_mode():
        f_s = models.appearance_feature_extractor(x)
        kp = torch.rand(1, 21, 3, device=device) * 2 - 1
        warped = models.warping_module(f_s, kp + 0.01, kp)
        image = models.spade_generator(warped.out)
        motion = models.motion_extractor(x)
    outputs = [v for v in vars(motion).values() if isinstance(v, torch.Tensor)]
    return {
        "F": weights(models.appearance_feature_extractor) + size(x, f_s),
        "M": weights(models.motion_extractor) + size(x, *outputs),
        "W": weights(models.warping_module) + size(f_s, kp, kp, warped.out, warped.occlusion_map),
        "G": weights(models.spade_generator) + size(warped.out, image),
    }


def copy_rate(device: torch.device, timer: Timer) -> float:
    """Measured bytes/s of a large device-to-device copy (bytes read plus bytes written)."""
    n = 2**26 if device.type == "cpu" else 2**28  # float32 numbers: 256 MB or 1 GB
    src = torch.rand(n, device=device)
    dst = torch.empty_like(src)
    return 2 * 4 * n / (timer(lambda: dst.copy_(src)) / 1000)


def matmul_rate(device: torch.device, dtype: torch.dtype, timer: Timer) -> float:
    """Measured FLOP/s of a large matrix product in ``dtype`` (the device's practical peak)."""
    n = 2048 if device.type == "cpu" else 8192
    a = torch.rand(n, n, device=device, dtype=dtype)
    b = torch.rand(n, n, device=device, dtype=dtype)
    return 2 * n**3 / (timer(lambda: a @ b) / 1000)


def fixture_parity(backend: NeuralBackend, root: Path) -> list[str]:
    """W and G of ``backend`` (its speed settings) on the reference fixtures' inputs: max |Δ| and
    relative L2 error of W's output and G's image against the stored float32 outputs."""
    f = np.load(root / "appearance_feature_extractor.npz")
    w = np.load(root / "warping_module.npz")
    g = np.load(root / "spade_generator.npz")
    dev, speed = backend.device, backend.speed

    def tensor(z, key: str) -> torch.Tensor:
        return torch.from_numpy(z[key].astype(np.float32)).to(dev)

    # the fixtures link inputs to stored outputs: W reads F's f_s, G reads W's output
    with torch.inference_mode(), speed.autocast(dev):
        f_s, kp_d, kp_s = tensor(f, "out__f_s"), tensor(w, "in__kp_driving"), tensor(w, "in__kp_source")
        w_out = backend._warp(speed.layout(f_s), kp_d, kp_s).out.float().cpu()
        g_out = backend._decode(speed.layout(tensor(w, "out__out"))).float().cpu()
    cells = []
    for got, want in ((w_out, w["out__out"]), (g_out, g["out__out"])):
        want = torch.from_numpy(want)
        cells += [f"{float((got - want).abs().max()):.1e}", f"{float((got - want).norm() / want.norm()):.1e}"]
    return cells


def end_to_end(backend: NeuralBackend, args: argparse.Namespace, batch: int) -> tuple[float, float]:
    """Seconds and frames per second of ``Animator.animate`` over ``args.e2e`` driving frames."""
    animator = Animator(backend)
    source = DEFAULT_DATA / "portraits" / f"{args.portrait}.jpg"
    driving = DEFAULT_DATA / "driving" / f"{args.driving}.mp4"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.mp4"
        animator.animate(source, driving, out, AnimationOptions(max_frames=2, batch_size=batch))  # warm-up
        if backend.device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        options = AnimationOptions(max_frames=args.e2e, batch_size=batch, preset="veryfast")
        animator.animate(source, driving, out, options)
        took = time.perf_counter() - t
    return took, args.e2e / took


def paste_times(backend: NeuralBackend, decoded: torch.Tensor, timer: Timer) -> tuple[float, float]:
    """ms per frame to paste B decoded crops into a 1080p picture: on the host, on the device."""
    picture = np.random.default_rng(0).integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
    c, s = 1.1 * np.cos(0.1), 1.1 * np.sin(0.1)
    m_c2o = np.array([[c, -s, 700.0], [s, c, 200.0], [0, 0, 1]], np.float32)
    state = dataclasses.replace(backend.prepare_crop(np.zeros((256, 256, 3), np.uint8)), image=picture,
                                m_c2o=m_c2o)  # fmt: skip
    target = paste_target(picture, m_c2o, feather_mask(512), decoded.device)
    b = len(decoded)
    host = timer(lambda: [backend.paste(state, crop) for crop in backend.to_uint8(decoded)]) / b
    device = timer(lambda: paste_crops(target, decoded).cpu()) / b
    return host, device


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--weights", type=Path)
    ap.add_argument("--configs", nargs="+", default=None, help=f"of {', '.join(CONFIGS)} (and 'onnx')")
    ap.add_argument("--batch", type=int, nargs="+", default=[1])
    ap.add_argument("--repeats", type=int, default=None, help="timed calls (default 50 on CUDA, 3 on CPU)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed calls first (default 5 CUDA, 1 CPU)")
    ap.add_argument("--onnx", type=Path, default=None, help="an ONNX export folder (vivify export onnx)")
    ap.add_argument("--floor", action="store_true",
                    help="count FLOPs and bytes, measure the matmul rate and copy bandwidth")  # fmt: skip
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--e2e", type=int, default=0, metavar="N",
                    help="also animate N frames end to end per setting and batch size")  # fmt: skip
    ap.add_argument("--portrait", default="s5", help="portrait for --e2e (shared/data/portraits)")
    ap.add_argument("--driving", default="d0", help="driving video for --e2e (d0: 512x512)")
    ap.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES, help="reference fixtures (parity)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    timer = Timer(device, args.warmup or (5 if cuda else 1), args.repeats or (50 if cuda else 3))
    configs = args.configs or (
        ["fp32", "fp16-cl", "bf16-cl", "fp16-cl-compile"] if cuda else ["fp32", "bf16-cl"]
    )
    if args.onnx and "onnx" not in configs:
        configs.append("onnx")
    tmp = tempfile.TemporaryDirectory()
    weights = args.weights
    if weights is None:
        weights = Path(tmp.name)
        write_test_weights(manifest(), 0, weights)
    rng = np.random.default_rng(0)
    crop = (rng.random((256, 256, 3)) * 255).astype(np.uint8)

    def backend_for(name: str) -> NeuralBackend:
        if name == "onnx":
            from vivify.runtime import OnnxLivePortrait  # noqa: PLC0415

            return NeuralBackend(models=OnnxLivePortrait(args.onnx))
        return NeuralBackend(models=load_liveportrait(weights, device), speed=CONFIGS[name])

    base = NeuralBackend(models=load_liveportrait(weights, device))
    state = base.prepare_crop(crop)
    x_d = state.x_s + 0.01 * torch.randn(state.x_s.shape, generator=torch.Generator().manual_seed(1)).to(
        device
    )
    reference = base.warp_decode(state, x_d).image
    ref_u8 = base.to_uint8(reference)[0]
    rows, floor_rows, parity_rows, e2e_rows, paste_rows = [], [], [], [], []
    fixtures = args.fixtures if (args.fixtures / "warping_module.npz").is_file() else None
    flops = flop_counts(base.models, device) if args.floor else None
    bandwidth = copy_rate(device, timer) if args.floor else None
    moved = byte_counts(base.models, device) if args.floor else None
    for name in configs:
        backend = backend_for(name)
        st = backend.prepare_crop(crop)
        image = backend.warp_decode(st, x_d).image  # also compiles, when asked
        err = float((image.float() - reference).abs().max())
        if fixtures is not None and args.weights is None:  # the fixtures were made with test weights
            parity_rows.append([name, *fixture_parity(backend, fixtures)])
        quality = psnr(backend.to_uint8(image)[0], ref_u8)
        for b in args.batch:
            crops = np.repeat(crop[None], b, 0)
            kps = x_d.expand(b, -1, -1).contiguous()
            t_m = timer(lambda: backend.motion_from_crops(crops)) / b  # noqa: B023
            t_wg = timer(lambda: backend.warp_decode(st, kps)) / b  # noqa: B023
            decoded = backend.warp_decode(st, kps).image
            t_u8 = timer(lambda: backend.to_uint8(decoded)) / b  # noqa: B023
            total = t_m + t_wg + t_u8
            rows.append([name, b, t_m, t_wg, t_u8, total, 1000 / total, f"{err:.1e}", quality])
            if name == configs[0]:  # pasting does not depend on the setting
                paste_rows.append([b, *paste_times(backend, decoded.float(), timer)])
        for b in args.batch if args.e2e else ():
            took, fps = end_to_end(backend, args, b)
            e2e_rows.append([name, b, f"{took:.1f}", f"{1000 * took / args.e2e:.1f}", f"{fps:.2f}"])
        if flops is not None and name != "onnx":
            speed = backend.speed
            dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
            rate = matmul_rate(device, dtype[speed.precision], timer)
            shrink = 1 if speed.precision == "float32" else 2
            compute = 1000 * (flops["W"] + flops["G"]) / rate
            memory = 1000 * (moved["W"] + moved["G"]) / shrink / bandwidth
            measured = rows[-len(args.batch)][3]
            share = max(compute, memory) / measured
            floor_rows.append([name, f"{rate / 1e9:.0f}", f"{bandwidth / 1e9:.0f}", f"{compute:.1f}",
                               f"{memory:.2f}", f"{measured:.1f}", f"{share:.0%}"])  # fmt: skip
    where = torch.cuda.get_device_name(device) if cuda else cpu_name()
    print_table(
        f"Neural networks per frame, {device.type} ({where}), {torch.get_num_threads()} threads",
        ["setting", "batch", "M ms", "W+G ms", "uint8 ms", "total ms", "fps", "max |Δ| vs fp32", "PSNR dB"],
        rows,
        note=f"median of {timer.repeats} timed calls after {timer.warmup} warm-up; {load_note()} at the end",
    )
    if e2e_rows:
        print_table(
            f"End to end through Animator.animate: {args.portrait} x {args.driving}, {args.e2e} frames",
            ["setting", "batch", "s", "ms per frame", "fps"],
            e2e_rows,
            note="decode, track, motion, render, paste-back and x264 veryfast encode, threaded; after a "
            "2-frame warm-up animation",
        )
    if parity_rows:
        print_table(
            f"Parity against the reference fixtures ({fixtures})",
            ["setting", "W out max |Δ|", "W out rel L2", "G image max |Δ|", "G image rel L2"],
            parity_rows,
            note="the fixture stores W's output as float16 (rounding up to ~5e-4), G's image as float32; "
            "the fp32 row is the baseline",
        )
    if paste_rows:
        print_table(
            f"Paste-back into a 1920x1080 picture, ms per frame ({device.type})",
            ["batch", "host (download crops, OpenCV)", "device (then download frames)"],
            paste_rows,
        )
    if flops is not None:
        print_table(
            "FLOPs and fewest bytes per frame (batch 1, float32 numbers)",
            ["network", "GFLOP", "MB", "FLOP per byte"],
            [[k, f"{v / 1e9:.1f}", f"{moved[k] / 1e6:.1f}", f"{v / moved[k]:.0f}"] for k, v in flops.items()],
        )
        print_table(
            "W+G floor: the larger of FLOPs / matmul rate and bytes / copy bandwidth",
            ["setting", "matmul GFLOP/s", "copy GB/s", "compute floor ms", "bytes floor ms",
             "W+G measured ms (1st batch)", "floor / measured"],
            floor_rows,
        )  # fmt: skip
    tmp.cleanup()


if __name__ == "__main__":
    main()
