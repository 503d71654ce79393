# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Hostile publishers against a running selfie_seg_node: bombs, malformed frames, bad parameters.

Real processes over DDS on an isolated domain, the real MediaPipe general selfie model. A 629-byte
JPEG and a 429-byte PNG declaring 30000x30000 pixels (2.7 GB once decoded) must be refused from
their headers: the node stays up, its peak memory stays where it was, diagnostics say ERROR while
nothing can be processed, and good frames are served again at once.
"""

from __future__ import annotations

import array
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from bombs import jpeg_bomb, png_bomb, png_with_corrupt_stream
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.qos import QoSProfile, ReliabilityPolicy
from ros_harness import BIN, NodeProcess, Peer, bgr_image_msg, ros_env, unique_domain_id
from sensor_msgs.msg import CompressedImage, Image

pytestmark = [pytest.mark.ros, pytest.mark.model]

MODEL = 'selfie_segmentation'
# Names of their own: test runs of other checkouts on this machine may share the domain id, and
# must neither hear these bombs nor be heard here.
NAME = f'selfie_seg_hostile_{os.getpid()}'
TOPIC = f'/hostile_{os.getpid()}/image'


def _start(parameters: dict[str, str], compressed: bool) -> tuple[NodeProcess, Peer]:
    domain = unique_domain_id()
    remaps = {'__node': NAME, 'image/compressed' if compressed else 'image':
              f'{TOPIC}/compressed' if compressed else TOPIC}
    node = NodeProcess(domain, {'model': MODEL, **parameters}, remaps)
    peer = Peer(domain, prefix=f'/{NAME}')
    peer.subscribe('diagnostics', DiagnosticArray, topic='/diagnostics')
    peer.subscribe('mask')
    qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
    if compressed:
        peer.compressed_pub = peer.node.create_publisher(
            CompressedImage, f'{TOPIC}/compressed', qos)
    else:
        peer.image_pub = peer.node.create_publisher(Image, TOPIC, qos)
    publisher = peer.compressed_pub if compressed else peer.image_pub
    if not peer.wait_for(lambda: publisher.get_subscription_count() > 0, timeout=60):
        output = node.output()
        peer.close()
        node.stop()
        pytest.fail(f'node did not come up:\n{output}')
    return node, peer


@pytest.fixture(scope='module')
def compressed_node(selfie_model_path) -> Iterator[tuple[NodeProcess, Peer]]:
    node, peer = _start({'compressed_input': 'true'}, compressed=True)
    yield node, peer
    peer.close()
    assert node.stop() == 0, node.output()


@pytest.fixture(scope='module')
def raw_node(selfie_model_path) -> Iterator[tuple[NodeProcess, Peer]]:
    node, peer = _start({}, compressed=False)
    yield node, peer
    peer.close()
    assert node.stop() == 0, node.output()


def _compressed(data: bytes, stamp_s: int | None = None, fmt: str = 'jpeg') -> CompressedImage:
    """A CompressedImage stamped ``stamp_s``, or now (to the nanosecond) when None."""
    msg = CompressedImage()
    if stamp_s is None:
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(time.time_ns(), 10**9)
    else:
        msg.header.stamp.sec = stamp_s
    msg.header.frame_id = 'hostile'
    msg.format = fmt
    msg.data = array.array('B', data)
    return msg


def _peak_rss_mb(node: NodeProcess) -> float:
    for line in Path(f'/proc/{node.process.pid}/status').read_text().splitlines():
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) / 1024
    raise AssertionError('no VmHWM')


def _status_after(peer: Peer, since: float) -> DiagnosticStatus | None:
    """The latest /diagnostics status stamped after ``since`` (time.time())."""
    for array_msg in reversed(peer.received.get('diagnostics')):
        stamp = array_msg.header.stamp.sec + array_msg.header.stamp.nanosec / 1e9
        status = array_msg.status[0]
        if stamp > since and status.name.startswith(f'/{NAME}:'):
            return status
    return None


def _wait_status(peer: Peer, predicate, publish, timeout: float = 15.0) -> DiagnosticStatus:
    since = time.time()
    found: list[DiagnosticStatus] = []

    def check() -> bool:
        status = _status_after(peer, since)
        if status is not None and predicate(status):
            found.append(status)
            return True
        return False

    assert peer.wait_for(check, timeout=timeout, publish=publish, period=0.1), (
        [(s.status[0].message, [(k.key, k.value) for k in s.status[0].values if 'total' in k.key])
         for s in peer.received.get('diagnostics')[-2:]])
    return found[0]


def _photo() -> np.ndarray:
    from skimage import data

    return cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), (320, 320))


def _masks_after(peer: Peer, stamp_s: int) -> list:
    return [m for m in peer.received.get('mask') if m.header.stamp.sec >= stamp_s]


def test_bombs_on_the_compressed_topic_are_refused_cheaply(compressed_node):
    node, peer = compressed_node
    good = cv2.imencode('.jpg', _photo())[1].tobytes()
    stamp = int(time.time())
    assert peer.wait_for(lambda: len(_masks_after(peer, stamp)) > 0, timeout=30,
                         publish=lambda: peer.compressed_pub.publish(_compressed(good, stamp))), \
        node.output()
    baseline = _peak_rss_mb(node)
    bombs = [_compressed(jpeg_bomb(30000, 30000), stamp, 'jpeg'),
             _compressed(png_bomb(30000, 30000), stamp, 'png'),
             _compressed(jpeg_bomb(9000, 9000), stamp, '')]
    sent = [0]

    def publish_bomb() -> None:
        peer.compressed_pub.publish(bombs[sent[0] % len(bombs)])
        sent[0] += 1

    status = _wait_status(peer, lambda s: s.level == DiagnosticStatus.ERROR, publish_bomb)
    assert 'could be processed' in status.message and 'oversized' in status.message
    for _ in range(30):
        publish_bomb()
        time.sleep(0.02)
    time.sleep(1.0)
    assert node.alive(), node.output()
    values = {kv.key: kv.value for kv in _wait_status(
        peer, lambda s: True, None).values}
    assert int(values['total oversized']) >= 10
    # Decoding one bomb would take 2.7 GB; the node's peak must not have moved much.
    assert _peak_rss_mb(node) < baseline + 100, (_peak_rss_mb(node), baseline)
    # Good frames are served again straight away, and the error clears.
    later = int(time.time()) + 1
    assert peer.wait_for(lambda: len(_masks_after(peer, later)) > 0, timeout=15,
                         publish=lambda: peer.compressed_pub.publish(_compressed(good, later)))
    # The error clears (a latency warning on a loaded machine may remain). Fresh stamps: a
    # re-sent old stamp would read as latency.
    cleared = _wait_status(peer, lambda s: s.level != DiagnosticStatus.ERROR,
                           lambda: peer.compressed_pub.publish(_compressed(good)))
    assert 'oversized' not in cleared.message
    # Damage only the decoder can see (a corrupt deflate stream under valid checksums) is
    # refused too, and no decoder prints its own line per frame outside the log throttle.
    damaged = _compressed(png_with_corrupt_stream(), later, 'png')
    for _ in range(10):
        peer.compressed_pub.publish(damaged)
        time.sleep(0.02)
    again = int(time.time()) + 1
    assert peer.wait_for(lambda: len(_masks_after(peer, again)) > 0, timeout=15,
                         publish=lambda: peer.compressed_pub.publish(_compressed(good, again)))
    output = node.output()
    assert 'Traceback' not in output
    assert 'libpng' not in output and 'Corrupt JPEG' not in output, output[-2000:]
    # Refusals are logged, throttled: far fewer lines than refused frames.
    assert 0 < output.count('skipping oversized frame') < sent[0] / 2


def test_only_malformed_raw_frames_is_an_error_with_subscribers(raw_node):
    node, peer = raw_node
    bad = Image(height=480, width=640, encoding='bgr8', step=1920)
    bad.data = array.array('B', bytes(100))  # truncated
    huge = Image(height=1 << 15, width=1 << 16, encoding='rgb8', step=3 << 16)
    huge.data = array.array('B', bytes(64))
    frames = [bad, huge]
    sent = [0]

    def publish() -> None:
        peer.image_pub.publish(frames[sent[0] % 2])
        sent[0] += 1

    status = _wait_status(peer, lambda s: s.level == DiagnosticStatus.ERROR
                          and 'malformed' in s.message and 'oversized' in s.message, publish)
    assert 'none of the' in status.message
    assert node.alive() and 'Traceback' not in node.output()


def test_max_pixels_parameter_applies_live(raw_node):
    node, peer = raw_node
    photo = _photo()
    (result,) = peer.set_parameters(f'/{NAME}', max_pixels=320 * 320 - 1)
    assert result.successful, result.reason
    try:
        stamp = int(time.time())
        status = _wait_status(
            peer, lambda s: s.level == DiagnosticStatus.ERROR and 'oversized' in s.message,
            lambda: peer.image_pub.publish(bgr_image_msg(photo, stamp * 10**9, 'limit')))
        assert 'oversized' in status.message
    finally:
        (result,) = peer.set_parameters(f'/{NAME}', max_pixels=8192 * 8192)
        assert result.successful
    stamp = int(time.time()) + 1
    assert peer.wait_for(
        lambda: len(_masks_after(peer, stamp)) > 0, timeout=15,
        publish=lambda: peer.image_pub.publish(bgr_image_msg(photo, stamp * 10**9, 'limit')))
    (result,) = peer.set_parameters(f'/{NAME}', max_pixels=0)
    assert not result.successful


def test_background_image_bomb_is_refused_with_the_reason(raw_node, tmp_path):
    node, peer = raw_node
    bomb = tmp_path / 'beach.png'
    bomb.write_bytes(png_bomb(20000, 20000))
    started = time.monotonic()
    (result,) = peer.set_parameters(f'/{NAME}', background_image=str(bomb))
    assert not result.successful
    assert 'pixels' in result.reason and 'max_pixels' in result.reason
    assert time.monotonic() - started < 5.0
    good = tmp_path / 'small.png'
    cv2.imwrite(str(good), np.full((30, 40, 3), (0, 255, 0), np.uint8))
    (result,) = peer.set_parameters(f'/{NAME}', background_image=str(good))
    assert result.successful, result.reason
    assert node.alive() and 'Traceback' not in node.output()


def test_device_with_an_index_cpu_does_not_have_is_refused(raw_node):
    node, peer = raw_node
    (result,) = peer.set_parameters(f'/{NAME}', device='CPU.0')
    assert not result.successful
    assert 'CPU takes no device index' in result.reason
    assert '.cpp' not in result.reason
    assert peer.get_parameter('device', f'/{NAME}') == 'CPU'


def test_foreground_classes_show_what_applies_after_a_model_change(raw_node):
    """A model change whose labels do not have the chosen classes is refused whole: the
    parameters keep showing what the node applies."""
    node, peer = raw_node
    (result,) = peer.set_parameters(f'/{NAME}', foreground_classes=['person'])
    assert result.successful, result.reason
    try:
        (result,) = peer.set_parameters(f'/{NAME}', model_labels=['backdrop', 'human'])
        assert not result.successful
        assert 'foreground_classes' in result.reason
        assert list(peer.get_parameter('foreground_classes', f'/{NAME}')) == ['person']
        assert list(peer.get_parameter('labels', f'/{NAME}')) == ['background', 'person']
    finally:
        peer.set_parameters(f'/{NAME}', foreground_classes=[])
    assert node.alive() and 'Traceback' not in node.output()


PUBLISH_BIG_FRAMES = """
import sys, time
import rclpy
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
rclpy.init()
node = Node('big_frames')
publisher = node.create_publisher(Image, sys.argv[1], qos_profile_sensor_data)
msg = Image(height=720, width=1280, encoding='bgr8', step=3840)
msg.data = bytes(1280 * 720 * 3)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    publisher.publish(msg)
    time.sleep(1 / 30)
