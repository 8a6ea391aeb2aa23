"""Properties of the aligned-crop geometry: crop matrix, inverse, point mapping, paste-back.

Faces are the built-in canonical mesh (478 points) or a 106-point layout, placed anywhere in a
4000-pixel frame at any in-plane angle, with inter-ocular distances of 20 to 800 pixels.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume, example, given
from hypothesis import strategies as st

from vivify.face.align import (
    CropConfig,
    anchor_points,
    crop_matrix,
    invert_affine,
    resize_to_limit,
    transform_points,
)
from vivify.face.crop import crop_face, crop_footprint, feather_mask, paste_back, warp_crop, warp_to_frame
from vivify.face.geometry import canonical_face

EPS32 = float(np.finfo(np.float32).eps)


def _rot2(deg: float) -> np.ndarray:
    t = math.radians(deg)
    return np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])


def _similarity(deg: float, scale: float, dx: float, dy: float) -> np.ndarray:
    m = np.eye(3)
    m[:2, :2] = scale * _rot2(deg)
    m[:2, 2] = dx, dy
    return m


def _mesh_face(cx: float, cy: float, iod: float, roll: float, seed: int) -> np.ndarray:
    """The canonical mesh in image convention (y down, z away), unit inter-ocular → ``iod`` px."""
    c = canonical_face() * np.array([1.0, -1.0, -1.0])
    out = np.empty_like(c)
    out[:, :2] = c[:, :2] @ _rot2(roll).T * iod + (cx, cy)
    out[:, 2] = c[:, 2] * iod
    return out.astype(np.float32)


def _layout_106(cx: float, cy: float, iod: float, roll: float, seed: int) -> np.ndarray:
    """106 points: the eye and lip anchors where a face has them, the rest scattered over the face."""
    rng = np.random.default_rng(seed)
    local = rng.uniform((-1.0, -0.8), (1.0, 1.6), size=(106, 2))
    local[[33, 35, 40, 39]] = (-0.5, 0.0)
    local[[87, 89, 94, 93]] = (0.5, 0.0)
    local[[52, 61]] = (0.0, 1.0)
    return (local @ _rot2(roll).T * iod + (cx, cy)).astype(np.float32)


@st.composite
def faces(draw) -> np.ndarray:
    build = draw(st.sampled_from([_mesh_face, _layout_106]))
    return build(
        draw(st.floats(0.0, 4000.0)),
        draw(st.floats(0.0, 4000.0)),
        draw(st.floats(20.0, 800.0)),
        draw(st.floats(-180.0, 180.0)),
        draw(st.integers(0, 2**32 - 1)),
    )


configs = st.builds(
    CropConfig,
    dsize=st.sampled_from([64, 256, 512]),
    scale=st.floats(1.5, 3.0),
    vx_ratio=st.floats(-0.2, 0.2),
    vy_ratio=st.floats(-0.3, 0.1),
    rotate=st.booleans(),
)


def _product_tolerance(a: np.ndarray, b: np.ndarray) -> float:
    """Round-off bound of a float32 matrix product: a few ulps of the sum of absolute terms."""
    return 8 * EPS32 * float((np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64))).max())


@given(faces(), configs)
def test_crop_matrix_is_a_finite_similarity(points, config):
    m = crop_matrix(points, config)
    assert m.dtype == np.float32 and m.shape == (3, 3)
    assert np.isfinite(m).all()
    assert np.array_equal(m[2], [0, 0, 1])
    np.testing.assert_allclose(m[0, 0], m[1, 1], rtol=1e-6)
    np.testing.assert_allclose(m[0, 1], -m[1, 0], rtol=1e-6)
    assert np.linalg.det(m[:2, :2].astype(np.float64)) > 0
    if not config.rotate:
        assert m[0, 1] == 0 and m[1, 0] == 0


@given(faces(), configs)
def test_crop_and_paste_back_matrices_compose_to_identity(points, config):
    m_o2c = crop_matrix(points, config)
    m_c2o = invert_affine(m_o2c)
    assert m_c2o.dtype == np.float32 and np.isfinite(m_c2o).all()
    for a, b in ((m_c2o, m_o2c), (m_o2c, m_c2o)):
        product = a.astype(np.float64) @ b.astype(np.float64)
        np.testing.assert_allclose(product, np.eye(3), rtol=0, atol=_product_tolerance(a, b))


@given(faces(), configs)
def test_points_mapped_into_the_crop_and_back_come_back(points, config):
    m_o2c = crop_matrix(points, config)
    in_crop = transform_points(points, m_o2c)
    back = transform_points(in_crop, invert_affine(m_o2c))
    assert back.shape == points.shape and np.isfinite(back).all()
    # float32 matrices: allow the round-off of a 4000-pixel coordinate, scaled by the zoom
    zoom = math.sqrt(abs(np.linalg.det(m_o2c[:2, :2].astype(np.float64))))
    tol = 64 * EPS32 * 4000 * max(zoom, 1 / zoom)
    np.testing.assert_allclose(back[:, :2], points[:, :2], rtol=0, atol=tol)
    if points.shape[1] > 2:  # depth is scaled into crop pixels and back
        np.testing.assert_allclose(back[:, 2], points[:, 2], rtol=1e-5, atol=1e-3)


@given(faces(), configs)
def test_crop_face_maps_landmarks_into_the_crop_and_back(points, config):
    config = CropConfig(64, config.scale, config.vx_ratio, config.vy_ratio, config.rotate)
    image = np.zeros((12, 16, 3), np.uint8)
    crop = crop_face(image, points, config)
    assert crop.image.shape == (64, 64, 3) and crop.frame_size == (12, 16)
    np.testing.assert_array_equal(crop.landmarks, transform_points(points, crop.m_o2c))
    back = transform_points(crop.landmarks, crop.m_c2o)
    np.testing.assert_allclose(back[:, :2], points[:, :2], rtol=0, atol=0.05)


@given(
    faces(),
    configs,
    st.floats(-180.0, 180.0),
    st.floats(0.5, 2.0),
    st.floats(-1000.0, 1000.0),
    st.floats(-1000.0, 1000.0),
)
def test_the_crop_follows_the_face(points, config, angle, scale, dx, dy):
    """Moving, turning or zooming the whole frame leaves the face's crop unchanged."""
    if not config.rotate:
        angle = 0.0  # an unrotated crop keeps the frame's axes, so it only follows shifts and zooms
    s = _similarity(angle, scale, dx, dy)
    moved = transform_points(points.astype(np.float64), s).astype(np.float32)
    expected = transform_points(points, crop_matrix(points, config))
    got = transform_points(moved, crop_matrix(moved, config))
    np.testing.assert_allclose(got[:, :2], expected[:, :2], rtol=0, atol=2e-3 * config.dsize)


