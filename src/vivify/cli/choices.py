"""The fixed choices the command line offers that live in modules needing torch: light copies, so
that ``--help`` and usage errors answer at once. Each equals the constant named beside it
(tests/cli/test_choices.py keeps them equal). Formats come from :mod:`vivify.io.formats` and
regions from :mod:`vivify.motion.transfer_options`, which are light themselves."""

from __future__ import annotations

BACKENDS = ("auto", "mesh", "neural")  # vivify.backends.CHOICES
PRECISIONS = ("float32", "bfloat16", "float16")  # vivify.backends.speed.PRECISIONS
ONNX_OPSET, ONNX_MIN_OPSET = 20, 20  # vivify.export.onnx.DEFAULT_OPSET, MIN_OPSET
VERIFY_FRAMES = 250  # vivify.io.verify.VERIFY_FRAMES
