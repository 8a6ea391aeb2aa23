import os
import pickle
import subprocess
import sys

import pytest
import torch

from vivify.errors import InputError
from vivify.weights import (
    WEIGHT_FILES,
    WeightsNotFoundError,
    check_folder,
    convert_folder,
    download_weights,
    load_checkpoint,
    manifest,
    resolve_weights_dir,
    write_test_weights,
)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    root = tmp_path_factory.mktemp("w")
    write_test_weights(manifest(), 3, root)
    return root


def test_check_accepts_official_layout(weights):
    assert all(r.ok for r in check_folder(weights))


def test_check_reports_missing_and_wrong_tensors(weights, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(weights, bad)
    path = bad / "liveportrait/base_models/appearance_feature_extractor.pth"
    sd = torch.load(path, weights_only=True)
    del sd["first.conv.bias"]
    sd["first.conv.weight"] = torch.zeros(1, 2, 3)
    sd["extra.weight"] = torch.zeros(1)
    torch.save(sd, path)
    (bad / "liveportrait/base_models/spade_generator.pth").unlink()
    reports = {r.spec.name: r for r in check_folder(bad)}
    afe = reports["appearance_feature_extractor"]
    assert afe.missing == ["first.conv.bias"] and afe.unexpected == ["extra.weight"]
    assert afe.wrong and afe.wrong[0].startswith("first.conv.weight: (1, 2, 3)")
    assert reports["spade_generator"].error == "missing"
    assert reports["motion_extractor"].ok


def _flat(d: dict) -> dict:
    if all(isinstance(v, dict) for v in d.values()):
        return {f"{s}/{k}": v for s, sub in d.items() for k, v in sub.items()}
    return d


def test_convert_to_safetensors_round_trip(weights, tmp_path):
    written = convert_folder(weights, tmp_path / "st")
    assert len(written) == 5 and all(p.suffix == ".safetensors" for p in written)
    assert all(r.ok for r in check_folder(tmp_path / "st"))
    for spec, path in zip(WEIGHT_FILES, written, strict=True):
        a = load_checkpoint(weights / spec.relpath)
        b = load_checkpoint(path)
        fa, fb = _flat(a), _flat(b)
        assert fa.keys() == fb.keys() and all(torch.equal(fa[k], fb[k]) for k in fa)
    half = convert_folder(weights, tmp_path / "fp16", fp16=True)
    ckpt = load_checkpoint(half[0])
    assert ckpt["first.conv.weight"].dtype == torch.float16
    assert ckpt["first.norm.num_batches_tracked"].dtype == torch.int64


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_malicious_checkpoint_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pth"
    torch.save({"w": torch.zeros(1), "payload": _Evil()}, path)
    with pytest.raises(InputError, match="not a readable tensor checkpoint"):
        load_checkpoint(path)
    assert not (tmp_path / "PWNED").exists()
    path.write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(InputError):
        load_checkpoint(path)
    assert not (tmp_path / "PWNED").exists()


def test_garbage_and_missing_files(tmp_path):
    (tmp_path / "x.safetensors").write_bytes(b"nonsense" * 10)
    with pytest.raises(InputError):
        load_checkpoint(tmp_path / "x.safetensors")
    with pytest.raises(InputError, match="not found"):
        load_checkpoint(tmp_path / "none.pth")


def _hub_cache(cache, weights, repo="KwaiVGI/LivePortrait"):
    """Lay out ``weights`` as the hub's cache would after a download of ``repo``."""
    import shutil

    rev = "0123456789abcdef0123456789abcdef01234567"
    base = cache / f"models--{repo.replace('/', '--')}"
    (base / "refs").mkdir(parents=True)
    (base / "refs" / "main").write_text(rev)
    for spec in WEIGHT_FILES:
        dst = base / "snapshots" / rev / spec.relpath
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(weights / spec.relpath, dst)


def test_download_from_offline_hub_cache(weights, tmp_path):
    _hub_cache(tmp_path / "hub", weights)
    code = (
        "import sys; from vivify.weights import download_weights;"
        "print(download_weights(sys.argv[1], cache_dir=sys.argv[2]))"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "out"), str(tmp_path / "hub")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert all(r.ok for r in check_folder(tmp_path / "out"))
    assert resolve_weights_dir(tmp_path / "out") == tmp_path / "out"


def test_download_failure_says_what_to_fetch(tmp_path, monkeypatch):
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(WeightsNotFoundError) as info:
        download_weights(tmp_path / "w", cache_dir=tmp_path / "emptycache")
    msg = str(info.value)
    assert (
        "huggingface.co/KwaiVGI/LivePortrait" in msg
        and "liveportrait/base_models/motion_extractor.pth" in msg
    )
    assert not any((tmp_path / "w").rglob("*.pth"))


def test_default_location_and_env(tmp_path, monkeypatch):
    from vivify.weights import default_weights_dir

    monkeypatch.setenv("VIVIFY_WEIGHTS", str(tmp_path / "mine"))
    assert default_weights_dir() == tmp_path / "mine"
    with pytest.raises(WeightsNotFoundError, match="vivify weights download"):
        resolve_weights_dir()


def test_check_cli_on_four_kinds_of_damage(weights, tmp_path, monkeypatch, capsys):
    """Wrong shape, missing file, truncated file, code-executing pickle: one clear line each."""
    import shutil

    from vivify.cli.main import main

    bad = tmp_path / "bad"
    shutil.copytree(weights, bad)
    base = bad / "liveportrait" / "base_models"
    sd = torch.load(base / "motion_extractor.pth", weights_only=True)
    sd["detector.fc_kp.weight"] = torch.zeros(2, 2)
    torch.save(sd, base / "motion_extractor.pth")
    (base / "spade_generator.pth").unlink()
    data = (base / "warping_module.pth").read_bytes()
    (base / "warping_module.pth").write_bytes(data[: len(data) // 3])
    torch.save({"payload": _Evil()}, base / "appearance_feature_extractor.pth")
    monkeypatch.chdir(tmp_path)
    code = main(["weights", "check", str(bad)])
    out, err = capsys.readouterr()
    assert code == 2
    assert not (tmp_path / "PWNED").exists()
    lines = out.splitlines()
    assert sum(line.startswith("PROBLEM") for line in lines) == 4
    assert "wrong shape/dtype: detector.fc_kp.weight: (2, 2)" in out
    assert out.count("not a readable tensor checkpoint") == 2
    assert "missing" in out
    assert err.strip() == f"vivify: error: {bad}: 4 of 5 weight files have problems"
