"""ONNX export (``vivify export onnx``) and its onnxruntime drop-in, at real shapes with the test weights.

The networks are exported once per module through the CLI (about 30 s on 2 cores); every other
test reads that folder. Torch runs each network once at batch 3; onnxruntime runs the same batch
of 3 and its first element alone (batch 1), so one export checks the dynamic batch axis. Element 0
of every batch is the reference fixture's input, so the batch-1 run is also compared with the
official outputs (shared/reference/fixtures) under the fixtures' own tolerances.

Tolerances onnxruntime vs torch (both float32 on the CPU; measured max_abs on these inputs, batch 1
and 3 alike): F 3.2e-6, M 3.7e-6 (bin logits; t/exp/kp < 5e-7), W 4.6e-6 on ``out`` and 3.9e-5 on
``warped`` (trilinear sampling multiplies the ~1e-6 round-off of the deformation grid by the
feature gradient, up to ~32 units per grid unit on the 64-voxel axes), G 4.3e-6, the MLPs 7e-9.
The bounds below are about ten times those, the margin the fixtures' tolerance rule uses too; the
MLPs get the fixtures' own 1e-6 (their outputs are ~0.03, so 7e-9 is a few float32 ulps and ten
times that would be fragile on other CPUs). The rendered frames differed by at most 1 grey level
on 0.07 % of the values; the bound is 2 grey levels on at most 1 % (the fixtures' uint8 rule).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil

import numpy as np
import pytest
import torch

pytest.importorskip("onnx")
pytest.importorskip("onnxscript")
pytest.importorskip("onnxruntime")

from vivify.backends import SpeedOptions, load_backend  # noqa: E402 - after the optional-package skips
from vivify.backends.neural import NeuralBackend  # noqa: E402
from vivify.cli.main import main  # noqa: E402
from vivify.errors import InputError, UserError  # noqa: E402
from vivify.export import onnx as onnx_export  # noqa: E402
from vivify.export.onnx import export_onnx  # noqa: E402
from vivify.io import probe_video  # noqa: E402
from vivify.motion import eye_ratios_203, lip_ratio_203  # noqa: E402
from vivify.nn.motion_encoder import MotionExtractorOutput  # noqa: E402
from vivify.nn.warping import WarpingOutput  # noqa: E402
from vivify.pipeline.options import AnimationOptions  # noqa: E402
from vivify.runtime import OnnxLivePortrait  # noqa: E402
from vivify.runtime.onnx_manifest import MANIFEST_NAME, NETWORKS, sha256_file  # noqa: E402

logger = logging.getLogger(__name__)

NAMES = [net.name for net in NETWORKS]
OUTPUTS = {net.name: net.outputs for net in NETWORKS}

# max_abs bound of onnxruntime vs torch per network output (measured values in the module docstring)
TOLERANCE = {
    "appearance_feature_extractor": 5e-5,
    "motion_extractor": 5e-5,
    "warping_module": 5e-5,
    "warping_module.warped": 4e-4,
    "spade_generator": 5e-5,
    "stitching_retargeting_module.stitching": 1e-6,
    "stitching_retargeting_module.lip": 1e-6,
    "stitching_retargeting_module.eye": 1e-6,
}


# per network: fixture file, input keys, {fixture output: our output name}
FIXTURES = {
    "appearance_feature_extractor": (
        "appearance_feature_extractor",
        ("in__x",),
        {"f_s": "feature_3d", "f_s_probe": "feature_3d"},
    ),
    "motion_extractor": ("motion_extractor", ("in__x",), {k: k for k in OUTPUTS["motion_extractor"]}),
    "warping_module": (
        "warping_module",
        ("in__feature_3d", "in__kp_driving", "in__kp_source"),
        {"occlusion_map": "occlusion_map", "deformation": "deformation", "out": "out", "out_probe": "out"},
    ),
    "spade_generator": ("spade_generator", ("in__feature",), {"out": "image"}),
    "stitching_retargeting_module.stitching": ("stitching_retargeting", ("in__stitching_feat",),
                                               {"stitching_delta": "y"}),
    "stitching_retargeting_module.lip": ("stitching_retargeting", ("in__lip_mlp_x",), {"lip_mlp_y": "y"}),
    "stitching_retargeting_module.eye": ("stitching_retargeting", ("in__eye_mlp_x",), {"eye_mlp_y": "y"}),
}  # fmt: skip


# ---------------------------------------------------------------- helpers


class _Fixtures:
    """Arrays of the reference fixtures (links followed, float16 inputs as float32) and checks."""

    def __init__(self, root, meta: dict) -> None:
        self.root, self.meta = root, meta

    @functools.cache  # noqa: B019 - one instance per test session
    def _npz(self, name: str):
        return np.load(self.root / f"{name}.npz", allow_pickle=False)

    def array(self, name: str, key: str) -> np.ndarray:
        info = self.meta["fixtures"][name]["arrays"][key]
        if key not in self._npz(name).files and "link" in info:
            other, other_key = info["link"].split(":")
            return self.array(other, other_key)
        return self._npz(name)[key]

    def tensor(self, name: str, key: str) -> torch.Tensor:
        return torch.from_numpy(self.array(name, key).astype(np.float32))

    def check(self, name: str, short: str, got: torch.Tensor) -> dict:
        """Compare ``got`` (the full tensor) with ``out__<short>`` like tests/parity does."""
        info = self.meta["fixtures"][name]["arrays"][f"out__{short}"]
        tol = self.meta["fixtures"][name]["tolerances"][short]
        g = got.numpy()
        if "slice" in info:
            g = g[_slice(info["slice"])]
        ref = self.array(name, f"out__{short}")
        g, r = g.astype(np.float64).reshape(ref.shape), ref.astype(np.float64)
        err = np.abs(g - r)
        if ref.dtype == np.float16:  # discount the reference's half-precision storage error
            err = np.maximum(err - 2.0**-11 * np.maximum(np.abs(r), 2.0**-14), 0.0)
        res = {"max_abs": float(err.max()), "rel_l2": float(np.linalg.norm(err) / np.linalg.norm(r))}
        logger.info("fixture %s/%s: %s (tolerance %s)", name, short, res, tol)
        assert res["max_abs"] <= tol["max_abs"] and res["rel_l2"] <= tol["rel_l2"], (name, short, res, tol)
        return res


def _slice(spec: str) -> tuple:
    """'[:, ::3, 1:5]' → a tuple of slices (the fixtures' probe notation)."""
    parts = []
    for item in spec.strip()[1:-1].split(","):
        bounds = [int(x) if x.strip() else None for x in item.split(":")]
        parts.append(slice(*bounds) if ":" in item else bounds[0])
    return tuple(parts)


def _network(models, name: str):
    for part in name.split("."):
        models = getattr(models, part)
    return models


def _named(name: str, result) -> dict[str, torch.Tensor]:
    """A network's result as {output name: tensor}, for the torch and the ONNX networks alike."""
    if isinstance(result, torch.Tensor):
        return {OUTPUTS[name][0]: result}
    if isinstance(result, MotionExtractorOutput):
        return {k: getattr(result, k) for k in OUTPUTS[name]}
    assert isinstance(result, WarpingOutput)
    return {k: result.dense_motion.mask if k == "mask" else getattr(result, k) for k in OUTPUTS[name]}


def _max_abs(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> dict[str, float]:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].shape == b[k].shape and a[k].dtype == b[k].dtype == torch.float32, k
    return {k: float((a[k] - b[k]).abs().max()) for k in a}


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory, test_weights_dir):
    """The test weights exported through the CLI, once for the module."""
    out = tmp_path_factory.mktemp("onnx") / "liveportrait-onnx"
    assert main(["export", "onnx", str(out), "--weights", str(test_weights_dir)]) == 0
    return out


