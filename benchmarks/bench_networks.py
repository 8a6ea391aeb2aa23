"""CPU (or CUDA) time per LivePortrait network at real shapes, beside its parameter count.

    python benchmarks/bench_networks.py [--weights DIR] [--device cpu|cuda] [--repeats N] [--threads N]

Without --weights, deterministic test weights are written to a temporary folder (timing does not
depend on the values).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from vivify.weights import load_liveportrait, manifest, write_test_weights


def _time(fn, repeats: int, device: str) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        out.append(1000 * (time.perf_counter() - t))
    return out


@torch.inference_mode()
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--weights", default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.weights
        if root is None:
            write_test_weights(manifest(), 0, tmp)
            root = tmp
        m = load_liveportrait(root, device=args.device)
    dev = args.device
    g = torch.Generator(device="cpu").manual_seed(0)
    img = torch.rand(1, 3, 256, 256, generator=g).to(dev)
    f_s = m.appearance_feature_extractor(img)
    kp = (torch.rand(1, 21, 3, generator=g) * 2 - 1).to(dev)
    kp_d = kp + 0.02
    feat = m.warping_module(f_s, kp_d, kp).out
    s = m.stitching_retargeting_module
    cases = [
        (
            "appearance_feature_extractor (F)",
            m.appearance_feature_extractor,
            lambda: m.appearance_feature_extractor(img),
        ),
        ("motion_extractor (M)", m.motion_extractor, lambda: m.motion_extractor(img)),
        ("warping_module (W)", m.warping_module, lambda: m.warping_module(f_s, kp_d, kp)),
        ("spade_generator (G)", m.spade_generator, lambda: m.spade_generator(feat)),
        ("stitching MLP (S)", s.stitching, lambda: s.stitching(torch.zeros(1, 126, device=dev))),
        ("eye MLP", s.eye, lambda: s.eye(torch.zeros(1, 66, device=dev))),
        ("lip MLP", s.lip, lambda: s.lip(torch.zeros(1, 65, device=dev))),
    ]
    name = torch.cuda.get_device_name() if dev == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; float32, batch 1, 256x256 input; median of {args.repeats} after 1 warm-up\n")
    print("| network | parameters (excl. buffers) | ms (median) | ms (min) |")
    print("|---|---:|---:|---:|")
    medians = {}
    for label, module, fn in cases:
        times = _time(fn, args.repeats, dev)
        params = sum(p.numel() for p in module.parameters())
        med = statistics.median(times)
        medians[label.split(" ")[0]] = med
        print(f"| {label} | {params:,} | {med:.1f} | {min(times):.1f} |")
    per_frame = sum(medians[k] for k in ("motion_extractor", "warping_module", "spade_generator"))
    print(
        f"\nper animated frame (M on the driving frame + W + G; F runs once per source): {per_frame:.0f} ms"
    )


if __name__ == "__main__":
    main()