@given(faces(), configs)
def test_the_crop_levels_the_eyes(points, config):
    assume(config.rotate)
    eye_a, eye_b, lip = anchor_points(transform_points(points, crop_matrix(points, config)))
    tol = 1e-3 * config.dsize
    assert abs(eye_a[1] - eye_b[1]) < tol
    assert eye_b[0] > eye_a[0]
    assert lip[1] > (eye_a[1] + eye_b[1]) / 2


def _affines(scale: float = 10.0) -> st.SearchStrategy[np.ndarray]:
    entries = st.lists(st.floats(-scale, scale), min_size=6, max_size=6)
    return entries.map(lambda v: np.array([v[:3], v[3:], [0.0, 0.0, 1.0]]))


@given(_affines(), _affines(), st.integers(0, 2**32 - 1))
def test_transform_points_composes(a, b, seed):
    # away from singular maps, where the depth scale sqrt|det| amplifies the determinant's round-off
    assume(abs(np.linalg.det(a[:2, :2])) > 1e-3 and abs(np.linalg.det(b[:2, :2])) > 1e-3)
    points = np.random.default_rng(seed).uniform(-500, 500, size=(7, 3))
    twice = transform_points(transform_points(points, a), b)
    once = transform_points(points, b @ a)
    np.testing.assert_allclose(twice, once, rtol=1e-9, atol=1e-7)


@st.composite
def crops_in_frames(draw) -> tuple[np.ndarray, int, tuple[int, int]]:
    """(m_c2o, crop size, frame size) for a crop lying anywhere on or off a small frame."""
    size = draw(st.integers(4, 48))
    frame = (draw(st.integers(4, 80)), draw(st.integers(4, 80)))
    m = _similarity(
        draw(st.floats(-180.0, 180.0)),
        draw(st.floats(0.25, 3.0)),
        draw(st.floats(-60.0, 120.0)),
        draw(st.floats(-60.0, 120.0)),
    )
    return m.astype(np.float32), size, frame


