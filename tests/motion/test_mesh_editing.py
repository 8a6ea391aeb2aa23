import cv2
import numpy as np
import pytest

from vivify.face import landmarks as L
from vivify.face.geometry import head_pose
from vivify.face.openness import eye_open, eye_open_ratios, lip_open
from vivify.io import load_image
from vivify.motion.editing import FaceEdit
from vivify.motion.mesh_editing import edit_landmarks

IRIS = list(range(468, 478))
# lid contours, outer corner → upper lid → inner corner → lower lid back (a closed polygon)
EYE_POLYGONS = {
    "right": [33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7],
    "left": [263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249],
}


@pytest.fixture(scope="module")
def faces(shared_data, detector):
    """Landmarks of real portraits, detected once per module."""
    cache = {}

    def get(name: str) -> np.ndarray:
        if name not in cache:
            cache[name] = detector.detect(load_image(shared_data / "portraits" / f"{name}.jpg"))[0].landmarks
        return cache[name]

    return get


@pytest.fixture(scope="module")
def face(faces):
    return faces("s0")


def _mouth_width(p: np.ndarray) -> float:
    return float(np.linalg.norm(p[61, :2] - p[291, :2]))


def test_neutral_edit_returns_the_input_exactly(face):
    before = face.copy()
    out = edit_landmarks(face, FaceEdit())
    assert out.dtype == np.float32 and out.shape == (478, 3)
    assert np.array_equal(out, face.astype(np.float32))
    assert out is not face and np.array_equal(face, before)
    assert np.array_equal(edit_landmarks(face.astype(np.float64), FaceEdit()), face.astype(np.float32))


def test_bad_landmarks_are_rejected(face):
    with pytest.raises(ValueError, match="478"):
        edit_landmarks(face[:468], FaceEdit(smile=1))


@pytest.mark.parametrize("name", ["s0", "s7", "s10"])  # s10 turns its head by ~35 degrees
def test_blink_closes_both_eyes_monotonically(faces, name):
    face = faces(name)
    values = [-5, 0, 10, 20, 30, 39]
    opening = [eye_open(edit_landmarks(face, FaceEdit(blink=b))) for b in values]
    assert opening[1] == pytest.approx(eye_open(face))
    assert all(a > b for a, b in zip(opening, opening[1:], strict=False)), opening
    assert opening[-1] < 0.02
    closed = eye_open_ratios(edit_landmarks(face, FaceEdit(blink=39)))
    assert (closed < 0.02).all()


def test_wink_closes_one_eye_only(face):
    out = edit_landmarks(face, FaceEdit(wink=39))
    right, left = eye_open_ratios(out)  # image-left eye first: the subject's right
    src_right, src_left = eye_open_ratios(face)
    assert right < 0.02 < src_right  # the subject's right eye (image left)
    assert left == pytest.approx(src_left, abs=1e-6)
    moved = np.flatnonzero(np.abs(out - face).max(axis=1) > 0)
    assert not set(moved) & set(EYE_POLYGONS["left"] + list(L.LEFT_IRIS))
    half = eye_open_ratios(edit_landmarks(face, FaceEdit(wink=20)))[0]
    assert right < half < src_right


@pytest.mark.parametrize("name", ["s0", "s7", "s10"])
def test_mouth_open_raises_lip_open_monotonically(faces, name):
    face = faces(name)
    values = [-90, -45, 0, 40, 80, 120]
    opening = [lip_open(edit_landmarks(face, FaceEdit(mouth_open=m))) for m in values]
    assert all(a <= b for a, b in zip(opening, opening[1:], strict=False)), opening
    assert all(a < b for a, b in zip(opening[2:], opening[3:], strict=False)), opening
    assert opening[-1] > lip_open(face) + 0.3
    assert opening[0] < 0.01  # fully closed lips
    # the jaw follows: the chin goes down, the upper lip and the nose stay
    out = edit_landmarks(face, FaceEdit(mouth_open=120))
    down = _down(face)
    assert (out[152, :2] - face[152, :2]) @ down > 0.05 * np.linalg.norm(face[33] - face[263])
    assert np.array_equal(out[[0, 13, L.NOSE_TIP]], face[[0, 13, L.NOSE_TIP]].astype(np.float32))


def _down(face: np.ndarray) -> np.ndarray:
    """Unit vector from the forehead to the chin in the image (the face's own "down")."""
    d = face[L.CHIN, :2] - face[L.FOREHEAD, :2]
    return d / np.linalg.norm(d)


def _inside_eye(points: np.ndarray, polygon: list[int], iris_point: np.ndarray) -> bool:
    contour = points[polygon, :2].astype(np.float32).reshape(-1, 1, 2)
    return cv2.pointPolygonTest(contour, (float(iris_point[0]), float(iris_point[1])), False) >= 0


