import numpy as np
import pytest

from vivify.face import FaceTracker, OneEuroConfig, OneEuroFilter, track_faces
from vivify.io import VideoReader


def _jitter(series: np.ndarray) -> float:
    return float(np.abs(np.diff(series, axis=0)).mean())


def test_one_euro_constant_and_convergence():
    f = OneEuroFilter(OneEuroConfig(min_cutoff=1.0, beta=0.0))
    assert np.array_equal(f(np.full(3, 5.0), 0.04), np.full(3, 5.0))
    assert np.allclose(f(np.full(3, 5.0), 0.04), 5.0)
    out = [f(np.full(3, 10.0), 0.04) for _ in range(100)]
    assert np.allclose(out[-1], 10.0, atol=1e-3)  # settles on a step
    assert out[0][0] < 10.0  # but not instantly


def test_one_euro_reduces_noise_keeps_fast_motion():
    rng = np.random.default_rng(0)
    noisy = 0.01 * rng.normal(size=(200, 4))
    f = OneEuroFilter()
    smooth = np.array([f(x, 1 / 25) for x in noisy])
    assert _jitter(smooth) < 0.5 * _jitter(noisy)
    # a large quick move (a blink-sized step) is followed within a few frames
    f.reset()
    step = np.concatenate([np.zeros((10, 1)), np.full((10, 1), 0.1)])
    out = np.array([f(x, 1 / 25) for x in step])
    assert out[13, 0] > 0.09


@pytest.fixture(scope="module")
def d0_frames(shared_data):
    with VideoReader(shared_data / "driving" / "d0.mp4") as reader:
        return list(reader)


def test_tracks_every_frame_of_a_driving_video(d0_frames, detector):
    results = list(track_faces(d0_frames, detector, fps=25))
    assert len(results) == len(d0_frames)
    assert all(r is not None for r in results)
    assert results[0].redetected
    assert sum(r.redetected for r in results) <= 2  # followed, not re-detected every frame
    raw = np.array([r.raw_landmarks for r in results])
    smooth = np.array([r.face.landmarks for r in results])
    assert np.abs(smooth - raw).max() < 0.1 * results[0].face.size  # smoothing doesn't drift away
    assert _jitter(smooth[:, :, :2]) < _jitter(raw[:, :, :2])


def test_lost_face_is_redetected(d0_frames, detector):
    blank = np.zeros_like(d0_frames[0])
    frames = d0_frames[:5] + [blank, blank] + d0_frames[5:10]
    results = list(track_faces(frames, detector))
    assert [r is None for r in results] == [False] * 5 + [True, True] + [False] * 5
    assert results[7].redetected


def test_follows_the_chosen_face_among_two(d0_frames, detector, shared_data):
    # two copies of the driving video side by side, the right one mirrored and smaller
    import cv2

    h, w = d0_frames[0].shape[:2]
    frames = []
    for f in d0_frames[:20]:
        small = cv2.resize(f[:, ::-1], (w * 3 // 4, h * 3 // 4))
        canvas = np.zeros((h, w + small.shape[1], 3), np.uint8)
        canvas[:, :w] = f
        canvas[: small.shape[0], w:] = small
        frames.append(canvas)
    for index, on_right in [(0, False), (1, True)]:
        tracker = FaceTracker(detector, face_index=index)
        centers = [tracker.update(f).face.box.center[0] for f in frames]
        assert all((c > w) == on_right for c in centers)


@pytest.mark.parametrize("name", ["s10", "s6"])
def test_a_still_picture_tracks_still(shared_data, detector, name):
    # the tracking crop follows the face only beyond a small tolerance; re-centred on every
    # frame's own (noisy) landmarks, these paintings jittered by ~2x a real video's jitter
    from vivify.io import load_image
    from vivify.metrics import landmark_jitter

    image = load_image(shared_data / "portraits" / f"{name}.jpg")
    tracker = FaceTracker(detector, smoothing=None)
    raw = np.stack([tracker.update(image).raw_landmarks for _ in range(12)])
    assert landmark_jitter(raw[2:]) < 0.0005
