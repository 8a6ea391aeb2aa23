"""``vivify template import LIVEPORTRAIT.pkl -o motion.npz`` beside ``vivify template DRIVING``."""

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vivify.cli.main import main
from vivify.pipeline.templates import load_template


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


class _Touch:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_import_real_template(capsys, tmp_path, shared_data):
    out_path = tmp_path / "sub" / "d1.npz"
    code, out, err = run(
        capsys, "template", "import", str(shared_data / "templates" / "d1.pkl"), "-o", str(out_path)
    )
    assert code == 0, err
    assert out.strip().startswith(f"wrote {out_path}: 16 frames at 30 fps")
    t = load_template(out_path)
    assert t.landmarks is None and len(t) == 16 and t.fps == 30
    assert t.keypoints.exp.shape == (16, 21, 3) and t.keypoints.eye_ratio.shape == (16, 2)
    assert [p.name for p in out_path.parent.iterdir()] == ["d1.npz"]  # no temp files left


def test_import_max_frames(capsys, tmp_path, shared_data):
    out_path = tmp_path / "w.npz"
    pkl = str(shared_data / "templates" / "wink.pkl")
    code, out, err = run(capsys, "template", "import", pkl, "-o", str(out_path), "--max-frames", "5")
    assert code == 0, err
    assert "5 frames at 25 fps" in out and len(load_template(out_path)) == 5


def test_hostile_pickle_through_console_script(tmp_path):
    script = Path(sys.executable).with_name("vivify")
    marker, evil, out_path = tmp_path / "pwned", tmp_path / "evil.pkl", tmp_path / "m.npz"
    evil.write_bytes(pickle.dumps({"n_frames": 1, "motion": [_Touch(marker)]}, protocol=4))
    proc = subprocess.run(
        [str(script), "template", "import", str(evil), "-o", str(out_path)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith(f"vivify: error: {evil}: refused to load posix.system")
    assert not marker.exists() and not out_path.exists() and proc.stdout == ""


@pytest.mark.parametrize(
    "argv,problem",
    [
        (["template", "import", "-o", "m.npz"], "needs a LivePortrait .pkl file"),
        (
            ["template", "import", "missing.pkl", "-o", "m.npz"],
            "missing.pkl: LivePortrait template not found",
        ),
        (["template", "import", "x.pkl", "-o", "m.pkl"], "m.pkl: a motion template is written as .npz"),
        (["template", "clip.mp4", "x.pkl", "-o", "m.npz"], "unexpected argument 'x.pkl'"),
        (["template", "import", "a.pkl", "b.pkl", "-o", "m.npz"], "unrecognized arguments: b.pkl"),
    ],
)
def test_usage_errors_are_one_line_exit_2(capsys, tmp_path, monkeypatch, argv, problem):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and problem in lines[0], err
    assert not (tmp_path / "m.npz").exists()


def test_help_explains_both_forms(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["template", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "vivify template DRIVING -o motion.npz" in out
    assert "vivify template import LIVEPORTRAIT.pkl -o motion.npz" in out
    assert "restricted" in out


def test_recording_a_driving_video_still_works(capsys, tmp_path, shared_data):
    out_path = tmp_path / "m.npz"
    code, out, err = run(
        capsys, "template", str(shared_data / "driving" / "d0.mp4"), "-o", str(out_path), "--max-frames", "3"
    )
    assert code == 0, err
    assert out.startswith(f"wrote {out_path}: 3 frames")
    t = load_template(out_path)
    assert t.keypoints is None and t.landmarks.shape == (3, 478, 3) and np.isfinite(t.landmarks).all()
