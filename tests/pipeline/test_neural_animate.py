"""The neural backend through the Animator, templates and the CLI (deterministic test weights).

Every render runs the real-shape networks on the CPU (seconds per frame), so each test keeps to
two or three frames.
"""

import dataclasses
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch

from vivify.backends import NeuralBackend, SpeedOptions
from vivify.backends.neural import DecodedFrames, PendingFrames
from vivify.io import VideoReader, probe_video
from vivify.motion import DriveMode, FaceEdit
from vivify.motion.smoothing import kalman_smooth
from vivify.pipeline import (
    AnimationOptions,
    Animator,
    DrivingSource,
    load_template,
    record_template,
    save_template,
)


@pytest.fixture(scope="module")
def animator(models, detector):
    return Animator(NeuralBackend(models=models), detector=detector)


@pytest.fixture(scope="module")
def source(animator, shared_data):
    return animator.prepare(shared_data / "portraits" / "s5.jpg")


@pytest.fixture(scope="module")
def video_frames(animator, source, shared_data, detector):
    drv = DrivingSource(shared_data / "driving" / "d3.mp4", detector, max_frames=3)
    return list(animator.frames(source, drv))


def test_video_driven_frames_change_only_the_face(video_frames, source):
    assert len(video_frames) == 3
    first, last = video_frames[0], video_frames[-1]
    assert first.shape == source.image.shape
    moved = np.abs(last.astype(int) - first).max(axis=2) > 0
    ys, xs = np.nonzero(moved)
    face = source.landmarks[:, :2]
    size = np.ptp(face, axis=0).max()
    # whatever changed lies in the pasted crop around the face (the crop spans ~2.3 face sizes)
    assert moved.any()
    assert np.all(np.abs(xs - face[:, 0].mean()) < 2 * size) and np.all(
        np.abs(ys - face[:, 1].mean()) < 2 * size
    )


def test_batched_rendering_gives_the_same_frames(animator, source, video_frames, shared_data, detector):
    drv = DrivingSource(shared_data / "driving" / "d3.mp4", detector, max_frames=3)
    batched = list(animator.frames(source, drv, AnimationOptions(batch_size=2)))  # a batch of 2, then 1
    assert len(batched) == 3
    for got, want in zip(batched, video_frames, strict=True):
        assert np.abs(got.astype(int) - want).max() <= 1


def test_template_round_trip_reproduces_the_video(
    animator, source, video_frames, shared_data, detector, tmp_path
):
    drv = DrivingSource(shared_data / "driving" / "d3.mp4", detector, max_frames=3)
    path = save_template(tmp_path / "m.npz", record_template(drv, keypoint_backend=animator.backend))
    template = load_template(path)
    assert template.landmarks is not None and template.keypoints is not None
    frames = list(animator.frames(source, DrivingSource(path, detector)))
    for got, want in zip(frames, video_frames, strict=True):
        assert np.array_equal(got, want)


def test_liveportrait_pickle_drives_the_neural_backend(animator, source, shared_data, detector):
    drv = DrivingSource(shared_data / "templates" / "wink.pkl", detector, max_frames=2)
    frames = list(animator.frames(source, drv))
    assert len(frames) == 2 and frames[0].shape == source.image.shape


def test_edit_and_edit_offsets(animator, source, shared_data, detector):
    edited = animator.edit(source.image, FaceEdit(smile=1.0, yaw=10))
    assert edited.shape == source.image.shape
    assert np.abs(edited.astype(int) - source.image).max() > 0
    drv = DrivingSource(shared_data / "driving" / "d3.mp4", detector, max_frames=1)
    plain = next(animator.frames(source, drv, AnimationOptions(paste_back=False)))
    drv = DrivingSource(shared_data / "driving" / "d3.mp4", detector, max_frames=1)
    offset = next(
        animator.frames(source, drv, AnimationOptions(paste_back=False, edit=FaceEdit(mouth_open=80)))
    )
    assert plain.shape == (512, 512, 3) and not np.array_equal(plain, offset)


