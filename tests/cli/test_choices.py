"""The CLI's light copies of fixed choices equal the constants where they are defined."""

from vivify.backends import CHOICES
from vivify.backends.speed import PRECISIONS
from vivify.cli import choices
from vivify.export.onnx import DEFAULT_OPSET, MIN_OPSET
from vivify.io.verify import VERIFY_FRAMES


def test_cli_choices_match_their_definitions():
    assert choices.BACKENDS == CHOICES
    assert choices.PRECISIONS == PRECISIONS
    assert (choices.ONNX_OPSET, choices.ONNX_MIN_OPSET) == (DEFAULT_OPSET, MIN_OPSET)
    assert choices.VERIFY_FRAMES == VERIFY_FRAMES
