import torch

from vivify.motion import bins_to_degrees, rotation_matrix, transform_keypoints


def test_bins_to_degrees(parity):
    fx = parity("motion_math")
    fx.check("out__degrees", bins_to_degrees(fx.tensor("in__bin_logits")))


def test_rotation_matrix(parity):
    fx = parity("motion_math")
    a = fx.tensor("in__angles_pyr_deg")
    fx.check("out__rotation", rotation_matrix(a[:, 0], a[:, 1], a[:, 2]))


def test_transform_keypoints(parity):
    fx = parity("motion_math")
    t = {k: fx.tensor(f"in__kpinfo_{k}") for k in ("pitch", "yaw", "roll", "t", "exp", "scale", "kp")}
    rot = rotation_matrix(t["pitch"], t["yaw"], t["roll"])
    fx.check("out__transformed", transform_keypoints(t["kp"], rot, t["exp"], t["scale"], t["t"]))


def test_rotation_is_orthonormal_and_identity_at_zero():
    zero = torch.zeros(1)
    assert torch.allclose(rotation_matrix(zero, zero, zero), torch.eye(3)[None])
    r = rotation_matrix(torch.tensor([10.0]), torch.tensor([-20.0]), torch.tensor([30.0]))
    assert torch.allclose(r @ r.transpose(1, 2), torch.eye(3)[None], atol=1e-6)
    # yaw alone rotates about y: a point on x moves in z only
    ry = rotation_matrix(zero, torch.tensor([90.0]), zero)
    assert torch.allclose(torch.tensor([[1.0, 0, 0]]) @ ry[0], torch.tensor([[0.0, 0, -1]]), atol=1e-6)
