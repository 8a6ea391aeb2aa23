"""Export the five LivePortrait networks to ONNX for onnxruntime (CPU or CUDA).

Exporter: ``torch.onnx.export(..., dynamo=True)`` (torch.export capture + onnxscript translation).
The warping module samples its feature volume with a 5-D (trilinear) ``grid_sample``; ONNX defines
volumetric ``GridSample`` from opset 20 on (GridSample-16 is specified for 4-D inputs only), so
``opset`` must be at least 20. The legacy TorchScript exporter is not used.

Versions checked (CPU): torch 2.13 with onnx 1.22 / onnxscript 0.7.2 / onnxruntime 1.31.1, and
with onnx 1.18 / onnxscript 0.6.0 / onnxruntime 1.20.0 (torch 2.13's exporter needs onnxscript
>= 0.6). Opsets 20-25 export and run on onnxruntime 1.31 (20 is the default; 26+ go through the
onnx C version converter). onnx >= 1.23 needs protobuf >= 6, which MediaPipe's protobuf < 5 rules
out. At opsets 16-19 the exporter still writes a GridSample on the 5-D volume, which the standard
defines for 4-D inputs only (onnxruntime happens to run it, other runtimes need not): refused here.

The folder written (one ``.onnx`` file per network plus ``manifest.json``) and its manifest are
described in :mod:`vivify.runtime.onnx_manifest`, which :mod:`vivify.runtime.onnx_models` reads.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from vivify.errors import DependencyError, UserError
from vivify.nn.motion_encoder import MotionExtractorOutput
from vivify.runtime.onnx_manifest import MOTION_OUTPUTS, NETWORKS, OnnxNetwork, network_entry, write_manifest
from vivify.weights.build import LivePortraitModels

logger = logging.getLogger(__name__)

DEFAULT_OPSET = 20
MIN_OPSET = 20  # first opset whose GridSample is defined for 5-D (volumetric) inputs
EXPORT_BATCH = 2  # example batch for tracing: a batch of 1 would let torch.export specialise the axis


class _MotionHeads(nn.Module):
    """M with its dataclass output flattened to a tuple (the exporter needs tensors)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: Tensor) -> tuple[Tensor, ...]:
        out: MotionExtractorOutput = self.model(image)
        return tuple(getattr(out, name) for name in MOTION_OUTPUTS)


class _WarpingTensors(nn.Module):
    """W with the tensors of ``WarpingOutput`` (and the dense motion mask) as a tuple."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, feature_3d: Tensor, kp_driving: Tensor, kp_source: Tensor) -> tuple[Tensor, ...]:
        out = self.model(feature_3d, kp_driving, kp_source)
        return out.out, out.occlusion_map, out.deformation, out.warped, out.dense_motion.mask


def _network(models: LivePortraitModels, net: OnnxNetwork) -> nn.Module:
    """The torch module of ``net`` (its attribute path in ``models``)."""
    module = models
    for part in net.name.split("."):
        module = getattr(module, part)
    return module


def _module(models: LivePortraitModels, net: OnnxNetwork) -> nn.Module:
    """The module to export for ``net``, with a tensor-tuple output where the network returns a dataclass."""
    module = _network(models, net)
    if net.name == "motion_extractor":
        return _MotionHeads(module)
    if net.name == "warping_module":
        return _WarpingTensors(module)
    return module


def _require_export_packages() -> tuple[Any, Any]:
    """Import onnx and onnxscript (the dynamo exporter's translator), or explain how to install them."""
    try:
        import onnx  # noqa: PLC0415 - optional extra
        import onnxscript  # noqa: PLC0415
    except ImportError as exc:
        raise DependencyError(
            f"ONNX export needs onnx and onnxscript ({exc.name} is missing): pip install 'vivify[onnx]'"
        ) from exc
    return onnx, onnxscript


def _io_description(values: Iterable[Any]) -> list[dict]:
    """ONNX graph inputs/outputs → ``[{"name", "shape", "dtype"}]``; dynamic axes by their name."""
    from onnx.helper import tensor_dtype_to_np_dtype  # noqa: PLC0415 - optional extra

    described = []
    for v in values:
        tensor = v.type.tensor_type
        shape = [d.dim_param if d.dim_param else int(d.dim_value) for d in tensor.shape.dim]
        dtype = str(tensor_dtype_to_np_dtype(tensor.elem_type))
        described.append({"name": v.name, "shape": shape, "dtype": dtype})
    return described


@contextmanager
def _quiet_registry() -> Iterator[None]:
    """Silence the exporter's "torchvision is not installed" warnings (vivify uses no torchvision ops)."""
    registry = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registry.level
    registry.setLevel(logging.ERROR)
    try:
        yield
    finally:
        registry.setLevel(level)


def _export_network(models: LivePortraitModels, net: OnnxNetwork, path: Path, opset: int) -> dict:
    """Export one network to ``path``, check it, and return its manifest entry."""
    import onnx  # noqa: PLC0415 - optional extra

    module = _module(models, net).eval()
    batch = torch.export.Dim("batch", min=1)
    gen = torch.Generator().manual_seed(0)
    args = tuple(torch.rand(EXPORT_BATCH, *shape, generator=gen) for shape in net.input_shapes)
    with warnings.catch_warnings(), _quiet_registry():
        # the shared batch axis of W's three inputs is reported once per input; nothing is wrong
        warnings.filterwarnings("ignore", message=".*axis name.*will not be used")
        warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)  # torch internals
        torch.onnx.export(
            module,
            args,
            str(path),
            dynamo=True,
            opset_version=opset,
            input_names=list(net.inputs),
            output_names=list(net.outputs),
            dynamic_shapes=tuple({0: batch} for _ in args),
            external_data=False,
            verbose=False,
        )
    if not path.is_file():
        raise RuntimeError(f"torch.onnx.export wrote no file for {net.name}")
    onnx.checker.check_model(str(path), full_check=True)
    graph = onnx.load(str(path), load_external_data=False).graph
    inputs, outputs = _io_description(graph.input), _io_description(graph.output)
    if [i["name"] for i in inputs] != list(net.inputs) or [o["name"] for o in outputs] != list(net.outputs):
        raise RuntimeError(f"{net.name}: exported I/O names {inputs} / {outputs} differ from {net}")
    return network_entry(net, path, inputs, outputs)


