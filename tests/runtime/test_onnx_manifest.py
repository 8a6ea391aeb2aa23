"""The ONNX export folder format: manifest round trip, entries and file checks (no onnx needed)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from vivify.errors import InputError
from vivify.runtime.onnx_manifest import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_NAME,
    NETWORKS,
    OnnxNetwork,
    check_file,
    network_entry,
    read_manifest,
    sha256_file,
    write_manifest,
)


def _io(names: tuple[str, ...]) -> list[dict]:
    return [{"name": n, "shape": ["batch", 3], "dtype": "float32"} for n in names]


def _export(folder: Path) -> dict[str, dict]:
    """Placeholder network files in ``folder`` and their manifest entries."""
    entries = {}
    for i, net in enumerate(NETWORKS):
        path = folder / net.file
        path.write_bytes(bytes([i]) * (i + 1))
        entries[net.name] = network_entry(net, path, _io(net.inputs), _io(net.outputs))
    return entries


def test_sha256_file_reads_in_chunks(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    data = bytes(range(256)) * 100
    path.write_bytes(data)
    assert sha256_file(path, chunk=1000) == sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_network_entry(tmp_path: Path) -> None:
    net = OnnxNetwork("stitching_retargeting_module.lip", ("x",), ((65,),), ("y",))
    path = tmp_path / net.file
    path.write_bytes(b"onnx bytes")
    entry = network_entry(net, path, _io(net.inputs), _io(net.outputs))
    assert net.file == "stitching_retargeting_module.lip.onnx"
    assert entry == {
        "file": net.file,
        "sha256": hashlib.sha256(b"onnx bytes").hexdigest(),
        "bytes": 10,
        "inputs": _io(("x",)),
        "outputs": _io(("y",)),
    }


def test_manifest_round_trip(tmp_path: Path) -> None:
    networks = _export(tmp_path)
    header = {"vivify_version": "0.0", "opset": 20, "dtype": "float32"}
    path = write_manifest(tmp_path, header, networks)
    assert path == tmp_path / MANIFEST_NAME and path.read_text().endswith("}\n")
    assert list(json.loads(path.read_text())) == ["format", "format_version", *header, "networks"]
    manifest = read_manifest(tmp_path)
    assert manifest == {"format": FORMAT, "format_version": FORMAT_VERSION, **header, "networks": networks}
    for net in NETWORKS:
        check_file(tmp_path / net.file, manifest["networks"][net.name])


def test_check_file(tmp_path: Path) -> None:
    entry = _export(tmp_path)[NETWORKS[0].name]
    path = tmp_path / NETWORKS[0].file
    check_file(path, entry)
    path.write_bytes(b"replaced")
    check_file(path, None)  # no entry: only presence is checked
    with pytest.raises(InputError, match="sha256 differs") as exc:
        check_file(path, entry)
    assert exc.value.path == path
    path.unlink()
    with pytest.raises(InputError, match="missing from the ONNX export"):
        check_file(path, None)
