# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""The managed node over real DDS: a peer process drives it through lifecycle_msgs services.

The node runs as its own process with ``autostart:=false`` (as under a lifecycle manager); the
test peer calls ``/selfie_seg/change_state`` and ``/selfie_seg/get_state`` and checks that outputs
flow only while the node is active. Uses the real MediaPipe general selfie model.
"""

from __future__ import annotations

import time
from typing import Any

import cv2
import pytest
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
from ros_harness import NodeProcess, Peer, bgr_image_msg, unique_domain_id

pytestmark = [pytest.mark.ros, pytest.mark.model]

MODEL = 'selfie_segmentation'


@pytest.fixture(scope='module')
def frame():
    from skimage import data

    return cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), (640, 480))


def _call(peer: Peer, srv_type: Any, name: str, request: Any, timeout: float = 60.0) -> Any:
    client = peer.node.create_client(srv_type, name)
    try:
        assert client.wait_for_service(timeout_sec=30.0), f'{name} not found'
        future = client.call_async(request)
        deadline = time.monotonic() + timeout
        while not future.done() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert future.done(), f'{name} timed out'
        return future.result()
    finally:
        peer.node.destroy_client(client)


def get_state(peer: Peer) -> str:
    """The node's lifecycle state label through ``~/get_state``."""
    return _call(peer, GetState, '/selfie_seg/get_state', GetState.Request()).current_state.label


def change_state(peer: Peer, transition: int) -> bool:
    """Request a transition through ``~/change_state``; True when it succeeded."""
    request = ChangeState.Request()
    request.transition.id = transition
    return bool(_call(peer, ChangeState, '/selfie_seg/change_state', request).success)


class Frames:
    """Publishes frames with unique stamps; tells which received outputs answer which frames."""

    def __init__(self, peer: Peer, image) -> None:
        self.peer, self.image = peer, image
        self.stamp = time.time_ns()
        self.sent: list[int] = []

    def publish(self) -> None:
        self.stamp += 1_000_000
        self.sent.append(self.stamp)
        self.peer.image_pub.publish(bgr_image_msg(self.image, self.stamp, 'cam'))

    def outputs_since(self, stamp_ns: int) -> list[Any]:
        """Masks received for frames published after ``stamp_ns``."""
        return [m for m in self.peer.received.get('mask')
                if m.header.stamp.sec * 1_000_000_000 + m.header.stamp.nanosec > stamp_ns]

    def flow_for(self, seconds: float, rate: float = 20.0) -> int:
        """Publish for ``seconds``; returns the stamp before the first frame."""
        first = self.stamp
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.publish()
            time.sleep(1.0 / rate)
        return first


def _node_subscribes(peer: Peer) -> bool:
    """True while selfie_seg subscribes to the input (by name: other tests may share a domain)."""
    return any(info.node_name == 'selfie_seg'
               for info in peer.node.get_subscriptions_info_by_topic('/camera/image'))


def _assert_no_output(frames: Frames, peer: Peer, seconds: float = 1.5) -> None:
    assert peer.wait_for(lambda: not _node_subscribes(peer), 10), \
        'the node still subscribes to the input'
    first = frames.flow_for(seconds)
    time.sleep(0.3)
    assert frames.outputs_since(first) == []


def _assert_output(frames: Frames, peer: Peer) -> None:
    assert peer.wait_for(lambda: _node_subscribes(peer), 10), 'no input subscription'
    first = frames.stamp
    assert peer.wait_for(lambda: len(frames.outputs_since(first)) >= 3, 30,
                         publish=frames.publish), 'no output while active'