@pytest.fixture(scope="module")
def ort_models(onnx_dir) -> OnnxLivePortrait:
    return OnnxLivePortrait(onnx_dir)


@pytest.fixture(scope="module")
def fixtures(fixtures_root, fixtures_meta) -> _Fixtures:
    return _Fixtures(fixtures_root, fixtures_meta)


@pytest.fixture(scope="module")
def inputs(fixtures) -> dict[str, tuple[torch.Tensor, ...]]:
    """Batches of 3 per network; element 0 is the fixture's input."""
    fx = fixtures
    g = torch.Generator().manual_seed(0)
    x = fx.tensor("appearance_feature_extractor", "in__x")  # (1, 3, 256, 256)
    images = fx.tensor("motion_extractor", "in__x")  # (2, 3, 256, 256)
    f_s = fx.tensor("warping_module", "in__feature_3d")  # (1, 32, 16, 64, 64)
    x_d = fx.tensor("warping_module", "in__kp_driving")  # (1, 21, 3)
    x_s = fx.tensor("warping_module", "in__kp_source")
    feature = fx.tensor("spade_generator", "in__feature")  # (1, 256, 64, 64)
    mlp = {name: fx.tensor("stitching_retargeting", keys[0]) for name, (_, keys, _) in FIXTURES.items()
           if name.startswith("stitching")}  # fmt: skip
    return {
        "appearance_feature_extractor": (torch.cat([x, x.flip(-1), x.flip(-2)]),),
        "motion_extractor": (torch.cat([images, images[:1].flip(-1)]),),
        "warping_module": (
            torch.cat([f_s, f_s.flip(-1), 0.5 * f_s]),
            torch.cat([x_d, x_d + 0.02 * torch.randn(1, 21, 3, generator=g), x_s]),
            x_s.expand(3, -1, -1),  # an expanded view, as the backend passes it
        ),
        "spade_generator": (torch.cat([feature, feature.flip(-1), 0.8 * feature]),),
        **{name: (rows[:3],) for name, rows in mlp.items()},
    }


