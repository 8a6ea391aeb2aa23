"""The CLI's light copies of fixed choices equal the constants where they are defined."""

from vivify.backends import CHOICES
from vivify.backends.speed import PRECISIONS
from vivify.cli import choices
from vivify.export.onnx import DEFAULT_OPSET, MIN_OPSET
from vivify.io import VIDEO_EXTENSIONS, X264_PRESETS
from vivify.io.outputs import IMAGE_OUTPUTS
from vivify.io.verify import VERIFY_FRAMES
from vivify.motion.transfer_options import DRIVING_OPTIONS, REGIONS


def test_cli_choices_match_their_definitions():
    assert choices.BACKENDS == CHOICES
    assert choices.PRECISIONS == PRECISIONS
    assert choices.REGIONS == REGIONS and choices.DRIVING_OPTIONS == DRIVING_OPTIONS
    assert choices.X264_PRESETS == X264_PRESETS and choices.VIDEO_EXTENSIONS == VIDEO_EXTENSIONS
    assert choices.IMAGE_OUTPUTS == IMAGE_OUTPUTS
    assert (choices.ONNX_OPSET, choices.ONNX_MIN_OPSET) == (DEFAULT_OPSET, MIN_OPSET)
    assert choices.VERIFY_FRAMES == VERIFY_FRAMES
