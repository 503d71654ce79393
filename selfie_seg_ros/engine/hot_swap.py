# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Replace a model while frames keep flowing: build in the background, swap between frames.

:class:`HotSwap` holds the object in use (a segmenter with what belongs to it). A frame borrows it
with :meth:`HotSwap.use`; :meth:`HotSwap.swap` installs a new one at once, and the old one is
closed by whoever returns it last, so it is never closed under a running frame.

:class:`BackgroundBuilder` builds on a thread of its own, one build at a time; a request made while
a build runs waits, and only the newest waiting request is built. The same thread closes what it is
given to dispose of.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar


class Closable(Protocol):
    """Anything with a ``close()``."""

    def close(self) -> None: ...


T = TypeVar('T', bound=Closable)
K = TypeVar('K')


class HotSwap(Generic[T]):
    """The object in use; swapped between frames, the old one closed when no frame uses it.

    Args:
        retire: closes an object that was swapped out; the default calls ``close()`` on the
            thread that lets go of it last. Pass one that hands the object to another thread
            when closing takes long enough to hold up a frame.
    """

    def __init__(self, retire: Callable[[T], None] | None = None) -> None:
        self._retire: Callable[[T], None] = retire or (lambda item: item.close())
        self._lock = threading.Lock()
        self._current: T | None = None
        self._users: dict[int, int] = {}
        self._retired: dict[int, T] = {}

    @property
    def current(self) -> T | None:
        """The object new frames get (None when empty)."""
        return self._current

    @contextmanager
    def use(self) -> Iterator[T | None]:
        """Borrow the current object for one frame (None when empty)."""
        with self._lock:
            item = self._current
            if item is not None:
                self._users[id(item)] = self._users.get(id(item), 0) + 1
        try:
            yield item
        finally:
            if item is not None:
                self._give_back(item)

    def _give_back(self, item: T) -> None:
        with self._lock:
            key = id(item)
            self._users[key] -= 1
            last = self._users[key] == 0
            if last:
                del self._users[key]
            retired = self._retired.pop(key, None) if last else None
        if retired is not None:
            self._retire(retired)

    def swap(self, new: T | None) -> None:
        """Make ``new`` current; close the old one now if unused, else when its last frame ends."""
        with self._lock:
            old, self._current = self._current, new
            if old is None or old is new:
                return
            if self._users.get(id(old), 0) > 0:
                self._retired[id(old)] = old
                return
        self._retire(old)

    def close(self) -> None:
        """Empty the slot (the current object is retired when unused)."""
        self.swap(None)


@dataclass
class BuildResult(Generic[K, T]):
    """A finished build: what was asked for, and the result or the error."""

    request: K
    built: T | None
    error: Exception | None


class BackgroundBuilder(Generic[K, T]):
    """Builds objects on one background thread; the newest waiting request wins.

    The same thread also closes objects handed to :meth:`dispose`, so slow closes stay off the
    caller's thread too. An owner that pauses (e.g. a node's cleanup) uses :meth:`cancel` to drop
    work and keeps the thread for later; :meth:`close` ends it.

    Args:
        build: makes the object for a request (may take seconds; may raise).
        done: called on the builder thread after each build; it should only wake the owner
            (e.g. trigger a guard condition), who then calls :meth:`take`.
    """

    def __init__(self, build: Callable[[K], T], done: Callable[[], None]) -> None:
        self._build = build
        self._done = done
        self._wake = threading.Condition()
        self._waiting: list[K] = []
        self._disposals: list[T] = []
        self._results: list[BuildResult[K, T]] = []
        self._generation = 0
        self._busy = False
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name='model_builder', daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        """True while a build runs or waits."""
        with self._wake:
            return self._busy or bool(self._waiting)

    def request(self, key: K) -> None:
        """Ask for a build of ``key``; replaces a request that has not started yet."""
        with self._wake:
            if self._stopping:
                raise RuntimeError('the builder is closed')
            self._waiting = [key]
            self._wake.notify()

    def dispose(self, item: T) -> None:
        """Close ``item`` on the builder thread (at once on this thread once closed)."""
        with self._wake:
            if not self._stopping:
                self._disposals.append(item)
                self._wake.notify()
                return
        item.close()

    def take(self) -> list[BuildResult[K, T]]:
        """The builds finished since the last call, oldest first (the caller owns them)."""
        with self._wake:
            results, self._results = self._results, []
        return results

    def cancel(self) -> None:
        """Drop the waiting request and every result; a build in progress is closed when done."""
        with self._wake:
            self._generation += 1
            self._waiting = []
            results, self._results = self._results, []
        for result in results:
            if result.built is not None:
                result.built.close()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not (self._waiting or self._disposals or self._stopping):
                    self._wake.wait()
                disposals, self._disposals = self._disposals, []
                key = self._waiting.pop() if self._waiting and not self._stopping else None
                generation = self._generation
                self._busy = key is not None
            for item in disposals:
                item.close()
            if key is None:
                if self._stopping:
                    return
                continue
            try:
                result = BuildResult(key, self._build(key), None)
            except Exception as error:  # reported to the owner, who decides what to do
                result = BuildResult(key, None, error)
            with self._wake:
                self._busy = False
                current = generation == self._generation and not self._stopping
                if current:
                    self._results.append(result)
            if not current:
                if result.built is not None:
                    result.built.close()
                continue
            self._done()

    def close(self, timeout: float = 30.0) -> None:
        """End the thread after its current build (discarded); close what nobody took.

        Waits up to ``timeout`` seconds for a running build.
        """
        with self._wake:
            self._stopping = True
            self._waiting = []
            self._wake.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        self.cancel()