@pytest.fixture(scope="module")
def runs(inputs, models, ort_models):
    """Lazily computed outputs: ``runs.torch3(name)``, ``runs.ort3(name)``, ``runs.ort1(name)``."""

    class Runs:
        @functools.cache  # noqa: B019 - one instance per module
        def torch3(self, name: str) -> dict[str, torch.Tensor]:
            with torch.no_grad():
                return _named(name, _network(models, name)(*inputs[name]))

        @functools.cache  # noqa: B019
        def ort3(self, name: str) -> dict[str, torch.Tensor]:
            return _named(name, _network(ort_models, name)(*inputs[name]))

        @functools.cache  # noqa: B019
        def ort1(self, name: str) -> dict[str, torch.Tensor]:
            return _named(name, _network(ort_models, name)(*(x[:1] for x in inputs[name])))

    return Runs()


# ---------------------------------------------------------------- export and manifest


def test_cli_writes_a_complete_export(onnx_dir):
    manifest = json.loads((onnx_dir / MANIFEST_NAME).read_text())
    assert manifest["opset"] == 20 and manifest["format_version"] == 1
    assert {"vivify_version", "torch_version", "onnx_version", "onnxscript_version"} <= manifest.keys()
    assert sorted(p.name for p in onnx_dir.iterdir()) == sorted([MANIFEST_NAME] + [n.file for n in NETWORKS])
    for net in NETWORKS:
        entry = manifest["networks"][net.name]
        assert entry["sha256"] == sha256_file(onnx_dir / net.file)
        assert [i["name"] for i in entry["inputs"]] == list(net.inputs)
        assert [o["name"] for o in entry["outputs"]] == list(net.outputs)
        for io in entry["inputs"] + entry["outputs"]:
            assert io["shape"][0] == "batch" and all(isinstance(d, int) for d in io["shape"][1:])
            assert io["dtype"] == "float32"
    warping = manifest["networks"]["warping_module"]
    assert warping["inputs"][0]["shape"] == ["batch", 32, 16, 64, 64]
    assert warping["outputs"][0]["shape"] == ["batch", 256, 64, 64]
    leftovers = [p.name for p in onnx_dir.parent.iterdir() if p.name.startswith(".")]
    assert not leftovers, leftovers


