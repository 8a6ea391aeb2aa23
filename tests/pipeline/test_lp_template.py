"""Import of LivePortrait .pkl templates through the restricted unpickler: real files, hostile files."""

import builtins
import collections
import os
import pickle
import pickletools
import struct

import numpy as np
import pytest

from vivify.errors import InputError
from vivify.pipeline.lp_template import load_liveportrait_template
from vivify.pipeline.templates import load_template, save_template

# name -> (frames, fps, has eye/lip ratios), as read from the files with pickletools
REAL = {"d1": (16, 30, True), "talking": (100, 20, False), "wink": (57, 25, False)}


def _static_header(data):
    """n_frames, output_fps and the first (21, 3) expression array of a pickle, read from its
    opcodes without unpickling: an independent check of what the importer returns."""
    ops = list(pickletools.genops(data))
    found = {}
    for i, (op, arg, _) in enumerate(ops):
        if op.name == "SHORT_BINUNICODE" and arg in ("n_frames", "output_fps"):
            found[arg] = next(a for o, a, _ in ops[i + 1 :] if o.name != "MEMOIZE")
    raw = next(arg for op, arg, _ in ops if op.name == "SHORT_BINBYTES" and len(arg) == 21 * 3 * 4)
    return found["n_frames"], found["output_fps"], np.frombuffer(raw, "<f4").reshape(21, 3)


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_templates_import(shared_data, tmp_path, name):
    path = shared_data / "templates" / f"{name}.pkl"
    n_frames, fps, first_exp = _static_header(path.read_bytes())
    assert (n_frames, fps) == REAL[name][:2]
    t = load_liveportrait_template(path)
    kp = t.keypoints
    assert t.landmarks is None and len(t) == len(kp) == n_frames and t.fps == fps
    assert kp.rotation.shape == (n_frames, 3, 3) and kp.exp.shape == (n_frames, 21, 3)
    assert kp.t.shape == (n_frames, 3) and kp.scale.shape == (n_frames, 1)
    for a in (kp.rotation, kp.exp, kp.t, kp.scale):
        assert a.dtype == np.float32
    assert np.array_equal(kp.exp[0], first_exp)
    assert np.allclose(kp.rotation @ kp.rotation.transpose(0, 2, 1), np.eye(3), atol=1e-4)
    assert np.all((kp.scale > 0.5) & (kp.scale < 3))  # LivePortrait's scale is ~1-2
    if REAL[name][2]:
        assert kp.eye_ratio.shape == (n_frames, 2) and kp.lip_ratio.shape == (n_frames, 1)
        assert np.all((kp.eye_ratio > 0) & (kp.eye_ratio < 1))
    else:
        assert kp.eye_ratio is None and kp.lip_ratio is None
    assert t.valid.all() and t.meta["source"] == f"{name}.pkl"
    back = load_template(save_template(tmp_path / "m.npz", t))
    assert back.landmarks is None and len(back) == n_frames and back.fps == fps
    assert np.array_equal(back.keypoints.exp, kp.exp) and np.array_equal(back.keypoints.rotation, kp.rotation)


def _template_dict(n=2, **frame_extra):
    f = np.float32
    frame = {"scale": np.ones((1, 1), f), "R": np.eye(3, dtype=f)[None], "exp": np.zeros((1, 21, 3), f),
             "t": np.zeros((1, 3), f), **frame_extra}  # fmt: skip
    return {"n_frames": n, "output_fps": 25, "motion": [dict(frame) for _ in range(n)]}


def test_pickles_written_by_this_numpy_import(tmp_path):
    # numpy 2 names numpy._core.multiarray instead of the real files' numpy.core.multiarray
    path = tmp_path / "mine.pkl"
    for protocol in (3, 4):
        path.write_bytes(pickle.dumps(_template_dict(3, kp=np.zeros((1, 21, 3), np.float32)), protocol))
        assert len(load_liveportrait_template(path)) == 3


class _Gadget:
    pass


