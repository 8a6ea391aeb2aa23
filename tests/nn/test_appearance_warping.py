"""Fast behaviour tests of F (appearance extractor) and W (warping module) on tiny configs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vivify.nn.appearance_encoder import AppearanceFeatureExtractor, AppearanceFeatureExtractorConfig
from vivify.nn.dense_motion import DenseMotionNetworkConfig, make_coordinate_grid
from vivify.nn.warping import WarpingModule, WarpingModuleConfig

# Tiny volume: 4 channels x depth 4 x 8 x 8 from a 32x32 image.
TINY_F = AppearanceFeatureExtractorConfig(
    block_expansion=4, max_features=16, reshape_channel=4, reshape_depth=4, num_resblocks=2
)
TINY_W = WarpingModuleConfig(
    num_kp=3,
    block_expansion=4,
    max_features=16,
    reshape_channel=4,
    dense_motion=DenseMotionNetworkConfig(
        block_expansion=4, num_blocks=2, max_features=16, num_kp=3, feature_channel=4, reshape_depth=4
    ),
)


@pytest.fixture(autouse=True)
def _no_grad():
    with torch.no_grad():
        yield


def _randomize_batchnorm(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Non-trivial running statistics so that eval-mode BatchNorm is actually exercised."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=gen))
            m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=gen))


def _tiny_models() -> tuple[AppearanceFeatureExtractor, WarpingModule]:
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    f, w = AppearanceFeatureExtractor(TINY_F), WarpingModule(TINY_W)
    _randomize_batchnorm(f, gen)
    _randomize_batchnorm(w, gen)
    return f.eval(), w.eval()


def _keypoints(batch: int, seed: int) -> torch.Tensor:
    return 0.6 * (2 * torch.rand(batch, 3, 3, generator=torch.Generator().manual_seed(seed)) - 1)


def test_shapes() -> None:
    f, w = _tiny_models()
    f_s = f(torch.rand(2, 3, 32, 32))
    assert f_s.shape == (2, 4, 4, 8, 8)
    res = w(f_s, _keypoints(2, 1), _keypoints(2, 2), return_intermediates=True)
    assert res.out.shape == (2, 16, 8, 8)
    assert res.occlusion_map.shape == (2, 1, 8, 8)
    assert res.deformation.shape == (2, 4, 8, 8, 3)
    assert res.warped.shape == f_s.shape
    dm = res.dense_motion
    assert dm.mask.shape == (2, 4, 4, 8, 8)
    assert dm.sparse_motion.shape == (2, 4, 4, 8, 8, 3)
    assert dm.deformed_feature.shape == (2, 4, 4, 4, 8, 8)  # (B, K+1, compress, D, H, W)
    assert dm.heatmap.shape == (2, 4, 1, 4, 8, 8)
    assert dm.prediction.shape == (2, 4 + 4 * 5, 4, 8, 8)
    torch.testing.assert_close(dm.mask.sum(1), torch.ones(2, 4, 8, 8))
    assert ((res.occlusion_map > 0) & (res.occlusion_map < 1)).all()
    assert w(f_s, _keypoints(2, 1), _keypoints(2, 2)).dense_motion.prediction is None


def test_batch_of_two_matches_single_samples() -> None:
    f, w = _tiny_models()
    x, kp_d, kp_s = torch.rand(2, 3, 32, 32), _keypoints(2, 1), _keypoints(2, 2)
    f_s = f(x)
    res = w(f_s, kp_d, kp_s)
    for i in range(2):
        single_f = f(x[i : i + 1])
        torch.testing.assert_close(single_f, f_s[i : i + 1], rtol=1e-5, atol=1e-5)
        single = w(f_s[i : i + 1], kp_d[i : i + 1], kp_s[i : i + 1])
        torch.testing.assert_close(single.out, res.out[i : i + 1], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(single.deformation, res.deformation[i : i + 1], rtol=1e-5, atol=1e-5)


def test_equal_keypoints_give_the_identity_deformation() -> None:
    f, w = _tiny_models()
    f_s, kp = f(torch.rand(1, 3, 32, 32)), _keypoints(1, 3)
    res = w(f_s, kp, kp, return_intermediates=True)
    grid = make_coordinate_grid(4, 8, 8)
    assert (res.dense_motion.heatmap == 0).all()
    torch.testing.assert_close(res.deformation[0], grid, rtol=0, atol=1e-6)
    # The grid is align-corners style but sampled with align_corners=False (upstream convention), so the
    # "identity" warp resamples; with align_corners=True it would return f_s itself.
    expected = F.grid_sample(f_s, grid[None], mode="bilinear", align_corners=False)
    torch.testing.assert_close(res.warped, expected, rtol=1e-5, atol=1e-5)
    exact = F.grid_sample(f_s, grid[None], mode="bilinear", align_corners=True)
    torch.testing.assert_close(exact, f_s, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(res.warped, f_s, atol=1e-3)


def test_coordinate_grid_layout() -> None:
    grid = make_coordinate_grid(3, 5, 7)
    assert grid.shape == (3, 5, 7, 3)
    assert grid[0, 0, 0].tolist() == [-1.0, -1.0, -1.0]
    assert grid[-1, -1, -1].tolist() == [1.0, 1.0, 1.0]
    # x varies along width, y along height, z along depth.
    assert grid[0, 0, 1].tolist() == pytest.approx([-1 + 2 / 6, -1.0, -1.0])
    assert grid[0, 1, 0].tolist() == pytest.approx([-1.0, -0.5, -1.0])
    assert grid[1, 0, 0].tolist() == [-1.0, -1.0, 0.0]


def test_eval_mode_is_deterministic() -> None:
    f, w = _tiny_models()
    x, kp_d, kp_s = torch.rand(1, 3, 32, 32), _keypoints(1, 4), _keypoints(1, 5)
    a, b = w(f(x), kp_d, kp_s), w(f(x), kp_d, kp_s)
    assert torch.equal(a.out, b.out) and torch.equal(a.deformation, b.deformation)


def test_inconsistent_configs_are_rejected() -> None:
    with pytest.raises(ValueError):
        AppearanceFeatureExtractor(AppearanceFeatureExtractorConfig(reshape_depth=8))
    with pytest.raises(ValueError):
        WarpingModule(WarpingModuleConfig(num_kp=10))


@pytest.mark.parametrize(
    ("file", "cls"),
    [("appearance_feature_extractor.pth", AppearanceFeatureExtractor), ("warping_module.pth", WarpingModule)],
)
def test_default_config_has_the_official_keys_and_shapes(manifest, file, cls) -> None:
    expected = {t["key"]: tuple(t["shape"]) for t in manifest["files"][file]["tensors"]}
    with torch.device("meta"):  # no memory, no init cost
        model = cls()
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == expected
