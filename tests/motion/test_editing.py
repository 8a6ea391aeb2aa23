import numpy as np
import pytest
import torch

from vivify.motion.editing import (
    CONTROLS,
    FaceEdit,
    apply_edit,
    edited_keypoints,
    expression_offset,
    rotation_angles,
)
from vivify.motion.keypoints import transform_keypoints
from vivify.motion.relative import KeypointInfo
from vivify.motion.rotation import rotation_matrix

X, Y, Z = 0, 1, 2


def _source(batch: int = 2, seed: int = 0) -> KeypointInfo:
    g = torch.Generator().manual_seed(seed)

    def rand(*shape: int, scale: float = 1.0) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * scale

    return KeypointInfo(
        pitch=rand(batch, 1, scale=8),
        yaw=rand(batch, 1, scale=10),
        roll=rand(batch, 1, scale=5),
        t=rand(batch, 3, scale=0.05),  # tz non-zero on purpose: it must stay out of x_d
        exp=rand(batch, 21, 3, scale=0.03),
        scale=1.0 + rand(batch, 1, scale=0.1).abs(),
        kp=rand(batch, 21, 3, scale=0.4),
    )


def _x_s(src: KeypointInfo) -> torch.Tensor:
    return transform_keypoints(src.kp, src.rotation, src.exp, src.scale, src.t)


def test_neutral_edit_gives_the_source_keypoints_exactly():
    src = _source()
    assert torch.equal(edited_keypoints(src, FaceEdit()), _x_s(src))
    assert torch.equal(expression_offset(FaceEdit(), 3), torch.zeros(3, 21, 3))
    assert FaceEdit().is_neutral and not FaceEdit(smile=0.1).is_neutral


def test_include_tz_reproduces_the_official_editor():
    src = _source()
    x_d = edited_keypoints(src, FaceEdit(), include_tz=True)
    expected = _x_s(src) + torch.cat([torch.zeros(2, 1, 2), src.t[:, None, 2:]], dim=-1)
    assert torch.allclose(x_d, expected, atol=1e-7)


def test_neutral_edit_on_the_official_source_keypoints(shared_reference):
    ref = np.load(shared_reference / "fixtures" / "pipeline.npz")
    key = "out__kp_info_source_"
    src = KeypointInfo(
        *(torch.from_numpy(ref[key + n]) for n in ("pitch", "yaw", "roll", "t", "exp", "scale", "kp"))
    )
    x_d = edited_keypoints(src, FaceEdit())
    assert np.abs(x_d.numpy() - ref["out__x_s"]).max() < 1e-6


# Spec §1.1 (liveportrait-editing.md), written out per (keypoint, axis): offset at the given value.
SPEC_OFFSETS = [
    ("smile", 1.0, {(20, Y): -0.01, (14, Y): -0.02, (17, Y): 0.0065, (17, Z): 0.003, (13, Y): -0.00275,
                    (16, Y): -0.00275, (3, Y): -0.0035, (7, Y): -0.0035}),
    ("wink", 39.0, {(11, Y): 0.039, (13, Y): -0.0117, (17, X): 0.0117, (17, Y): 0.0117, (3, Y): -0.0117}),
    ("eyebrow", 30.0, {(1, Y): 0.03, (2, Y): -0.03}),
    ("eyebrow", -30.0, {(1, X): 0.03, (2, X): -0.03, (1, Y): -0.009, (2, Y): 0.009}),
    ("gaze_x", 30.0, {(11, X): 0.021, (15, X): 0.03}),
    ("gaze_x", -30.0, {(11, X): -0.03, (15, X): -0.021}),
    ("gaze_y", 63.0, {(11, Y): -0.0315, (15, Y): -0.0315, (13, Y): -0.00945, (16, Y): -0.00945}),
    ("gaze_y", -63.0, {(11, Y): 0.0315, (15, Y): 0.0315, (13, Y): 0.00945, (16, Y): 0.00945}),
    ("mouth_open", 120.0, {(19, Y): 0.12, (19, Z): 0.012, (17, Y): -0.012}),
    ("mouth_open", -90.0, {(19, Y): -0.09, (19, Z): -0.009, (17, Y): 0.009}),
    ("grin", 15.0, {(20, Z): -0.015, (20, Y): -0.015, (14, Y): -0.015}),
    ("purse", -20.0, {(14, Y): -0.02, (3, Y): 0.01, (7, Y): 0.01, (17, Z): 0.01}),
    ("pout", 0.09, {(19, X): 0.09}),
    ("shift_x", 0.19, {(5, X): 0.19}),  # the official mov_x = -0.19
    ("shift_y", -0.19, {(5, Y): -0.19}),
    ("blink", 20.0, {(11, Y): 0.02, (15, Y): 0.02, (13, Y): -0.006, (16, Y): -0.006}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "value", "expected"), SPEC_OFFSETS)
