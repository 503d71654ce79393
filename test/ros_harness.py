# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Test harness: the node as a real process, and an in-process rclpy peer on an isolated domain."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rclpy
from rcl_interfaces.srv import GetParameters, SetParameters
from rclpy.parameter import Parameter as RclpyParameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image

from selfie_seg_ros.ros import harness
from selfie_seg_ros.ros.harness import BIN, ChildProcess, unique_domain_id, wait_until

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / '.cache'
PROFILE = REPO / 'config' / 'fastdds_shm.xml'
__all__ = ['BIN', 'CACHE', 'REPO', 'ChildProcess', 'NodeProcess', 'Peer', 'Received',
           'bgr_image_msg', 'image_array', 'node_and_peer', 'ros_env', 'unique_domain_id']


def ros_env(domain_id: int) -> dict[str, str]:
    """Environment for the node process: isolated domain, shared-memory Fast DDS profile."""
    return harness.ros_env(domain_id, profile=PROFILE, cache_dir=CACHE)


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


class NodeProcess(harness.NodeProcess):
    """``selfie_seg_node`` started as a subprocess with the test environment."""

    def __init__(self, domain_id: int, parameters: dict[str, str] | None = None,
                 remaps: dict[str, str] | None = None) -> None:
        super().__init__(domain_id, parameters, remaps, env=ros_env(domain_id))


class Peer(harness.RclpyPeer):
    """An in-process rclpy node on the test's domain: publishes frames, receives outputs."""

    def __init__(self, domain_id: int, prefix: str = '/selfie_seg') -> None:
        super().__init__(domain_id, f'test_peer_{domain_id}', PROFILE)
        self.prefix = prefix
        self.received = Received()
        self._subscriptions: dict[str, Any] = {}
        self.image_pub = self.node.create_publisher(Image, '/camera/image', self._qos())
        self.compressed_pub = self.node.create_publisher(
            CompressedImage, '/camera/image/compressed', self._qos())

    @staticmethod
    def _qos() -> QoSProfile:
        return QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)

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
        return wait_until(condition, timeout, period, each=publish)

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


@contextmanager
def node_and_peer(parameters: Mapping[str, str], remaps: Mapping[str, str],
                  subscriptions: Sequence[tuple[str, type, str | None]],
                  timeout: float = 60.0) -> Iterator[tuple[NodeProcess, Peer]]:
    """A node process and a peer subscribed to ``(name, type, topic)``, both up and matched.

    Fails the test with the node's output when it does not come up; stops both afterwards.
    """
    domain = unique_domain_id()
    node = NodeProcess(domain, dict(parameters), dict(remaps))
    peer = Peer(domain)
    try:
        for name, msg_type, topic in subscriptions:
            peer.subscribe(name, msg_type, topic=topic)
        if not peer.wait_for_node(timeout=timeout):
            pytest.fail(f'node did not come up:\n{node.output()}')
        yield node, peer
    finally:
        peer.close()
        node.stop()
