"""Other runtimes for the LivePortrait networks (onnxruntime), drop-ins for the torch modules."""

from vivify.runtime.onnx_models import OnnxLivePortrait, OnnxNetworkSession

__all__ = ["OnnxLivePortrait", "OnnxNetworkSession"]
