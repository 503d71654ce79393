# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""HotSwap never closes an object under a frame; BackgroundBuilder builds the newest request."""

from __future__ import annotations

import random
import threading
import time

import pytest

from selfie_seg_ros.engine.hot_swap import BackgroundBuilder, HotSwap


class Model:
    """Stands in for a segmenter: using it after close() is an error."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False

    def run(self) -> str:
        if self.closed:
            raise RuntimeError(f'{self.name} used after close')
        return self.name

    def close(self) -> None:
        self.closed = True


def test_swap_closes_an_unused_object_at_once():
    slot: HotSwap[Model] = HotSwap()
    first, second = Model('a'), Model('b')
    slot.swap(first)
    slot.swap(second)
    assert first.closed and not second.closed
    with slot.use() as item:
        assert item is second
    slot.close()
    assert second.closed
    with slot.use() as item:
        assert item is None


def test_an_object_in_use_is_closed_by_its_last_user():
    slot: HotSwap[Model] = HotSwap()
    old, new = Model('old'), Model('new')
    slot.swap(old)
    with slot.use() as in_flight:
        slot.swap(new)
        assert not old.closed  # a frame is still inside it
        with slot.use() as next_frame:
            assert next_frame is new
        assert in_flight.run() == 'old'
    assert old.closed and not new.closed


def test_frames_never_meet_a_closed_object_while_swaps_hammer():
    slot: HotSwap[Model] = HotSwap()
    slot.swap(Model('0'))
    errors: list[Exception] = []
    stop = threading.Event()

    def frames() -> None:
        while not stop.is_set():
            with slot.use() as item:
                try:
                    item.run()
                    time.sleep(random.random() * 1e-4)
                    item.run()
                except RuntimeError as error:
                    errors.append(error)

    workers = [threading.Thread(target=frames) for _ in range(3)]
    for worker in workers:
        worker.start()
    made = []
    for index in range(300):
        made.append(Model(str(index + 1)))
        slot.swap(made[-1])
    stop.set()
    for worker in workers:
        worker.join()
    assert errors == []
    assert all(item.closed for item in made[:-1])
    assert not made[-1].closed


def _wait(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)
    return condition()


def test_builder_builds_off_thread_and_only_the_newest_waiting_request():
    release = threading.Event()
    started: list[str] = []
    done = threading.Semaphore(0)

    def build(key: str) -> Model:
        started.append(key)
        if key == 'first':
            release.wait(5)
        if key == 'bad':
            raise ValueError('cannot build bad')
        return Model(key)

    builder: BackgroundBuilder[str, Model] = BackgroundBuilder(build, done.release)
    caller = threading.current_thread()
    builder.request('first')
    assert _wait(lambda: started == ['first'])
    builder.request('second')  # replaced before it starts
    builder.request('third')
    assert builder.busy
    release.set()
    assert done.acquire(timeout=5) and done.acquire(timeout=5)
    results = builder.take()
    assert [r.request for r in results] == ['first', 'third']
    assert started == ['first', 'third']
    assert all(r.built is not None and r.error is None for r in results)
    builder.request('bad')
    assert done.acquire(timeout=5)
    (failed,) = builder.take()
    assert failed.built is None and 'cannot build bad' in str(failed.error)
    assert threading.current_thread() is caller
    builder.close()
    with pytest.raises(RuntimeError, match='closed'):
        builder.request('late')


class _GatedBuilds:
    """A builder whose 'slow' build waits for ``release``; every model built is kept."""

    def __init__(self) -> None:
        self.release, self.started = threading.Event(), threading.Event()
        self.built: list[Model] = []
        self.done = threading.Semaphore(0)
        self.builder: BackgroundBuilder[str, Model] = BackgroundBuilder(
            self._build, self.done.release)

    def _build(self, key: str) -> Model:
        if key == 'slow':
            self.started.set()
            self.release.wait(5)
        self.built.append(Model(key))
        return self.built[-1]


def test_closing_the_builder_closes_what_nobody_took():
    gated = _GatedBuilds()
    release, started, built, done, builder = (
        gated.release, gated.started, gated.built, gated.done, gated.builder)
    builder.request('fast')
    assert done.acquire(timeout=5)  # built, never taken
    builder.request('slow')
    assert started.wait(5)
    closer = threading.Thread(target=builder.close)
    closer.start()
    release.set()
    closer.join(5)
    assert [m.name for m in built] == ['fast', 'slow']
    assert all(m.closed for m in built)


def test_cancel_drops_waiting_work_and_closes_a_build_that_finishes_after_it():
    gated = _GatedBuilds()
    release, started, built, done, builder = (
        gated.release, gated.started, gated.built, gated.done, gated.builder)
    builder.request('slow')
    assert started.wait(5)
    builder.request('waiting')
    builder.cancel()
    release.set()
    assert _wait(lambda: not builder.busy)
    assert [m.name for m in built] == ['slow'] and built[0].closed
    assert builder.take() == []
    # The thread is still there for the next request.
    builder.request('next')
    assert done.acquire(timeout=5)
    (result,) = builder.take()
    assert result.request == 'next' and not result.built.closed
    builder.close()


def test_dispose_closes_on_the_builder_thread():
    closed_on: list[str] = []

    class Recorder(Model):
        def close(self) -> None:
            closed_on.append(threading.current_thread().name)
            super().close()

    builder: BackgroundBuilder[str, Model] = BackgroundBuilder(Model, lambda: None)
    item = Recorder('x')
    builder.dispose(item)
    assert _wait(lambda: item.closed)
    assert closed_on == ['model_builder']
    builder.close()
    late = Recorder('late')
    builder.dispose(late)  # closed builder: closed at once, here
    assert late.closed and closed_on[-1] == threading.current_thread().name