def test_cli_animate_neural(test_weights_dir, shared_data, tmp_path):
    out = tmp_path / "n.mp4"
    cmd = [sys.executable, "-m", "vivify.cli.main", "animate", "--backend", "neural", "--weights",
           str(test_weights_dir), "-s", str(shared_data / "portraits" / "s0.jpg"), "-d",
           str(shared_data / "templates" / "d1.pkl"), "-o", str(out), "--max-frames", "2",
           "--retarget-eyes", "--device", "cpu"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert probe_video(out).n_frames == 2
    missing = subprocess.run(cmd[:7] + [str(tmp_path / "none")] + cmd[8:], capture_output=True, text=True)
    assert missing.returncode == 2 and "vivify weights download" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_video_source(animator, shared_data, detector):
    source = shared_data / "source_videos" / "s13.mp4"
    drv = DrivingSource(shared_data / "driving" / "d3.mp4", detector, max_frames=2)
    frames = list(animator.video_frames(source, drv, AnimationOptions(max_frames=2, watermark=False)))
    with VideoReader(source, max_frames=2) as reader:
        originals = list(reader)
    assert len(frames) == 2
    for got, src in zip(frames, originals, strict=True):
        assert got.shape == src.shape
        # each output frame is its own source frame with the animated face pasted in
        far = np.ones(src.shape[:2], bool)
        face = detector.detect(src)[0].landmarks[:, :2]
        size = np.ptp(face, axis=0).max()
        ys, xs = np.mgrid[: src.shape[0], : src.shape[1]]
        far &= np.hypot(xs - face[:, 0].mean(), ys - face[:, 1].mean()) > 2.5 * size
        assert np.array_equal(got[far], src[far])
        assert np.abs(got.astype(int) - src).max() > 0


class _Recording(NeuralBackend):
    """The neural backend without W and G: records what each render call gets."""

    def __init__(self, models):
        super().__init__(models=models)
        self.calls = []

    def render_async(self, state, motions, reference, options, mode=DriveMode.SEQUENCE, **kw):
        for motion in motions:
            self.calls.append((state, motion, reference, kw.get("targets")))
        return PendingFrames(torch.from_numpy(np.stack([state.image] * len(motions))))


def test_video_source_smooths_expression_and_rotation_as_liveportrait(models, shared_data, detector):
    backend = _Recording(models)
    anim = Animator(backend, detector=detector)
    source = shared_data / "source_videos" / "s13.mp4"
    options = AnimationOptions(max_frames=8)
    drv = DrivingSource(shared_data / "driving" / "d3.mp4", detector, max_frames=8)
    assert len(list(anim.video_frames(source, drv, options))) == 8
    raw = np.stack([backend.video_targets(s, m, r, options) for s, m, r, _ in backend.calls])
    got = np.stack([t for *_, t in backend.calls])
    # LivePortrait smooths E = exp_s + exp_d - exp_0 and R_d·R_0ᵀ·R_s over the whole video
    want = kalman_smooth(raw, 3e-7)
    assert np.abs(got - want).max() < 1e-9 and np.abs(raw - want).max() > 1e-6
    # the keypoints take the smoothed values in place of the frame's own
    s, m, r, _ = backend.calls[3]
    own = backend.driving_keypoints(s, [m], r, options, DriveMode.VIDEO)
    same = backend.driving_keypoints(s, [m], r, options, DriveMode.VIDEO, targets=raw[3])
    moved = backend.driving_keypoints(s, [m], r, options, DriveMode.VIDEO, targets=want[3])
    assert torch.allclose(own, same, atol=1e-6) and not torch.allclose(own, moved, atol=1e-6)
    backend.calls.clear()
    drv = DrivingSource(shared_data / "driving" / "d3.mp4", detector, max_frames=2)
    list(anim.video_frames(source, drv, AnimationOptions(max_frames=2, smoothing=0)))
    assert [t for *_, t in backend.calls] == [None, None]


def test_driving_motion_smoothing_for_an_image_source(models, source, shared_data, detector):
    backend = _Recording(models)
    anim = Animator(backend, detector=detector)
    drv = DrivingSource(shared_data / "driving" / "d3.mp4", detector, max_frames=6)
    raw = [backend.motion(f) for f in drv]
    list(anim.frames(source, drv, AnimationOptions(smoothing=1e-4)))
    got = [m for _, m, _, _ in backend.calls]
    vectors = np.stack([backend.motion_vector(m) for m in raw])
    want = kalman_smooth(vectors, 1e-4)
    exp = np.stack([m.exp.reshape(-1) for m in got])
    assert np.abs(exp - want[:, 9:72]).max() < 1e-6 and np.abs(exp - vectors[:, 9:72]).max() > 1e-5
    rot = np.concatenate([m.rotation for m in got])
    assert np.allclose(rot @ rot.transpose(0, 2, 1), np.eye(3), atol=1e-5)  # still rotations


class _GpuLikeBackend(NeuralBackend):
    """The CPU backend run the way a GPU one is: motion in its own thread, a batch in flight,
    paste-back through the device path."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.capabilities = dataclasses.replace(self.capabilities, asynchronous=True)


def _fake_decode(state, x_d: torch.Tensor) -> DecodedFrames:
    """A cheap stand-in for W and G whose image depends on each frame's keypoints."""
    ramp = torch.linspace(0, 6.28, 512)
    phase = x_d.reshape(len(x_d), -1).sum(1)[:, None, None, None] * 10
    image = 0.5 + 0.4 * torch.sin(ramp[None, None, :, None] + ramp[None, None, None, :] + phase)
    return DecodedFrames(image.expand(-1, 3, -1, -1).contiguous(), torch.ones(len(x_d), 1, 64, 64))


def test_asynchronous_pipeline_gives_the_same_frames(models, detector, shared_data, monkeypatch):
    """Motion extracted in a thread, one batch in flight and paste-back on the device (as on a
    GPU) hand out the frames of the plain path, in order."""
    plain = Animator(NeuralBackend(models=models), detector=detector)
    gpu_like = _GpuLikeBackend(models=models, speed=SpeedOptions(device_paste=True))
    gpu_like = Animator(gpu_like, detector=detector)
    threads = set()
    motion = NeuralBackend.motion

    def recording_motion(self, frame, **kwargs):
        threads.add(threading.current_thread().name)
        return motion(self, frame, **kwargs)

    monkeypatch.setattr(NeuralBackend, "motion", recording_motion)
    outputs, states = [], []
    for animator in (plain, gpu_like):
        monkeypatch.setattr(animator.backend, "warp_decode", _fake_decode)
        source = animator.prepare(shared_data / "portraits" / "s5.jpg")
        drv = DrivingSource(shared_data / "driving" / "d3.mp4", detector, max_frames=5)
        outputs.append(list(animator.frames(source, drv, AnimationOptions(batch_size=2))))
        states.append(source.state)
    assert "vivify-motion" in threads
    assert states[0].paste_target is None and states[1].paste_target is not None
    want, got = outputs
    assert len(got) == len(want) == 5
    for a, b in zip(got, want, strict=True):
        diff = np.abs(a.astype(int) - b)
        assert diff.max() <= 1 and (diff > 0).mean() < 0.005
    assert not np.array_equal(want[0], want[-1])
