"""Rendering the planned steps: batches, a batch in flight, several faces, frames at rest.

Consecutive steps that render one face from the same prepared state and reference (a picture
driven by one source of motion) are rendered in batches of ``batch_size``. On an asynchronous
device ``ahead`` batches stay in flight: batch k+1 is queued before batch k is waited for.
Everything else (several faces into one canvas, a frame of a source video, a frame at rest) is
one entry of the same queue, so frames come out in order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from vivify.backends.base import ReadyFrames, RenderBackend, RenderedFrames
from vivify.face.align import CropConfig
from vivify.face.crop import warp_crop
from vivify.motion.transfer_options import TransferOptions
from vivify.pipeline.preview import side_by_side
from vivify.pipeline.render_steps import RenderStep


@dataclass(frozen=True)
class Schedule:
    """How steps are rendered: ``batch_size`` frames per batch, ``ahead`` batches in flight."""

    batch_size: int = 1
    ahead: int = 0
    paste_back: bool = True
    concat: bool = False


def _batch_key(step: RenderStep) -> tuple | None:
    """Steps with equal keys render in one batch; None renders alone."""
    if len(step.jobs) != 1 or step.jobs[0] is None or step.jobs[0].targets is not None:
        return None
    job = step.jobs[0]
    return id(job.state), id(job.reference), job.mode


class Scheduler:
    """Renders :class:`RenderStep` s with a backend into output frames, in order."""

    def __init__(self, backend: RenderBackend, options: TransferOptions, schedule: Schedule) -> None:
        self.backend, self.options, self.schedule = backend, options, schedule
        self._queue: deque[tuple[list[RenderStep], RenderedFrames]] = deque()
        self._pending: list[RenderStep] = []

    def frames(self, steps: Iterable[RenderStep]) -> Iterator[np.ndarray]:
        """Yield one frame per step."""
        batch = self.schedule.batch_size
        for step in steps:
            key = _batch_key(step)
            if self._pending and key != _batch_key(self._pending[0]):
                self._flush()
            if key is None:
                self._queue.append(([step], self._render_alone(step)))
            else:
                self._pending.append(step)
                if len(self._pending) == batch:
                    self._flush()
            yield from self._drain(self.schedule.ahead)
        self._flush()
        yield from self._drain(0)

    def _flush(self) -> None:
        """Queue the waiting steps as one batch."""
        if not self._pending:
            return
        steps, self._pending = self._pending, []
        job = steps[0].jobs[0]
        assert job is not None
        motions = [s.jobs[0].motion for s in steps]
        paste = self.schedule.paste_back
        handle = self.backend.render_async(job.state, motions, job.reference, self.options, job.mode,
                                           paste_back=paste)  # fmt: skip
        self._queue.append((steps, handle))

    def _render_alone(self, step: RenderStep) -> RenderedFrames:
        """One step that does not batch: at rest, one face with its own targets, or several faces."""
        jobs = [job for job in step.jobs if job is not None]
        if len(jobs) == 1 and len(step.jobs) == 1:
            job = jobs[0]
            paste = self.schedule.paste_back
            return self.backend.render_async(job.state, [job.motion], job.reference, self.options, job.mode,
                                             paste_back=paste, targets=job.targets)  # fmt: skip
        canvas = None
        for job in jobs:  # each face pasted into the frame the previous one was pasted into
            canvas = self.backend.render_async(job.state, [job.motion], job.reference, self.options, job.mode,
                                               paste_back=self.schedule.paste_back, canvas=canvas,
                                               targets=job.targets).result()[0]  # fmt: skip
        return ReadyFrames([self._at_rest(step) if canvas is None else canvas])

    def _at_rest(self, step: RenderStep) -> np.ndarray:
        """The source frame unchanged (its face crop without paste-back)."""
        if self.schedule.paste_back:
            return step.source.image
        return warp_crop(step.source.image, step.source.crop_m, CropConfig().dsize)

    def _drain(self, keep: int) -> Iterator[np.ndarray]:
        """Yield the frames of every queued entry but the ``keep`` newest."""
        while len(self._queue) > keep:
            steps, handle = self._queue.popleft()
            for step, out in zip(steps, handle.result(), strict=True):
                yield side_by_side(step.source.image, step.driving, out) if self.schedule.concat else out
