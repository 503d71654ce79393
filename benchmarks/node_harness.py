# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Processes of the node benchmarks: the node, a frame publisher, an output recorder, /proc probes.

Layout (each its own process, so no two compete for one GIL):
    node        ``selfie_seg_node`` with the general selfie model
    publisher   ``python benchmarks/node_harness.py publish ...``: one pre-built bgr8 frame (the
                astronaut photo scaled into the frame), re-stamped with the wall clock right
                before each publish; at a fixed rate or as fast as it can
    recorder    in the calling script: raw (serialized) subscriptions on the three outputs, so
                only the header stamp is parsed and no pixel buffer is converted to Python
Every process uses ``config/fastdds_shm.xml`` and an isolated ``ROS_DOMAIN_ID``. Latency is the
input header stamp to the moment the recorder's callback runs, on the same host clock.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import CACHE_DIR, MEDIAPIPE_VENV, REPO_ROOT, CpuMeter, fit_into_frame, photo

from selfie_seg_ros.ros import harness

FASTDDS_PROFILE = REPO_ROOT / 'config' / 'fastdds_shm.xml'
MODEL = 'selfie_segmentation'
PEER_PYTHON = MEDIAPIPE_VENV / 'bin' / 'python'
"""Interpreter of the MediaPipe peer node (``make venv-mediapipe``)."""
OUTPUTS = ('mask', 'overlay', 'blurred')
NODE_PREFIX = '/selfie_seg'
INPUT_TOPIC = '/camera/image'
_LOG_TIME = re.compile(r'\[(\d+\.\d+)\]')


def ros_env(domain: int, cache_dir: Path | None = None) -> dict[str, str]:
    """Environment of a benchmark process: its domain, the shared-memory profile, the cache."""
    return harness.ros_env(domain, profile=FASTDDS_PROFILE, cache_dir=cache_dir or CACHE_DIR)


# ---------------------------------------------------------------------------------------------
# The node


EXPERIMENT_LAUNCHER = """
import functools, os, sys
patches = set(os.environ['BENCH_PATCHES'].split(','))
import cv2
import openvino
import rclpy.executors
for patch in patches:
    if patch.startswith('cv'):
        cv2.setNumThreads(int(patch[2:]))
    elif patch.startswith('ov'):
        compile_model = openvino.Core.compile_model
        def limited(self, model, device='CPU', config=None, threads=int(patch[2:])):
            return compile_model(self, model, device,
                                 {**(config or {}), 'INFERENCE_NUM_THREADS': threads})
        openvino.Core.compile_model = limited
    elif patch.startswith('switch'):
        sys.setswitchinterval(float(patch[6:]) / 1000.0)
    elif patch == 'single_executor':
        rclpy.executors.MultiThreadedExecutor = (
            lambda *args, **kwargs: rclpy.executors.SingleThreadedExecutor())
    elif patch == 'events_executor':
        from rclpy.experimental import EventsExecutor
        rclpy.executors.MultiThreadedExecutor = lambda *args, **kwargs: EventsExecutor()
        rclpy.executors.SingleThreadedExecutor = lambda *args, **kwargs: EventsExecutor()
    elif patch == 'check_fields':
        from sensor_msgs.msg import Image
        import selfie_seg_ros.ros.image_io as image_io
        if not hasattr(image_io, '_KEEP_ARRAY'):  # from 20c5070 on, image_io does it itself
            image_io.Image = functools.partial(Image, check_fields=True)
    elif patch == 'search_at_once':
        from selfie_seg_ros.engine.pose.tracking import PersonTracker
        def at_once(self, count):
            return range(count) if self._frame % self.redetect_interval == 0 else range(0)
        PersonTracker.search_views = at_once
    elif patch:
        sys.exit(f'unknown patch {patch!r}')
from selfie_seg_ros.ros.node import main
sys.exit(main(sys.argv))
"""
"""Runs the node with experimental changes, to measure fixes before anyone makes them.

``BENCH_PATCHES`` is a comma-separated list of: ``cv<N>`` (OpenCV threads), ``ov<N>``
(OpenVINO inference threads), ``switch<MS>`` (the interpreter's GIL switch interval),
``single_executor`` (SingleThreadedExecutor instead of MultiThreadedExecutor),
``events_executor`` (rclpy.experimental.EventsExecutor instead), ``check_fields``
(build output Images with ``check_fields=True``, whose ``data`` setter keeps an array.array
instead of copying it). The node does the last two itself since commit 20c5070.
``search_at_once`` (pose_segmentation: every view of a search on one frame every
``redetect_interval`` frames, as before the search was spread over those frames).
"""


