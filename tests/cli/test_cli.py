import json
import subprocess
import sys
from pathlib import Path

import pytest

from vivify import __version__
from vivify.cli.main import main
from vivify.io import probe_video


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_and_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "inspect" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--version"])
    assert __version__ in capsys.readouterr().out


def test_console_script_is_installed(tmp_path):
    script = Path(sys.executable).with_name("vivify")
    assert script.exists()
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == f"vivify {__version__}"
    proc = subprocess.run(
        [str(script), "inspect", str(tmp_path / "nope.png")], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"vivify: error: {tmp_path / 'nope.png'}: file not found"


def test_inspect_image(capsys, shared_data):
    code, out, err = run(capsys, "inspect", str(shared_data / "portraits" / "s9.jpg"))
    assert code == 0, err
    assert "1 face(s)" in out and "478 landmarks" in out


def test_inspect_video_json(capsys, shared_data):
    path = str(shared_data / "driving" / "d9.mp4")
    code, out, _ = run(capsys, "inspect", "--json", "--max-frames", "10", path)
    assert code == 0
    report = json.loads(out)
    assert report["kind"] == "video"
    assert report["frames_inspected"] == 10 and report["frames_with_face"] == 10
    assert (report["info"]["width"], report["info"]["height"]) == (480, 480)
    assert report["info"]["sample_aspect_ratio"] == "15/16"


def test_inspect_image_without_face(capsys, tmp_path):
    import numpy as np

    from vivify.io import save_image

    path = tmp_path / "wall.png"
    save_image(path, np.full((64, 64, 3), 120, np.uint8))
    code, out, _ = run(capsys, "inspect", str(path))
    assert code == 0 and "0 face(s)" in out and "no face found" in out


@pytest.mark.parametrize(
    "make,problem",
    [
        (lambda p: None, "not found"),
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_text("this is not a video\n" * 50), ""),
    ],
)
def test_bad_input_is_one_line_exit_2(capsys, tmp_path, make, problem):
    path = tmp_path / "clip.mp4"
    make(path)
    code, out, err = run(capsys, "inspect", str(path))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and problem in lines[0]
    assert "Traceback" not in err


def test_usage_errors_exit_2(capsys):
    code, _, err = run(capsys, "inspect")
    assert code == 2 and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and "invalid choice" in err


def test_unexpected_failure_exit_1(capsys, monkeypatch, shared_data):
    import vivify.inspection as api

    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(api, "inspect_media", boom)
    path = str(shared_data / "portraits" / "s9.jpg")
    code, _, err = run(capsys, "inspect", path)
    assert code == 1 and "kaboom" in err and "Traceback" not in err
    code, _, err = run(capsys, "--debug", "inspect", path)
    assert code == 1 and "Traceback" in err


def test_missing_optional_package_is_one_line(capsys, monkeypatch, tmp_path, shared_data):
    import vivify.runtime.onnx_models as ort_models
    from vivify.errors import DependencyError

    def missing():
        raise DependencyError("running ONNX networks needs onnxruntime: pip install 'vivify[onnx]'")

    monkeypatch.setattr(ort_models, "_onnxruntime", missing)
    src, drv = shared_data / "portraits" / "s0.jpg", shared_data / "driving" / "d0.mp4"
    code, _, err = run(capsys, "animate", "--onnx", str(tmp_path), "-s", str(src), "-d", str(drv), "-o",
                       str(tmp_path / "o.mp4"))  # fmt: skip
    assert code == 1 and "pip install 'vivify[onnx]'" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_demo_and_animate_commands(capsys, tmp_path, shared_data):
    out_path = tmp_path / "demo.mp4"
    code, out, err = run(capsys, "demo", "-o", str(out_path))
    assert code == 0, err
    assert str(out_path) in out and probe_video(out_path).n_frames == 150
    assert [p.name for p in tmp_path.iterdir()] == ["demo.mp4"]  # no temp files left
    anim = tmp_path / "a.mp4"
    src, drv = shared_data / "portraits" / "s5.jpg", shared_data / "driving" / "d3.mp4"
    code, out, err = run(
        capsys, "animate", "-s", str(src), "-d", str(drv), "-o", str(anim), "--max-frames", "5"
    )
    assert code == 0, err
    assert f"wrote {anim}" in out and probe_video(anim).n_frames == 5
    rough = tmp_path / "rough.mp4"  # --crf and --preset reach the encoder; --smooth runs
    code, out, err = run(capsys, "animate", "-s", str(src), "-d", str(drv), "-o", str(rough), "--max-frames",
                         "5", "--crf", "45", "--preset", "ultrafast", "--smooth", "1e-4")  # fmt: skip
    assert code == 0, err
    assert probe_video(rough).n_frames == 5 and rough.stat().st_size < anim.stat().st_size / 2
    code, _, err = run(capsys, "animate", "-s", "nope.jpg", "-d", str(anim), "-o", str(tmp_path / "x.mp4"))
    assert code == 2 and err.strip() == "vivify: error: nope.jpg: file not found"
    tpl = tmp_path / "m.npz"
    code, out, _ = run(
        capsys, "template", str(shared_data / "driving" / "d0.mp4"), "-o", str(tpl), "--max-frames", "8"
    )
    assert code == 0 and "8 frames" in out and tpl.exists()


def test_weights_check_reports_missing_folder(capsys, tmp_path):
    code, out, err = run(capsys, "weights", "check", str(tmp_path))
    assert code == 2
    assert out.count("PROBLEM") == 5 and "missing" in out
    assert err.strip() == f"vivify: error: {tmp_path}: 5 of 5 weight files have problems"


def test_bad_output_names_and_counts_are_user_errors(capsys, tmp_path, shared_data):
    code, _, err = run(capsys, "demo", "-o", str(tmp_path / "out.txt"))
    assert code == 2 and "output must be a video file" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "inspect", "--max-frames", "-1", str(shared_data / "driving" / "d0.mp4"))
    assert code == 2 and "must be within 1.." in err
    src, drv = shared_data / "portraits" / "s0.jpg", shared_data / "driving" / "d0.mp4"
    code, _, err = run(capsys, "animate", "-s", str(src), "-d", str(drv), "-o", str(tmp_path / "o.mp4"),
                       "--smooth", "-1")  # fmt: skip
    assert code == 2 and "--smooth" in err and "must be within 0..1" in err
    code, _, err = run(capsys, "animate", "-s", str(src), "-d", str(drv), "-o", str(tmp_path / "o.mp4"),
                       "--threads", "0")  # fmt: skip
    assert code == 2 and "--threads" in err and "must be within 1..1024" in err
    code, _, err = run(
        capsys, "template", str(shared_data / "driving" / "d0.mp4"), "-o", str(tmp_path / "m.pkl")
    )
    assert code == 2 and ".npz" in err
