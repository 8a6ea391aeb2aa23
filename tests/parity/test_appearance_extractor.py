"""Appearance feature extractor F against the official fixtures (real shapes, test weights)."""

from __future__ import annotations

import torch

from vivify.nn.appearance_encoder import AppearanceFeatureExtractor


def test_appearance_feature_extractor_matches_official(parity, models) -> None:
    fx = parity("appearance_feature_extractor")
    model = models.appearance_feature_extractor
    assert isinstance(model, AppearanceFeatureExtractor) and not model.training

    # Every mid__* entry names the submodule whose output it stores (e.g. "down_blocks.0").
    captured: dict[str, torch.Tensor] = {}
    mids = {key: fx.spec["arrays"][key]["source"] for key in fx.keys("mid")}
    for source in set(mids.values()):
        module = model.get_submodule(source)
        module.register_forward_hook(lambda _m, _i, out, name=source: captured.__setitem__(name, out))

    with torch.no_grad():
        f_s = model(fx.tensor("in__x"))

    assert f_s.shape == (1, 32, 16, 64, 64) and f_s.dtype == torch.float32
    outs = fx.keys("out")
    assert outs, "fixture lists no outputs"
    for key in outs:
        assert fx.spec["arrays"][key]["source"] == "f_s", key
        fx.check(key, f_s)
    for key, source in mids.items():
        fx.check(key, captured[source])
