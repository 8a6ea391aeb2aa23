"""Fast start-up: --help and usage errors answer without loading torch, PyAV, OpenCV or MediaPipe."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "av", "cv2", "mediapipe", "scipy", "PIL", "skimage", "numpy")

PROBE = f"""
import json, sys
HEAVY = {HEAVY!r}
from vivify.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:  # --help
    code = exc.code
print(json.dumps({{"code": code, "loaded": sorted(m for m in HEAVY if m in sys.modules)}}))
"""


@pytest.mark.parametrize(
    "argv,code",
    [
        (["--help"], 0),
        (["--version"], 0),
        (["animate", "--help"], 0),
        (["edit", "--help"], 0),
        (["animate", "-s", "a.jpg", "-d", "b.mp4", "-o", "c.mp4", "--fps", "-5"], 2),
        (["animate", "-s", "a.jpg", "-d", "b.mp4", "-o", "c.txt"], 2),
        (["animate", "-s", "missing.jpg", "-d", "b.mp4", "-o", "c.mp4"], 2),
        (["edit", "-s", "a.jpg", "-o", "b.png", "--smile", "9"], 2),
        (["demo", "-o", "demo.txt"], 2),
        (["export", "onnx", "out", "--opset", "3"], 2),
        (["template", "clip.mp4", "-o", "m.pkl"], 2),
        (["verify"], 2),
        (["bogus"], 2),
    ],
)
def test_help_and_usage_errors_load_no_heavy_module(tmp_path, argv, code):
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, cwd=tmp_path)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == code, done.stderr
    assert result["loaded"] == [], f"{argv} loaded {result['loaded']}"