def test_each_control_adds_the_spec_offsets_and_nothing_else(name, value, expected):
    offset = expression_offset(FaceEdit(**{name: value}), 2)
    assert offset.shape == (2, 21, 3) and offset.dtype == torch.float32
    assert torch.equal(offset[0], offset[1])
    touched = {(int(k), int(a)) for k, a in torch.nonzero(offset[0]).tolist()}
    assert touched == set(expected)
    for (k, a), v in expected.items():
        assert offset[0, k, a].item() == pytest.approx(v, rel=1e-6)


@pytest.mark.parametrize(("name", "value", "expected"), SPEC_OFFSETS)
def test_expression_controls_move_only_their_keypoints(name, value, expected):
    src = _source()
    moved = (edited_keypoints(src, FaceEdit(**{name: value})) - _x_s(src)).abs().amax(dim=(0, 2)) > 0
    assert set(torch.nonzero(moved).flatten().tolist()) == {k for k, _ in expected}


def test_vertical_gaze_includes_the_implied_blink():
    # direct −0.001·v on kp11.y/kp15.y plus a blink of v/2 in vivify's sign (closing = positive)
    gaze = expression_offset(FaceEdit(gaze_y=40.0))
    direct = torch.zeros(1, 21, 3)
    direct[0, [11, 15], Y] = -0.04
    assert torch.allclose(gaze, direct + expression_offset(FaceEdit(blink=20.0)), atol=1e-8)


def test_vowel_presets_are_lip_controls():
    def off(**kw):
        return expression_offset(FaceEdit(**kw), dtype=torch.float64)

    assert torch.allclose(off(aaa=1.0), off(mouth_open=100.0))
    assert torch.allclose(off(eee=0.5), off(grin=7.5, mouth_open=10.0))
    assert torch.allclose(off(woo=1.0), off(purse=15.0, mouth_open=10.0))
    assert torch.allclose(off(woo=1.0, mouth_open=-10.0), off(purse=15.0))


def test_a_larger_value_moves_the_keypoints_more():
    src = _source()
    x_s = _x_s(src)
    for name, rows in (
        ("smile", [14, 20, 17]),
        ("wink", [11, 13]),
        ("mouth_open", [19]),
        ("blink", [11, 15]),
    ):
        high = CONTROLS[name].high
        moves = [
            (edited_keypoints(src, FaceEdit(**{name: f * high})) - x_s)[:, rows].norm(dim=-1)
            for f in (0.25, 0.5, 1.0)
        ]
        assert (moves[0] > 0).all() and (moves[1] > moves[0]).all() and (moves[2] > moves[1]).all(), name
    # the sign follows the value: a positive smile lowers kp14.y and kp20.y in expression space
    assert (expression_offset(FaceEdit(smile=1.0))[0, [14, 20], Y] < 0).all()
    assert (expression_offset(FaceEdit(smile=-0.3))[0, [14, 20], Y] > 0).all()


@pytest.mark.parametrize(
    ("pitch", "yaw", "roll"), [(10.0, 0.0, 0.0), (0.0, -25.0, 0.0), (0.0, 0.0, 15.0), (-5, 7, 3)]
)
def test_pose_controls_add_to_the_source_angles(pitch, yaw, roll):
    src = _source()
    x_d = edited_keypoints(src, FaceEdit(pitch=pitch, yaw=yaw, roll=roll))
    rot = rotation_matrix(src.pitch + pitch, src.yaw + yaw, src.roll + roll)
    assert torch.allclose(x_d, transform_keypoints(src.kp, rot, src.exp, src.scale, src.t), atol=1e-7)
    # a pure yaw edit with a neutral source pose rotates the expression-free cloud about y
    flat = KeypointInfo(*(torch.zeros_like(v) for v in (src.pitch, src.yaw, src.roll, src.t, src.exp)),
                        scale=torch.ones_like(src.scale), kp=src.kp)  # fmt: skip
    turned = edited_keypoints(flat, FaceEdit(yaw=20.0))
    a = np.radians(20.0)
    ry = torch.tensor([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]], dtype=torch.float32)
    assert torch.allclose(turned, src.kp @ ry.T, atol=1e-6)  # row vectors: x·R = (Ry·xᵀ)ᵀ
    assert torch.allclose(turned[..., 1], src.kp[..., 1])


