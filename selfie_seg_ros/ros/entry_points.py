# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Console-script entry points of the ROS executables.

The stop-signal handlers are installed here, before rclpy, OpenVINO and OpenCV are imported (a
second or more), so SIGINT or SIGTERM at any moment after the interpreter has started ends the
process with exit 0 and no traceback. Only the standard library is imported by this module.

Here too, before any thread exists, glibc's allocator is limited to :data:`MALLOC_ARENAS` arenas.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib
import os
import signal
import sys
import threading
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
STOP_REQUESTED = threading.Event()
"""Set by the first stop signal once ``main()`` runs. The exception a handler raises can be lost:
raised while the interpreter runs a callback, Python reports it as 'ignored' and carries on. The
event is what later code checks."""


MALLOC_ARENAS = 2
"""glibc gives each thread that allocates its own arena (up to 8 per core), and memory freed in
one stays there. The node's threads (executor, worker, painter, DDS, OpenVINO) each handle
frame-sized buffers, so every camera of a process grew the resident memory by several frames'
worth: measured with 4 cameras at 1280x720 in one process, 680 MiB with glibc's default against
576 MiB with 2 arenas, at the same CPU per frame (``benchmarks/bench_cameras.py``)."""
_M_ARENA_MAX = -8  # mallopt parameter number, from glibc's malloc.h


def limit_malloc_arenas(count: int = MALLOC_ARENAS) -> bool:
    """Limit glibc's allocator to ``count`` arenas, unless ``MALLOC_ARENA_MAX`` says otherwise.

    Call it before threads start: arenas that exist stay. Elsewhere than glibc it does nothing.

    Returns:
        True when the limit was set here.
    """
    if 'MALLOC_ARENA_MAX' in os.environ:
        return False  # the user's choice, applied by glibc at start-up
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # not glibc
    return bool(mallopt(_M_ARENA_MAX, count))


class StopRequested(BaseException):  # noqa: N818 - a request, like KeyboardInterrupt
    """A stop signal arrived before spinning began (a BaseException, as KeyboardInterrupt)."""


def interrupt(signum: int, frame: FrameType | None) -> None:
    """Signal handler while the executable's modules are imported: leave at once, exit 0.

    Nothing is started yet (no ROS context, no files), so there is nothing to clean up. Raising
    here instead is unsafe: a signal that lands in an import lock's callback loses the exception,
    or leaves the import lock held and the process hung.
    """
    os._exit(0)


def _unraisable(report: sys.UnraisableHookArgs) -> None:
    """Keep a lost StopRequested quiet (STOP_REQUESTED carries it); report anything else."""
    if not isinstance(report.exc_value, StopRequested):
        sys.__unraisablehook__(report)


def run(module: str) -> int:
    """Import ``module`` and call its ``main()``; a stop signal at any point gives exit 0."""
    sys.unraisablehook = _unraisable
    for sig in STOP_SIGNALS:
        signal.signal(sig, interrupt)
    limit_malloc_arenas()
    try:
        return importlib.import_module(module).main() or 0
    except StopRequested:
        return 0
    except Exception:
        # A StopRequested raised inside a C extension's initialisation comes back as another
        # error (ImportError: initialization failed): after a stop signal, that is the stop.
        if STOP_REQUESTED.is_set():
            return 0
        raise


def node() -> None:
    """``selfie_seg_node``."""
    sys.exit(run('selfie_seg_ros.ros.node'))


def cameras() -> None:
    """``selfie_seg_cameras``."""
    sys.exit(run('selfie_seg_ros.ros.cameras'))


def camera() -> None:
    """``selfie_seg_camera``."""
    sys.exit(run('selfie_seg_ros.ros.camera'))


def viewer() -> None:
    """``selfie_seg_viewer``."""
    sys.exit(run('selfie_seg_ros.ros.viewer'))
