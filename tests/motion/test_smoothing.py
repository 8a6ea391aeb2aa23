"""Kalman smoothing: the whole-sequence smoother, its streamed form and the stream helper."""

import numpy as np
import pytest

from vivify.motion.rotation import nearest_rotation
from vivify.motion.smoothing import (
    INITIAL_VARIANCE,
    MAX_LAG,
    PROCESS_VARIANCE,
    FixedLagSmoother,
    kalman_smooth,
    smooth_stream,
    smoothing_lag,
)


def walk(n=60, d=7, seed=0):
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(0, 3e-3, (n, d)), 0) + rng.normal(0, 1e-3, (n, d))


def least_squares(x, r, q=PROCESS_VARIANCE):
    """The smoother's result as the posterior mean of the random walk, solved directly."""
    n = len(x)
    a = np.zeros((n, n))
    b = x / r
    a[np.arange(n), np.arange(n)] = 1 / r
    a[0, 0] += 1 / INITIAL_VARIANCE
    b[0] += x[0] / INITIAL_VARIANCE
    for t in range(1, n):
        a[t, t] += 1 / q
        a[t - 1, t - 1] += 1 / q
        a[t, t - 1] -= 1 / q
        a[t - 1, t] -= 1 / q
    return np.linalg.solve(a, b)


@pytest.mark.parametrize("r", [3e-7, 1e-5, 1e-4])
def test_smoother_is_the_posterior_mean_of_the_random_walk(r):
    x = walk()
    got = kalman_smooth(x, r)
    assert np.abs(got - least_squares(x, r)).max() < 1e-9
    assert np.abs(got - x).max() > 1e-5  # it did smooth


@pytest.mark.parametrize("r", [3e-7, 1e-4])
def test_smoother_matches_pykalman(r):
    pykalman = pytest.importorskip("pykalman")
    x = walk(40, 5, seed=1)
    d = x.shape[1]
    kf = pykalman.KalmanFilter(
        initial_state_mean=x[0],
        n_dim_obs=d,
        transition_covariance=PROCESS_VARIANCE * np.eye(d),
        observation_covariance=r * np.eye(d),
    )
    want, _ = kf.smooth(x)
    assert np.abs(kalman_smooth(x, r) - want).max() < 1e-12


@pytest.mark.parametrize("r", [3e-7, 1e-5, 1e-4])
def test_streamed_smoother_equals_the_whole_sequence(r):
    x = walk(120)
    s = FixedLagSmoother(r)
    streamed = []
    for k, row in enumerate(x, 1):
        streamed += s.push(row)
        assert len(streamed) == max(0, k - s.lag)  # each value comes out `lag` frames later
    streamed += s.flush()
    assert len(streamed) == len(x)
    assert np.abs(np.stack(streamed) - kalman_smooth(x, r)).max() < 1e-8


def test_lag_grows_with_smoothing_and_is_bounded():
    lags = [smoothing_lag(r) for r in (3e-7, 1e-6, 1e-5, 1e-4, 1e-2)]
    assert lags == sorted(lags) and lags[0] == 6 and lags[-1] == MAX_LAG
    s = FixedLagSmoother(3e-7)
    assert [len(s.push(np.zeros(2))) for _ in range(8)] == [0] * 6 + [1, 1]


def test_constants_and_shapes_are_kept():
    x = np.full((10, 4, 3), 0.25)
    assert np.allclose(kalman_smooth(x, 1e-4), 0.25)
    assert kalman_smooth(np.zeros((0, 3))).shape == (0, 3)
    with pytest.raises(ValueError, match="variance"):
        FixedLagSmoother(-1.0)


def test_stream_keeps_order_and_passes_unsmoothed_items_through():
    x = walk(30, 2)
    items = [(i, None if i % 7 == 3 else x[i]) for i in range(30)]
    out = list(smooth_stream(items, lambda it: it[1], lambda it, v: (it[0], v), 1e-5))
    assert [i for i, _ in out] == list(range(30))
    kept = [i for i, v in items if v is not None]
    want = kalman_smooth(x[kept], 1e-5)
    got = np.stack([v for i, v in out if i in kept])
    assert np.abs(got - want).max() < 1e-8
    assert all(v is None for i, v in out if i not in kept)


def test_nearest_rotation():
    rng = np.random.default_rng(2)
    q, _ = np.linalg.qr(rng.normal(size=(5, 3, 3)))
    q *= np.sign(np.linalg.det(q))[:, None, None]  # proper rotations
    assert np.allclose(nearest_rotation(q), q)
    noisy = nearest_rotation(0.9 * q + 0.01 * rng.normal(size=q.shape))
    assert np.allclose(noisy @ noisy.transpose(0, 2, 1), np.eye(3), atol=1e-12)
    assert np.allclose(np.linalg.det(noisy), 1) and np.abs(noisy - q).max() < 0.05
