"""The fixed choices the command line offers, importable without torch, PyAV or OpenCV so that
``--help`` and usage errors answer at once. Each is the same as the constant named beside it,
where it is defined (tests/cli/test_choices.py keeps them equal)."""

from __future__ import annotations

BACKENDS = ("auto", "mesh", "neural")  # vivify.backends.CHOICES
PRECISIONS = ("float32", "bfloat16", "float16")  # vivify.backends.speed.PRECISIONS
REGIONS = ("all", "exp", "pose", "lips", "eyes")  # vivify.motion.transfer_options.REGIONS
DRIVING_OPTIONS = ("expression-friendly", "pose-friendly")  # vivify.motion.transfer_options
X264_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast",
    "medium", "slow", "slower", "veryslow", "placebo",
)  # fmt: skip  # vivify.io.video_writer.X264_PRESETS
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi"})  # vivify.io.video_reader
IMAGE_OUTPUTS = (".png", ".jpg", ".jpeg", ".webp")  # vivify.io.outputs.IMAGE_OUTPUTS
ONNX_OPSET, ONNX_MIN_OPSET = 20, 20  # vivify.export.onnx.DEFAULT_OPSET, MIN_OPSET
VERIFY_FRAMES = 250  # vivify.io.verify.VERIFY_FRAMES