def _check_models(models: LivePortraitModels) -> None:
    for net in NETWORKS:
        module = _network(models, net)
        params = list(module.parameters())
        if module.training:
            raise ValueError(f"{net.name} is in training mode: export needs eval-mode networks")
        if any(p.device.type != "cpu" or p.dtype != torch.float32 for p in params):
            raise ValueError(
                f"{net.name}: export needs float32 CPU networks (load_liveportrait(dir) without device/dtype)"
            )


def export_onnx(
    models: LivePortraitModels,
    out_dir: str | Path,
    opset: int = DEFAULT_OPSET,
    *,
    overwrite: bool = False,
) -> Path:
    """Write the five networks (stitching module as its three MLPs) as ONNX files plus a manifest.

    The files are written to a hidden temporary folder beside ``out_dir``, checked with
    ``onnx.checker`` and hashed, then the folder is renamed to ``out_dir``; on any failure the
    temporary folder is removed, so ``out_dir`` either holds a complete export or is untouched.

    Args:
        models: float32 CPU networks in eval mode (``load_liveportrait(weights_dir)``).
        out_dir: target folder; its parent is created if missing.
        opset: ONNX opset, at least 20 (5-D GridSample).
        overwrite: replace an existing ``out_dir`` (only once the new export is complete).

    Returns:
        ``out_dir`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: ``opset`` below 20, or networks not float32/CPU/eval.
        UserError: ``out_dir`` exists and ``overwrite`` is off.
        DependencyError: onnx or onnxscript is not installed.

    Examples:
        >>> export_onnx(load_liveportrait("weights"), "liveportrait-onnx")  # doctest: +SKIP
    """
    onnx, onnxscript = _require_export_packages()
    if opset < MIN_OPSET:
        raise ValueError(f"opset {opset} is too old: the warping module's 5-D GridSample needs opset >= 20")
    out = Path(out_dir).expanduser().absolute()  # absolute: '.' has no name to put a sibling beside
    if out.exists() and not overwrite:
        raise UserError("already exists (choose a new folder, or overwrite)", out)
    _check_models(models)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{secrets.token_hex(4)}")
    tmp.mkdir()
    try:
        _write_export(models, tmp, opset, _manifest_header(opset, onnx, onnxscript))
        _move_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_export(models: LivePortraitModels, folder: Path, opset: int, header: dict[str, Any]) -> None:
    """Export every network into ``folder``, then write the manifest (``header`` + the networks)."""
    networks = {}
    for net in NETWORKS:
        logger.info("exporting %s (opset %d)", net.name, opset)
        networks[net.name] = _export_network(models, net, folder / net.file, opset)
    write_manifest(folder, header, networks)


def _manifest_header(opset: int, onnx: Any, onnxscript: Any) -> dict[str, Any]:
    """How this export is made: the manifest fields between the format and the networks."""
    from vivify import __version__  # noqa: PLC0415 - avoid a cycle at import time

    return {
        "vivify_version": __version__,
        "opset": opset,
        "exporter": "torch.onnx.export(dynamo=True)",
        "torch_version": torch.__version__,
        "onnx_version": onnx.__version__,
        "onnxscript_version": onnxscript.__version__,
        "dtype": "float32",
        "dynamic_axes": {"batch": 0},
    }


def _move_into_place(tmp: Path, out: Path) -> None:
    """Rename the finished ``tmp`` folder to ``out``, replacing an old ``out`` only after that worked."""
    if not out.exists():
        os.rename(tmp, out)
        return
    old = out.with_name(f".{out.name}.old-{secrets.token_hex(4)}")
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except BaseException:
        os.rename(old, out)
        raise
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink(missing_ok=True)
