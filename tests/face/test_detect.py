import numpy as np
import pytest

from vivify.errors import NoFaceError
from vivify.face import Face, FaceBox, find_face, sort_faces
from vivify.io import load_image

HUMAN_PORTRAITS = ["s0", "s2", "s5", "s6", "s7", "s9", "s10", "s12", "s42"]  # s6: a statue


@pytest.mark.parametrize("name", HUMAN_PORTRAITS)
def test_face_found_on_every_human_portrait(shared_data, detector, name):
    image = load_image(shared_data / "portraits" / f"{name}.jpg")
    faces = detector.detect(image)
    assert len(faces) >= 1
    face = faces[0]
    assert face.landmarks.shape == (478, 3)
    h, w = image.shape[:2]
    xy = face.landmarks[:, :2]
    assert (xy[:, 0] > -0.05 * w).all() and (xy[:, 0] < 1.05 * w).all()
    assert (xy[:, 1] > -0.05 * h).all() and (xy[:, 1] < 1.05 * h).all()
    # the face should be big enough to be the portrait's subject, not a false hit
    assert face.size > 0.1 * min(h, w)
    # anatomy sanity: eyes above the mouth, subject's left eye on the image's right
    assert face.landmarks[263, 0] > face.landmarks[33, 0]
    assert face.landmarks[13, 1] > face.landmarks[159, 1]


def _two_faces(shared_data, big: str, small: str, small_scale: float) -> np.ndarray:
    a = load_image(shared_data / "portraits" / f"{big}.jpg")
    b = load_image(shared_data / "portraits" / f"{small}.jpg")
    import cv2

    size = 512
    a = cv2.resize(a, (size, size * a.shape[0] // a.shape[1]))
    hb = int(size * small_scale)
    b = cv2.resize(b, (hb, hb * b.shape[0] // b.shape[1]))
    canvas = np.full((max(a.shape[0], b.shape[0]), size + hb, 3), 128, np.uint8)
    canvas[: b.shape[0], :hb] = b  # small face on the left
    canvas[: a.shape[0], hb:] = a
    return canvas


def test_two_faces_largest_first(shared_data, detector):
    image = _two_faces(shared_data, "s7", "s5", 0.8)
    faces = detector.detect(image)
    assert len(faces) == 2
    assert faces[0].box.area > faces[1].box.area
    assert faces[0].box.center[0] > faces[1].box.center[0]  # the big one is on the right
    assert find_face(image, detector, face_index=1).box.center[0] < image.shape[1] * 0.4


def test_equal_faces_left_to_right(shared_data, detector):
    image = _two_faces(shared_data, "s5", "s5", 1.0)
    faces = detector.detect(image)
    assert len(faces) == 2
    assert faces[0].box.center[0] < faces[1].box.center[0]


def test_no_face_is_a_clear_error(detector, tmp_path):
    rng = np.random.default_rng(0)
    image = (rng.random((256, 320, 3)) * 40 + 100).astype(np.uint8)  # flat noise, no face
    assert detector.detect(image) == []
    with pytest.raises(NoFaceError, match="no face found") as info:
        find_face(image, detector, path=tmp_path / "wall.png")
    assert str(info.value).startswith(str(tmp_path / "wall.png"))


def test_face_index_out_of_range(shared_data, detector):
    image = load_image(shared_data / "portraits" / "s5.jpg")
    with pytest.raises(NoFaceError, match="face index 3 requested but only 1"):
        find_face(image, detector, face_index=3)


def test_detect_rejects_wrong_array():
    from vivify.face.detect import _check_image

    with pytest.raises(ValueError):
        _check_image(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError):
        _check_image(np.zeros((10, 10, 3), np.float32))


def _face_at(x: float, size: float) -> Face:
    return Face(np.zeros((478, 3), np.float32), FaceBox(x, 0, x + size, size))


def test_sort_faces_order():
    faces = [_face_at(300, 100), _face_at(0, 95), _face_at(600, 200), _face_at(900, 40)]
    xs = [f.box.x0 for f in sort_faces(faces)]
    # 200 first; 100 and 95 are about the same size, so left to right; 40 last
    assert xs == [600, 0, 300, 900]


def test_real_picture_without_face(shared_data, detector, tmp_path):
    # the lower part of a portrait (shoulders and clothes, no face) saved as its own picture
    from vivify.inspection import inspect_image, require_face
    from vivify.io import save_image

    image = load_image(shared_data / "portraits" / "s5.jpg")
    path = tmp_path / "shoulders.jpg"
    save_image(path, image[440:])
    report = inspect_image(path, detector)
    assert report.faces == []
    with pytest.raises(NoFaceError, match="no face found") as info:
        require_face(report)
    assert str(path) in str(info.value)
