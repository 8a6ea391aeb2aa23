"""Video-to-video: a source video keeps its own head motion and takes the driver's expression."""

import numpy as np
import pytest

from vivify.errors import UserError
from vivify.face.geometry import head_pose
from vivify.face.openness import lip_open
from vivify.io import VideoReader, VideoWriter, probe_video
from vivify.pipeline import AnimationOptions, Animator, DrivingSource


@pytest.fixture(scope="module")
def animator(detector):
    return Animator("mesh", detector=detector)


def _video(path, frames, fps=25):
    with VideoWriter(path, fps) as w:
        for f in frames:
            w.write(f)
    return path


def test_source_video_keeps_its_pose_and_takes_the_expression(animator, shared_data, tmp_path, detector):
    source = shared_data / "source_videos" / "s13.mp4"
    with VideoReader(source, max_frames=24) as reader:
        src_frames = list(reader)
    with VideoReader(shared_data / "driving" / "d0.mp4", max_frames=24) as reader:
        drv_frames = list(reader)
    drv = DrivingSource(_video(tmp_path / "d.mp4", drv_frames), detector)
    out = list(animator.video_frames(source, drv, AnimationOptions(reference_frame="first")))
    assert len(out) == 24 and out[0].shape == src_frames[0].shape
    got = [detector.detect(f)[0].landmarks for f in out]
    src = [detector.detect(f)[0].landmarks for f in src_frames]
    drv_lm = [detector.detect(f)[0].landmarks for f in drv_frames]
    # the head moves as in the source video (s13 rolls by ~20 degrees and moves ~80 px), the
    # mouth as in the driver (d0 barely turns)
    roll_out, roll_src = np.array([head_pose(x)[2] for x in got]), np.array([head_pose(x)[2] for x in src])
    assert np.ptp(roll_src) > 10 and np.abs(roll_out - roll_src).max() < 3.0
    centre = np.array([x[:, :2].mean(0) for x in got]) - np.array([x[:, :2].mean(0) for x in src])
    assert np.abs(centre).max() < 0.05 * np.ptp(src[0][:, 0])
    lip_out, lip_drv = [lip_open(x) for x in got], [lip_open(x) for x in drv_lm]
    assert np.corrcoef(lip_out, lip_drv)[0, 1] > 0.7


def test_animate_writes_the_shorter_length(animator, shared_data, tmp_path):
    out = animator.animate(shared_data / "source_videos" / "s18.mp4", shared_data / "driving" / "d6.mp4",
                           tmp_path / "v2v.mp4", AnimationOptions(max_frames=12))  # fmt: skip
    info = probe_video(out)
    assert info.n_frames == 12 and info.has_audio  # the driver's speech
    with pytest.raises(UserError, match="one face"):
        next(animator.video_frames(shared_data / "source_videos" / "s18.mp4",
                                   DrivingSource(shared_data / "driving" / "d6.mp4", animator.detector),
                                   AnimationOptions(face_index="all")))  # fmt: skip
