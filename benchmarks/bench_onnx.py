"""Torch eager float32 vs onnxruntime (CPU) per LivePortrait network, at real shapes, batch 1.

    python benchmarks/bench_onnx.py [--weights DIR] [--onnx DIR] [--repeats N] [--threads N]

Without --weights, deterministic test weights are written to a temporary folder (timing does not
depend on the values); without --onnx, the networks are exported to a temporary folder first
(about half a minute on 2 cores). Each network is called once to warm up, then N times, torch and
onnxruntime calls alternating (the machine's load then weighs on both alike); the table gives the
median milliseconds per call of each runtime and the largest absolute difference of their outputs
on the same inputs (over all of a network's outputs; W's largest is on ``warped``). Prints a
table; asserts nothing.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from _common import device_line, median, print_table, timed

from vivify.export import export_onnx
from vivify.runtime import OnnxLivePortrait
from vivify.weights import load_liveportrait, manifest, write_test_weights


def _outputs(result) -> list[torch.Tensor]:
    """The tensors a network call returned (a tensor or an output dataclass)."""
    if isinstance(result, torch.Tensor):
        return [result]
    return [v for v in vars(result).values() if isinstance(v, torch.Tensor)]


def _max_abs(a, b) -> float:
    return max(float((x - y).abs().max()) for x, y in zip(_outputs(a), _outputs(b), strict=True))


def _fmt_ms(ms: float) -> str:
    return f"{ms:.0f}" if ms >= 100 else f"{ms:.1f}" if ms >= 1 else f"{ms:.3f}"


def _ms(fns: Sequence[Callable[[], object]], repeats: int) -> list[float]:
    """Median milliseconds of each function; calls alternate so both see the same machine load."""
    for fn in fns:
        fn()  # warm-up
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, t in zip(fns, times, strict=True):
            t.append(timed(fn)[1])
    return [median(t) for t in times]


@torch.inference_mode()
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", type=Path, help="LivePortrait weights folder (default: test weights)")
    ap.add_argument("--onnx", type=Path, help="an existing `vivify export onnx` folder (default: export)")
    ap.add_argument("--repeats", type=int, default=20, help="timed calls per network (default 20)")
    ap.add_argument("--threads", type=int, default=None, help="threads for both runtimes (default: all)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(device_line())
    with tempfile.TemporaryDirectory() as tmp:
        weights = args.weights
        if weights is None:
            weights = Path(tmp) / "weights"
            write_test_weights(manifest(), 0, weights)
        models = load_liveportrait(weights)
        folder = args.onnx
        if folder is None:
            folder, seconds = timed(export_onnx, models, Path(tmp) / "onnx")
            print(f"exported to a temporary folder in {seconds / 1000:.1f} s")
        ort = OnnxLivePortrait(folder, threads=args.threads)
        opset = ort.manifest["opset"]
        threads = ort.spade_generator.session.get_session_options().intra_op_num_threads

        g = torch.Generator().manual_seed(0)
        image = torch.rand(1, 3, 256, 256, generator=g)
        f_s = models.appearance_feature_extractor(image)
        x_s = (torch.rand(1, 21, 3, generator=g) * 2 - 1) * 0.8
        x_d = x_s + 0.02 * torch.randn(1, 21, 3, generator=g)
        feature = models.warping_module(f_s, x_d, x_s).out
        mlp_inputs = {"stitching": 126, "lip": 65, "eye": 66}
        cases = [
            ("appearance_feature_extractor (F)", "appearance_feature_extractor", (image,)),
            ("motion_extractor (M)", "motion_extractor", (image,)),
            ("warping_module (W)", "warping_module", (f_s, x_d, x_s)),
            ("spade_generator (G)", "spade_generator", (feature,)),
        ] + [
            (f"{name} MLP", f"stitching_retargeting_module.{name}", (torch.rand(1, n, generator=g) * 0.2,))
            for name, n in mlp_inputs.items()
        ]

        def network(root, path: str):
            for part in path.split("."):
                root = getattr(root, part)
            return root

        rows, totals = [], np.zeros(2)
        for label, path, inputs in cases:
            torch_net, ort_net = network(models, path), network(ort, path)
            t_ms, o_ms = _ms([lambda: torch_net(*inputs), lambda: ort_net(*inputs)], args.repeats)  # noqa: B023
            diff = _max_abs(torch_net(*inputs), ort_net(*inputs))
            rows.append([label, _fmt_ms(t_ms), _fmt_ms(o_ms), f"{t_ms / o_ms:.2f}x", f"{diff:.1e}"])
            if path in ("motion_extractor", "warping_module", "spade_generator"):
                totals += (t_ms, o_ms)
        rows.append(["per frame (M + W + G)", f"{totals[0]:.0f}", f"{totals[1]:.0f}",
                     f"{totals[0] / totals[1]:.2f}x", ""])  # fmt: skip
    print_table(
        "Torch eager vs onnxruntime CPU, float32, batch 1",
        ["network", "torch ms", "onnxruntime ms", "speed-up", "max_abs diff"],
        rows,
        note=(
            f"median of {args.repeats} calls after 1 warm-up; torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), onnxruntime {_ort_version()} "
            f"(opset {opset}, {threads} intra-op threads, graph optimisation ALL)"
        ),
    )


def _ort_version() -> str:
    import onnxruntime  # noqa: PLC0415 - only for the report line

    return onnxruntime.__version__


if __name__ == "__main__":
    main()
