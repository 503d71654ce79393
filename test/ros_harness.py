# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Test harness: the node as a real process, and an in-process rclpy peer on an isolated domain."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rclpy
from rcl_interfaces.srv import GetParameters, SetParameters
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter as RclpyParameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CACHE = REPO / '.cache'
_domains = itertools.count()


def unique_domain_id() -> int:
    """A ROS_DOMAIN_ID no other test run on this machine uses at the same time (1..200)."""
    return 1 + (os.getpid() * 7 + next(_domains) * 13) % 200


def ros_env(domain_id: int) -> dict[str, str]:
    """Environment for the node process: isolated domain, shared-memory Fast DDS profile."""
    env = dict(os.environ)
    env['ROS_DOMAIN_ID'] = str(domain_id)
    env['FASTDDS_DEFAULT_PROFILES_FILE'] = str(REPO / 'config' / 'fastdds_shm.xml')
    env['SELFIE_SEG_CACHE'] = str(CACHE)
    env['PYTHONUNBUFFERED'] = '1'
    env.pop('ROS_LOCALHOST_ONLY', None)
    return env


def bgr_image_msg(image: np.ndarray, stamp_ns: int, frame_id: str) -> Image:
    """A bgr8 Image message for a BGR array."""
    msg = Image()
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
    msg.header.frame_id = frame_id
    msg.height, msg.width = image.shape[:2]
    msg.encoding = 'bgr8'
    msg.step = image.shape[1] * 3
    msg.data = np.ascontiguousarray(image).tobytes()
    return msg


def image_array(msg: Image) -> np.ndarray:
    """Decode a received mono8/bgr8 Image (rows may be padded)."""
    channels = 1 if msg.encoding == 'mono8' else 3
    rows = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.step)
    array = rows[:, : msg.width * channels].reshape(msg.height, msg.width, channels)
    return array[..., 0] if channels == 1 else array


@dataclass
class Received:
    """Messages received per topic, thread-safe."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    messages: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, topic: str, msg: Any) -> None:
        with self.lock:
            self.messages.setdefault(topic, []).append(msg)

    def get(self, topic: str) -> list[Any]:
        with self.lock:
            return list(self.messages.get(topic, []))

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()


class NodeProcess:
    """``selfie_seg_node`` started as a subprocess."""

    def __init__(self, domain_id: int, parameters: dict[str, str] | None = None,
                 remaps: dict[str, str] | None = None) -> None:
        args = [str(BIN / 'selfie_seg_node'), '--ros-args']
        for name, value in (parameters or {}).items():
            args += ['-p', f'{name}:={value}']
        for source, target in (remaps or {}).items():
            args += ['-r', f'{source}:={target}']
        self.log_path = Path(os.environ.get('TMPDIR', '/tmp')) / f'selfie_seg_node_{domain_id}.log'
        self._log = open(self.log_path, 'w+b')  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(args, env=ros_env(domain_id), stdout=self._log,
                                        stderr=subprocess.STDOUT)

    def output(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(errors='replace')

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15.0) -> int:
        """Send a signal and wait; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


class Peer:
    """An in-process rclpy node on the test's domain: publishes frames, receives outputs."""

    def __init__(self, domain_id: int, prefix: str = '/selfie_seg') -> None:
        os.environ['FASTDDS_DEFAULT_PROFILES_FILE'] = str(REPO / 'config' / 'fastdds_shm.xml')
        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = Node(f'test_peer_{domain_id}', context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.prefix = prefix
        self.received = Received()
        self._subscriptions: dict[str, Any] = {}
        self.image_pub = self.node.create_publisher(Image, '/camera/image', self._qos())
        self.compressed_pub = self.node.create_publisher(
            CompressedImage, '/camera/image/compressed', self._qos())
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._stop = threading.Event()
        self._thread.start()

    @staticmethod
    def _qos() -> QoSProfile:
        return QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)

    def _spin(self) -> None:
        while not self._stop.is_set() and self.context.ok():
            self.executor.spin_once(timeout_sec=0.05)

    def subscribe(self, name: str, msg_type: type = Image, topic: str | None = None) -> None:
        """Receive ``<prefix>/<name>`` (or ``topic``) into ``self.received[name]``."""
        topic = topic or f'{self.prefix}/{name}'
        self._subscriptions[name] = self.node.create_subscription(
            msg_type, topic, lambda msg, key=name: self.received.add(key, msg), self._qos())

    def unsubscribe(self, name: str) -> None:
        self.node.destroy_subscription(self._subscriptions.pop(name))

    def wait_for(self, condition: Callable[[], bool], timeout: float = 20.0,
                 publish: Callable[[], None] | None = None, period: float = 0.05) -> bool:
        """Poll ``condition`` (publishing a frame each period when given) until true or timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if publish is not None:
                publish()
            if condition():
                return True
            time.sleep(period)
        return condition()

    def wait_for_node(self, timeout: float = 30.0) -> bool:
        """True once the node's outputs and input are matched."""
        return self.wait_for(
            lambda: self.image_pub.get_subscription_count() > 0
            and all(sub.get_publisher_count() > 0 for sub in self._subscriptions.values()),
            timeout=timeout)

    def set_parameters(self, node_name: str = '/selfie_seg',
                       **values: Any) -> list[Any]:
        """Set parameters through the node's service; returns the SetParametersResult list."""
        client = self.node.create_client(SetParameters, f'{node_name}/set_parameters')
        try:
            assert client.wait_for_service(timeout_sec=10.0), 'parameter service not found'
            request = SetParameters.Request()
            request.parameters = [
                RclpyParameter(n, value=v).to_parameter_msg() for n, v in values.items()]
            future = client.call_async(request)
            deadline = time.monotonic() + 30.0
            while not future.done() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert future.done(), 'set_parameters timed out'
            return list(future.result().results)
        finally:
            self.node.destroy_client(client)

    def get_parameter(self, name: str, node_name: str = '/selfie_seg') -> Any:
        """A parameter's value through the node's service."""
        client = self.node.create_client(GetParameters, f'{node_name}/get_parameters')
        try:
            assert client.wait_for_service(timeout_sec=10.0)
            future = client.call_async(GetParameters.Request(names=[name]))
            deadline = time.monotonic() + 10.0
            while not future.done() and time.monotonic() < deadline:
                time.sleep(0.02)
            value = future.result().values[0]
            return rclpy.parameter.parameter_value_to_python(value)
        finally:
            self.node.destroy_client(client)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
