"""Run an iterator in a worker thread, a few items ahead of its consumer.

Decoding and face tracking (PyAV, MediaPipe), warping (OpenCV) and encoding (x264) spend most of
their time in native code that releases the GIL, so a decode/track thread, a render thread and an
encoding main thread overlap on a multi-core CPU.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetch(items: Iterable[T], depth: int = 4, name: str = "vivify-prefetch") -> Iterator[T]:
    """Yield ``items`` in order while a daemon thread produces up to ``depth`` of them ahead.

    An exception raised by the producer is re-raised in the consumer at the point where the
    failing item would have come. Closing the returned generator early (``break``, an error in
    the consumer) stops the producer and closes the source iterator in its thread.
    """
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        source = iter(items)
        try:
            for item in source:
                if not put(item):
                    break
            else:
                put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(_Failure(exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        worker.join()
