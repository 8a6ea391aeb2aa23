"""Export of the LivePortrait networks to other runtimes (ONNX)."""

from vivify.export.onnx import DEFAULT_OPSET, MANIFEST_NAME, NETWORKS, OnnxNetwork, export_onnx

__all__ = ["DEFAULT_OPSET", "MANIFEST_NAME", "NETWORKS", "OnnxNetwork", "export_onnx"]
