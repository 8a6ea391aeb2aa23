"""The one loop: source frames and motion streams in, what to render for each output frame out.

Every source of motion goes through it: a picture or a source video on one side (a
:mod:`.source_track`), one motion stream per driver on the other (:mod:`.motion_stream`). Each
output frame is a :class:`RenderStep`: per source face, the prepared state, the motion and the
reference to render it with, or nothing when it stays at rest (no driving face seen yet, or the
face lost in a frame of a source video).

Drivers of different lengths run to the longest, a finished one holding its last motion; a
source video stops the output at its end, and at its driver's end unless that driver is a
single image, which then drives every frame.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from vivify.backends.base import DrivingFrame, RenderBackend
from vivify.errors import NoFaceError
from vivify.motion.smoothing import smooth_stream
from vivify.motion.transfer_options import DriveMode, TransferOptions
from vivify.pipeline.motion_source import MotionSource
from vivify.pipeline.motion_stream import MotionStep
from vivify.pipeline.source_track import SourceFrame


class SourceTrack(Protocol):
    """A picture or a source video (:mod:`vivify.pipeline.source_track`)."""

    source_video: bool
    path: Any

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[SourceFrame]: ...


@dataclass(frozen=True)
class FaceJob:
    """What to render for one face: the source state, driving motion, reference and mode;
    ``targets`` the smoothed per-frame targets of a source video (see ``video_targets``)."""

    state: Any
    motion: Any
    reference: Any
    mode: DriveMode
    targets: np.ndarray | None = None


@dataclass(frozen=True)
class RenderStep:
    """One output frame: the source frame, the first driver's frame (for previews), and per
    source face a :class:`FaceJob`, or None for a face at rest."""

    source: SourceFrame
    driving: DrivingFrame | None
    jobs: tuple[FaceJob | None, ...]


def _advance(streams: list[Iterator[MotionStep]], latest: list[MotionStep | None], done: list[bool]) -> bool:
    """Pull the next step of every unfinished stream; whether any had one."""
    advanced = False
    for k, stream in enumerate(streams):
        if done[k]:
            continue
        step = next(stream, None)
        if step is None:
            done[k] = True
        else:
            latest[k], advanced = step, True
    return advanced


def _jobs(
    source: SourceFrame, latest: list[MotionStep | None], modes: list[DriveMode], backend: RenderBackend
):
    """Per source face: its driver's motion, or None (no motion yet, or no face in this frame)."""
    jobs = []
    for slot in range(len(source.faces)):
        k = slot if len(latest) > 1 else 0
        step = latest[k]
        state = None if step is None or step.motion is None else source.state(slot, backend)
        jobs.append(None if state is None else FaceJob(state, step.motion, step.reference, modes[k]))
    return tuple(jobs)


def render_steps(
    track: SourceTrack,
    streams: Sequence[Iterator[MotionStep]],
    drivers: Sequence[MotionSource],
    backend: RenderBackend,
    max_frames: int | None = None,
) -> Iterator[RenderStep]:
    """The steps of an animation, one per output frame (see the module docstring).

    Raises:
        NoFaceError: at the end, when a driver had no face at all, or a source video none.
    """
    modes = [DriveMode.of(source_video=track.source_video, still_driver=d.still) for d in drivers]
    repeats = [track.source_video and d.still for d in drivers]  # a driving image drives every frame
    streams = list(streams)
    latest: list[MotionStep | None] = [None] * len(streams)
    done = [False] * len(streams)
    rendered, n = False, 0
    sources = iter(track)
    try:
        for source in sources:
            if max_frames is not None and n >= max_frames:
                break
            advanced = _advance(streams, latest, done)
            if not advanced and not any(r and s is not None for r, s in zip(repeats, latest, strict=True)):
                break
            jobs = _jobs(source, latest, modes, backend)
            rendered |= any(job is not None for job in jobs)
            yield RenderStep(source, None if latest[0] is None else latest[0].frame, jobs)
            n += 1
    finally:  # stop the drivers' threads and release the source video
        for stream in [*streams, sources]:
            _close(stream)
    for step, driver in zip(latest, drivers, strict=True):
        if step is None or step.motion is None:
            raise NoFaceError("no face found in any driving frame", driver.path)
    if track.source_video and not rendered:
        raise NoFaceError("no face found in any source frame", track.path)


def _close(stream: Iterator) -> None:
    if isinstance(stream, Generator):
        stream.close()


def smooth_targets(
    steps: Iterable[RenderStep], backend: RenderBackend, options: TransferOptions, variance: float
) -> Iterator[RenderStep]:
    """Steps of one face with the backend's own targets smoothed over time (a source video,
    LivePortrait's smoothing of expression and rotation); faces at rest are left out."""

    def vector(step: RenderStep) -> np.ndarray | None:
        job = step.jobs[0]
        if job is None:
            return None
        return backend.video_targets(job.state, job.motion, job.reference, options, job.mode)

    def apply(step: RenderStep, v: np.ndarray) -> RenderStep:
        return dataclasses.replace(step, jobs=(dataclasses.replace(step.jobs[0], targets=v),))

    return smooth_stream(steps, vector, apply, variance)