def _footprint_misses(m_c2o: np.ndarray, mask: np.ndarray, frame: tuple[int, int]) -> np.ndarray:
    """Frame pixels that the warped ``mask`` reaches outside :func:`crop_footprint`, (K, 2) (y, x)."""
    y0, y1, x0, x1 = crop_footprint(m_c2o, mask.shape[0], frame)
    if y1 > y0 and x1 > x0:  # an empty box may lie beyond the frame; a non-empty one may not
        assert 0 <= y0 < y1 <= frame[0] and 0 <= x0 < x1 <= frame[1]
    reached = warp_to_frame(mask, m_c2o, frame) > 0
    reached[y0:y1, x0:x1] = False
    return np.argwhere(reached)


@given(crops_in_frames())
def test_crop_footprint_covers_every_pixel_a_feathered_crop_reaches(case):
    """What paste-back relies on: outside the footprint the (feathered) crop has no weight."""
    m_c2o, size, frame = case
    misses = _footprint_misses(m_c2o, feather_mask(size, max(1, size // 8)), frame)
    assert not len(misses), f"pixels {misses[:3].tolist()} outside the footprint"


@example(case=(_similarity(0.0, 3.0, 0.0, 2.0).astype(np.float32), 4, (4, 4)))
@given(crops_in_frames())
def test_crop_footprint_covers_every_pixel_the_crop_reaches(case):
    """The docstring's claim, for any mask (here all 255, no feathering)."""
    m_c2o, size, frame = case
    misses = _footprint_misses(m_c2o, np.full((size, size), 255, np.uint8), frame)
    assert not len(misses), f"pixels {misses[:3].tolist()} outside the footprint"


@given(crops_in_frames(), st.integers(0, 2**32 - 1))
def test_pasting_back_an_unedited_crop_returns_the_frame(case, seed):
    m_c2o, size, (h, w) = case
    frame = np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    crop = warp_crop(frame, invert_affine(m_c2o), size)
    out = paste_back(frame, crop, m_c2o, reference_crop=crop)
    np.testing.assert_array_equal(out, frame)


@given(crops_in_frames(), st.integers(0, 2**32 - 1))
def test_paste_back_changes_only_the_crops_footprint(case, seed):
    m_c2o, size, (h, w) = case
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    original = frame.copy()
    crop = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    out = paste_back(frame, crop, m_c2o)
    assert out.dtype == np.uint8 and out.shape == frame.shape
    np.testing.assert_array_equal(frame, original)  # the input is not modified
    y0, y1, x0, x1 = crop_footprint(m_c2o, size, (h, w))
    changed = out != frame
    changed[y0:y1, x0:x1] = False
    assert not changed.any()


@given(st.integers(4, 600), st.integers(1, 32))
def test_feather_mask_is_symmetric_and_ramps_from_the_border(dsize, feather):
    mask = feather_mask(dsize, feather)
    assert mask.shape == (dsize, dsize) and mask.dtype == np.uint8
    np.testing.assert_array_equal(mask, mask.T)
    np.testing.assert_array_equal(mask[1:, 1:], mask[1:, 1:][::-1, ::-1])  # pixel i mirrors dsize - i
    assert not mask[0].any() and not mask[:, 0].any()
    middle = mask[dsize // 2, : dsize // 2 + 1].astype(int)
    assert (np.diff(middle) >= 0).all()
    if dsize > 2 * feather + 1:
        assert mask[dsize // 2, dsize // 2] == 255


@given(
    st.integers(32, 10_000),
    st.integers(32, 10_000),
    st.one_of(st.just(0), st.integers(256, 4096)),
    st.sampled_from([1, 2, 4, 8]),
)
def test_resize_to_limit_caps_the_longer_side_and_divides_evenly(h, w, max_dim, division):
    assume(max(h, w) <= 20 * min(h, w))  # photographs, not slivers
    rh, rw, ch, cw = resize_to_limit(h, w, max_dim, division)
    if max_dim <= 0 or max(h, w) <= max_dim:
        assert (rh, rw) == (h, w)
    else:
        assert max(rh, rw) == max_dim
        short, exact = (rw, w * max_dim / h) if h > w else (rh, h * max_dim / w)
        # scaled and truncated; a product that rounds to just below a whole number loses that
        # pixel too (a 2139-pixel square becomes 1279 x 1280): LivePortrait's rule, kept for parity
        assert exact - 1 <= short <= exact
    assert ch % division == 0 and cw % division == 0
    assert rh - division < ch <= rh and rw - division < cw <= rw