@pytest.mark.parametrize(("gaze_x", "gaze_y"), [(30, 0), (-30, 0), (0, 63), (0, -63), (30, 63), (-30, -63)])
def test_gaze_moves_the_irises_only_and_within_the_eyes(face, gaze_x, gaze_y):
    out = edit_landmarks(face, FaceEdit(gaze_x=gaze_x, gaze_y=gaze_y))
    moved = set(np.flatnonzero(np.abs(out - face).max(axis=1) > 0).tolist())
    assert moved and moved <= set(IRIS)
    for side, centre in (("right", 468), ("left", 473)):
        assert _inside_eye(out, EYE_POLYGONS[side], out[centre])
        shift = out[centre, :2] - face[centre, :2]
        if gaze_x:  # positive looks towards the image's right
            assert np.sign(shift[0]) == np.sign(gaze_x) and abs(shift[0]) > 0.5
        if gaze_y:  # positive looks up
            assert np.sign(shift[1]) == -np.sign(gaze_y)
    # both irises move together
    s_r, s_l = out[468, :2] - face[468, :2], out[473, :2] - face[473, :2]
    assert np.linalg.norm(s_r - s_l) < 0.25 * max(np.linalg.norm(s_r), np.linalg.norm(s_l))


@pytest.mark.parametrize(("axis", "delta"), [(0, 10.0), (0, -20.0), (1, 10.0), (2, -12.0)])
def test_head_pose_controls_change_the_measured_pose(face, axis, delta):
    name = ("yaw", "pitch", "roll")[axis]
    out = edit_landmarks(face, FaceEdit(**{name: delta}))
    before, after = np.array(head_pose(face)), np.array(head_pose(out))
    expected = before.copy()
    expected[axis] += delta
    assert after == pytest.approx(expected, abs=0.5)


def test_scale_and_shift_move_the_whole_face(face):
    iod = np.linalg.norm(face[33, :2] - face[263, :2])
    out = edit_landmarks(face, FaceEdit(scale=1.1))
    assert np.linalg.norm(out[33, :2] - out[263, :2]) == pytest.approx(1.1 * iod, rel=1e-3)
    assert head_pose(out) == pytest.approx(head_pose(face), abs=1e-3)
    out = edit_landmarks(face, FaceEdit(shift_x=0.1, shift_y=-0.05))
    move = out[:, :2] - face[:, :2]
    face_width = np.linalg.norm(face[454, :2] - face[234, :2])
    assert np.allclose(move, move.mean(axis=0), atol=0.01 * face_width)  # a translation
    assert move.mean(axis=0) == pytest.approx([0.1 * face_width, -0.05 * face_width], rel=0.15)


@pytest.mark.parametrize(
    "edit",
    [FaceEdit(smile=1.3), FaceEdit(eyebrow=30), FaceEdit(eyebrow=-30), FaceEdit(mouth_open=120),
     FaceEdit(woo=1), FaceEdit(pout=-0.09), FaceEdit(blink=39, wink=39, gaze_x=-30)],
)  # fmt: skip
def test_expression_edits_keep_the_head_pose(face, edit):
    out = edit_landmarks(face, edit)
    assert np.isfinite(out).all()
    assert np.array_equal(out[list(L.STABLE)], face[list(L.STABLE)].astype(np.float32))
    assert head_pose(out) == pytest.approx(head_pose(face), abs=1e-3)


def test_smile_lifts_and_widens_the_mouth_corners(face):
    widths, lifts = [], []
    for s in (-0.3, 0.0, 0.5, 1.3):
        out = edit_landmarks(face, FaceEdit(smile=s))
        widths.append(_mouth_width(out))
        lifts.append(-((out[[61, 291], :2] - face[[61, 291], :2]) @ _down(face)).mean())
    assert widths == sorted(widths) and widths[0] < widths[1] < widths[2] < widths[3]
    assert lifts[0] < 0 == lifts[1] < lifts[2] < lifts[3]


def test_eyebrow_raises_and_lowers_the_brows(face):
    def brow_height(p: np.ndarray) -> float:
        return float((p[list(L.EYEBROWS), :2].mean(axis=0) - p[[33, 263], :2].mean(axis=0)) @ -_down(face))

    heights = [brow_height(edit_landmarks(face, FaceEdit(eyebrow=v))) for v in (-30, -10, 0, 10, 30)]
    assert heights == sorted(heights) and len(set(heights)) == 5
    frown = edit_landmarks(face, FaceEdit(eyebrow=-30))
    inner = [107, 336]  # inner brow ends come together
    assert np.linalg.norm(frown[inner[0], :2] - frown[inner[1], :2]) < np.linalg.norm(
        face[inner[0], :2] - face[inner[1], :2]
    )


def test_vowel_shapes(face):
    width, opening = _mouth_width(face), lip_open(face)
    aaa, eee, woo = (edit_landmarks(face, FaceEdit(**{v: 1.0})) for v in ("aaa", "eee", "woo"))
    assert lip_open(aaa) > opening + 0.3
    assert _mouth_width(eee) > 1.1 * width and opening < lip_open(eee) < lip_open(aaa)
    assert _mouth_width(woo) < 0.85 * width and lip_open(woo) > opening
    pout = edit_landmarks(face, FaceEdit(pout=0.09))
    assert _mouth_width(pout) < width
