"""Properties of the temporal Kalman smoother (vivify.motion.smoothing).

Observation variances from 0 (no smoothing) to 1e-4 (far stronger than LivePortrait's 3e-7),
process variances 1e-7 to 1e-2, sequences of up to 80 frames of up to 4 values within ±1e6.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from vivify.motion.smoothing import (
    LAG_TOLERANCE,
    MAX_LAG,
    PROCESS_VARIANCE,
    FixedLagSmoother,
    kalman_smooth,
    smooth_stream,
    smoothing_lag,
    steady_gain,
)

seeds = st.integers(0, 2**32 - 1)
observation_variances = st.one_of(st.just(0.0), st.floats(1e-9, 1e-4))
process_variances = st.one_of(st.just(PROCESS_VARIANCE), st.floats(1e-7, 1e-2))


@st.composite
def sequences(draw, min_frames: int = 1) -> np.ndarray:
    """(T, d) observations: a random walk plus noise, at any offset and scale."""
    rng = np.random.default_rng(draw(seeds))
    t, d = draw(st.integers(min_frames, 80)), draw(st.integers(1, 4))
    walk = np.cumsum(rng.normal(size=(t, d)), axis=0) + rng.normal(scale=0.3, size=(t, d))
    return draw(st.floats(-1e6, 1e6)) + draw(st.floats(1e-3, 1e3)) * walk


@given(st.integers(1, 80), st.integers(1, 4), st.floats(-1e6, 1e6), observation_variances, process_variances)
def test_a_constant_sequence_stays_constant(n, d, value, r, q):
    out = kalman_smooth(np.full((n, d), value), r, q)
    assert out.shape == (n, d) and out.dtype == np.float64
    np.testing.assert_array_equal(out, np.full((n, d), value))


@given(sequences(), observation_variances, process_variances)
def test_smoothed_values_are_finite_and_stay_within_the_observations(x, r, q):
    out = kalman_smooth(x, r, q)
    assert out.shape == x.shape and np.isfinite(out).all()
    tol = 1e-9 * (np.abs(x).max() + 1)
    assert (out >= x.min(axis=0) - tol).all() and (out <= x.max(axis=0) + tol).all()


@given(sequences(), st.floats(-1e3, 1e3), st.floats(-1e6, 1e6), observation_variances, process_variances)
def test_smoothing_is_linear_and_keeps_offsets(x, a, c, r, q):
    """``smooth(a·x + c) = a·smooth(x) + c``: the weights depend on the variances only."""
    got = kalman_smooth(a * x + c, r, q)
    want = a * kalman_smooth(x, r, q) + c
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * (np.abs(a * x).max() + abs(c) + 1))


@given(sequences(), process_variances)
def test_no_observation_noise_means_no_smoothing(x, q):
    np.testing.assert_allclose(kalman_smooth(x, 0.0, q), x, rtol=0, atol=1e-15 * (np.abs(x).max() + 1))


@given(observation_variances, process_variances)
def test_the_lag_makes_later_frames_negligible(r, q):
    j = steady_gain(r, q)
    assert 0.0 <= j < 1.0
    lag = smoothing_lag(r, q)
    assert 0 <= lag <= MAX_LAG
    assert j == 0.0 or lag == MAX_LAG or j**lag <= LAG_TOLERANCE


@given(sequences(), observation_variances, process_variances)
def test_streaming_with_the_lag_matches_smoothing_the_whole_sequence(x, r, q):
    smoother = FixedLagSmoother(r, q)
    streamed = []
    for i, row in enumerate(x):
        ready = smoother.push(row)
        assert len(ready) == (1 if i >= smoother.lag else 0)  # each value comes out `lag` frames later
        streamed += ready
    streamed += smoother.flush()
    assert len(streamed) == len(x)
    whole = kalman_smooth(x, r, q)
    # what the stream cannot see yet weighs J^lag (at most the tolerance unless MAX_LAG caps it)
    weight = max(steady_gain(r, q) ** smoother.lag, LAG_TOLERANCE)
    spread = np.ptp(x, axis=0).max() + 1e-9 * (np.abs(x).max() + 1)
    np.testing.assert_allclose(np.stack(streamed), whole, rtol=0, atol=4 * weight * spread)


@given(sequences(), st.lists(st.booleans(), min_size=80, max_size=80))
def test_smooth_stream_keeps_order_and_passes_frames_without_a_face(x, missing):
    items = [(i, None if missing[i] else row) for i, row in enumerate(x)]
    out = list(smooth_stream(items, vector=lambda item: item[1], apply=lambda item, v: (item[0], v)))
    assert [i for i, _ in out] == list(range(len(x)))
    present = [row for _, row in items if row is not None]
    if not present:
        assert out == items
        return
    smoothed = kalman_smooth(np.stack(present))
    got = [v for (_, v), (_, row) in zip(out, items, strict=True) if row is not None]
    assert all(v is None for (_, v), (_, row) in zip(out, items, strict=True) if row is None)
    spread = np.ptp(x, axis=0).max() + 1e-9 * (np.abs(x).max() + 1)
    np.testing.assert_allclose(np.stack(got), smoothed, rtol=0, atol=4 * LAG_TOLERANCE * spread)


@given(st.floats(allow_nan=True), st.floats(allow_nan=True))
def test_invalid_variances_are_refused(r, q):
    assume(not (r >= 0 and q > 0))
    with pytest.raises(ValueError, match="variance"):
        FixedLagSmoother(r, q)


@example(r=1e28, q=PROCESS_VARIANCE)
@given(st.floats(0.0, 1e300), st.floats(1e-300, 1e300))
def test_any_valid_variances_give_a_smoother(r, q):
    assert 0.0 <= steady_gain(r, q) <= 1.0
    assert 0 <= smoothing_lag(r, q) <= MAX_LAG
    assert FixedLagSmoother(r, q).lag <= MAX_LAG
