# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Reconfiguration of a running node over DDS: reloads never stop the frames, changes apply whole.

The node is a real process on an isolated domain with the real MediaPipe selfie models. Input
frames carry synthetic stamps exactly one frame period apart (frame i at ``START + i / 30 s``), so
the stamps of the outputs tell which input frames were answered, whatever the test process's own
timing.
"""

from __future__ import annotations

import os
import threading
import time

import cv2
import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.srv import SetParametersAtomically
from rclpy.parameter import Parameter
from ros_harness import NodeProcess, Peer, bgr_image_msg, node_and_peer
from sensor_msgs.msg import Image

pytestmark = [pytest.mark.ros, pytest.mark.model]

MODEL = 'selfie_segmentation'
OTHER_MODEL = 'selfie_segmentation_landscape'
RATE_HZ = 30.0
OVERLOADED = 2.0
"""Load average per core above which frame timing says more about the machine than the node."""
PERIOD_NS = int(1e9 / RATE_HZ)


@pytest.fixture(scope='module')
def frame() -> np.ndarray:
    from skimage import data

    return cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), (320, 240))


class Feeder:
    """Publishes frame i with stamp ``start + i * PERIOD_NS``, on a 30 Hz schedule."""

    def __init__(self, peer: Peer, image: np.ndarray) -> None:
        self._peer, self._image = peer, image
        self.start_ns = time.time_ns()
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        began = time.monotonic()
        while not self._stop.is_set():
            stamp = self.start_ns + self.sent * PERIOD_NS
            self._peer.image_pub.publish(bgr_image_msg(self._image, stamp, 'cam'))
            self.sent += 1
            delay = began + self.sent / RATE_HZ - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)

    def index(self, msg) -> int:
        """The input frame an output answers."""
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        return round((stamp - self.start_ns) / PERIOD_NS)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _longest_gap(indices: list[int]) -> int:
    """Largest step between consecutive answered frames (1 = none missed)."""
    ordered = sorted(set(indices))
    return max((b - a for a, b in zip(ordered, ordered[1:], strict=False)), default=0)


def _diagnostics(peer: Peer) -> dict[str, str]:
    """Values of a diagnostics message the node published after this call."""
    peer.received.clear()
    assert peer.wait_for(lambda: peer.received.get('diagnostics'), timeout=5)
    status = peer.received.get('diagnostics')[-1].status[0]
    return {kv.key: kv.value for kv in status.values}


def set_atomically(peer: Peer, **values) -> object:
    """``~/set_parameters_atomically``: every value applied, or none; one result."""
    client = peer.node.create_client(SetParametersAtomically,
                                     '/selfie_seg/set_parameters_atomically')
    try:
        assert client.wait_for_service(timeout_sec=10.0)
        request = SetParametersAtomically.Request()
        request.parameters = [Parameter(name, value=value).to_parameter_msg()
                              for name, value in values.items()]
        future = client.call_async(request)
        deadline = time.monotonic() + 30.0
        while not future.done() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert future.done(), 'set_parameters_atomically timed out'
        return future.result().result
    finally:
        peer.node.destroy_client(client)


def _runs_what_the_parameters_say(peer: Peer) -> None:
    assert _diagnostics(peer)['model'] == peer.get_parameter('model')


@pytest.fixture
def running():
    with node_and_peer(
        {'model': MODEL}, {'image': '/camera/image'},
        [('mask', Image, None), ('diagnostics', DiagnosticArray, '/diagnostics')],
    ) as (node, peer):
        yield node, peer
    assert node.process.returncode == 0, node.output()
    assert 'Traceback' not in node.output()


def _switched(node: NodeProcess, model: str, count: int = 1) -> bool:
    return node.output().count(f"switched to Segmenter(model='{model}'") >= count


def test_reload_under_30hz_input_keeps_frames_flowing(running, frame):
    node, peer = running
    feeder = Feeder(peer, frame)
    try:
        assert peer.wait_for(lambda: len(peer.received.get('mask')) > 30, 30), node.output()
        steady_from = feeder.sent
        time.sleep(3.0)
        steady_to = feeder.sent
        # A model change, then a device change on the new model: two builds.
        (result,) = peer.set_parameters(model=OTHER_MODEL)
        assert result.successful, result.reason
        assert peer.wait_for(lambda: _switched(node, OTHER_MODEL), 30), node.output()
        (result,) = peer.set_parameters(device='AUTO')
        assert result.successful, result.reason
        assert peer.wait_for(lambda: _switched(node, OTHER_MODEL, 2), 30), node.output()
        time.sleep(1.0)
        reload_to = feeder.sent
    finally:
        feeder.close()
    answered = [feeder.index(m) for m in peer.received.get('mask')]
    steady = [i for i in answered if steady_from <= i < steady_to]
    during = [i for i in answered if steady_to <= i < reload_to - 5]
    print(f'\nlongest gap in frames: steady {_longest_gap(steady)}, during the reloads '
          f'{_longest_gap(during)} ({len(during)} of {reload_to - 5 - steady_to} answered)')
    assert 'frame failed' not in node.output()
    assert _diagnostics(peer)['total failed'] == '0'
    assert peer.get_parameter('model') == OTHER_MODEL
    assert peer.get_parameter('device') == 'AUTO'
    # A build needs ~0.2 s of CPU; on a machine already saturated it takes it from the frames
    # whatever the design, so the measurement only means something with CPU to spare.
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    if _longest_gap(steady) > 2 or load > OVERLOADED:
        pytest.skip(f'this machine is too busy to judge the reload: gap of {_longest_gap(steady)} '
                    f'frames without a reload, load {load:.1f} per core')
    assert min(during) - steady_to <= 2
    assert _longest_gap(during) <= 2, 'a reload held up the frames for more than two periods'


def test_a_change_whose_classes_do_not_fit_the_new_model_is_refused_whole(running):
    node, peer = running
    (result,) = peer.set_parameters(foreground_classes=['person'])
    assert result.successful, result.reason
    # hair_segmenter has no class 'person': refused before anything is loaded, and neither
    # value is applied.
    result = set_atomically(peer, model='hair_segmenter', foreground_classes=['person', '1'])
    assert not result.successful
    assert 'person' in result.reason and 'hair_segmenter' in result.reason
    # One at a time (the plain service), the model alone does not fit the classes in force.
    (result,) = peer.set_parameters(model='hair_segmenter')
    assert not result.successful and 'person' in result.reason
    assert peer.get_parameter('model') == MODEL
    assert peer.get_parameter('foreground_classes') == ['person']
    assert peer.get_parameter('labels') == ['background', 'person']
    # A class id the model does not have, with the model unchanged: refused too.
    (result,) = peer.set_parameters(foreground_classes=['2'])
    assert not result.successful and 'out of range' in result.reason
    assert peer.get_parameter('foreground_classes') == ['person']
    _runs_what_the_parameters_say(peer)


def test_a_model_that_fails_to_build_sets_the_parameters_back(running, frame, tmp_path):
    node, peer = running
    corrupt = tmp_path / 'corrupt.tflite'
    corrupt.write_bytes(b'TFL3 but not a model')
    result = set_atomically(peer, model=str(corrupt), foreground_classes=['1'])
    assert result.successful, result.reason  # the file exists: the build decides
    assert peer.wait_for(lambda: peer.get_parameter('model') == MODEL, 30), node.output()
    assert peer.get_parameter('foreground_classes') == []
    assert peer.get_parameter('labels') == ['background', 'person']
    log = node.output()
    assert 'corrupt.tflite' in log and 'set back' in log
    _runs_what_the_parameters_say(peer)
    feeder = Feeder(peer, frame)
    try:
        peer.received.clear()
        assert peer.wait_for(lambda: len(peer.received.get('mask')) >= 3, 20), node.output()
    finally:
        feeder.close()


def test_classes_checked_only_once_the_model_is_read_are_set_back_whole(
        running, selfie_model_path):
    node, peer = running
    # A local file without model_labels: its classes are known once it is read. Class 5
    # does not exist in the 2-class model, so model and classes go back together.
    result = set_atomically(peer, model=str(selfie_model_path), foreground_classes=['5'])
    assert result.successful, result.reason
    assert peer.wait_for(lambda: 'set back' in node.output(), 30), node.output()
    assert peer.get_parameter('model') == MODEL
    assert peer.get_parameter('foreground_classes') == []
    assert 'out of range' in node.output()
    _runs_what_the_parameters_say(peer)
    # With labels for the file, the same change is refused at once.
    result = set_atomically(peer, model=str(selfie_model_path), model_labels=['bg', 'human'],
                            foreground_classes=['5'])
    assert not result.successful and 'out of range' in result.reason
