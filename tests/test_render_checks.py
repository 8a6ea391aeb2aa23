"""Each render check fails on the fault it is meant to catch and passes without it (synthetic frames)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vivify import render_checks as rc
from vivify.face.geometry import canonical_face
from vivify.face.landmarks import EYE_CONTOURS, INNER_LIPS, OUTER_LIPS

SIZE = 256
SKIN = (200, 150, 130)
# the lower lip (inner and outer contours) and the chin move down to open the mouth
LOWER_LIP = [14, 87, 178, 88, 95, 317, 402, 318, 324, 17, 84, 181, 91, 146, 314, 405, 321, 375]


def _face(scale: float = 100.0) -> np.ndarray:
    """(478, 3) pixel landmarks of the canonical face centred in a SIZE x SIZE image."""
    pts = canonical_face() * scale
    pts[:, 1] *= -1  # y down
    pts[:, :2] += SIZE / 2
    return pts


def _texture(seed: int = 0, blur: float = 1.5, contrast: float = 60.0) -> np.ndarray:
    """(SIZE, SIZE, 3) uint8 smooth random texture around mid grey."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (SIZE, SIZE, 3)).astype(np.float32), (0, 0), blur)
    noise *= contrast / noise.std()
    return np.clip(128 + noise, 0, 255).astype(np.uint8)


def _rect_mask(margin: int = 40) -> np.ndarray:
    mask = np.zeros((SIZE, SIZE), bool)
    mask[margin:-margin, margin:-margin] = True
    return mask


def _fill(image: np.ndarray, points: np.ndarray, colour) -> None:
    cv2.fillPoly(image, [np.round(points[:, :2]).astype(np.int32)], colour)


# --- seam ---------------------------------------------------------------------------------------


def test_boundary_band_straddles_the_contour_and_skips_the_image_border():
    mask = np.zeros((SIZE, SIZE), bool)
    mask[:, :100] = True  # touches the top, bottom and left borders
    band = rc.boundary_band(mask, width=3)
    assert band[128, 98:101].all() and not band[128, 97] and not band[128, 101]
    assert not band[:3].any() and not band[-3:].any() and not band[:, :3].any()


def test_identity_passes_the_seam_check():
    source = _texture()
    check = rc.seam_check(source, source, _rect_mask())
    assert check.ratio == pytest.approx(1.0) and check.passed


def test_hard_straight_edge_fails_the_seam_check():
    source, mask = _texture(blur=3.0, contrast=10.0), _rect_mask()
    frame = source.astype(np.int16)
    frame[mask] += 40  # pasted area brighter than its surroundings: a hard edge along the contour
    check = rc.seam_check(np.clip(frame, 0, 255).astype(np.uint8), source, mask)
    assert check.ratio > 2 and not check.passed


def test_seamless_blend_passes_the_seam_check():
    source, mask = _texture(blur=3.0, contrast=10.0), _rect_mask()
    inside = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    weight = np.clip(inside / 30.0, 0, 1)[..., None] ** 2  # 0 at the contour, 1 deep inside
    frame = np.clip(source + 40 * weight, 0, 255).astype(np.uint8)
    check = rc.seam_check(frame, source, mask)
    assert check.ratio < 1.1 and check.passed


def test_short_hard_edge_shows_in_the_local_figure():
    source, mask = _texture(blur=3.0, contrast=10.0), _rect_mask()
    frame = source.astype(np.int16)
    frame[100:130, 40:60] += 60  # a bright patch against the left edge, 30 px of a 700 px contour
    check = rc.seam_check(np.clip(frame, 0, 255).astype(np.uint8), source, mask)
    assert check.local_ratio > 2 * check.ratio and check.local_ratio > 2
    assert abs(check.local_xy[0] - 40) <= rc.SEAM_TILE and 100 <= check.local_xy[1] <= 130 + rc.SEAM_TILE


