# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Executables as real processes, and an rclpy peer in the calling process, on a private domain.

The one way the tests and the benchmarks start and stop ``selfie_seg_node`` (or the camera and
the viewer) and talk to it over DDS; the node itself does not use this module. Every run gets its
own ``ROS_DOMAIN_ID``, so parallel runs on one machine never hear each other.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node

BIN = Path(sys.executable).parent
"""Where the environment's console scripts are (``selfie_seg_node`` ...)."""
_domains = itertools.count()


def unique_domain_id() -> int:
    """A ROS_DOMAIN_ID (1..200) that no other run on this machine uses at the same time."""
    return 1 + (os.getpid() * 7 + next(_domains) * 13) % 200


def ros_env(domain_id: int, *, profile: Path | None = None,
            cache_dir: Path | None = None) -> dict[str, str]:
    """This process's environment for a child on ``domain_id``.

    Args:
        domain_id: The child's ROS_DOMAIN_ID.
        profile: Fast DDS XML profile (``FASTDDS_DEFAULT_PROFILES_FILE``); None keeps ours.
        cache_dir: Model cache (``SELFIE_SEG_CACHE``); None keeps ours.
    """
    env = dict(os.environ)
    env['ROS_DOMAIN_ID'] = str(domain_id)
    if profile is not None:
        env['FASTDDS_DEFAULT_PROFILES_FILE'] = str(profile)
    if cache_dir is not None:
        env['SELFIE_SEG_CACHE'] = str(cache_dir)
    env['PYTHONUNBUFFERED'] = '1'
    env.pop('ROS_LOCALHOST_ONLY', None)
    return env


def ros_arguments(parameters: Mapping[str, object] | None = None,
                  remaps: Mapping[str, str] | None = None) -> list[str]:
    """``--ros-args -p name:=value ... -r from:=to ...``."""
    args = ['--ros-args']
    for name, value in (parameters or {}).items():
        args += ['-p', f'{name}:={value}']
    for source, target in (remaps or {}).items():
        args += ['-r', f'{source}:={target}']
    return args


def wait_until(condition: Callable[[], object], timeout: float, period: float = 0.05,
               each: Callable[[], None] | None = None) -> bool:
    """Poll ``condition()`` (calling ``each()`` first every round) until true or ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if each is not None:
            each()
        if condition():
            return True
        time.sleep(period)
    return bool(condition())


class ChildProcess:
    """A command as a subprocess, stdout and stderr in a log file; stopped with a signal."""

    def __init__(self, command: Sequence[str], env: Mapping[str, str], log_path: Path) -> None:
        """Start ``command`` with ``env``, logging to ``log_path`` (truncated)."""
        self.log_path = log_path
        self.started_ns = time.time_ns()
        with open(log_path, 'wb') as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(list(command), env=dict(env), stdout=log,
                                            stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.process.pid

    def output(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(errors='replace')

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process.poll() is None

    def poll(self) -> int | None:
        """The exit code, or None while it runs."""
        return self.process.poll()

    def wait(self, timeout: float) -> int:
        """Wait for the process to end by itself; returns the exit code.

        Raises:
            subprocess.TimeoutExpired: still running after ``timeout`` seconds.
        """
        return self.process.wait(timeout=timeout)

    def catches(self, sig: int) -> bool:
        """True once the process has a handler of its own for ``sig`` (Linux ``SigCgt``)."""
        try:
            status = Path(f'/proc/{self.pid}/status').read_text()
        except OSError:
            return False
        for line in status.splitlines():
            if line.startswith('SigCgt:'):
                return bool(int(line.split()[1], 16) >> (int(sig) - 1) & 1)
        return False

    def wait_until_catching(self, sig: int, timeout: float = 30.0) -> bool:
        """Wait until the process handles ``sig`` itself (or has ended); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.catches(sig) or self.process.poll() is not None:
                return True
            time.sleep(0.005)
        return False

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15.0) -> int:
        """Send ``sig`` and wait (kill after ``timeout`` seconds); returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


class NodeProcess(ChildProcess):
    """``selfie_seg_node`` (or another console script) as a subprocess on ``domain_id``."""

    def __init__(self, domain_id: int, parameters: Mapping[str, object] | None = None,
                 remaps: Mapping[str, str] | None = None, *, env: Mapping[str, str],
                 log_path: Path | None = None, command: Sequence[str] | None = None) -> None:
        """Start the node.

        Args:
            domain_id: Its ROS_DOMAIN_ID (used for the log file name; ``env`` must set it).
            parameters: ``-p`` node parameters.
            remaps: ``-r`` topic remappings.
            env: The environment, e.g. from :func:`ros_env`.
            log_path: The log file; ``$TMPDIR/selfie_seg_node_<domain>_<pid>.log`` by default.
            command: What to run instead of the ``selfie_seg_node`` script, before its ROS
                arguments.
        """
        folder = Path(os.environ.get('TMPDIR', '/tmp'))
        log_path = log_path or folder / f'selfie_seg_node_{domain_id}_{os.getpid()}.log'
        command = list(command or [str(BIN / 'selfie_seg_node')])
        super().__init__([*command, *ros_arguments(parameters, remaps)], env, log_path)


class RclpyPeer:
    """An rclpy context and node in this process on ``domain_id``, spun by a thread of its own."""

    def __init__(self, domain_id: int, name: str, profile: Path | None = None) -> None:
        """Start the context (with ``profile`` as this process's Fast DDS profile) and spin."""
        if profile is not None:
            os.environ['FASTDDS_DEFAULT_PROFILES_FILE'] = str(profile)
        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = Node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        while not self._stop.is_set() and self.context.ok():
            self.executor.spin_once(timeout_sec=0.05)

    def close(self) -> None:
        """Stop spinning and shut the context down."""
        self._stop.set()
        self._thread.join(timeout=5)
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
