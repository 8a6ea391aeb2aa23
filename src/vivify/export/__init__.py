"""Export of the LivePortrait networks to other runtimes (ONNX)."""

from vivify.export.onnx import DEFAULT_OPSET, export_onnx
from vivify.runtime.onnx_manifest import MANIFEST_NAME, NETWORKS, OnnxNetwork

__all__ = ["DEFAULT_OPSET", "MANIFEST_NAME", "NETWORKS", "OnnxNetwork", "export_onnx"]