def test_small_step_on_a_flat_background_reads_against_the_floor():
    source, mask = np.full((SIZE, SIZE, 3), 128, np.uint8), _rect_mask()
    faint, visible = source.copy(), source.copy()
    faint[mask], visible[mask] = 131, 134
    assert rc.seam_check(faint, source, mask).passed
    assert not rc.seam_check(visible, source, mask).passed


# --- streaks ------------------------------------------------------------------------------------


def test_isolated_speck_fails_the_streak_check():
    face, before = _face(), _texture(contrast=15.0)
    after = before.copy()
    after[30, 128] = np.clip(before[30, 128].astype(int) + 120, 0, 255)  # above the forehead
    check = rc.streak_check(before, after, face, face, np.ones((SIZE, SIZE), bool))
    assert not check.passed and check.unexplained == 1 and check.worst_xy == (128, 30)
    assert check.worst_excess > 20 and check.radius == 1


def test_texture_shifted_within_the_landmark_motion_passes():
    face, before = _face(), _texture(blur=1.0, contrast=80.0)
    after = np.roll(before, 4, axis=1)  # everything moved 4 px right
    moved = face + [4, 0, 0]
    footprint = _rect_mask(10)
    assert (np.abs(rc.luminance(after) - rc.luminance(before))[footprint] > 60).any()
    check = rc.streak_check(before, after, face, moved, footprint)
    assert check.passed and check.radius == 5
    still = rc.streak_check(before, after, face, face, footprint)  # no motion to explain it
    assert not still.passed


def test_changes_inside_the_core_or_outside_the_footprint_are_not_streaks():
    face, before = _face(), _texture(contrast=15.0)
    after = before.copy()
    after[128, 128] = 255 - before[128, 128]  # the nose: inside the face core
    after[5, 5] = 255 - before[5, 5]  # outside the footprint
    footprint = _rect_mask(20)
    assert rc.streak_check(before, after, face, face, footprint).unexplained == 0


# --- mouth --------------------------------------------------------------------------------------


def _open_mouth() -> np.ndarray:
    face = _face()
    width = np.linalg.norm(face[61, :2] - face[291, :2])
    face[LOWER_LIP, 1] += 0.3 * width
    return face


def _mouth_frame(face: np.ndarray, inside_luma: float, inside_std: float) -> np.ndarray:
    frame = np.full((SIZE, SIZE, 3), SKIN, np.uint8)
    _fill(frame, face[list(OUTER_LIPS)], (170, 90, 90))
    cavity = np.zeros((SIZE, SIZE), np.uint8)
    _fill(cavity, face[list(INNER_LIPS)], 1)
    rng = np.random.default_rng(1)
    values = np.clip(rng.normal(inside_luma, inside_std, (SIZE, SIZE)), 0, 255).astype(np.uint8)
    frame[cavity > 0] = values[cavity > 0, None]
    return frame


def test_dark_textured_interior_passes_the_mouth_check():
    face = _open_mouth()
    check = rc.mouth_check(_mouth_frame(face, 45, 15), face)
    assert check.applies and check.passed
    assert check.darkness > 0.5 and check.interior_std > 10


def test_flat_interior_fails_the_mouth_check():
    face = _open_mouth()
    check = rc.mouth_check(_mouth_frame(face, 40, 0), face)
    assert check.interior_std < 1 and not check.passed


def test_bright_interior_fails_the_mouth_check():
    face = _open_mouth()
    check = rc.mouth_check(_mouth_frame(face, 120, 15), face)
    assert check.darkness < 0.25 and not check.passed


def test_closed_mouth_is_not_judged():
    face = _face()
    check = rc.mouth_check(_mouth_frame(face, 120, 0), face)
    assert not check.applies and check.passed


# --- closed eyes --------------------------------------------------------------------------------


