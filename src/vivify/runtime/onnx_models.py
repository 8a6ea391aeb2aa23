"""The LivePortrait networks run by onnxruntime from a folder written by ``export_onnx``.

:class:`OnnxLivePortrait` has the attributes, call signatures and return types of
:class:`~vivify.weights.build.LivePortraitModels`, taking and returning torch CPU float32 tensors,
so the neural backend runs on it unchanged::

    backend = NeuralBackend(models=OnnxLivePortrait("liveportrait-onnx"))

The folder is checked when loaded: its ``manifest.json`` must be a vivify export of the expected
format, every file must be present with the sha256 the manifest records, and every session must
have the expected input and output names; otherwise an :class:`~vivify.errors.InputError` names the
folder or file. The format and the manifest and file checks are in :mod:`vivify.runtime.onnx_manifest`.

Speed on a 2-core CPU (benchmarks/bench_onnx.py, batch 1, a quiet run of a shared machine):
onnxruntime runs M 1.6x and G 1.4x as fast as torch eager, F as fast and W (3-D convolutions)
at 0.9x; a frame (M + W + G) takes 7.0 s instead of 8.8 s.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from vivify.errors import DependencyError, InputError
from vivify.nn.dense_motion import DenseMotionOutput
from vivify.nn.motion_encoder import MotionExtractorOutput
from vivify.nn.warping import WarpingOutput
from vivify.runtime.onnx_manifest import NETWORKS, OnnxNetwork, check_file, read_manifest
from vivify.runtime.threads import available_cores

logger = logging.getLogger(__name__)

PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


def _onnxruntime() -> Any:
    try:
        import onnxruntime  # noqa: PLC0415 - optional extra
    except ImportError as exc:
        raise DependencyError("running ONNX networks needs onnxruntime: pip install 'vivify[onnx]'") from exc
    return onnxruntime


def _numpy(x: Tensor) -> np.ndarray:
    """A contiguous float32 numpy view of ``x`` on the CPU (expanded tensors are materialised)."""
    return np.ascontiguousarray(x.detach().to(device="cpu", dtype=torch.float32).numpy())


class OnnxNetworkSession:
    """One onnxruntime session with the I/O names of an exported network.

    Args:
        session: the loaded ``onnxruntime.InferenceSession``.
        network: the network's layout (input and output names).
    """

    def __init__(self, session: Any, network: OnnxNetwork) -> None:
        self.session = session
        self.network = network

    def run(self, *inputs: Tensor) -> dict[str, Tensor]:
        """Run on torch tensors in :attr:`OnnxNetwork.inputs` order; outputs by name, CPU float32."""
        feeds = {name: _numpy(x) for name, x in zip(self.network.inputs, inputs, strict=True)}
        arrays = self.session.run(list(self.network.outputs), feeds)
        return {name: torch.from_numpy(a) for name, a in zip(self.network.outputs, arrays, strict=True)}

    def parameters(self) -> Iterator[Tensor]:
        """One empty CPU float32 tensor: where callers probe a network's device and dtype."""
        yield torch.empty(0, dtype=torch.float32)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.network.name}, providers={self.session.get_providers()})"


class OnnxTensorNetwork(OnnxNetworkSession):
    """A network with one output tensor: F, G and the three MLPs, ``(B, ...) -> (B, ...)``."""

    def __call__(self, *inputs: Tensor) -> Tensor:
        return self.run(*inputs)[self.network.outputs[0]]


class OnnxMotionExtractor(OnnxNetworkSession):
    """M: (B, 3, 256, 256) in [0, 1] -> :class:`MotionExtractorOutput` (raw head outputs)."""

    def __call__(self, x: Tensor) -> MotionExtractorOutput:
        return MotionExtractorOutput(**self.run(x))


class OnnxWarpingModule(OnnxNetworkSession):
    """W: ``f_s`` (B, 32, 16, 64, 64), ``x_d``, ``x_s`` (B, 21, 3) -> :class:`WarpingOutput`.

    The dense motion output carries ``deformation``, ``occlusion_map`` and ``mask``; the optional
    intermediates of the torch module are not exported.
    """

    def __call__(
        self,
        feature_3d: Tensor,
        kp_driving: Tensor,
        kp_source: Tensor,
        return_intermediates: bool = False,
    ) -> WarpingOutput:
        if return_intermediates:
            raise ValueError("the ONNX warping module has no intermediates: use the torch networks")
        out = self.run(feature_3d, kp_driving, kp_source)
        motion = DenseMotionOutput(
            deformation=out["deformation"], occlusion_map=out["occlusion_map"], mask=out["mask"]
        )
        return WarpingOutput(
            out=out["out"],
            occlusion_map=out["occlusion_map"],
            deformation=out["deformation"],
            warped=out["warped"],
            dense_motion=motion,
        )


