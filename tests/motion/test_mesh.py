import numpy as np
import pytest

from vivify.face.geometry import canonical_face, euler_to_rotation, head_pose
from vivify.face.openness import lip_open
from vivify.motion.mesh import REGION_POINTS, close_irises, compose, decompose, transfer


def _face(rot=(0, 0, 0), scale=100.0, offset=(300.0, 250.0), shape=None):
    c = canonical_face() if shape is None else shape
    p = c @ euler_to_rotation(*rot).T * scale * np.array([1, -1, -1])
    p[:, :2] += offset
    return p.astype(np.float32)


def test_decompose_compose_round_trip():
    face = _face((10, -5, 3), 80, (200, 150))
    pose, shape = decompose(face)
    assert pose.scale == pytest.approx(80, rel=1e-4)
    assert np.allclose(compose(pose, shape), face, atol=1e-3)


def test_no_motion_keeps_the_source():
    src, drv = _face(scale=50, offset=(100, 90)), _face((3, 2, 1))
    assert np.allclose(transfer(src, drv, drv), src, atol=1e-3)


def test_head_turn_is_transferred_at_source_scale():
    src = _face(scale=50, offset=(100, 90))
    out = transfer(src, _face((20, 0, 0)), _face())
    assert head_pose(out) == pytest.approx((20, 0, 0), abs=1e-3)
    assert np.linalg.norm(out[33] - out[263]) == pytest.approx(np.linalg.norm(src[33] - src[263]), rel=1e-3)


def _open_mouth():
    c = canonical_face().copy()
    c[14, 1] -= 0.3  # lower inner lip down
    return c


def test_expression_and_regions():
    src, ref = _face(scale=60), _face()
    drv = _face((15, 0, 0), shape=_open_mouth())
    assert lip_open(transfer(src, drv, ref)) > lip_open(src) + 0.1
    pose_only = transfer(src, drv, ref, region="pose")
    assert np.allclose(decompose(pose_only)[1], decompose(src)[1], atol=1e-4)  # expression untouched
    assert head_pose(pose_only)[0] == pytest.approx(15, abs=1e-3)
    exp_only = transfer(src, drv, ref, region="exp")
    assert head_pose(exp_only)[0] == pytest.approx(0, abs=0.5)
    lips = transfer(src, drv, ref, region="lips")
    moved = np.flatnonzero(np.abs(lips - src).max(axis=1) > 1e-3)
    assert set(moved) <= set(REGION_POINTS["lips"].tolist()) and 14 in moved
    eyes = transfer(src, drv, ref, region="eyes")
    assert np.allclose(eyes[14], src[14], atol=1e-3)


def test_multiplier_and_absolute():
    src, ref, drv = _face(scale=60), _face(), _face((10, 0, 0), shape=_open_mouth())
    assert np.allclose(transfer(src, drv, ref, multiplier=0.0), src, atol=1e-3)
    assert head_pose(transfer(src, drv, ref, multiplier=2.0))[0] == pytest.approx(20, abs=1e-3)
    turned_src = _face((-10, 0, 0), scale=60)
    absolute = transfer(turned_src, drv, relative=False)
    assert head_pose(absolute)[0] == pytest.approx(10, abs=1e-3)
    assert lip_open(absolute) > lip_open(turned_src) + 0.1
    with pytest.raises(ValueError):
        transfer(src, drv, None)


def test_closing_beyond_closed_does_not_cross_the_lips():
    # the driver's reference has its mouth open; the source's is closed: when the driver closes
    # its mouth the source's lower lip must stop at the upper one, not pass it (which would read
    # as an open mouth again)
    src = _face(scale=50, offset=(100, 90))
    out = transfer(src, _face(), _face(shape=_open_mouth()))
    assert lip_open(src) > 0.05 and lip_open(out) < 0.005  # closed, not re-opened upside down
    assert out[14, 1] >= out[13, 1] - 1e-3  # image y down: the lower lip stays below the upper


def test_lids_never_cross_and_irises_close_with_them():
    upper = [246, 161, 160, 159, 158, 157, 173, 466, 388, 387, 386, 385, 384, 398]
    lower = [7, 163, 144, 145, 153, 154, 155, 249, 390, 373, 374, 380, 381, 382]
    src = _face(scale=50, offset=(100, 90))
    overshoot = canonical_face().copy()
    overshoot[upper, 1] = overshoot[lower, 1] - 0.2  # upper lids pushed below the lower ones
    shut = transfer(src, _face(shape=overshoot), _face())
    assert (shut[upper, 1] <= shut[lower, 1] + 1e-3).all()  # image y down: lids meet, never cross

    def iris_span(p):
        return np.ptp(p[468:473, 1]) + np.ptp(p[473:478, 1])

    half = src.copy()
    half[upper, 1] += 0.5 * (src[lower, 1] - src[upper, 1])  # lids half closed
    assert iris_span(close_irises(half, src)) == pytest.approx(0.5 * iris_span(src), rel=0.1)
    assert iris_span(close_irises(shut, src)) < 0.05 * iris_span(src)
    assert np.array_equal(close_irises(src, src), src)  # open as in the source: untouched


def test_reference_mixes_pose_and_expression():
    from vivify.backends import MeshWarpBackend

    posed, talking = _face((15, 5, 0), 60, (200, 150)), _face(scale=80, shape=_open_mouth())
    ref = MeshWarpBackend.reference(posed, talking)
    assert head_pose(ref) == pytest.approx(head_pose(posed), abs=1e-3)
    assert np.allclose(decompose(ref)[1], decompose(talking)[1], atol=1e-4)


def test_keep_position_transfers_turn_and_expression_only():
    src, ref = _face(scale=50, offset=(100, 90)), _face()
    moved = _face((10, 0, 0), scale=120, offset=(330, 260), shape=_open_mouth())
    out = transfer(src, moved, ref, keep_position=True)
    free = transfer(src, moved, ref)
    assert head_pose(out) == pytest.approx(head_pose(free), abs=1e-3)  # the turn is transferred
    assert lip_open(out) == pytest.approx(lip_open(free), abs=1e-3)  # and the expression
    pose_s, pose_o = decompose(src)[0], decompose(out)[0]
    assert pose_o.scale == pytest.approx(pose_s.scale)
    assert np.allclose(pose_o.translation, pose_s.translation, atol=1e-3)
    assert not np.allclose(decompose(free)[0].translation, pose_s.translation, atol=1.0)