def _skin(seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(np.array(SKIN) + rng.normal(0, 6, (SIZE, SIZE, 3)), 0, 255).astype(np.uint8)


def _eye_source(face: np.ndarray) -> np.ndarray:
    """Skin with open eyes: white sclera, a brown iris."""
    image = _skin()
    for eye, iris in (("right", 468), ("left", 473)):
        eye_mask = np.zeros((SIZE, SIZE), np.uint8)
        _fill(eye_mask, face[list(EYE_CONTOURS[eye])], 1)
        ball = np.full_like(image, (235, 235, 230))
        radius = round(np.linalg.norm(face[iris + 1 : iris + 5, :2] - face[iris, :2], axis=1).mean())
        cv2.circle(ball, tuple(np.round(face[iris, :2]).astype(int)), radius, (90, 60, 40), -1)
        image[eye_mask > 0] = ball[eye_mask > 0]
    return image


def _closed(face: np.ndarray) -> np.ndarray:
    """The face with each upper lid lowered onto the lower lid."""
    closed = face.copy()
    for contour in EYE_CONTOURS.values():
        upper, lower = list(contour[1:8]), list(contour[9:16])
        order = np.argsort(face[lower, 0])
        closed[upper, 1] = np.interp(face[upper, 0], face[lower, 0][order], face[lower, 1][order]) - 0.5
    return closed


def _lash_line(frame: np.ndarray, face: np.ndarray) -> np.ndarray:
    for contour in EYE_CONTOURS.values():
        cv2.polylines(frame, [np.round(face[list(contour), :2]).astype(np.int32)], True, (60, 40, 35), 1)
    return frame


def test_closed_eye_covered_with_skin_passes():
    face = _face()
    source, closed = _eye_source(face), _closed(face)
    refs = rc.eye_references(source, face)
    assert all(np.isfinite(r.iris).all() for r in refs)
    checks = rc.closed_eye_checks(_lash_line(_skin(3), closed), closed, refs)
    assert all(c.applies and c.passed for c in checks), checks
    assert all(c.iris_pixels == 0 and c.region_pixels > 50 for c in checks)


def test_iris_left_in_a_closed_eye_fails():
    face = _face()
    source, closed = _eye_source(face), _closed(face)
    refs = rc.eye_references(source, face)
    checks = rc.closed_eye_checks(source, closed, refs)  # the lids moved, the pixels did not
    assert all(c.applies and not c.passed for c in checks)
    assert all(c.iris_fraction > 0.1 for c in checks)


def test_dark_smear_over_a_closed_eye_fails_on_its_colour():
    face = _face()
    source, closed = _eye_source(face), _closed(face)
    refs = rc.eye_references(source, face)
    frame = _skin(3)
    for eye in EYE_CONTOURS:
        _fill(frame, face[list(EYE_CONTOURS[eye])], (110, 80, 70))  # darker than any lid skin
    checks = rc.closed_eye_checks(frame, closed, refs)
    assert all(c.applies and not c.colour_in_range and not c.passed for c in checks)


def test_eye_closed_in_the_source_is_not_judged():
    face = _face()
    closed = _closed(face)
    source = _lash_line(_skin(), closed)
    checks = rc.closed_eye_checks(source, closed, rc.eye_references(source, closed))
    assert all(c.open_ratio < rc.EYE_CLOSED_RATIO and not c.applies and c.passed for c in checks)


def test_open_eye_is_not_judged():
    face = _face()
    source = _eye_source(face)
    checks = rc.closed_eye_checks(source, face, rc.eye_references(source, face))
    assert all(not c.applies and c.passed for c in checks)


# --- all four -----------------------------------------------------------------------------------


def test_frame_checker_runs_every_check_in_order():
    face = _face()
    source = _eye_source(face)
    checker = rc.FrameChecker(source, face, _rect_mask(10))
    first = checker.update(source, face)
    second = checker.update(source, face)
    assert (first.index, second.index) == (0, 1)
    assert first.streaks is None and second.streaks is not None and second.streaks.passed
    assert second.seam.passed and second.mouth.passed and all(e.passed for e in second.eyes)
