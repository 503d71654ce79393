# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""A rendezvous between two pipeline stages running on their own threads.

The first stage puts a finished item and waits until the second stage takes it, which the second
stage does only when it is done with the previous item. So at most two items are in flight (one
in each stage), a stage's buffers can alternate between two sets, and a slow second stage slows
the first instead of queueing work: the newest frame waits at the pipeline's intake, where it can
be replaced by a newer one.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar('T')


class Handoff(Generic[T]):
    """Passes items one at a time from a producer thread to a consumer thread."""

    def __init__(self) -> None:
        """An open handoff with no item."""
        self._changed = threading.Condition()
        self._item: T | None = None
        self._full = False
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def put(self, item: T) -> bool:
        """Hand ``item`` over and wait until the consumer has taken it.

        Returns:
            True when taken; False when the handoff was closed first (the item is dropped).
        """
        with self._changed:
            if self._closed:
                return False
            self._item, self._full = item, True
            self._changed.notify_all()
            while self._full and not self._closed:
                self._changed.wait()
            if self._full:  # closed before the consumer came for it
                self._item, self._full = None, False
                return False
            return True

    def take(self) -> T | None:
        """Wait for the next item and take it; None once the handoff is closed."""
        with self._changed:
            while not self._full and not self._closed:
                self._changed.wait()
            if self._closed:
                return None
            item, self._item, self._full = self._item, None, False
            self._changed.notify_all()
            return item

    def close(self) -> None:
        """Wake both sides for good: a waiting ``put`` returns False, ``take`` returns None."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
