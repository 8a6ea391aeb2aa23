"""Several faces with their own drivers, and the still-image editor (mesh backend; one neural test)."""

import cv2
import numpy as np
import pytest

from vivify.backends import NeuralBackend
from vivify.errors import UserError
from vivify.face.geometry import head_pose
from vivify.face.openness import eye_open, lip_open
from vivify.io import VideoReader, VideoWriter, load_image, save_image
from vivify.motion import FaceEdit
from vivify.pipeline import AnimationOptions, Animator, DrivingSource
from vivify.watermark import detect


@pytest.fixture(scope="module")
def animator(detector):
    return Animator("mesh", detector=detector)


@pytest.fixture(scope="module")
def pair_image(shared_data):
    """Two portraits side by side."""
    a, b = (load_image(shared_data / "portraits" / f"{n}.jpg") for n in ("s5", "s7"))
    a, b = (cv2.resize(x, (400, 400 * x.shape[0] // x.shape[1])) for x in (a, b))
    h = max(a.shape[0], b.shape[0])
    canvas = np.full((h, 800, 3), 128, np.uint8)
    canvas[: a.shape[0], :400], canvas[: b.shape[0], 400:] = a, b
    return canvas


def _video(path, frames):
    with VideoWriter(path, 25) as w:
        for f in frames:
            w.write(f)
    return path


def test_two_faces_follow_their_own_drivers(animator, pair_image, shared_data, tmp_path, detector):
    with VideoReader(shared_data / "driving" / "d0.mp4", max_frames=20) as reader:
        talking = list(reader)
    still = _video(tmp_path / "still.mp4", [talking[0]] * len(talking))  # a driver that never moves
    talk = _video(tmp_path / "talk.mp4", talking)
    prepared = animator.prepare_faces(pair_image, "all")
    assert len(prepared) == 2
    left_first = prepared[0].landmarks[:, 0].mean() < prepared[1].landmarks[:, 0].mean()
    drivers = [DrivingSource(still, detector), DrivingSource(talk, detector)]  # left still, right talks
    drivers = drivers if left_first else drivers[::-1]
    options = AnimationOptions(face_index="all", reference_frame="first", watermark=False)  # exact pixels
    frames = list(animator.frames(prepared, drivers, options))
    assert len(frames) == len(talking)
    assert np.array_equal(frames[0], pair_image)  # the first frame is each driver's reference
    lips = []
    for f in frames:
        faces = sorted(detector.detect(f), key=lambda x: x.landmarks[:, 0].mean())
        lips.append([lip_open(x.landmarks) for x in faces])
    lips = np.array(lips)
    drv = [lip_open(detector.detect(f)[0].landmarks) for f in talking]
    assert np.corrcoef(lips[:, 1], drv)[0, 1] > 0.8  # the right face talks like its driver
    assert lips[:, 0].std() < 0.2 * lips[:, 1].std()  # the left one keeps still


def test_driver_count_must_match_faces(animator, pair_image, shared_data, detector):
    prepared = animator.prepare_faces(pair_image, "all")
    d = shared_data / "driving" / "d0.mp4"
    drivers = [DrivingSource(d, detector, max_frames=2)] * 3
    with pytest.raises(UserError, match="3 driving inputs for 2 faces"):
        next(animator.frames(prepared, drivers))
    with pytest.raises(UserError, match="one face"):
        next(animator.frames(prepared, drivers[:1], AnimationOptions(paste_back=False)))


def test_edit_blinks_and_keeps_the_background(animator, shared_data, tmp_path, detector):
    src = load_image(shared_data / "portraits" / "s5.jpg")
    face = detector.detect(src)[0]
    unmarked = AnimationOptions(watermark=False)  # exact pixels: the mark changes each one a little
    out = animator.edit(src, FaceEdit(blink=39, mouth_open=100), tmp_path / "e.png", unmarked)
    assert (tmp_path / "e.png").is_file()
    edited = detector.detect(out)[0]
    assert eye_open(edited.landmarks) < 0.6 * eye_open(face.landmarks)
    assert lip_open(edited.landmarks) > lip_open(face.landmarks) + 0.1
    far = np.zeros(src.shape[:2], bool)
    far[: int(face.landmarks[:, 1].min()) - 150] = True  # well above the head
    assert np.array_equal(out[far], src[far])
    neutral = animator.edit(src, FaceEdit(), options=unmarked)
    assert np.array_equal(neutral, src)
    marked = animator.edit(src, FaceEdit())  # by default every output carries the mark
    assert detect(marked).present and not detect(src).present


def test_edit_every_face(animator, pair_image):
    out = animator.edit(pair_image, FaceEdit(yaw=15), options=AnimationOptions(face_index="all"))
    assert np.abs(out[:, :400].astype(int) - pair_image[:, :400]).max() > 30
    assert np.abs(out[:, 400:].astype(int) - pair_image[:, 400:]).max() > 30


def test_keypoint_only_template_needs_the_neural_backend(animator, shared_data, tmp_path):
    with pytest.raises(UserError, match="no motion the mesh backend can use"):
        animator.animate(shared_data / "portraits" / "s5.jpg", shared_data / "templates" / "wink.pkl",
                         tmp_path / "o.mp4")  # fmt: skip
    assert not (tmp_path / "o.mp4").exists()


def test_neutral_reference_frame(animator, shared_data, tmp_path, detector):
    from vivify.pipeline.reference import neutral_score

    with VideoReader(shared_data / "driving" / "d0.mp4", max_frames=30) as reader:
        frames = list(reader)
    faces = [detector.detect(f)[0].landmarks for f in frames]
    talking_first = int(np.argmax([lip_open(x) for x in faces]))  # start on the widest-open mouth
    order = [talking_first] + [i for i in range(len(frames)) if i != talking_first]
    drv_path = _video(tmp_path / "open_first.mp4", [frames[i] for i in order])
    drv = DrivingSource(drv_path, detector)
    tracked = [f.landmarks for f in drv]
    neutral = int(np.argmin([neutral_score(x) for x in tracked]))
    assert neutral != 0 and lip_open(tracked[neutral]) < lip_open(tracked[0])
    source = animator.prepare(shared_data / "portraits" / "s5.jpg")
    assert animator.backend.capabilities.default_reference == "neutral"
    reads = []

    class Counted(DrivingSource):
        def __iter__(self):
            reads.append(1)
            return super().__iter__()

    default = list(animator.frames(source, Counted(drv_path, detector)))
    assert len(reads) == 1  # the neutral frame is found in the same pass that renders
    assert len(default) == len(frames)
    first = list(animator.frames(source, drv, AnimationOptions(reference_frame="first", watermark=False)))
    assert np.array_equal(first[0], source.image)
    # "neutral": the expression is measured from the most neutral driving face (the source's mouth
    # rests there) and the head pose from the first frame (the head starts as the source's)
    at_neutral = detector.detect(default[neutral])[0].landmarks
    assert abs(lip_open(at_neutral) - lip_open(source.landmarks)) < 0.03
    start = detector.detect(default[0])[0].landmarks
    assert np.allclose(head_pose(start), head_pose(source.landmarks), atol=2.0)
    with pytest.raises(ValueError, match="reference_frame"):
        AnimationOptions(reference_frame="middle")


def test_two_faces_neural(models, pair_image, shared_data, tmp_path, detector):
    """Neural backend (test weights): each face follows its own driver, nothing else changes."""
    with VideoReader(shared_data / "driving" / "d0.mp4", max_frames=12) as reader:
        talking = list(reader)
    still = tmp_path / "still.png"  # a driving image: one motion, held
    save_image(still, talking[0])
    talk = _video(tmp_path / "talk.mp4", [talking[0], talking[11]])
    animator = Animator(NeuralBackend(models=models), detector=detector)
    prepared = animator.prepare_faces(pair_image, "all")
    left = int(np.argmin([p.landmarks[:, 0].mean() for p in prepared]))
    drivers = [DrivingSource(still, detector), DrivingSource(talk, detector)]  # left still, right talks
    drivers = drivers if left == 0 else drivers[::-1]
    frames = list(animator.frames(prepared, drivers, AnimationOptions(face_index="all", watermark=False)))
    assert len(frames) == 2
    h, w = pair_image.shape[:2]
    # where each face's 512 crop is pasted (the crops overlap between the two faces)
    ones, grow = np.ones((512, 512), np.uint8), np.ones((5, 5), np.uint8)  # grown 2 px for resampling
    spans = [cv2.dilate(cv2.warpAffine(ones, p.state.m_c2o[:2], (w, h)), grow) > 0 for p in prepared]
    changed = np.abs(frames[1].astype(int) - frames[0]).max(axis=2) > 0
    talker = spans[1 - left]
    assert changed.any() and not changed[~talker].any()  # only the talking face's crop moves
    # the still face's own features keep still
    box = prepared[left].landmarks[:, :2]
    (x0, y0), (x1, y1) = box.min(0).astype(int), box.max(0).astype(int)
    assert not changed[y0:y1, x0:x1][~talker[y0:y1, x0:x1]].any() and (~talker[y0:y1, x0:x1]).mean() > 0.5
    for f in frames:  # outside both crops every pixel is the source's
        assert np.array_equal(f[~(spans[0] | spans[1])], pair_image[~(spans[0] | spans[1])])
