"""OnnxLivePortrait's checks of an export folder and its tensor plumbing, without a real export.

The real networks (export, numerical agreement, corrupt files) are tested in tests/export/test_onnx.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from vivify.errors import DependencyError, InputError  # noqa: E402 - after the optional-package skips
from vivify.runtime import OnnxLivePortrait  # noqa: E402
from vivify.runtime.onnx_manifest import FORMAT, FORMAT_VERSION, MANIFEST_NAME, NETWORKS, OnnxNetwork  # noqa: E402
from vivify.runtime.onnx_models import OnnxTensorNetwork  # noqa: E402


def _manifest() -> dict:
    """A well-formed manifest of the current layout (sha256 values are placeholders)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "opset": 20,
        "networks": {
            net.name: {
                "file": net.file,
                "sha256": "0" * 64,
                "inputs": [{"name": n} for n in net.inputs],
                "outputs": [{"name": n} for n in net.outputs],
            }
            for net in NETWORKS
        },
    }


def _folder(tmp_path, manifest: dict | str | None) -> object:
    folder = tmp_path / "export"
    folder.mkdir()
    if manifest is not None:
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        (folder / MANIFEST_NAME).write_text(text)
    return folder


def _error(folder, match: str, **kwargs) -> InputError:
    with pytest.raises(InputError, match=match) as exc:
        OnnxLivePortrait(folder, **kwargs)
    assert "\n" not in str(exc.value) and str(exc.value.path) in str(exc.value)
    return exc.value


def test_not_an_export(tmp_path):
    assert _error(tmp_path / "missing", "no such folder").path == tmp_path / "missing"
    assert _error(_folder(tmp_path, None), "no manifest.json").path == tmp_path / "export"


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda m: "{ truncated", "unreadable manifest"),
        (lambda m: {**m, "format": "something-else"}, "not a vivify LivePortrait ONNX manifest"),
        (lambda m: {**m, "format_version": FORMAT_VERSION + 1}, "format version 2"),
        (lambda m: {k: v for k, v in m.items() if k != "networks"}, "no 'networks' table"),
        (
            lambda m: {**m, "networks": {k: v for k, v in m["networks"].items() if k != "spade_generator"}},
            "lacks the network spade_generator",
        ),
        (
            lambda m: {**m, "networks": {**m["networks"], "motion_extractor": {"file": "m.onnx"}}},
            "motion_extractor does not match",
        ),
    ],
)
def test_bad_manifest(tmp_path, change, match):
    err = _error(_folder(tmp_path, change(_manifest())), match)
    assert err.path == tmp_path / "export" / MANIFEST_NAME


def test_missing_files_are_found_before_loading(tmp_path):
    folder = _folder(tmp_path, _manifest())
    err = _error(folder, "missing from the ONNX export", verify=False)
    assert err.path == folder / NETWORKS[0].file


def test_providers(tmp_path):
    folder = _folder(tmp_path, _manifest())
    with pytest.raises(ValueError, match="provider"):
        OnnxLivePortrait(folder, provider="tpu")
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        with pytest.raises(DependencyError, match="CUDAExecutionProvider"):
            OnnxLivePortrait(folder, provider="cuda")


def test_tensor_plumbing(tmp_path):
    """Torch tensors of any layout/dtype go in; CPU float32 tensors come out, by output name."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "identity",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 10
    path = tmp_path / "identity.onnx"
    onnx.save(model, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    net = OnnxTensorNetwork(session, OnnxNetwork("identity", ("x",), ((3,),), ("y",)))
    x = torch.arange(3, dtype=torch.float64)[None].expand(4, -1)  # expanded (stride 0), float64
    with torch.inference_mode():
        y = net(x)
    assert y.dtype == torch.float32 and y.device.type == "cpu" and y.shape == (4, 3)
    np.testing.assert_array_equal(y.numpy(), np.tile(np.arange(3, dtype=np.float32), (4, 1)))
    probe = next(net.parameters())
    assert probe.dtype == torch.float32 and probe.device.type == "cpu"