def test_lifecycle_manager_drives_the_node_and_outputs_flow_only_while_active(frame):
    domain = unique_domain_id()
    node = NodeProcess(domain, {'model': MODEL, 'autostart': 'false'},
                       {'image': '/camera/image'})
    peer = Peer(domain)
    peer.subscribe('mask')
    frames = Frames(peer, frame)
    try:
        assert get_state(peer) == 'unconfigured', node.output()
        assert peer.get_parameter('labels') == []  # no model yet
        _assert_no_output(frames, peer)

        assert change_state(peer, Transition.TRANSITION_CONFIGURE), node.output()
        assert get_state(peer) == 'inactive'
        assert peer.get_parameter('labels') == ['background', 'person']
        _assert_no_output(frames, peer)

        assert change_state(peer, Transition.TRANSITION_ACTIVATE), node.output()
        assert get_state(peer) == 'active'
        _assert_output(frames, peer)

        assert change_state(peer, Transition.TRANSITION_DEACTIVATE), node.output()
        assert get_state(peer) == 'inactive'
        _assert_no_output(frames, peer)

        assert change_state(peer, Transition.TRANSITION_ACTIVATE), node.output()
        _assert_output(frames, peer)

        # The state machine has no active -> unconfigured edge: cleanup is refused while active.
        assert not change_state(peer, Transition.TRANSITION_CLEANUP)
        assert get_state(peer) == 'active'
        assert change_state(peer, Transition.TRANSITION_DEACTIVATE)
        assert change_state(peer, Transition.TRANSITION_CLEANUP), node.output()
        assert get_state(peer) == 'unconfigured'
        assert peer.wait_for(
            lambda: peer._subscriptions['mask'].get_publisher_count() == 0, 10), \
            'the outputs are still advertised after cleanup'
        _assert_no_output(frames, peer)

        assert change_state(peer, Transition.TRANSITION_UNCONFIGURED_SHUTDOWN), node.output()
        assert get_state(peer) == 'finalized'
        assert node.alive()
    finally:
        peer.close()
        code = node.stop()
    output = node.output()
    assert code == 0, output
    assert 'Traceback' not in output
    assert 'model released' in output


@pytest.mark.parametrize('transition', ['unconfigured', 'inactive', 'active'])
def test_shutdown_from_every_primary_state_is_clean(frame, transition):
    domain = unique_domain_id()
    node = NodeProcess(domain, {'model': MODEL, 'autostart': 'false'},
                       {'image': '/camera/image'})
    peer = Peer(domain)
    frames = Frames(peer, frame)
    shutdown = {
        'unconfigured': Transition.TRANSITION_UNCONFIGURED_SHUTDOWN,
        'inactive': Transition.TRANSITION_INACTIVE_SHUTDOWN,
        'active': Transition.TRANSITION_ACTIVE_SHUTDOWN,
    }[transition]
    try:
        if transition in ('inactive', 'active'):
            assert change_state(peer, Transition.TRANSITION_CONFIGURE), node.output()
        if transition == 'active':
            peer.subscribe('mask')
            assert change_state(peer, Transition.TRANSITION_ACTIVATE), node.output()
            _assert_output(frames, peer)
            for _ in range(5):
                frames.publish()  # frames in flight while it shuts down
        assert get_state(peer) == transition
        assert change_state(peer, shutdown), node.output()
        assert get_state(peer) == 'finalized'
        _assert_no_output(frames, peer, seconds=0.5)
    finally:
        peer.close()
        code = node.stop()
    assert code == 0, node.output()
    assert 'Traceback' not in node.output()


def test_a_failed_configure_reports_the_reason_and_can_be_retried(frame, tmp_path):
    domain = unique_domain_id()
    missing = tmp_path / 'missing.tflite'
    node = NodeProcess(domain, {'model': MODEL, 'autostart': 'false'},
                       {'image': '/camera/image'})
    peer = Peer(domain)
    peer.subscribe('mask')
    frames = Frames(peer, frame)
    try:
        assert get_state(peer) == 'unconfigured', node.output()
        # Unconfigured, a parameter is only validated: a missing file is refused at once.
        (result,) = peer.set_parameters(model=str(missing))
        assert not result.successful and 'missing.tflite' in result.reason
        missing.write_bytes(b'not a model')
        (result,) = peer.set_parameters(model=str(missing))
        assert result.successful, result.reason
        assert not change_state(peer, Transition.TRANSITION_CONFIGURE)
        assert get_state(peer) == 'unconfigured'
        assert 'missing.tflite' in node.output()
        (result,) = peer.set_parameters(model=MODEL)
        assert result.successful, result.reason
        assert change_state(peer, Transition.TRANSITION_CONFIGURE), \
            f'state {get_state(peer)}\n{node.output()}'

        assert change_state(peer, Transition.TRANSITION_ACTIVATE), node.output()
        _assert_output(frames, peer)
    finally:
        peer.close()
        code = node.stop()
    assert code == 0, node.output()
    assert 'Traceback' not in node.output()
