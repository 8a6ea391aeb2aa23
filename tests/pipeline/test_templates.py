"""Motion templates: v2 files with landmarks and/or keypoint motion, v1 still read, bad files refused."""

import json

import numpy as np
import pytest

from vivify.errors import InputError
from vivify.motion.keypoint_motion import KeypointMotion
from vivify.pipeline.templates import FORMAT, MotionTemplate, load_template, save_template


def _keypoints(n, ratios=True, seed=0):
    rng = np.random.default_rng(seed)
    f = np.float32
    return KeypointMotion(
        rotation=np.tile(np.eye(3, dtype=f), (n, 1, 1)),
        exp=rng.normal(0, 0.01, (n, 21, 3)).astype(f),
        t=rng.normal(0, 0.01, (n, 3)).astype(f),
        scale=np.full((n, 1), 1.5, f),
        eye_ratio=rng.uniform(0.2, 0.4, (n, 2)).astype(f) if ratios else None,
        lip_ratio=rng.uniform(0, 0.1, (n, 1)).astype(f) if ratios else None,
    )


def _landmarks(n, seed=1):
    lm = np.random.default_rng(seed).uniform(0, 512, (n, 478, 3)).astype(np.float32)
    lm[1] = np.nan  # a frame without a face
    return lm


def _write_npz(path, meta, **arrays):
    """An .npz laid out like vivify's, with whatever metadata and arrays a test needs."""
    meta_json = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    np.savez_compressed(path, meta_json=meta_json, **arrays)
    return path


def _kp_arrays(kp):
    return {"kp_rotation": kp.rotation, "kp_exp": kp.exp, "kp_t": kp.t, "kp_scale": kp.scale}