class NodeUnderTest(harness.NodeProcess):
    """``selfie_seg_node`` with the benchmark model as a subprocess, its output in a log file."""

    def __init__(self, domain: int, parameters: dict[str, str] | None = None,
                 cache_dir: Path | None = None, log_dir: Path | None = None,
                 extra_env: dict[str, str] | None = None,
                 patches: Sequence[str] = (), peer: bool = False) -> None:
        """Start the node.

        Args:
            domain: ROS_DOMAIN_ID.
            parameters: Node parameters besides ``model``.
            cache_dir: Model cache (SELFIE_SEG_CACHE); the project's ``.cache`` by default.
            log_dir: Where the log file goes; $TMPDIR or /tmp by default.
            extra_env: More environment variables.
            patches: Experimental changes (see :data:`EXPERIMENT_LAUNCHER`); none runs the
                installed ``selfie_seg_node`` script.
            peer: Run the MediaPipe peer (``mediapipe_peer_node.py`` in the MediaPipe venv)
                instead, on the same topics; ``parameters`` and ``patches`` do not apply.
        """
        command = None
        if peer:
            command = [str(PEER_PYTHON), str(Path(__file__).resolve().parent
                                             / 'mediapipe_peer_node.py')]
            parameters, patches = None, ()
        if patches:
            command = [sys.executable, '-c', EXPERIMENT_LAUNCHER]
            extra_env = {**(extra_env or {}), 'BENCH_PATCHES': ','.join(patches)}
        folder = log_dir or Path(os.environ.get('TMPDIR', '/tmp'))
        super().__init__(
            domain, None if peer else {'model': MODEL, **(parameters or {})},
            {'image': INPUT_TOPIC},
            env={**ros_env(domain, cache_dir), **(extra_env or {})},
            log_path=folder / f'bench_node_{domain}_{os.getpid()}.log', command=command)

    def ready_ns(self) -> int | None:
        """Wall time of the node's 'ready' log line (model compiled, node built), if printed."""
        for line in self.output().splitlines():
            if ' ready in ' in line:
                match = _LOG_TIME.search(line)
                if match:
                    return int(float(match.group(1)) * 1e9)
        return None

    def engine_startup_s(self) -> float | None:
        """The Segmenter's own start-up time, as the node logs it."""
        match = re.search(r' ready in (\d+\.\d+) s', self.output())
        return float(match.group(1)) if match else None


# ---------------------------------------------------------------------------------------------
# The publisher (a process of its own)