"""


def test_frames_lost_before_the_node_are_counted(selfie_model_path, tmp_path):
    """Without the shared-memory profile, 720p best-effort frames mostly never arrive whole:
    the middleware reports them lost, and diagnostics count them as dropped."""
    domain = unique_domain_id()
    env = ros_env(domain)
    env.pop('FASTDDS_DEFAULT_PROFILES_FILE')
    name, topic = f'{NAME}_lost', f'{TOPIC}_lost'
    log = tmp_path / 'node.log'
    with open(log, 'wb') as stream:
        node = subprocess.Popen(
            [str(BIN / 'selfie_seg_node'), '--ros-args', '-p', f'model:={MODEL}',
             '-r', f'__node:={name}', '-r', f'image:={topic}'],
            env=env, stdout=stream, stderr=subprocess.STDOUT)
    peer = Peer(domain, prefix=f'/{name}')
    publisher = None
    try:
        peer.subscribe('diagnostics', DiagnosticArray, topic='/diagnostics')

        def lost() -> int:
            for array_msg in reversed(peer.received.get('diagnostics')):
                status = array_msg.status[0]
                if status.name.startswith(f'/{name}:'):
                    values = {kv.key: kv.value for kv in status.values}
                    return int(values['total lost'])
            return 0

        assert peer.wait_for(lambda: any(s.status[0].name.startswith(f'/{name}:') for s in
                                         peer.received.get('diagnostics')), timeout=60), \
            log.read_text()
        publisher = subprocess.Popen([sys.executable, '-c', PUBLISH_BIG_FRAMES, topic, '25'],
                                     env=env)
        assert peer.wait_for(lambda: lost() >= 10, timeout=30), (lost(), log.read_text())
    finally:
        if publisher is not None:
            publisher.kill()
            publisher.wait()
        peer.close()
        node.send_signal(signal.SIGINT)
        assert node.wait(timeout=15) == 0, log.read_text()
    assert 'does not report lost messages' not in log.read_text()
