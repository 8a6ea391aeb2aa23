"""The ONNX export folder format: its layout, its ``manifest.json``, and checks against it.

The exporter (``vivify export onnx``) writes this format and :mod:`vivify.runtime.onnx_models` reads
it; both take the network table and the manifest helpers from here.

Folder layout (one self-contained ``.onnx`` file per network, weights inside the file: the largest,
the SPADE generator, is ~220 MB, far below protobuf's 2 GB limit)::

    DIR/
      manifest.json                                     versions, opset, sha256, I/O names and shapes
      appearance_feature_extractor.onnx                 image (B,3,256,256) -> feature_3d (B,32,16,64,64)
      motion_extractor.onnx                             image -> pitch, yaw, roll, t, exp, scale, kp
      warping_module.onnx                               feature_3d, kp_driving, kp_source
                                                        -> out, occlusion_map, deformation, warped, mask
      spade_generator.onnx                              feature (B,256,64,64) -> image (B,3,512,512)
      stitching_retargeting_module.stitching.onnx       x (B,126) -> y (B,65)
      stitching_retargeting_module.lip.onnx             x (B,65) -> y (B,63)
      stitching_retargeting_module.eye.onnx             x (B,66) -> y (B,63)

Every input and output has a dynamic leading axis ``batch``; the other axes are fixed at the
official network shapes. Output names equal the field names of :class:`MotionExtractorOutput`,
:class:`WarpingOutput` and :class:`DenseMotionOutput`, so :mod:`vivify.runtime.onnx_models` can
rebuild the same typed outputs.

The manifest records ``format`` and ``format_version`` first, then how the export was made
(versions, opset, dtype, dynamic axes), then ``networks``: per network its ``file``, ``sha256``,
``bytes`` and its ``inputs`` / ``outputs`` as ``{"name", "shape", "dtype"}``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vivify.errors import InputError

MANIFEST_NAME = "manifest.json"
FORMAT = "vivify-liveportrait-onnx"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class OnnxNetwork:
    """One exported network: where it lives in :class:`LivePortraitModels` and its I/O.

    Attributes:
        name: attribute path in :class:`LivePortraitModels` (``"stitching_retargeting_module.lip"``).
        inputs: ONNX input names, in call order.
        input_shapes: per-sample input shapes (the batch axis left out).
        outputs: ONNX output names (field names of the network's output type).
    """

    name: str
    inputs: tuple[str, ...]
    input_shapes: tuple[tuple[int, ...], ...]
    outputs: tuple[str, ...]

    @property
    def file(self) -> str:
        return f"{self.name}.onnx"


MOTION_OUTPUTS = ("pitch", "yaw", "roll", "t", "exp", "scale", "kp")
WARPING_OUTPUTS = ("out", "occlusion_map", "deformation", "warped", "mask")

NETWORKS: tuple[OnnxNetwork, ...] = (
    OnnxNetwork("appearance_feature_extractor", ("image",), ((3, 256, 256),), ("feature_3d",)),
    OnnxNetwork("motion_extractor", ("image",), ((3, 256, 256),), MOTION_OUTPUTS),
    OnnxNetwork(
        "warping_module",
        ("feature_3d", "kp_driving", "kp_source"),
        ((32, 16, 64, 64), (21, 3), (21, 3)),
        WARPING_OUTPUTS,
    ),
    OnnxNetwork("spade_generator", ("feature",), ((256, 64, 64),), ("image",)),
    OnnxNetwork("stitching_retargeting_module.stitching", ("x",), ((126,),), ("y",)),
    OnnxNetwork("stitching_retargeting_module.lip", ("x",), ((65,),), ("y",)),
    OnnxNetwork("stitching_retargeting_module.eye", ("x",), ((66,),), ("y",)),
)


def sha256_file(path: str | Path, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file, read in 4 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------- writing


def network_entry(net: OnnxNetwork, path: Path, inputs: list[dict], outputs: list[dict]) -> dict:
    """The manifest entry of ``net``, exported to ``path`` with the described ``inputs``/``outputs``."""
    return {
        "file": net.file,
        "sha256": sha256_file(path),
        "bytes": path.stat().st_size,
        "inputs": inputs,
        "outputs": outputs,
    }


def write_manifest(folder: Path, header: dict[str, Any], networks: dict[str, dict]) -> Path:
    """Write ``folder/manifest.json``: the format and its version, ``header``, then ``networks``.

    Args:
        folder: the export folder.
        header: how the export was made (versions, opset, dtype, dynamic axes), in file order.
        networks: network name -> :func:`network_entry`.

    Returns:
        The manifest's path.
    """
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, **header, "networks": networks}
    path = folder / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path


# ---------------------------------------------------------------- reading


def read_manifest(folder: Path) -> dict:
    """The folder's manifest, checked for format, version and the seven networks' I/O names.

    Raises:
        InputError: no such folder, no or unreadable manifest, another format or version, or a
            network missing or laid out differently from :data:`NETWORKS`.
    """
    path = folder / MANIFEST_NAME
    if not folder.is_dir():
        raise InputError("no such folder (write an ONNX export with `vivify export onnx`)", folder)
    if not path.is_file():
        raise InputError(f"not an ONNX export: no {MANIFEST_NAME} (run `vivify export onnx`)", folder)
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"unreadable manifest ({exc})", path) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError(f"not a vivify LivePortrait ONNX manifest (format {FORMAT!r} expected)", path)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise InputError(
            f"format version {manifest.get('format_version')!r}, this vivify reads {FORMAT_VERSION}: "
            "export again with this version",
            path,
        )
    networks = manifest.get("networks")
    if not isinstance(networks, dict):
        raise InputError("manifest has no 'networks' table", path)
    for net in NETWORKS:
        entry = networks.get(net.name)
        if not isinstance(entry, dict):
            raise InputError(f"manifest lacks the network {net.name}", path)
        names = (
            [i.get("name") for i in entry.get("inputs", [])],
            [o.get("name") for o in entry.get("outputs", [])],
        )
        if entry.get("file") != net.file or names != (list(net.inputs), list(net.outputs)):
            raise InputError(f"manifest entry of {net.name} does not match this vivify's layout", path)
    return manifest


def check_file(path: Path, entry: dict | None) -> None:
    """``path`` exists and, given its manifest ``entry``, has the recorded sha256.

    Raises:
        InputError: the file is missing or its sha256 differs from ``entry``'s.
    """
    if not path.is_file():
        raise InputError("missing from the ONNX export: export it again", path)
    if entry is not None and sha256_file(path) != entry.get("sha256"):
        raise InputError(f"sha256 differs from {MANIFEST_NAME}: corrupt or replaced, export again", path)
