"""Tests of the quality measures in vivify.metrics (definitions: shared/docs/metrics.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vivify.face.geometry import canonical_face, euler_to_rotation, to_right_handed
from vivify.face.landmarks import FACE_OVAL
from vivify.metrics import (
    background_psnr,
    face_region_mask,
    fidelity,
    landmark_jitter,
    motion_signals,
    psnr,
    track_video_landmarks,
)


def _face(yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0, scale: float = 100.0) -> np.ndarray:
    """(478, 3) image-convention pixel landmarks of the canonical face in a given pose."""
    rot = euler_to_rotation(yaw, pitch, roll)
    return to_right_handed(scale * canonical_face() @ rot.T) + np.array([320.0, 240.0, 0.0])


def _signals(**series: np.ndarray) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=np.float64) for k, v in series.items()}


T = np.linspace(0, 4 * np.pi, 60)
WAVE = np.sin(T)


def test_identical_series_give_r_one_and_zero_mae() -> None:
    d = _signals(eye_open=0.3 + 0.05 * WAVE, yaw=10 * WAVE)
    rep = fidelity(d, d)
    assert rep.r == {"eye_open": pytest.approx(1.0), "yaw": pytest.approx(1.0)}
    assert rep.mae == {"eye_open": 0.0, "yaw": 0.0}
    assert rep.meaningful == ["eye_open", "yaw"]
    assert rep.n_frames == len(T)


def test_inverted_series_give_r_minus_one() -> None:
    rep = fidelity(_signals(pitch=5 * WAVE), _signals(pitch=-5 * WAVE))
    assert rep.r["pitch"] == pytest.approx(-1.0)


def test_flat_driving_signal_has_no_r() -> None:
    # eye std 0.01 < 0.02 and roll std 1.0 deg < 1.5 deg: not meaningful, whatever the output does
    d = _signals(eye_open=0.3 + 0.01 * math.sqrt(2) * WAVE, roll=math.sqrt(2) * WAVE)
    o = _signals(eye_open=0.3 + 0.2 * WAVE, roll=20 * WAVE)
    rep = fidelity(d, o)
    assert rep.r == {"eye_open": None, "roll": None}
    assert rep.meaningful == []
    assert rep.mae["roll"] > 1.0  # the error is still reported


def test_still_output_against_moving_driving_scores_zero() -> None:
    rep = fidelity(_signals(yaw=10 * WAVE), _signals(yaw=np.full_like(WAVE, 3.0)))
    assert rep.r["yaw"] == 0.0


def test_relative_mode_removes_the_frame0_offset_from_mae() -> None:
    d = _signals(lip_open=0.2 + 0.1 * WAVE)
    o = _signals(lip_open=0.5 + 0.1 * WAVE)  # same motion from a different rest pose
    assert fidelity(d, o, relative=True).mae["lip_open"] == pytest.approx(0.0, abs=1e-12)
    assert fidelity(d, o, relative=False).mae["lip_open"] == pytest.approx(0.3)
    assert fidelity(d, o, relative=True).r["lip_open"] == pytest.approx(1.0)


def test_fidelity_drops_frames_missing_in_either_series() -> None:
    d, o = 10 * WAVE.copy(), 10 * WAVE.copy()
    d[0] = np.nan  # relative offset must come from the first frame present in both
    o[[5, 6]] = np.nan
    o[1:] += 7.0  # offset relative to frame 1, the new reference
    o[0] = 1e6  # dropped with driving frame 0: must not leak into r or MAE
    rep = fidelity(_signals(yaw=d), _signals(yaw=o))
    assert rep.n_frames == len(T) - 3
    assert rep.r["yaw"] == pytest.approx(1.0)
    assert rep.mae["yaw"] == pytest.approx(0.0, abs=1e-9)


def test_motion_signals_read_pose_and_mark_missing_frames() -> None:
    lm = np.stack([_face(), _face(yaw=20), _face(pitch=-10), _face(roll=15), np.full((478, 3), np.nan)])
    sig = motion_signals(lm)
    assert set(sig) == {"eye_open", "lip_open", "yaw", "pitch", "roll"}
    assert sig["yaw"][1] == pytest.approx(20, abs=0.5)
    assert sig["pitch"][2] == pytest.approx(-10, abs=0.5)
    assert sig["roll"][3] == pytest.approx(15, abs=0.5)
    assert abs(sig["yaw"][0]) < 0.5 and abs(sig["roll"][1]) < 0.5
    assert all(np.isnan(v[4]) and np.isfinite(v[:4]).all() for v in sig.values())
    with pytest.raises(ValueError):
        motion_signals(lm[:, :, :2])


def _track(noise: float, n: int = 50, scale: float = 100.0, seed: int = 0) -> np.ndarray:
    """A face drifting linearly (no high-frequency motion) plus Gaussian noise in pixels."""
    rng = np.random.default_rng(seed)
    drift = np.linspace(0, 40, n)[:, None, None] * np.array([1.0, 0.5, 0.0])
    return _face(scale=scale)[None] + drift + rng.normal(0, noise, (n, 478, 3))


def test_jitter_is_zero_for_a_smooth_track_and_grows_with_noise() -> None:
    j0, j1, j2 = (landmark_jitter(_track(s)) for s in (0.0, 0.5, 2.0))
    assert j0 == pytest.approx(0.0, abs=1e-9)
    assert 0 < j1 < j2
    assert j2 / j1 == pytest.approx(4.0, rel=0.1)  # linear in the noise amplitude


def test_jitter_is_normalised_by_inter_ocular_distance() -> None:
    # The same relative noise on a face twice the size gives the same figure.
    small = landmark_jitter(_track(0.5, scale=100.0))
    big = landmark_jitter(_track(1.0, scale=200.0))
    assert big == pytest.approx(small, rel=0.05)


def test_jitter_skips_windows_with_missing_frames() -> None:
    track = _track(0.0)
    track[20] = np.nan
    assert landmark_jitter(track) == pytest.approx(0.0, abs=1e-9)
    assert math.isnan(landmark_jitter(track[:4]))


def test_face_region_mask_is_the_oval_grown_about_its_centroid() -> None:
    lm = _face()
    shape = (480, 640, 3)
    tight = face_region_mask(lm, shape, grow=0.0)
    grown = face_region_mask(lm, shape)
    assert grown.shape == (480, 640) and grown.dtype == bool
    assert (grown | tight).sum() == grown.sum()  # contains the face oval
    assert grown.sum() / tight.sum() == pytest.approx(1.2**2, rel=0.03)
    cx, cy = lm[list(FACE_OVAL), :2].mean(axis=0).round().astype(int)
    assert grown[cy, cx] and not grown[0, 0]


def test_psnr() -> None:
    image = np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    assert psnr(image, image.copy()) == math.inf
    a = np.full((4, 4, 3), 100, np.uint8)
    b = a.copy()
    b[:2] = 110  # half the values off by 10: MSE 50
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / 50))
    assert psnr(a, np.full_like(a, 99)) == pytest.approx(20 * math.log10(255))  # MSE 1: 48.13 dB
    assert psnr(b, a) == psnr(a, b)


def test_background_psnr_ignores_the_face_region_only() -> None:
    rng = np.random.default_rng(1)
    source = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    mask = face_region_mask(_face(), source.shape)
    assert background_psnr(source.copy(), source, mask) == math.inf

    inside = source.copy()
    inside[mask] = 255 - inside[mask]
    assert background_psnr(inside, source, mask) == math.inf

    outside = source.copy()
    outside[:20] = 255 - outside[:20]  # top rows: above the face
    assert not mask[:20].any()
    value = background_psnr(outside, source, mask)
    assert math.isfinite(value) and value < 30
    # With the face region not excluded, the inside change lowers the figure too.
    assert background_psnr(inside, source, np.zeros_like(mask)) < 30

    with pytest.raises(ValueError):
        background_psnr(source[:-1], source, mask)


def test_real_driving_video_against_itself(shared_data, detector) -> None:
    lm = track_video_landmarks(shared_data / "driving" / "d0.mp4", detector, max_frames=40)
    assert lm.shape == (40, 478, 3)
    assert np.isfinite(lm).all(axis=(1, 2)).mean() > 0.9
    sig = motion_signals(lm)
    rep = fidelity(sig, sig)
    assert rep.meaningful, "d0 should have some meaningful motion in 40 frames"
    for name in rep.meaningful:
        assert rep.r[name] == pytest.approx(1.0)
        assert rep.mae[name] == 0.0
    jitter = landmark_jitter(lm)
    assert 0 < jitter < 0.05
