"""Warping module W (with its dense motion network) against the official fixtures."""

from __future__ import annotations

import torch

from vivify.nn.warping import WarpingModule, WarpingOutput


def _sources(result: WarpingOutput, third: torch.Tensor) -> dict[str, torch.Tensor]:
    """The fixture's tensor names (meta.json ``source``) -> our tensors."""
    dm = result.dense_motion
    return {
        "out": result.out,
        "occlusion_map": result.occlusion_map,
        "deformation": result.deformation,
        "third": third,
        "dm_compressed": dm.compressed,
        "dm_sparse_motion": dm.sparse_motion,
        "dm_deformed_feature": dm.deformed_feature,
        "dm_heatmap": dm.heatmap,
        "dm_prediction": dm.prediction,
        "dm_mask_logits": dm.mask_logits,
        "dm_mask": dm.mask,
    }


def test_warping_module_matches_official(parity, models) -> None:
    fx = parity("warping_module")
    model = models.warping_module
    assert isinstance(model, WarpingModule) and not model.training

    captured: dict[str, torch.Tensor] = {}
    model.third.register_forward_hook(lambda _m, _i, out: captured.__setitem__("third", out))

    feature_3d = fx.tensor("in__feature_3d")
    assert feature_3d.dtype == torch.float32 and feature_3d.shape == (1, 32, 16, 64, 64)
    with torch.no_grad():
        result = model(
            feature_3d, fx.tensor("in__kp_driving"), fx.tensor("in__kp_source"), return_intermediates=True
        )

    assert result.out.shape == (1, 256, 64, 64)
    assert result.occlusion_map.shape == (1, 1, 64, 64)
    assert result.deformation.shape == (1, 16, 64, 64, 3)
    sources = _sources(result, captured["third"])
    keys = fx.keys("out") + fx.keys("mid")
    assert len(keys) == len(fx.spec["tolerances"]), "every compared key must be checked"
    for key in keys:
        fx.check(key, sources[fx.spec["arrays"][key]["source"]])
