"""Hostile and odd inputs, tried as a new user would, through the CLI.

Every case checks its exit code and its stderr (one line naming the option or file for a
mistake, never a traceback), that no input changed (hashes before and after) and that nothing
was left at or beside the output but the output itself when one is expected.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from vivify.cli.main import main

PORTRAIT, DRIVER = "portraits/s5.jpg", "driving/d0.mp4"


@dataclass(frozen=True)
class Case:
    """One command: ``{src}``, ``{drv}``, ``{in}`` (the inputs' folder), ``{tmp}`` (the output's,
    empty) and ``{out}`` (``{tmp}/out.mp4``) are filled in per test.

    ``writes``: the output file expected on success (None: nothing may appear).
    """

    argv: tuple[str, ...]
    code: int
    says: str  # a substring of stderr's first line ("" when stderr may be empty)
    writes: str | None = None
    lines: int | None = 1  # stderr lines (None: warnings allowed)
    env: dict[str, str] = field(default_factory=dict)


def case(cmd: str, code: int = 2, says: str = "", **kw) -> Case:
    return Case(tuple(cmd.split()), code, says, **kw)


A = "animate -s {src} -d {drv} --backend mesh"
CASES = {
    # nothing lost: an output that is an input, or that can't be written, is refused up front
    "out-is-driver": case("animate -s {src} -d {drv} -o {drv} --backend mesh", says="is also an input"),
    "out-is-source": case("animate -s {src} -d {drv} -o {src} --backend mesh", says="is also an input"),
    "edit-out-is-source": case("edit -s {src} -o {src} --smile 1", says="is also an input"),
    "out-symlink-to-driver": case(A + " -o {in}/link.mp4", says="is also an input"),
    "out-hardlink-to-driver": case(A + " -o {in}/hard.mp4", says="is also an input"),
    "out-same-by-dots": case(A + " -o {in}/sub/../clip.mp4", says="is also an input"),
    "template-out-is-input": case("template {in}/m.npz -o {in}/m.npz", says="is also an input"),
    "out-in-proc": case(A + " -o /proc/vivify-out.mp4", says="cannot write here"),
    "out-under-a-file": case(A + " -o {in}/notes.txt/out.mp4", says="is not a folder"),
    "out-is-folder": case(A + " -o {in}/folder.mp4", says="is a folder"),
    "out-extension": case(A + " -o {tmp}/out.txt", says="output must be a video file"),
    "image-out-video-driver": case(A + " -o {tmp}/out.png", says="makes a video"),
    "edit-video-out": case("edit -s {src} -o {tmp}/out.mp4", says="output must be an image"),
    "template-out-ext": case("template {drv} -o {tmp}/m.pkl", says=".npz"),
    # one line for every number out of range
    "fps-negative": case(A + " -o {out} --fps -5", says="--fps"),
    "fps-zero": case(A + " -o {out} --fps 0", says="--fps"),
    "fps-nan": case(A + " -o {out} --fps nan", says="--fps"),
    "fps-inf": case(A + " -o {out} --fps inf", says="--fps"),
    "fps-absurd": case(A + " -o {out} --fps 5000", says="--fps"),
    "fps-text": case(A + " -o {out} --fps fast", says="--fps"),
    "multiplier-nan": case(A + " -o {out} --multiplier nan", says="--multiplier"),
    "multiplier-huge": case(A + " -o {out} --multiplier 1e6", says="--multiplier"),
    "multiplier-negative": case(A + " -o {out} --multiplier -1", says="--multiplier"),
    "crf-out-of-range": case(A + " -o {out} --crf 99", says="--crf"),
    "smooth-negative": case(A + " -o {out} --smooth -1", says="--smooth"),
    "smooth-nan": case(A + " -o {out} --smooth nan", says="--smooth"),
    "max-frames-zero": case(A + " -o {out} --max-frames 0", says="--max-frames"),
    "batch-zero": case(A + " -o {out} --batch 0", says="--batch"),
    "threads-zero": case(A + " -o {out} --threads 0", says="--threads"),
    "reference-negative": case(A + " -o {out} --reference-frame -3", says="--reference-frame"),
    "reference-word": case(A + " -o {out} --reference-frame middle", says="--reference-frame"),
    "face-index-negative": case(A + " -o {out} --face-index -1", says="--face-index"),
    "retarget-ratio": case(A + " -o {out} --retarget-eyes 2", says="--retarget-eyes"),
    "edit-control-range": case("edit -s {src} -o {tmp}/e.png --smile 99", says="--smile"),
    "edit-control-nan": case("edit -s {src} -o {tmp}/e.png --yaw nan", says="--yaw"),
    "preset-unknown": case(A + " -o {out} --preset turbo", says="--preset"),
    "fast-and-precision": case(A + " -o {out} --fast --precision float16", says="not both"),
    # inputs that are missing, empty or not what they claim
    "source-missing": case("animate -s {in}/nope.jpg -d {drv} -o {out}", says="file not found"),
    "source-empty": case("animate -s {in}/empty.jpg -d {drv} -o {out}", says="empty"),
    "source-folder": case("animate -s {in}/folder.mp4 -d {drv} -o {out}", says="folder"),
    "source-text": case("animate -s {in}/text.jpg -d {drv} -o {out} --backend mesh", says="text.jpg"),
    "driver-garbage": case("animate -s {src} -d {in}/garbage.mp4 -o {out} --backend mesh", says="garbage"),
    "source-no-face": case("animate -s {in}/wall.png -d {drv} -o {out} --backend mesh", says="no face"),
    "edit-no-face": case("edit -s {in}/wall.png -o {tmp}/e.png --backend mesh", says="no face"),
    "driver-pickle-attack": case("animate -s {src} -d {in}/evil.pkl -o {out} --backend mesh",
                                 says="evil.pkl"),
    "template-import-attack": case("template import {in}/evil.pkl -o {tmp}/m2.npz", says="evil.pkl"),
    "template-import-missing": case("template import -o {tmp}/m2.npz", says="needs a LivePortrait"),
    "inspect-missing": case("inspect {in}/nope.mp4", says="file not found"),
    "inspect-garbage": case("inspect {in}/garbage.mp4", says="garbage.mp4"),
    # usage
    "no-command": case("", says="", lines=None),
    "unknown-command": case("frobnicate", says="invalid choice"),
    "unknown-backend": case(A + " -o {out} --backend magic", says="--backend"),
    "unknown-option": case(A + " -o {out} --colour red", says="unrecognized"),
    "missing-output": case("animate -s {src} -d {drv}", says="-o/--output"),
    "device-bogus": case("animate -s {src} -d {drv} -o {out} --backend neural --weights {in}/w "
                         "--device toaster", says="toaster"),
    # weights
    "neural-without-weights": case("animate -s {src} -d {drv} -o {out} --backend neural --weights {in}/w",
                                   says="weights"),
    "weights-check-empty": case("weights check {in}/w", says="weight files have problems"),
    "weights-download-offline": case("weights download --dir {in}/w", says="cannot reach",
                                     env={"HF_ENDPOINT": "http://127.0.0.1:9"}),
    "export-existing-folder": case("export onnx {in}/folder.mp4", says="already exists"),
    # the missing-weights note waits until the backend matters: a missing file is reported alone
    "auto-missing-input-no-weights-note": case("animate -s {in}/nope.jpg -d {drv} -o {out}",
                                               says="file not found", env={"VIVIFY_WEIGHTS": "{in}/w"}),
    # odd but valid: exit 0, the output written, a warning when something is off
    "image-driver-gives-image": case("animate -s {src} -d {in}/still.jpg -o {tmp}/out.png --backend mesh",
                                     code=0, says="", writes="out.png", lines=0),
    "truncated-driver-warns": case("animate -s {src} -d {in}/cut.mp4 -o {out} --backend mesh",
                                   code=0, says="truncated", writes="out.mp4", lines=None),
    "absurd-fps-driver-warns": case("animate -s {src} -d {in}/fast.mp4 -o {out} --backend mesh",
                                    code=0, says="1950 fps", writes="out.mp4", lines=None),
    "fps-differs-says-why": case(A.replace("{drv}", "{in}/short.mp4") + " -o {out} --fps 50 --no-audio",
                                 code=0, says="not resampled", writes="out.mp4", lines=None),
}  # fmt: skip


class _EvilPayload:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/vivify-pwned",))


def _write_video(path: Path, frames: list[np.ndarray], rate) -> None:
    import av

    with av.open(str(path), "w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for rgb in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, shared_data) -> Path:
    """A folder of inputs shared by every case (each case checks none of them changes)."""
    from fractions import Fraction

    from vivify.io import VideoReader, load_image, save_image

    d = tmp_path_factory.mktemp("inputs")
    shutil.copy(shared_data / PORTRAIT, d / "face.jpg")
    shutil.copy(shared_data / DRIVER, d / "clip.mp4")
    (d / "sub").mkdir()
    (d / "link.mp4").symlink_to(d / "clip.mp4")
    os.link(d / "clip.mp4", d / "hard.mp4")
    (d / "notes.txt").write_text("a file, not a folder\n")
    (d / "folder.mp4").mkdir()
    (d / "empty.jpg").write_bytes(b"")
    (d / "text.jpg").write_text("not a picture\n" * 20)
    (d / "garbage.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
    save_image(d / "wall.png", np.full((96, 96, 3), 128, np.uint8))
    (d / "evil.pkl").write_bytes(pickle.dumps({"motion": _EvilPayload()}))
    (d / "w").mkdir()
    save_image(d / "still.jpg", load_image(shared_data / "driving" / "d12.jpg"))
    with VideoReader(shared_data / "driving" / "d20.mp4", max_frames=60) as reader:
        frames = [np.ascontiguousarray(f[::2, ::2]) for f in reader]
    _write_video(d / "whole.mp4", frames, 25)
    data = (d / "whole.mp4").read_bytes()
    (d / "cut.mp4").write_bytes(data[: len(data) // 3])  # moov first: decodable up to the cut
    (d / "whole.mp4").unlink()
    _write_video(d / "fast.mp4", frames[:12], Fraction(1950))
    _write_video(d / "short.mp4", frames[:6], 25)
    assert main(["template", str(d / "short.mp4"), "-o", str(d / "m.npz")]) == 0
    return d


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.mark.parametrize("name", list(CASES))
def test_battery(name, inputs, tmp_path, capsys, monkeypatch):
    c = CASES[name]
    fill = {"src": inputs / "face.jpg", "drv": inputs / "clip.mp4", "out": tmp_path / "out.mp4",
            "in": inputs, "tmp": tmp_path}  # fmt: skip
    argv = [a.format(**fill) for a in c.argv]
    for key, value in c.env.items():
        monkeypatch.setenv(key, value.format(**fill))
    monkeypatch.chdir(tmp_path)
    before = _hashes(inputs)
    code = main(argv)
    _, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == c.code, err
    assert "Traceback" not in err
    if c.lines is not None:
        assert len(lines) == c.lines, err
    if c.says:
        assert c.says in lines[0], err
    assert _hashes(inputs) == before, "an input changed"
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ([c.writes] if c.writes else []), f"left behind: {left}"
    assert not Path("/tmp/vivify-pwned").exists()


def test_image_driver_output_is_a_picture(inputs, tmp_path):
    from vivify.io import load_image

    out = tmp_path / "still.png"
    assert main(["animate", "-s", str(inputs / "face.jpg"), "-d", str(inputs / "still.jpg"), "-o", str(out),
                 "--backend", "mesh"]) == 0  # fmt: skip
    picture = load_image(out)
    assert picture.shape == load_image(inputs / "face.jpg").shape and picture.std() > 10


@pytest.mark.parametrize(
    "sig,code,says", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_signal_halfway_leaves_nothing(sig, code, says, tmp_path, shared_data):
    """A render stopped once it has begun writing: the exit code, one line, no file left."""
    out = tmp_path / "out.mp4"
    script = Path(sys.executable).with_name("vivify")
    proc = subprocess.Popen(
        [str(script), "animate", "-s", str(shared_data / PORTRAIT),
         "-d", str(shared_data / "driving" / "d6.mp4"),
         "-o", str(out), "--backend", "mesh"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.tmp-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # well into the render
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert err.strip().splitlines() == [f"vivify: {says}"]
    assert list(tmp_path.iterdir()) == []
