"""The public loader: all five official files load strictly, from .pth and from safetensors."""

import pytest
import torch

import vivify
from vivify.errors import InputError
from vivify.weights import WEIGHT_FILES, check_folder, convert_folder, load_network


def test_all_five_files_load_strictly(test_weights_dir, official_state_dict):
    models = vivify.load_liveportrait(test_weights_dir)
    for spec in WEIGHT_FILES:
        module = getattr(models, spec.name)
        assert not module.training
        # zero missing / unexpected keys: the module's keys are exactly the file's (after the
        # documented stitching mapping)
        ours = set(module.state_dict())
        official = official_state_dict(spec.filename)
        if spec.name == "stitching_retargeting_module":
            official = {f"{n}.{k.replace('module.', '')}" for n, e in module.CHECKPOINT_ENTRIES.items()
                        for k in official[e]}  # fmt: skip
        assert ours == set(official)
    sd = official_state_dict("motion_extractor.pth")
    assert torch.equal(
        models.motion_extractor.state_dict()["detector.fc_kp.weight"], sd["detector.fc_kp.weight"]
    )


@torch.no_grad()
def test_safetensors_copy_gives_same_outputs(test_weights_dir, tmp_path, parity):
    convert_folder(test_weights_dir, tmp_path)
    assert all(r.ok for r in check_folder(tmp_path))
    a = vivify.load_liveportrait(test_weights_dir).motion_extractor
    b = vivify.load_liveportrait(tmp_path).motion_extractor
    x = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a(x).kp, b(x).kp)


def test_wrong_shape_is_a_clear_error(test_weights_dir, tmp_path, official_state_dict):
    sd = official_state_dict("warping_module.pth")
    key = next(iter(sd))
    sd[key] = torch.zeros(3)
    path = tmp_path / "warping_module.pth"
    torch.save(sd, path)
    spec = next(s for s in WEIGHT_FILES if s.name == "warping_module")
    with pytest.raises(InputError, match="does not match the official warping_module"):
        load_network(spec, path)
    truncated = tmp_path / "trunc.pth"
    truncated.write_bytes((test_weights_dir / spec.relpath).read_bytes()[:5000])
    with pytest.raises(InputError, match="not a readable tensor checkpoint"):
        load_network(spec, truncated)


def test_badly_structured_files_are_input_errors(test_weights_dir, tmp_path, official_state_dict):
    specs = {s.name: s for s in WEIGHT_FILES}
    wrapped = tmp_path / "wrapped.pth"
    torch.save({"state_dict": official_state_dict("warping_module.pth")}, wrapped)
    with pytest.raises(InputError, match="holds no tensor"):
        load_network(specs["warping_module"], wrapped)
    partial = official_state_dict("stitching_retargeting_module.pth")
    del partial["retarget_shoulder"]
    torch.save(partial, tmp_path / "s.pth")
    with pytest.raises(InputError, match="retarget_shoulder"):
        load_network(specs["stitching_retargeting_module"], tmp_path / "s.pth")
