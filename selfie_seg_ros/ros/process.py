# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Process life of the package's executables: ROS start-up, spinning, and clean stop on a signal.

rclpy's own SIGINT/SIGTERM handlers shut the context down from the signal handler while the
executor may be taking a message, which ends in a traceback (``RuntimeError`` from
``take_message``) at random. Here the context is only ever shut down by the main thread, after the
spin loop has returned: a signal merely asks the loop to stop. During start-up (a model may be
loading for seconds) a signal interrupts at once with :class:`StopRequested`.
"""

from __future__ import annotations

import ctypes
import signal
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType, TracebackType
from typing import Any

import rclpy
from rclpy.executors import Executor
from rclpy.signals import SignalHandlerOptions

from selfie_seg_ros.ros.entry_points import STOP_REQUESTED, STOP_SIGNALS, StopRequested

__all__ = ['StopRequested', 'StopSignal', 'init', 'name_native_thread', 'spin_until_stopped']

SPIN_STEP_S = 0.1
"""Longest wait in one executor step: the delay between a signal and the loop noticing it."""
EXECUTOR_SHUTDOWN_S = 2.0
"""How long the executor may take to finish a callback in progress when spinning ends."""


_PR_SET_NAME = 15  # prctl option, from linux/prctl.h


def name_native_thread(name: str) -> bool:
    """Show the calling thread as ``name`` (15 bytes kept) in ``top -H``, ``ps -L`` and /proc.

    Python names its threads for itself only; the operating system shows every thread under
    the process's name. Linux only; elsewhere nothing happens.

    Returns:
        True when the name was set.
    """
    if not sys.platform.startswith('linux'):
        return False
    try:
        prctl = ctypes.CDLL(None).prctl
    except (OSError, AttributeError):
        return False
    return prctl(_PR_SET_NAME, name.encode()[:15], 0, 0, 0) == 0


class StopSignal:
    """Context manager that turns SIGINT and SIGTERM into a stop request.

    Until :meth:`spinning` is called a signal raises :class:`StopRequested` (start-up is abandoned
    at once); afterwards it only sets :attr:`requested`, which the spin loop checks.
    """

    def __init__(self) -> None:
        self.requested = threading.Event()
        self._interrupt = True
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignal:
        if STOP_REQUESTED.is_set():  # a signal came before, and its exception was lost
            raise StopRequested()
        for sig in STOP_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._on_signal)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def spinning(self) -> None:
        """Start-up is over: from now on a signal only asks the spin loop to stop."""
        self._interrupt = False
        if self.requested.is_set():
            raise StopRequested()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        STOP_REQUESTED.set()
        self.requested.set()
        if self._interrupt:
            raise StopRequested()


def init(args: Sequence[str] | None) -> None:
    """``rclpy.init`` without rclpy's signal handlers (:class:`StopSignal` handles them)."""
    rclpy.init(args=None if args is None else list(args),
               signal_handler_options=SignalHandlerOptions.NO)


def spin_until_stopped(executor: Executor, stop: StopSignal, *,
                       duration_s: float | None = None) -> None:
    """Spin until a stop signal, ``duration_s`` has passed, or ROS shuts down; then shut the
    executor down, before the caller destroys its nodes and the context.

    An executor left alive holds the nodes and its guard conditions until garbage collection,
    which may come after the context is gone, at interpreter exit.
    """
    stop.spinning()
    deadline = time.monotonic() + duration_s if duration_s else None
    try:
        while not stop.requested.is_set() and rclpy.ok():
            if deadline is not None and time.monotonic() >= deadline:
                return
            executor.spin_once(timeout_sec=SPIN_STEP_S)
    finally:
        executor.shutdown(timeout_sec=EXECUTOR_SHUTDOWN_S)
