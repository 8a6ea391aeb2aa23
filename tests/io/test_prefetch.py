import threading
import time

import pytest

from vivify.io.prefetch import prefetch


def test_yields_everything_in_order_from_another_thread():
    threads = set()

    def items():
        for i in range(50):
            threads.add(threading.current_thread().name)
            yield i

    assert list(prefetch(items(), depth=3)) == list(range(50))
    assert threads == {"vivify-prefetch"}


def test_producer_errors_reach_the_consumer_in_place():
    def items():
        yield 1
        yield 2
        raise KeyError("broken frame")

    got = []
    with pytest.raises(KeyError, match="broken frame"):
        for x in prefetch(items()):
            got.append(x)
    assert got == [1, 2]


def test_stopping_early_closes_the_source_and_the_thread():
    closed = threading.Event()

    def items():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    before = threading.active_count()
    stream = prefetch(items(), depth=2)
    assert next(stream) == 0
    stream.close()
    assert closed.wait(2)
    deadline = time.time() + 2
    while threading.active_count() > before and time.time() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


def test_depth_must_be_positive():
    with pytest.raises(ValueError):
        list(prefetch([], depth=0))