class OnnxStitchingRetargeting:
    """The three MLPs as ``.stitching`` (B, 126) -> (B, 65), ``.lip`` (B, 65) -> (B, 63) and
    ``.eye`` (B, 66) -> (B, 63)."""

    def __init__(self, stitching: OnnxTensorNetwork, lip: OnnxTensorNetwork, eye: OnnxTensorNetwork) -> None:
        self.stitching, self.lip, self.eye = stitching, lip, eye


_WRAPPERS = {"motion_extractor": OnnxMotionExtractor, "warping_module": OnnxWarpingModule}


class OnnxLivePortrait:
    """The five LivePortrait networks as onnxruntime sessions, a drop-in for ``LivePortraitModels``.

    Args:
        folder: an export written by ``export_onnx`` (``vivify export onnx``).
        provider: ``"cpu"`` (CPUExecutionProvider) or ``"cuda"`` (CUDAExecutionProvider, with the
            CPU provider for any node CUDA lacks; needs the onnxruntime-gpu package).
        threads: intra-op threads; default all cores this process may use.
        verify: check every file's sha256 against the manifest (reads the ~520 MB once, ~1 s).

    Attributes:
        appearance_feature_extractor: (B, 3, 256, 256) -> (B, 32, 16, 64, 64).
        motion_extractor: (B, 3, 256, 256) -> MotionExtractorOutput.
        warping_module: (f_s, kp_driving, kp_source) -> WarpingOutput.
        spade_generator: (B, 256, 64, 64) -> (B, 3, 512, 512).
        stitching_retargeting_module: ``.stitching``, ``.lip``, ``.eye``.
        manifest: the folder's manifest.json.

    Raises:
        InputError: the folder is not a complete, intact export of the expected format.
        DependencyError: onnxruntime (or its CUDA provider, when asked for) is not installed.

    Examples:
        >>> models = OnnxLivePortrait("liveportrait-onnx")  # doctest: +SKIP
        >>> backend = NeuralBackend(models=models)  # doctest: +SKIP
    """

    def __init__(
        self,
        folder: str | Path,
        provider: str = "cpu",
        threads: int | None = None,
        verify: bool = True,
    ) -> None:
        ort = _onnxruntime()
        self.folder = Path(folder).expanduser()
        self.manifest = read_manifest(self.folder)
        providers = _providers(ort, provider)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or available_cores()
        options.log_severity_level = 3  # errors only
        for net in NETWORKS:  # every file first: a broken export fails before the slow session loads
            check_file(self.folder / net.file, self.manifest["networks"][net.name] if verify else None)
        nets: dict[str, OnnxNetworkSession] = {}
        for net in NETWORKS:
            path = self.folder / net.file
            try:
                session = ort.InferenceSession(str(path), options, providers=providers)
            except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own untyped errors
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise InputError(f"onnxruntime cannot load it ({first[:200]})", path) from exc
            if session.get_providers()[0] != providers[0]:  # onnxruntime falls back to the CPU silently
                raise DependencyError(f"onnxruntime could not start {providers[0]} for {path.name}")
            _check_io(session, net, path)
            nets[net.name] = _WRAPPERS.get(net.name, OnnxTensorNetwork)(session, net)
        self.appearance_feature_extractor = nets["appearance_feature_extractor"]
        self.motion_extractor = nets["motion_extractor"]
        self.warping_module = nets["warping_module"]
        self.spade_generator = nets["spade_generator"]
        self.stitching_retargeting_module = OnnxStitchingRetargeting(
            nets["stitching_retargeting_module.stitching"],
            nets["stitching_retargeting_module.lip"],
            nets["stitching_retargeting_module.eye"],
        )
        logger.info("loaded the ONNX networks from %s on %s", self.folder, providers[0])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.folder)!r})"


def _providers(ort: Any, provider: str) -> list[str]:
    if provider not in PROVIDERS:
        raise ValueError(f"provider must be one of {sorted(PROVIDERS)}, got {provider!r}")
    if provider == "cpu":
        return [PROVIDERS["cpu"]]
    if PROVIDERS[provider] not in ort.get_available_providers():
        raise DependencyError(
            f"onnxruntime {ort.__version__} has no {PROVIDERS[provider]} here (install onnxruntime-gpu "
            f"and the matching CUDA libraries); available: {', '.join(ort.get_available_providers())}"
        )
    return [PROVIDERS[provider], PROVIDERS["cpu"]]


def _check_io(session: Any, net: OnnxNetwork, path: Path) -> None:
    inputs = [i.name for i in session.get_inputs()]
    outputs = [o.name for o in session.get_outputs()]
    if inputs != list(net.inputs) or outputs != list(net.outputs):
        raise InputError(
            f"inputs {inputs} / outputs {outputs}, expected {list(net.inputs)} / {list(net.outputs)}", path
        )