class PublisherProcess:
    """This file's ``publish`` command as a subprocess; its summary comes back as JSON."""

    def __init__(self, domain: int, width: int, height: int, rate: float,
                 wait_for_subscriber: bool = True, topic: str = INPUT_TOPIC) -> None:
        args = [sys.executable, str(Path(__file__).resolve()), 'publish', '--width', str(width),
                '--height', str(height), '--rate', str(rate), '--topic', topic]
        if not wait_for_subscriber:
            args.append('--no-wait')
        self.process = subprocess.Popen(args, env=ros_env(domain), stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 10.0) -> dict[str, Any]:
        """Stop publishing (SIGINT); returns the publisher's summary (frames, rate, CPU)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
        lines = [line for line in out.strip().splitlines() if line.startswith('{')]
        if not lines:
            raise RuntimeError(f'publisher gave no summary; stderr:\n{err[-2000:]}')
        return json.loads(lines[-1])


def benchmark_frame(width: int, height: int) -> Any:
    """The astronaut photo scaled into a ``width`` x ``height`` frame (black bars), BGR uint8."""
    return fit_into_frame(photo('astronaut'), width, height)


class FramePublisher:
    """Publishes one pre-built frame, re-stamped each time; usable in a thread or a process."""

    def __init__(self, node: Any, width: int, height: int, topic: str = INPUT_TOPIC) -> None:
        import numpy as np
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import Image

        frame = benchmark_frame(width, height)
        self.msg = Image(height=height, width=width, encoding='bgr8', step=width * 3)
        self.msg.header.frame_id = 'bench_camera'
        self.msg.data = np.ascontiguousarray(frame).tobytes()
        # Camera drivers publish with sensor-data QoS (best effort), as the node subscribes.
        self.pub = node.create_publisher(Image, topic, qos_profile_sensor_data)
        self.count = 0

    def publish(self) -> None:
        """Stamp the frame with the wall clock now and publish it."""
        sec, nanosec = divmod(time.time_ns(), 1_000_000_000)
        self.msg.header.stamp.sec, self.msg.header.stamp.nanosec = sec, nanosec
        self.pub.publish(self.msg)
        self.count += 1

    def run(self, rate: float, stop: threading.Event, wait_for_subscriber: bool = True
            ) -> dict[str, Any]:
        """Publish at ``rate`` Hz (0: back to back) until ``stop`` is set; returns a summary."""
        while wait_for_subscriber and self.pub.get_subscription_count() == 0:
            if stop.wait(0.02):
                break
        period = 1.0 / rate if rate > 0 else 0.0
        started = time.monotonic()
        deadline = started
        while not stop.is_set():
            self.publish()
            if period:
                deadline += period
                delay = deadline - time.monotonic()
                if delay > 0:
                    stop.wait(delay)
                else:
                    deadline = time.monotonic()  # fell behind: do not burst to catch up
        elapsed = max(time.monotonic() - started, 1e-6)
        return {'frames': self.count, 'seconds': elapsed, 'rate': self.count / elapsed}


def publish_main(argv: Sequence[str]) -> int:
    """The publisher process: publish until SIGINT/SIGTERM, then print a JSON summary."""
    parser = argparse.ArgumentParser(prog='node_harness.py publish')
    parser.add_argument('--width', type=int, required=True)
    parser.add_argument('--height', type=int, required=True)
    parser.add_argument('--rate', type=float, required=True, help='Hz; 0 = as fast as possible')
    parser.add_argument('--topic', default=INPUT_TOPIC)
    parser.add_argument('--no-wait', action='store_true',
                        help='publish before any subscriber has matched')
    options = parser.parse_args(argv)

    import rclpy
    from rclpy.node import Node

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    rclpy.init(args=None, signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
    node = Node('bench_publisher')
    publisher = FramePublisher(node, options.width, options.height, options.topic)
    cpu = CpuMeter(os.getpid())
    summary = publisher.run(options.rate, stop, wait_for_subscriber=not options.no_wait)
    summary['cpu_percent'] = cpu.percent()
    node.destroy_node()
    rclpy.try_shutdown()
    print(json.dumps(summary), flush=True)
    return 0


# ---------------------------------------------------------------------------------------------
# The recorder (in the calling process)


def header_stamp_ns(serialized: bytes) -> int:
    """The header stamp of a serialized (CDR) message whose first field is a std_msgs/Header."""
    endian = '<' if serialized[1] & 1 else '>'  # encapsulation id: CDR_LE = 0x0001
    sec, nanosec = struct.unpack_from(f'{endian}iI', serialized, 4)
    return sec * 1_000_000_000 + nanosec


@dataclass
class Sample:
    """One received output: input stamp, receive time (wall clock, ns), serialized size."""

    stamp_ns: int
    received_ns: int
    size: int


@dataclass
class Diagnostic:
    """One /diagnostics status of the node, as received."""

    received_ns: int
    level: int
    message: str
    values: dict[str, str]

    def total(self, name: str) -> int:
        return int(self.values.get(f'total {name}', 0))


@dataclass
class Recording:
    """Everything the recorder got, appended from its spin thread."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    outputs: dict[str, list[Sample]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def samples(self, topic: str, start_ns: int = 0, end_ns: int = 2**63) -> list[Sample]:
        """Samples of ``topic`` received in [start_ns, end_ns)."""
        with self.lock:
            return [s for s in self.outputs.get(topic, []) if start_ns <= s.received_ns < end_ns]

    def first_received_ns(self, topic: str) -> int | None:
        with self.lock:
            samples = self.outputs.get(topic)
            return samples[0].received_ns if samples else None

    def diagnostic_at(self, when_ns: int) -> Diagnostic | None:
        """The last diagnostic received before ``when_ns`` (else the first one after)."""
        with self.lock:
            before = [d for d in self.diagnostics if d.received_ns <= when_ns]
            if before:
                return before[-1]
            return self.diagnostics[0] if self.diagnostics else None

    def trim(self, before_ns: int) -> None:
        """Forget samples received before ``before_ns`` (keeps long runs small)."""
        with self.lock:
            for topic, samples in self.outputs.items():
                self.outputs[topic] = [s for s in samples if s.received_ns >= before_ns]


