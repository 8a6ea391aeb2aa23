"""A source of motion written in a few lines drives a portrait through the public API."""

import numpy as np
import pytest

import vivify
from vivify.face.geometry import euler_to_rotation, head_pose
from vivify.io import VideoReader, probe_video
from vivify.motion.mesh import FacePose, compose, decompose

PITCH = 12.0 * np.sin(np.linspace(0, 2 * np.pi, 16))  # degrees: one nod, down and up


class Nod(vivify.MotionSource):
    """A face mesh that nods (what a speech or a live source will yield: motion, no pixels)."""

    carries = frozenset({"landmarks"})
    fps = 10.0

    def __init__(self, face: np.ndarray) -> None:
        self.pose, self.shape = decompose(face)
        self.n_frames = len(PITCH)

    def __iter__(self):
        for i, pitch in enumerate(PITCH):
            rotation = euler_to_rotation(0.0, pitch, 0.0) @ self.pose.rotation
            yield vivify.DrivingFrame(i, compose(FacePose(self.pose.scale, rotation, self.pose.translation),
                                                 self.shape), None)  # fmt: skip


@pytest.fixture(scope="module")
def portrait(shared_data, detector):
    path = shared_data / "portraits" / "s5.jpg"
    return path, vivify.Animator("mesh", detector=detector).prepare(path).landmarks


def test_a_custom_source_animates_through_animate(portrait, detector, tmp_path):
    path, face = portrait
    animator = vivify.Animator("mesh", detector=detector)
    out = animator.animate(
        path, Nod(face), tmp_path / "nod.mp4", vivify.AnimationOptions(reference_frame="first")
    )
    info = probe_video(out)
    assert info.n_frames == len(PITCH) and info.fps == pytest.approx(Nod.fps) and not info.has_audio
    with VideoReader(out) as reader:
        pitches = [head_pose(detector.detect(frame)[0].landmarks)[1] for frame in reader]
    # the portrait nods with the source of motion (the tracker reads a damped, offset pitch)
    assert np.corrcoef(pitches, PITCH)[0, 1] > 0.9
    assert np.ptp(pitches) > 0.4 * np.ptp(PITCH)


def test_a_custom_source_streams_frames_and_previews_its_landmarks(portrait, detector):
    path, face = portrait
    animator = vivify.Animator("mesh", detector=detector)
    source = animator.prepare(path)
    options = vivify.AnimationOptions(reference_frame="first", concat=True, max_frames=3, watermark=False)
    frames = list(animator.frames(source, Nod(face), options))
    h, w = source.image.shape[:2]
    assert len(frames) == 3 and frames[0].shape == (h, 2 * w + h, 3)  # source | landmarks | result
    panel = frames[0][:, w : w + h]
    assert (panel == 40).mean() > 0.5 and (panel != 40).any()  # a grey panel with the mesh drawn


def test_a_backend_refuses_motion_it_cannot_use(portrait, detector, models, tmp_path):
    path, face = portrait
    animator = vivify.Animator(vivify.backends.NeuralBackend(models=models), detector=detector)
    with pytest.raises(vivify.UserError, match="holds no motion the neural backend can use .*mesh landmarks"):
        animator.animate(path, Nod(face), tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()