def test_scale_and_shift():
    src = _source()
    x_s, t = _x_s(src), src.t[:, None, :].clone()
    t[..., 2] = 0
    x_d = edited_keypoints(src, FaceEdit(scale=1.1))
    assert torch.allclose(x_d - t, 1.1 * (x_s - t), atol=1e-6)  # about t, translation untouched
    x_d = edited_keypoints(src, FaceEdit(shift_x=0.1, shift_y=-0.05))
    diff = x_d - x_s
    expected = src.scale * torch.tensor([0.1, -0.05, 0.0])
    assert torch.allclose(diff[:, 5], expected, atol=1e-6)
    assert torch.equal(diff[:, :5], torch.zeros_like(diff[:, :5])) and not diff[:, 6:].any()


@pytest.mark.parametrize("name", list(CONTROLS))
def test_out_of_range_values_are_rejected(name):
    rng = CONTROLS[name]
    FaceEdit(**{name: rng.low})
    FaceEdit(**{name: rng.high})
    for bad in (rng.high + 0.01 * (rng.high - rng.low), rng.low - 0.01 * (rng.high - rng.low), float("nan")):
        with pytest.raises(ValueError, match=rf"{name} must be in \[{rng.low:g}, {rng.high:g}\]"):
            FaceEdit(**{name: bad})
    with pytest.raises(ValueError, match=name):
        FaceEdit(**{name: "a lot"})


def test_face_edit_is_frozen_and_reports_changes():
    edit = FaceEdit(smile=1, yaw=5)
    assert edit.smile == 1.0 and isinstance(edit.smile, float)
    assert edit.changed() == {"yaw": 5.0, "smile": 1.0}
    assert edit.moves_pose and not FaceEdit(smile=1).moves_pose
    with pytest.raises(AttributeError):
        edit.smile = 0.5  # type: ignore[misc]


def test_rotation_angles_inverts_rotation_matrix():
    g = torch.Generator().manual_seed(1)
    angles = (torch.rand(50, 3, generator=g, dtype=torch.float64) - 0.5) * 160
    rot = rotation_matrix(angles[:, 0], angles[:, 1], angles[:, 2])
    pitch, yaw, roll = rotation_angles(rot)
    assert torch.allclose(torch.cat([pitch, yaw, roll], dim=1), angles, atol=1e-9)


def test_apply_edit_neutral_returns_the_inputs():
    src = _source()
    motion = (src.rotation, src.exp, src.scale, src.t)
    assert all(a is b for a, b in zip(apply_edit(*motion, FaceEdit()), motion, strict=True))


def test_apply_edit_on_motion_matches_the_editor():
    src = _source()
    edit = FaceEdit(yaw=12, pitch=-4, roll=3, smile=0.8, gaze_x=10, scale=1.05, shift_y=0.03)
    rot, exp, scale, t = apply_edit(src.rotation, src.exp, src.scale, src.t, edit)
    assert t is src.t
    assert torch.allclose(
        transform_keypoints(src.kp, rot, exp, scale, t), edited_keypoints(src, edit), atol=1e-5
    )


def test_apply_edit_is_a_constant_offset_per_frame():
    frames = _source(batch=5, seed=3)  # five driving frames' composed motion
    edit = FaceEdit(wink=20, eyebrow=-10, scale=0.95)
    _, exp, scale, _ = apply_edit(frames.rotation, frames.exp.reshape(5, 63), frames.scale, frames.t, edit)
    delta = exp.reshape(5, 21, 3) - frames.exp
    assert torch.allclose(delta, expression_offset(edit, 5), atol=1e-7)
    assert torch.allclose(scale, frames.scale * 0.95)
    rot, *_ = apply_edit(frames.rotation, frames.exp, frames.scale, frames.t, FaceEdit(yaw=10))
    pitch, yaw, roll = rotation_angles(rot)
    p0, y0, r0 = rotation_angles(frames.rotation)
    assert torch.allclose(yaw - y0, torch.full_like(yaw, 10.0), atol=1e-3)
    assert torch.allclose(pitch, p0, atol=1e-3) and torch.allclose(roll, r0, atol=1e-3)
