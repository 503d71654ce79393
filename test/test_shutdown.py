# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""SIGINT or SIGTERM at any moment ends every executable with exit 0 and no traceback.

The moments are spread over start-up, the first frames and steady 30 Hz input (and, for the node,
right after a model reload is requested). The delays come from a fixed seed so a failure can be
replayed; every run covers the same spread of moments.
"""

from __future__ import annotations

import contextlib
import random
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from ros_harness import (
    BIN,
    ChildProcess,
    NodeProcess,
    Peer,
    bgr_image_msg,
    ros_env,
    unique_domain_id,
)

pytestmark = pytest.mark.ros

MODEL = 'selfie_segmentation'
DELAYS_S = [round(d, 2) for d in random.Random(20261202).sample(
    [i * 0.05 for i in range(70)], 10)]
"""Signal delays, 0..3.45 s: imports, start-up, first frames, steady input.

Counted from the moment the process handles SIGTERM itself (its entry point's first act): before
that the interpreter is still starting and no code of the package can run, so what a signal does
there is the interpreter's default, not something the package can change.
"""


def _signal_after(process: ChildProcess, sig: int, delay: float) -> int:
    """Wait until ``process`` handles stop signals, then ``delay`` s, then send ``sig``."""
    assert process.wait_until_catching(signal.SIGTERM), process.output()
    time.sleep(delay)
    return process.stop(sig, timeout=15)  # -9: it did not stop


@pytest.fixture(scope='module')
def frame() -> np.ndarray:
    from skimage import data

    return cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), (640, 480))


class Feeder:
    """Publishes frames at 30 Hz from a background thread while a test runs."""

    def __init__(self, peer: Peer, image: np.ndarray) -> None:
        self._peer, self._image = peer, image
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        stamp = 1
        while not self._stop.wait(1 / 30):
            stamp += 1
            self._peer.image_pub.publish(bgr_image_msg(self._image, stamp * 33_000_000, 'cam'))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _assert_clean(code: int, output: str, what: str) -> None:
    assert code == 0, f'{what}: exit {code}\n{output}'
    assert 'Traceback' not in output, f'{what}:\n{output}'


def test_node_exits_cleanly_on_signals_at_random_moments(frame):
    domain = unique_domain_id()
    peer = Peer(domain)
    peer.subscribe('blurred')
    peer.subscribe('mask')
    feeder = Feeder(peer, frame)
    try:
        for index, delay in enumerate(DELAYS_S):
            sig = (signal.SIGINT, signal.SIGTERM)[index % 2]
            node = NodeProcess(domain, {'model': MODEL}, {'image': '/camera/image'})
            code = _signal_after(node, sig, delay)
            _assert_clean(code, node.output(), f'{sig.name} after {delay} s')
    finally:
        feeder.close()
        peer.close()


def test_node_exits_cleanly_on_a_signal_during_a_reload(frame):
    domain = unique_domain_id()
    peer = Peer(domain)
    peer.subscribe('blurred')
    feeder = Feeder(peer, frame)
    try:
        for delay in (0.0, 0.1, 0.3):
            node = NodeProcess(domain, {'model': MODEL}, {'image': '/camera/image'})
            assert peer.wait_for(lambda: len(peer.received.get('blurred')) > 0, 60), node.output()
            client_thread = threading.Thread(
                target=lambda: _ignore_errors(
                    lambda: peer.set_parameters(model='selfie_segmentation_landscape')),
                daemon=True)
            client_thread.start()
            time.sleep(delay)
            code = node.stop(signal.SIGINT)
            client_thread.join(timeout=40)
            peer.received.clear()
            _assert_clean(code, node.output(), f'SIGINT {delay} s into a reload')
    finally:
        feeder.close()
        peer.close()


def _ignore_errors(call: Callable[[], object]) -> None:
    # The node goes away mid-request: what this test provokes.
    with contextlib.suppress(AssertionError, RuntimeError):
        call()


@pytest.mark.parametrize('executable', ['selfie_seg_camera', 'selfie_seg_viewer'])
def test_camera_and_viewer_exit_cleanly_on_signals_at_random_moments(executable, tmp_path: Path):
    domain = unique_domain_id()
    env = ros_env(domain)
    extra = ['--out', str(tmp_path / 'frames'), '--prefix', '/selfie_seg'] \
        if executable == 'selfie_seg_viewer' else []
    for index, delay in enumerate(DELAYS_S[:6]):
        sig = (signal.SIGINT, signal.SIGTERM)[index % 2]
        process = ChildProcess([str(BIN / executable), *extra], env,
                               tmp_path / f'{executable}_{index}.log')
        code = _signal_after(process, sig, delay)
        _assert_clean(code, process.output(), f'{sig.name} after {delay} s')