def _assert_same_keypoints(a, b):
    for name in ("rotation", "exp", "t", "scale", "eye_ratio", "lip_ratio"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert x.dtype == np.float32 and np.array_equal(x, y), name


def test_v1_file_still_loads(tmp_path):
    lm = _landmarks(4)
    path = _write_npz(tmp_path / "v1.npz", {"format": "vivify-motion/1", "fps": 30.0, "n_frames": 4,
                                            "source": "old.mp4"}, mesh_landmarks=lm)  # fmt: skip
    t = load_template(path)
    assert len(t) == 4 and t.fps == 30.0 and t.keypoints is None
    assert np.array_equal(t.landmarks, lm, equal_nan=True)
    assert t.meta["source"] == "old.mp4" and "format" not in t.meta
    assert t.valid.tolist() == [True, False, True, True]


def test_v2_round_trip_with_both_kinds(tmp_path):
    lm, kp = _landmarks(5), _keypoints(5)
    path = save_template(tmp_path / "both.npz", MotionTemplate(lm, 24.0, {"source": "x.mp4"}, kp))
    assert [p.name for p in tmp_path.iterdir()] == ["both.npz"]  # written atomically, no temp left
    with np.load(path, allow_pickle=False) as data:
        assert set(data.files) == {"meta_json", "mesh_landmarks", "kp_rotation", "kp_exp", "kp_t",
                                   "kp_scale", "kp_eye_ratio", "kp_lip_ratio"}  # fmt: skip
        assert json.loads(data["meta_json"].tobytes())["format"] == FORMAT == "vivify-motion/2"
    back = load_template(path)
    assert len(back) == 5 and back.fps == 24.0 and back.meta["source"] == "x.mp4"
    assert back.meta["n_frames"] == 5
    assert np.array_equal(back.landmarks, lm, equal_nan=True)
    _assert_same_keypoints(back.keypoints, kp)
    assert back.valid.tolist() == [True, False, True, True, True]


def test_keypoints_only_round_trip(tmp_path):
    kp = _keypoints(3, ratios=False)
    t = MotionTemplate(None, 25, keypoints=kp)
    assert len(t) == 3 and t.valid.all()
    back = load_template(save_template(tmp_path / "kp.npz", t))
    assert back.landmarks is None and len(back) == 3
    _assert_same_keypoints(back.keypoints, kp)


def test_keypoint_frames_with_nan_are_not_valid():
    kp = _keypoints(3)
    kp.exp[2, 5, 0] = np.nan
    assert MotionTemplate(None, 25, keypoints=kp).valid.tolist() == [True, True, False]


def test_constructor_needs_motion_of_one_length():
    with pytest.raises(ValueError, match="landmarks, keypoints or both"):
        MotionTemplate(None, 25)
    with pytest.raises(ValueError, match="5 frames but keypoints have 4"):
        MotionTemplate(_landmarks(5), 25, keypoints=_keypoints(4))


def test_saving_refreshes_stale_metadata(tmp_path):
    t = MotionTemplate(_landmarks(3), 25, {"format": "vivify-motion/1", "n_frames": 99, "fps": 1})
    back = load_template(save_template(tmp_path / "m.npz", t))
    assert back.fps == 25 and back.meta["n_frames"] == 3


V2 = {"format": "vivify-motion/2", "fps": 25.0}
V1 = {"format": "vivify-motion/1", "fps": 25.0}
F32 = np.float32


def _kp4(**changes):
    return lambda: {**_kp_arrays(_keypoints(4)), **changes}


def _lm(n=2):
    return lambda: {"mesh_landmarks": _landmarks(n)}


@pytest.mark.parametrize(
    "meta,arrays,problem",
    [
        (V2, lambda: {**_lm(5)(), **_kp4()()}, "5 frames of landmarks but 4"),
        (V2, _kp4(kp_eye_ratio=np.zeros((3, 2), F32)), "eye_ratio has 3 frames"),
        (V2, _kp4(kp_exp=np.zeros((4, 20, 3), F32)), r"exp has shape \(4, 20, 3\), expected \(T, 21, 3\)"),
        (V2, _kp4(kp_scale=np.zeros((4,), F32)), "scale has shape"),
        (V2, _kp4(kp_t=np.zeros((4, 3), np.int32)), "dtype int32"),
        (V2, _kp4(kp_t=np.full((4, 3), np.inf, F32)), "infinite"),
        (V2, lambda: {"mesh_landmarks": np.full((2, 478, 3), -np.inf, F32)}, "infinite"),
        (V2, lambda: {"mesh_landmarks": np.zeros((2, 478, 2), F32)}, r"expected \(T, 478, 3\)"),
        (V2, lambda: {"mesh_landmarks": np.zeros((0, 478, 3), F32)}, "no frames"),
        (V2, lambda: {k: v for k, v in _kp4()().items() if k != "kp_t"}, "lacks kp_t"),
        (V2, lambda: {"kp_eye_ratio": np.zeros((4, 2), F32)}, "lacks kp_rotation"),
        (V2, lambda: {}, "holds no motion"),
        (V2, lambda: {**_lm()(), "extra": np.zeros(3)}, "unexpected arrays extra"),
        (V1, lambda: {**_lm(4)(), **_kp4()()}, "unexpected arrays kp_exp"),
        (V1, lambda: {}, "no mesh_landmarks"),
        ({**V2, "format": "vivify-motion/9"}, _lm(), "unsupported template format"),
        ({**V2, "fps": "fast"}, _lm(), "invalid frame rate"),
        ({**V2, "fps": -1}, _lm(), "invalid frame rate"),
        ({**V2, "n_frames": 7}, _lm(), "says 7 frames but its arrays hold 2"),
    ],
)
def test_corrupt_templates_are_refused(tmp_path, meta, arrays, problem):
    path = _write_npz(tmp_path / "bad.npz", meta, **arrays())
    with pytest.raises(InputError, match=problem) as info:
        load_template(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_non_templates_are_refused(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    np.save(tmp_path / "single.npy", np.zeros(3))
    np.savez(tmp_path / "obj.npz", meta_json=np.frombuffer(json.dumps(V2).encode(), np.uint8),
             mesh_landmarks=np.array([{"a": 1}], dtype=object))  # fmt: skip
    np.savez(tmp_path / "meta.npz", meta_json=np.zeros(4, np.float64), mesh_landmarks=_landmarks(2))
    np.savez(
        tmp_path / "list.npz", meta_json=np.frombuffer(b"[1, 2]", np.uint8), mesh_landmarks=_landmarks(2)
    )
    for name in ("junk.npz", "single.npy", "obj.npz", "meta.npz", "list.npz"):
        with pytest.raises(InputError, match="not a vivify motion template") as info:
            load_template(tmp_path / name)
        assert "\n" not in str(info.value) and str(tmp_path / name) in str(info.value)
    with pytest.raises(InputError, match="not found"):
        load_template(tmp_path / "missing.npz")


def test_oversized_arrays_are_refused_before_reading(tmp_path, monkeypatch):
    import vivify.pipeline.templates as templates

    path = save_template(tmp_path / "m.npz", MotionTemplate(_landmarks(3), 25))
    monkeypatch.setattr(templates, "MAX_ARRAY_BYTES", 10_000)
    with pytest.raises(InputError, match="more than a template may hold"):
        load_template(path)


def test_failed_save_leaves_nothing_behind(tmp_path):
    target = tmp_path / "m.npz"
    save_template(target, MotionTemplate(_landmarks(2), 25))
    before = target.read_bytes()
    with pytest.raises(TypeError):  # metadata that is not JSON-serialisable
        save_template(target, MotionTemplate(_landmarks(3), 25, {"bad": object()}))
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"] and target.read_bytes() == before
