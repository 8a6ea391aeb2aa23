"""Kalman smoothing of motion over time, in full and streamed with a fixed lag.

The model is LivePortrait's (spec section 9, source-video inputs): every value is an independent
random walk observed with noise: ``m_t = m_{t-1} + w``, ``x_t = m_t + v`` with process variance
``q`` (1e-5) and observation variance ``r`` (3e-7 by default), the first observation as the
initial mean with variance 1, then a forward filter and a Rauch–Tung–Striebel backward pass.
Because the covariances are isotropic, the variances and gains are scalars shared by all values.

The smoother is linear and keeps constants (``smooth(x + c) = smooth(x) + c``). Its backward gain
settles at ``J = r / (p + r)`` (``p`` the steady predicted variance), so a frame's result depends
on the frame ``L`` steps later only through ``J^L``: the streamed form waits ``L`` frames, chosen
so that ``J^L`` is below 1e-8, and then equals the whole-sequence result to that precision
(6 frames at r = 3e-7; more for stronger smoothing, at most :data:`MAX_LAG`).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import numpy as np

PROCESS_VARIANCE = 1e-5  # LivePortrait's transition covariance (times identity)
OBSERVATION_VARIANCE = 3e-7  # LivePortrait's driving_smooth_observation_variance
INITIAL_VARIANCE = 1.0  # covariance of the initial state (the first observation)
MAX_LAG = 50  # frames the streamed smoother may wait (2 s at 25 fps)
LAG_TOLERANCE = 1e-8  # the streamed result's weight on frames beyond the lag

T = TypeVar("T")
U = TypeVar("U")


def steady_gain(observation_variance: float, process_variance: float = PROCESS_VARIANCE) -> float:
    """The backward (smoother) gain ``J`` the recursion settles at, in [0, 1)."""
    q, r = process_variance, observation_variance
    p = (q + math.sqrt(q * q + 4 * q * r)) / 2  # steady predicted variance: p² = q·p + q·r
    return r / (p + r)


def smoothing_lag(
    observation_variance: float, process_variance: float = PROCESS_VARIANCE, tolerance: float = LAG_TOLERANCE
) -> int:
    """Frames the streamed smoother waits so that the frames beyond weigh less than ``tolerance``."""
    j = steady_gain(observation_variance, process_variance)
    if j <= 0.0:
        return 0
    if j >= 1.0:  # a variance so large the gain rounds to 1: the longest wait
        return MAX_LAG
    return int(min(MAX_LAG, max(1, math.ceil(math.log(tolerance) / math.log(j)))))


def _check(observation_variance: float, process_variance: float) -> None:
    if not (observation_variance >= 0 and process_variance > 0):
        raise ValueError(
            f"smoothing needs observation variance >= 0 and process variance > 0, "
            f"got {observation_variance} and {process_variance}"
        )


def kalman_smooth(
    x: np.ndarray,
    observation_variance: float = OBSERVATION_VARIANCE,
    process_variance: float = PROCESS_VARIANCE,
) -> np.ndarray:
    """Smooth a whole sequence (forward filter, then the backward pass).

    Args:
        x: (T, ...) observations; every value is smoothed over the first axis independently.

    Returns:
        (T, ...) float64 smoothed values.
    """
    smoother = FixedLagSmoother(observation_variance, process_variance, lag=len(x))
    out = [s for row in np.asarray(x) for s in smoother.push(row)]
    return np.stack(out + smoother.flush()) if len(x) else np.asarray(x, np.float64)


class FixedLagSmoother:
    """Stream observations in; get each smoothed value ``lag`` observations later.

    Args:
        observation_variance, process_variance: the model's variances (see the module docstring).
        lag: observations to wait before a value is final (default: :func:`smoothing_lag`).

    Examples:
        >>> s = FixedLagSmoother(3e-7)
        >>> ready = [v for x in np.zeros((10, 2)) for v in s.push(x)] + s.flush()
        >>> len(ready)
        10
    """

    def __init__(
        self,
        observation_variance: float = OBSERVATION_VARIANCE,
        process_variance: float = PROCESS_VARIANCE,
        lag: int | None = None,
    ) -> None:
        _check(observation_variance, process_variance)
        self.r, self.q = observation_variance, process_variance
        self.lag = smoothing_lag(observation_variance, process_variance) if lag is None else lag
        self._window: deque[tuple[np.ndarray, float]] = deque()  # filtered (mean, variance)
        self._last: tuple[np.ndarray, float] | None = None

    def push(self, x: np.ndarray) -> list[np.ndarray]:
        """Add one observation (any shape, fixed across calls); returns the values now final."""
        x = np.asarray(x, np.float64)
        if self._last is None:
            mean, predicted = x, INITIAL_VARIANCE  # the first observation is the initial mean
        else:
            mean, predicted = self._last[0], self._last[1] + self.q
        gain = predicted / (predicted + self.r)
        filtered = (mean + gain * (x - mean), (1.0 - gain) * predicted)
        self._last = filtered
        self._window.append(filtered)
        if len(self._window) <= self.lag:
            return []
        value = self._backward(len(self._window) - 1)[0]
        self._window.popleft()
        return [value]

    def flush(self) -> list[np.ndarray]:
        """The values still waiting, in order (the stream has ended); the smoother is reset."""
        values = self._backward(len(self._window) - 1) if self._window else []
        self._window.clear()
        self._last = None
        return values

    def _backward(self, newest: int) -> list[np.ndarray]:
        """Smoothed values of window entries 0..newest, from a backward pass starting at newest."""
        smoothed = self._window[newest][0]
        out = [smoothed]
        for i in range(newest - 1, -1, -1):
            mean, var = self._window[i]
            j = var / (var + self.q)  # filtered variance over the next prediction's variance
            smoothed = mean + j * (smoothed - mean)
            out.append(smoothed)
        return out[::-1]


def smooth_stream(
    items: Iterable[T],
    vector: Callable[[T], np.ndarray | None],
    apply: Callable[[T, np.ndarray], U],
    observation_variance: float = OBSERVATION_VARIANCE,
    process_variance: float = PROCESS_VARIANCE,
) -> Iterator[T | U]:
    """Yield ``items`` in order, each with a vector replaced by ``apply(item, smoothed vector)``.

    Items whose ``vector`` is None (a frame without a face) pass through unchanged and are left
    out of the smoothing. Items are held back by the smoother's lag (a few frames), so memory
    stays bounded on a stream of any length.
    """
    smoother = FixedLagSmoother(observation_variance, process_variance)
    pending: deque[tuple[T, bool]] = deque()  # (item, smoothed?) in input order

    def release(values: list[np.ndarray]) -> Iterator[T | U]:
        for value in values:
            while not pending[0][1]:
                yield pending.popleft()[0]
            yield apply(pending.popleft()[0], value)
        while pending and not pending[0][1]:  # pass-through items now at the head
            yield pending.popleft()[0]

    for item in items:
        v = vector(item)
        pending.append((item, v is not None))
        yield from release([] if v is None else smoother.push(v))
    yield from release(smoother.flush())