def test_cli_errors_are_one_line(capsys, tmp_path, onnx_dir):
    assert main(["export", "onnx", str(tmp_path / "out"), "--weights", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "weights not found" in err
    assert main(["export", "onnx", str(onnx_dir)]) == 2  # refuses to replace an export
    assert "already exists" in capsys.readouterr().err
    assert main(["export", "onnx", str(tmp_path / "out"), "--opset", "18"]) == 2
    assert "--opset must be at least 20" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_failed_export_leaves_nothing(models, tmp_path, monkeypatch):
    calls = []

    def export_then_fail(models, net, path, opset):
        calls.append(net.name)
        path.write_bytes(b"partial")  # a half-written file in the temporary folder
        if len(calls) == 2:
            raise RuntimeError("exporter crashed")
        return {}

    monkeypatch.setattr(onnx_export, "_export_network", export_then_fail)
    with pytest.raises(RuntimeError, match="exporter crashed"):
        export_onnx(models, tmp_path / "out")
    assert calls == NAMES[:2]
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="opset"):
        export_onnx(models, tmp_path / "out", opset=18)
    assert list(tmp_path.iterdir()) == []


def test_overwrite_replaces_only_after_success(models, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("kept until the new export is complete")
    with pytest.raises(UserError, match="already exists"):
        export_onnx(models, out)

    def fail(models, net, path, opset):
        raise RuntimeError("exporter crashed")

    monkeypatch.setattr(onnx_export, "_export_network", fail)
    with pytest.raises(RuntimeError):
        export_onnx(models, out, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and (out / "old.txt").is_file()
    monkeypatch.setattr(onnx_export, "_export_network", lambda models, net, path, opset: {})
    export_onnx(models, out, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and (out / MANIFEST_NAME).is_file()
    assert not (out / "old.txt").exists()


# ---------------------------------------------------------------- onnxruntime vs torch


@pytest.mark.parametrize("name", NAMES)
def test_matches_torch_at_batch_1_and_3(runs, name):
    want = runs.torch3(name)
    err3 = _max_abs(runs.ort3(name), want)
    err1 = _max_abs(runs.ort1(name), {k: v[:1] for k, v in want.items()})
    logger.info("onnxruntime vs torch %s: batch 3 %s, batch 1 %s", name, err3, err1)
    for output in OUTPUTS[name]:
        bound = TOLERANCE.get(f"{name}.{output}", TOLERANCE[name])
        assert max(err3[output], err1[output]) <= bound, (output, err3, err1)


@pytest.mark.parametrize("name", NAMES)
def test_reproduces_reference_fixtures(runs, fixtures, ort_models, name):
    file, in_keys, outputs = FIXTURES[name]
    if name.startswith("stitching"):  # the MLP fixtures hold 4-5 rows: run them all (another batch size)
        got = _named(name, _network(ort_models, name)(fixtures.tensor(file, in_keys[0])))
    elif name == "motion_extractor":  # two images, each run alone in the fixture
        second = _named(name, ort_models.motion_extractor(fixtures.tensor(file, "in__x")[1:]))
        got = {k: torch.cat([v, second[k]]) for k, v in runs.ort1(name).items()}
    else:
        got = runs.ort1(name)  # batch element 0 is the fixture's input
    for short, output in outputs.items():
        fixtures.check(file, short, got[output])


# ---------------------------------------------------------------- the neural backend on ONNX


@pytest.fixture(scope="module")
def renders(fixtures, models, ort_models):
    """The pipeline fixture's source animated by its driving frame 1 (reference frame 0), per runtime."""
    crop = fixtures.array("pipeline", "in__source_crop_256")
    lmk = fixtures.array("pipeline", "in__source_lmk203")
    crops = fixtures.array("pipeline", "in__driving_crops_256")[:2]
    drv = fixtures.array("pipeline", "in__driving_lmk203")[:2]
    out = {}
    for label, nets in (("torch", models), ("onnx", ort_models)):
        backend = NeuralBackend(models=nets)
        state = backend.prepare_crop(crop, eye_ratios_203(lmk), lip_ratio_203(lmk))
        motions = backend.motion_from_crops(crops, eye_ratios_203(drv), lip_ratio_203(drv))
        retarget = AnimationOptions(eye_retargeting=True, lip_retargeting=True, normalize_lip=True)
        out[label] = {
            "frame": backend.render(state, motions[1], motions[0], AnimationOptions(paste_back=False)),
            "x_d": backend.driving_keypoints(state, motions, motions[0], retarget),
            "x_s": state.x_s,
            "backend": backend,
        }
    return out


def test_backend_renders_like_torch(renders, fixtures):
    a, b = renders["onnx"]["frame"], renders["torch"]["frame"]
    assert a.shape == (512, 512, 3) and a.dtype == np.uint8
    diff = np.abs(a.astype(int) - b.astype(int))
    logger.info("frame onnx vs torch: max %d, %.4f%% of values differ", diff.max(), 100 * (diff > 0).mean())
    assert diff.max() <= 2 and (diff > 0).mean() <= 0.01
    ref = fixtures.array("pipeline", "out__frames_uint8")[1]  # the official pipeline's frame
    diff = np.abs(a.astype(int) - ref.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() <= 0.01
    torch.testing.assert_close(renders["onnx"]["x_s"], renders["torch"]["x_s"], rtol=0, atol=1e-5)
    # eye + lip retargeting, lip normalisation and stitching: all three MLPs through the backend
    torch.testing.assert_close(renders["onnx"]["x_d"], renders["torch"]["x_d"], rtol=0, atol=1e-5)
    assert renders["onnx"]["backend"].device == torch.device("cpu")
    assert renders["onnx"]["backend"].dtype == torch.float32


def test_warping_has_no_intermediates(ort_models):
    z = torch.zeros(1, 21, 3)
    with pytest.raises(ValueError, match="intermediates"):
        ort_models.warping_module(torch.zeros(1, 32, 16, 64, 64), z, z, return_intermediates=True)


# ---------------------------------------------------------------- broken exports


def _copy(onnx_dir, tmp_path):
    """A copy of the export whose files are links to the good one (cheap), the manifest a real copy."""
    copy = tmp_path / "copy"
    copy.mkdir()
    for p in onnx_dir.iterdir():
        (copy / p.name).symlink_to(p)
    (copy / MANIFEST_NAME).unlink()
    shutil.copy(onnx_dir / MANIFEST_NAME, copy / MANIFEST_NAME)
    return copy


def _one_line_error(folder, match: str, **kwargs) -> InputError:
    with pytest.raises(InputError, match=match) as exc:
        OnnxLivePortrait(folder, **kwargs)
    assert "\n" not in str(exc.value)
    return exc.value


def test_missing_or_corrupt_files_are_input_errors(onnx_dir, tmp_path):
    copy = _copy(onnx_dir, tmp_path)
    first = copy / NETWORKS[0].file
    first.unlink()
    err = _one_line_error(copy, "missing")
    assert err.path == first
    first.write_bytes((onnx_dir / NETWORKS[0].file).read_bytes()[:100_000])  # truncated
    err = _one_line_error(copy, "sha256")
    assert err.path == first
    err = _one_line_error(copy, "onnxruntime cannot load it", verify=False)
    assert err.path == first

    # (manifest problems: tests/runtime/test_onnx_models.py)


def test_sessions_use_every_core_on_the_cpu(ort_models):
    session = ort_models.spade_generator.session
    assert session.get_providers() == ["CPUExecutionProvider"]
    assert session.get_session_options().intra_op_num_threads == len(os.sched_getaffinity(0))


# ---------------------------------------------------------------- choosing the runtime


def test_load_backend_runs_an_export(onnx_dir):
    backend = load_backend("neural", onnx_dir=onnx_dir, device="cpu")
    assert isinstance(backend.models, OnnxLivePortrait) and backend.name == "neural"
    assert isinstance(load_backend("auto", onnx_dir=onnx_dir).models, OnnxLivePortrait)  # no weights needed
    with pytest.raises(UserError, match="mesh"):
        load_backend("mesh", onnx_dir=onnx_dir)
    with pytest.raises(UserError, match="--precision"):
        load_backend("neural", onnx_dir=onnx_dir, speed=SpeedOptions("bfloat16"))
    threads = torch.get_num_threads()
    try:
        one = load_backend("neural", onnx_dir=onnx_dir, speed=SpeedOptions(threads=1))  # --threads 1
        assert one.models.spade_generator.session.get_session_options().intra_op_num_threads == 1
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)


def test_cli_animate_with_onnx(onnx_dir, shared_data, tmp_path, capsys):
    out = tmp_path / "o.mp4"
    src, drv = shared_data / "portraits" / "s0.jpg", shared_data / "templates" / "d1.pkl"
    code = main(["animate", "--onnx", str(onnx_dir), "-s", str(src), "-d", str(drv), "-o", str(out),
                 "--max-frames", "1"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert probe_video(out).n_frames == 1
