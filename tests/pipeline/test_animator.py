import threading
import time

import numpy as np
import pytest

from vivify.errors import InputError, NoFaceError
from vivify.face.geometry import head_pose
from vivify.face.openness import lip_open
from vivify.io import VideoReader, VideoWriter, probe_video, save_image
from vivify.pipeline import (
    AnimationOptions,
    Animator,
    DrivingSource,
    load_template,
    record_template,
    save_template,
)
from vivify.pipeline.procedural import procedural_template
from vivify.pipeline.templates import MotionTemplate


@pytest.fixture(scope="module")
def animator(detector):
    return Animator("mesh", detector=detector)


@pytest.fixture(scope="module")
def d0_frames(shared_data):
    with VideoReader(shared_data / "driving" / "d0.mp4", max_frames=24) as reader:
        return list(reader)


def test_animate_video_with_audio(animator, shared_data, tmp_path, detector):
    out = animator.animate(shared_data / "portraits" / "s5.jpg", shared_data / "driving" / "d6.mp4",
                           tmp_path / "out.mp4", AnimationOptions(max_frames=15))  # fmt: skip
    info = probe_video(out)
    assert info.n_frames == 15 and (info.width, info.height) == (720, 720)
    assert info.has_audio and abs(info.audio_duration - info.duration) <= 1 / info.fps
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_output_moves_like_the_driver(animator, shared_data, tmp_path, detector, d0_frames):
    path = tmp_path / "drv.mp4"
    with VideoWriter(path, 25) as w:
        for f in d0_frames:
            w.write(f)
    out = animator.animate(shared_data / "portraits" / "s7.jpg", path, tmp_path / "o.mp4")
    with VideoReader(out) as reader:
        faces = [detector.detect(f)[0].landmarks for f in reader]
    drv = [detector.detect(f)[0].landmarks for f in d0_frames]
    r = np.corrcoef([lip_open(x) for x in faces], [lip_open(x) for x in drv])[0, 1]
    assert r > 0.8


def test_concat_crop_image_and_template_drivers(animator, shared_data, tmp_path):
    src = shared_data / "portraits" / "s9.jpg"
    out = animator.animate(src, shared_data / "driving" / "d19.jpg", tmp_path / "img.mp4",
                           AnimationOptions(paste_back=False))  # fmt: skip
    assert (probe_video(out).width, probe_video(out).n_frames) == (512, 1)
    template = tmp_path / "motion.npz"
    save_template(template, procedural_template(seconds=1.0))
    out = animator.animate(src, template, tmp_path / "t.mp4", AnimationOptions(concat=True))
    info = probe_video(out)
    # source (720x1280) | landmark panel (1280x1280) | result (720x1280)
    assert info.n_frames == 25 and (info.width, info.height) == (720 + 1280 + 720, 1280)


def test_driving_face_lost_for_some_frames_holds_motion(animator, shared_data, tmp_path, d0_frames):
    path = tmp_path / "gap.mp4"
    with VideoWriter(path, 25) as w:
        for f in d0_frames[:6] + [np.zeros_like(d0_frames[0])] * 4 + d0_frames[6:12]:
            w.write(f)
    out = animator.animate(shared_data / "portraits" / "s5.jpg", path, tmp_path / "o.mp4")
    assert probe_video(out).n_frames == 16


def test_no_face_in_driving_or_source(animator, shared_data, tmp_path, d0_frames):
    blank = tmp_path / "blank.mp4"
    with VideoWriter(blank, 25) as w:
        for _ in range(5):
            w.write(np.full_like(d0_frames[0], 90))
    with pytest.raises(NoFaceError, match="no face found in any driving frame"):
        animator.animate(shared_data / "portraits" / "s5.jpg", blank, tmp_path / "o.mp4")
    assert not (tmp_path / "o.mp4").exists()
    wall = tmp_path / "wall.png"
    save_image(wall, np.full((200, 200, 3), 100, np.uint8))
    with pytest.raises(NoFaceError, match="no face found") as info:
        animator.animate(wall, blank, tmp_path / "o.mp4")
    assert str(wall) in str(info.value)


def test_templates_round_trip_and_refuse_bad_files(tmp_path, shared_data, detector):
    t = record_template(DrivingSource(shared_data / "driving" / "d0.mp4", detector, max_frames=10))
    path = save_template(tmp_path / "m.npz", t)
    back = load_template(path)
    assert np.allclose(back.landmarks, t.landmarks) and back.fps == t.fps and back.meta["source"] == "d0.mp4"
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a vivify motion template"):
        load_template(tmp_path / "junk.npz")
    np.savez(tmp_path / "obj.npz", mesh_landmarks=np.array([{"a": 1}], dtype=object))
    with pytest.raises(InputError):
        load_template(tmp_path / "obj.npz")  # object arrays would need pickle: refused
    bad = MotionTemplate(np.zeros((3, 10, 3), np.float32), 25)
    save_template(tmp_path / "shape.npz", bad)
    with pytest.raises(InputError, match="expected \\(T, 478, 3\\)"):
        load_template(tmp_path / "shape.npz")


def test_demo_moves(tmp_path, detector):
    from vivify.cli.main import main

    out = tmp_path / "demo.mp4"
    assert main(["demo", "-o", str(out)]) == 0
    with VideoReader(out) as reader:
        faces = [detector.detect(f)[0].landmarks for i, f in enumerate(reader) if i % 3 == 0]
    lips = np.array([lip_open(f) for f in faces])
    yaws = np.array([head_pose(f)[0] for f in faces])
    assert lips.std() > 0.02 and yaws.max() - yaws.min() > 15


def test_driving_video_decodes_in_a_thread_and_stops_cleanly(shared_data, detector, d0_frames):
    """Driving frames come decoded ahead in a thread, in order and unchanged; leaving early stops
    that thread before the reader closes."""
    drv = DrivingSource(shared_data / "driving" / "d0.mp4", detector, max_frames=24)
    frames = list(drv)
    assert [f.index for f in frames] == list(range(24))
    assert all(np.array_equal(f.image, want) for f, want in zip(frames, d0_frames, strict=True))
    before = threading.active_count()
    stream = iter(DrivingSource(shared_data / "driving" / "d0.mp4", detector))
    next(stream)
    assert any(t.name == "vivify-decode" for t in threading.enumerate())
    stream.close()
    deadline = time.time() + 5
    while threading.active_count() > before and time.time() < deadline:
        time.sleep(0.01)
    assert not any(t.name == "vivify-decode" for t in threading.enumerate())
