import json

import torch

from vivify.weights import digest, make_test_state_dicts, write_test_weights

# from shared/spec/liveportrait-architecture.md, section 12
SEED1 = {
    "appearance_feature_extractor.pth": "725079403b1ebe5e49c9b9a067418443914e1c0fa0f363761da7da3e8003db20",
    "motion_extractor.pth": "404933238f08d90fe0c59344f37682bec2542b7930ab95b21fbeb3e011cbfa18",
    "warping_module.pth": "43d6655bc435e5191065d33c446f27b2fef58147b7dbf7d13a524f002215a266",
    "spade_generator.pth": "ef6e5b1486b87c6fa825a1584234d6312451001b639340d74503c394031eb1e8",
    "stitching_retargeting_module.pth": "a5ef330f1b65d8f9e25fbc3fa0dd942e6bc91d507d802a43d6999829316bce89",
}


def test_seed0_digests_match_the_fixtures(manifest, shared_reference):
    expected = json.loads((shared_reference / "fixtures" / "meta.json").read_text())["weights_sha256"]
    assert {f: digest(c) for f, c in make_test_state_dicts(manifest, 0)} == expected


def test_seed1_digests_match_the_spec(manifest):
    assert {f: digest(c) for f, c in make_test_state_dicts(manifest, 1)} == SEED1


def test_written_folder_has_official_layout(manifest, tmp_path):
    digests = write_test_weights(manifest, 0, tmp_path)
    base = tmp_path / "liveportrait" / "base_models"
    assert sorted(p.name for p in base.iterdir()) == sorted(
        f for f in digests if not f.startswith("stitching")
    )
    sd = torch.load(base / "appearance_feature_extractor.pth", weights_only=True)
    assert list(sd) == [t["key"] for t in manifest["files"]["appearance_feature_extractor.pth"]["tensors"]]
    counter = sd["first.norm.num_batches_tracked"]
    assert counter.dtype == torch.int64 and counter.shape == ()
    stitch = torch.load(
        tmp_path / "liveportrait" / "retargeting_models" / "stitching_retargeting_module.pth",
        weights_only=True,
    )
    assert set(stitch) == {"retarget_shoulder", "retarget_mouth", "retarget_eye"}
    assert "module.mlp.0.weight" in stitch["retarget_eye"]
    recomputed = {s: {k: v.numpy() for k, v in d.items()} for s, d in stitch.items()}
    assert digest(recomputed) == digests["stitching_retargeting_module.pth"]