class _Reduce:
    """Pickles as a call of ``func(*args)``: what a hostile template would contain."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _hostile_payloads(marker):
    return {
        "os.system": _Reduce(os.system, f"touch {marker}"),
        "builtins.eval": _Reduce(builtins.eval, f"open({str(marker)!r}, 'w').close()"),
        "builtins.open": _Reduce(builtins.open, str(marker), "w"),
        "inside a valid template": _template_dict(2, kp=_Reduce(builtins.open, str(marker), "w")),
    }


# the global each payload names: pickle spells builtins as __builtin__ below protocol 3, and
# open as io.open; arrays need _codecs.encode below protocol 3 and _frombuffer at 5 (refused too)
HOSTILE = [
    *[("os.system", p, "posix.system") for p in (0, 2, 4, 5)],
    *[("builtins.eval", p, "__builtin__.eval" if p < 3 else "builtins.eval") for p in (0, 2, 4, 5)],
    *[("builtins.open", p, "io.open") for p in (0, 2, 4, 5)],
    *[("inside a valid template", p, "io.open") for p in (3, 4)],
]


@pytest.mark.parametrize("kind,protocol,refused", HOSTILE)
def test_hostile_pickles_are_refused_without_running(tmp_path, kind, protocol, refused):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(_hostile_payloads(marker)[kind], protocol=protocol))
    with pytest.raises(InputError, match="refused to load") as info:
        load_liveportrait_template(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert f"refused to load {refused} " in message
    assert not marker.exists()


def test_the_hostile_payload_is_live(tmp_path):
    # proves the test above could fail: an unrestricted unpickler runs the call and makes the file
    marker = tmp_path / "pwned"
    pickle.loads(pickle.dumps(_hostile_payloads(marker)["builtins.open"])).close()
    assert marker.exists()


@pytest.mark.parametrize(
    "obj,name",
    [
        (collections.OrderedDict(a=1), "collections.OrderedDict"),
        (_Gadget(), "_Gadget"),
        ({"motion": [np.float32(1.0)]}, "scalar"),  # numpy scalars need a global of their own
        (np.array([1.0]).astype(object), "_reconstruct"),  # object dtype: refused before the data
        (np.arange(3.0), "_frombuffer"),  # protocol 5's array builder is not on the list
    ],
)
def test_disallowed_classes_are_refused(tmp_path, obj, name):
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps(obj, protocol=5 if name == "_frombuffer" else 4))
    with pytest.raises(InputError) as info:
        load_liveportrait_template(path)
    assert name in str(info.value) or "refused dtype" in str(info.value)
    assert "\n" not in str(info.value)


def _g(module, name):
    return f"c{module}\n{name}\n".encode()


@pytest.mark.parametrize(
    "data,problem",
    [
        # the allowed globals cannot be used to allocate: ndarray is not callable, shapes are fixed
        (b"\x80\x03" + _g("numpy", "ndarray") + b"J\x00\x00\x00\x40\x85\x85R.", "TypeError"),
        (b"\x80\x03" + _g("numpy.core.multiarray", "_reconstruct") + _g("numpy", "ndarray")
         + b"J\x00\x00\x00\x40\x85C\x01b\x87R.", "array reconstructor"),
        (b"\x80\x03" + _g("numpy", "dtype") + b"X\x02\x00\x00\x00O8\x89\x88\x87R.", "refused dtype"),
        (b"\x80\x03" + _g("numpy", "dtype") + b"X\x04\x00\x00\x00V999\x89\x88\x87R.", "refused dtype"),
        # a memo index this large would make the unpickler allocate a huge table
        (b"\x80\x03Nr" + struct.pack("<I", 2**31) + b".", "memo index"),
        (b"\x80\x03K\x01\x82.", "refused pickle opcode EXT1"),
        (b"\x80\x03X\x01\x00\x00\x00aQ.", "refused pickle opcode BINPERSID"),
        (b"\x80\x03}q\x00(X\x01\x00\x00\x00a", "not a pickle"),  # truncated
        (b"PK\x03\x04 this is a zip file, not a pickle", "not a pickle"),
    ],
    ids=["call-ndarray", "reconstruct-huge", "dtype-object", "dtype-void", "memo-index", "ext1", "persid",
         "truncated", "zip"],
)  # fmt: skip
def test_crafted_opcodes_are_refused(tmp_path, data, problem):
    path = tmp_path / "x.pkl"
    path.write_bytes(data)
    with pytest.raises(InputError, match=problem) as info:
        load_liveportrait_template(path)
    assert "\n" not in str(info.value)


def _bad(**changes):
    d = _template_dict(3)
    d.update(changes)
    return d


def _bad_frame(i, **changes):
    d = _template_dict(3)
    d["motion"][i].update(changes)
    return d


@pytest.mark.parametrize(
    "obj,problem",
    [
        ([1, 2], "holds a list, not a dict"),
        (_bad(motion=[]), "no 'motion' list"),
        (_bad(n_frames=5), "n_frames is 5 but 'motion' has 3"),
        (_bad(n_frames=True), "n_frames is True"),
        (_bad(output_fps=-3), "invalid output_fps"),
        (_bad(output_fps=float("nan")), "invalid output_fps"),
        (_bad_frame(1, exp=np.zeros((1, 20, 3), np.float32)), r"motion\[1\].exp has shape \(1, 20, 3\)"),
        (_bad_frame(2, t=np.zeros((1, 3), np.int64)), r"motion\[2\].t is a int64 array"),
        (_bad_frame(0, scale=[1.0]), r"motion\[0\].scale is a list"),
        (_bad_frame(0, scale=np.full((1, 1), np.inf, np.float32)), "non-finite"),
        (_bad_frame(0, R=np.ones((1, 3, 3), np.float32)), "not a rotation"),
        (_bad(c_eyes_lst=[np.zeros((1, 2), np.float32)] * 2), "c_eyes_lst has 2 entries"),
        (_bad(c_lip_lst=[np.zeros((1, 2), np.float32)] * 3), r"c_lip_lst\[0\] has shape \(1, 2\)"),
    ],
)
def test_malformed_templates_are_refused(tmp_path, obj, problem):
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps(obj, protocol=4))
    with pytest.raises(InputError, match=problem):
        load_liveportrait_template(path)


def test_array_layouts_are_rebuilt_exactly(tmp_path):
    rng = np.random.default_rng(0)
    exp = rng.normal(size=(1, 21, 3)).astype(np.float32)
    d = _template_dict(2)
    d["motion"][0]["exp"] = np.asfortranarray(exp)  # pickled in Fortran order
    d["motion"][1]["exp"] = exp.astype(">f4")  # big-endian bytes
    d["motion"][1]["t"] = np.ones((3,), np.float64)  # no batch axis, float64
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps(d, protocol=4))
    kp = load_liveportrait_template(path).keypoints
    assert np.array_equal(kp.exp[0], exp[0]) and np.array_equal(kp.exp[1], exp[0])
    assert kp.t.dtype == np.float32 and np.array_equal(kp.t[1], np.ones(3))


def test_array_and_dtype_states_are_checked(tmp_path):
    arr = np.arange(3, dtype="<f4")
    data = pickle.dumps(arr, protocol=3)  # no framing, so bytes can be edited in place
    short = data.replace(b"C\x0c" + arr.tobytes(), b"C\x08" + arr.tobytes()[:8])
    assert short != data
    subarray = data.replace(b"NNN", b"\x88NN", 1)  # a dtype state claiming a subarray
    assert subarray != data
    for bad, problem in ((short, "does not match its 8 bytes"), (subarray, "unexpected state for dtype f4")):
        (tmp_path / "x.pkl").write_bytes(bad)
        with pytest.raises(InputError, match=problem):
            load_liveportrait_template(tmp_path / "x.pkl")


def test_size_limit_and_missing_files(tmp_path, shared_data, monkeypatch):
    import vivify.pipeline.lp_template as lp

    real = shared_data / "templates" / "talking.pkl"
    monkeypatch.setattr(lp, "MAX_PICKLE_OPS", 5000)  # the file has 10259
    with pytest.raises(InputError, match="more than 5000 opcodes"):
        load_liveportrait_template(real)
    monkeypatch.undo()
    with pytest.raises(InputError, match="too large"):
        load_liveportrait_template(real, max_bytes=10_000)
    assert len(load_liveportrait_template(real, max_bytes=real.stat().st_size)) == 100
    (tmp_path / "empty.pkl").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        load_liveportrait_template(tmp_path / "empty.pkl")
    with pytest.raises(InputError, match="not found"):
        load_liveportrait_template(tmp_path / "missing.pkl")


def test_empty_ratio_lists_mean_no_ratios(tmp_path):
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps(_bad(c_eyes_lst=[], c_lip_lst=[]), protocol=4))
    kp = load_liveportrait_template(path).keypoints
    assert kp.eye_ratio is None and kp.lip_ratio is None