class Recorder(harness.RclpyPeer):
    """An rclpy context in this process: raw subscriptions on the outputs, and /diagnostics."""

    def __init__(self, domain: int, outputs: Sequence[str] = OUTPUTS) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image

        super().__init__(domain, f'bench_recorder_{domain}', FASTDDS_PROFILE)
        self.recording = Recording()
        qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)  # as the node offers
        self.subscriptions = {}
        for name in outputs:
            self.recording.outputs[name] = []
            self.subscriptions[name] = self.node.create_subscription(
                Image, f'{NODE_PREFIX}/{name}', lambda data, key=name: self._on_output(key, data),
                qos, raw=True)
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics, 10)

    def _on_output(self, topic: str, data: bytes) -> None:
        received = time.time_ns()
        sample = Sample(header_stamp_ns(data), received, len(data))
        with self.recording.lock:
            self.recording.outputs[topic].append(sample)

    def _on_diagnostics(self, msg: Any) -> None:
        received = time.time_ns()
        for status in msg.status:
            if status.name.endswith('segmentation'):
                values = {kv.key: kv.value for kv in status.values}
                diagnostic = Diagnostic(received, int.from_bytes(status.level, 'little')
                                        if isinstance(status.level, bytes) else int(status.level),
                                        status.message, values)
                with self.recording.lock:
                    self.recording.diagnostics.append(diagnostic)

    def matched(self) -> bool:
        """True once every output subscription has a publisher (the node is up)."""
        return all(sub.get_publisher_count() > 0 for sub in self.subscriptions.values())

    def wait(self, condition: Callable[[], object], timeout: float) -> bool:
        """Poll ``condition()`` every 10 ms until true or ``timeout`` seconds passed."""
        return harness.wait_until(condition, timeout, period=0.01)


# ---------------------------------------------------------------------------------------------
# All three together


class StartError(RuntimeError):
    """The node or the frame flow did not come up; the message carries the node's log."""


class Pipeline:
    """Recorder, node and publisher on one fresh domain, started in that order."""

    def __init__(self, width: int, height: int, rate: float,
                 parameters: dict[str, str] | None = None, timeout: float = 60.0,
                 publisher_thread: bool = False, patches: Sequence[str] = (),
                 node_env: dict[str, str] | None = None, peer: bool = False,
                 outputs: Sequence[str] = OUTPUTS) -> None:
        """Start everything; returns once all three outputs arrive.

        Args:
            width: Frame width.
            height: Frame height.
            rate: Input rate in Hz; 0 publishes back to back.
            parameters: Extra node parameters.
            timeout: Seconds to wait for the node to come up and for its first outputs.
            publisher_thread: Publish from a thread of this process (next to the recorder)
                instead of a process of its own; for comparison.
            patches: Experimental changes to the node (see :data:`EXPERIMENT_LAUNCHER`).
            node_env: Extra environment variables of the node process.
            peer: Run the MediaPipe peer node instead of ours (see :class:`NodeUnderTest`).
            outputs: The outputs to subscribe (and wait for).

        Raises:
            StartError: with the node's log when it does not come up.
        """
        self.domain = harness.unique_domain_id()
        self.outputs = tuple(outputs)
        self.recorder = Recorder(self.domain, self.outputs)
        self.node = NodeUnderTest(self.domain, parameters, extra_env=node_env, patches=patches,
                                  peer=peer)
        self.publisher: PublisherProcess | None = None
        self._thread_stop = threading.Event()
        self._thread_result: dict[str, Any] = {}
        self._thread: threading.Thread | None = None
        try:
            self.recorder.wait(lambda: self.recorder.matched() or not self.node.alive(), timeout)
            if not self.recorder.matched():
                raise StartError(f'node outputs never matched:\n{self.node.output()[-3000:]}')
            if publisher_thread:
                publisher = FramePublisher(self.recorder.node, width, height)
                self._thread = threading.Thread(
                    target=lambda: self._thread_result.update(
                        publisher.run(rate, self._thread_stop)), daemon=True)
                self._thread.start()
            else:
                self.publisher = PublisherProcess(self.domain, width, height, rate)
            self.recorder.wait(lambda: self._flowing() or not self.node.alive(), timeout)
            if not self._flowing():
                raise StartError(f'no output from the node:\n{self.node.output()[-3000:]}')
        except BaseException:
            self.stop()
            raise

    def _flowing(self) -> bool:
        return all(self.recorder.recording.first_received_ns(t) for t in self.outputs)

    @property
    def recording(self) -> Recording:
        return self.recorder.recording

    def stop(self) -> tuple[int, dict[str, Any] | None]:
        """Stop the publisher, then the node (SIGINT), then the recorder.

        Returns:
            The node's exit code and the publisher's summary (None if it never started).
        """
        summary = self.publisher.stop() if self.publisher is not None else None
        self.publisher = None
        if self._thread is not None:
            self._thread_stop.set()
            self._thread.join(timeout=10)
            summary, self._thread = dict(self._thread_result), None
        code = self.node.stop()
        self.recorder.close()
        return code, summary


# ---------------------------------------------------------------------------------------------
# Statistics


def latencies_ms(samples: Sequence[Sample]) -> list[float]:
    """Input stamp to reception, in milliseconds, per sample."""
    return [(s.received_ns - s.stamp_ns) / 1e6 for s in samples]


if __name__ == '__main__':
    if len(sys.argv) < 2 or sys.argv[1] != 'publish':
        sys.exit('usage: node_harness.py publish --width W --height H --rate HZ [--no-wait]')
    sys.exit(publish_main(sys.argv[2:]))
