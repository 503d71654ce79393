# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Faults around a running selfie_seg_node: the camera dies, subscribers churn, parameters flip
under load, SIGTERM lands mid-inference. The node must keep serving (or exit cleanly).

Real processes over DDS on an isolated domain, the real MediaPipe general selfie model, the
astronaut photo. Kept light for a 2-core CI machine: 640x480 at 15 Hz, except the SIGTERM test.
"""

from __future__ import annotations

import itertools
import random
import signal
import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from ros_harness import (
    BIN,
    ChildProcess,
    NodeProcess,
    Peer,
    bgr_image_msg,
    image_array,
    ros_env,
    unique_domain_id,
)

from selfie_seg_ros.engine.effects import (
    EffectOptions,
    apply_background_effect,
    make_palette,
    overlay,
)
from selfie_seg_ros.engine.segmenter import Segmenter, SegmenterOptions

pytestmark = [pytest.mark.ros, pytest.mark.model]

MODEL = 'selfie_segmentation'
OUTPUTS = ('mask', 'overlay', 'blurred')


def _frame(width: int, height: int) -> np.ndarray:
    """The astronaut photo scaled into a grey camera frame."""
    from skimage import data

    astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    frame = np.full((height, width, 3), 90, np.uint8)
    left = (width - height) // 2
    frame[:, left:left + height] = cv2.resize(astronaut, (height, height),
                                              interpolation=cv2.INTER_AREA)
    return frame


@pytest.fixture(scope='module')
def frame_480p() -> np.ndarray:
    return _frame(640, 480)


@pytest.fixture(scope='module')
def running(selfie_model_path) -> Iterator[tuple[NodeProcess, Peer]]:
    """One node and one peer for the tests that leave the node running."""
    domain = unique_domain_id()
    node = NodeProcess(domain, {'model': MODEL}, {'image': '/camera/image'})
    peer = Peer(domain)
    peer.subscribe('diagnostics', DiagnosticArray, topic='/diagnostics')
    if not peer.wait_for(lambda: peer.image_pub.get_subscription_count() > 0, timeout=60):
        output = node.output()
        peer.close()
        node.stop()
        pytest.fail(f'node did not come up:\n{output}')
    yield node, peer
    peer.close()
    code = node.stop()
    assert code == 0, node.output()


class FrameFlow:
    """Publishes one frame at a fixed rate from a thread, each with a new stamp."""

    def __init__(self, peer: Peer, image: np.ndarray, rate: float, frame_id: str) -> None:
        self._peer = peer
        self._msg = bgr_image_msg(image, time.time_ns(), frame_id)
        self._period = 1.0 / rate if rate > 0 else 0.0
        self._stop = threading.Event()
        self.stamps: set[tuple[int, int]] = set()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            sec, nanosec = divmod(time.time_ns(), 1_000_000_000)
            self._msg.header.stamp.sec, self._msg.header.stamp.nanosec = sec, nanosec
            self.stamps.add((sec, nanosec))
            self._peer.image_pub.publish(self._msg)
            if self._period:
                self._stop.wait(self._period)

    def __enter__(self) -> FrameFlow:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _stamp(msg) -> tuple[int, int]:
    return msg.header.stamp.sec, msg.header.stamp.nanosec


def _next_diagnostics(peer: Peer, timeout: float = 5.0) -> dict[str, str]:
    """The values of the next /diagnostics status the node publishes."""
    seen = len(peer.received.get('diagnostics'))
    assert peer.wait_for(lambda: len(peer.received.get('diagnostics')) > seen, timeout), \
        'no /diagnostics from the node'
    status = peer.received.get('diagnostics')[-1].status[0]
    return {kv.key: kv.value for kv in status.values}


def _totals(values: dict[str, str]) -> dict[str, int]:
    return {key[6:]: int(value) for key, value in values.items() if key.startswith('total ')}


def _assert_healthy(node: NodeProcess) -> None:
    assert node.alive(), node.output()
    assert 'Traceback' not in node.output(), node.output()


# ---------------------------------------------------------------------------------------------


def test_outputs_resume_after_the_camera_is_killed_and_restarted(running, tmp_path):
    node, peer = running
    peer.subscribe('mask')
    command = [str(BIN / 'selfie_seg_camera'), '--ros-args', '-p', 'source:=astronaut',
               '-p', 'width:=640', '-p', 'height:=480', '-p', 'rate:=15.0',
               '-p', 'frame_id:=fault_camera', '-r', 'image:=/camera/image']

    def camera_masks(after_ns: int = 0) -> list:
        return [m for m in peer.received.get('mask') if m.header.frame_id == 'fault_camera'
                and m.header.stamp.sec * 10**9 + m.header.stamp.nanosec > after_ns]

    env, log = ros_env(peer.context.get_domain_id()), tmp_path / 'camera.log'
    camera = ChildProcess(command, env, log)
    try:
        assert peer.wait_for(lambda: len(camera_masks()) >= 3, timeout=30), node.output()
        camera.stop(signal.SIGKILL)  # no clean shutdown: the writer just vanishes
        time.sleep(0.5)
        stopped = len(camera_masks())
        time.sleep(1.0)
        assert len(camera_masks()) == stopped, 'outputs kept coming without a camera'
        restarted_ns = time.time_ns()
        camera = ChildProcess(command, env, log)
        assert peer.wait_for(lambda: len(camera_masks(restarted_ns)) >= 3, timeout=30), \
            node.output()
    finally:
        camera.stop(signal.SIGKILL)
        peer.unsubscribe('mask')
    mask = image_array(camera_masks(restarted_ns)[-1])
    assert mask.shape == (480, 640)
    assert 0.1 < mask.mean() < 0.9  # the astronaut, however the camera frames her
    _assert_healthy(node)


def test_subscribers_come_and_go(running, frame_480p):
    node, peer = running
    patterns = itertools.cycle([('mask',), ('overlay', 'blurred'), OUTPUTS, ('blurred',),
                                ('mask', 'overlay')])
    with FrameFlow(peer, frame_480p, 15.0, 'churn') as flow:
        for _ in range(20):
            names = next(patterns)
            peer.received.clear()
            for name in names:
                peer.subscribe(name)
            got = peer.wait_for(
                lambda names=names: all(any(_stamp(m) in flow.stamps
                                            for m in peer.received.get(n)) for n in names),
                timeout=10)
            for name in names:
                peer.unsubscribe(name)
            assert got, f'no output on {names} after re-subscribing\n{node.output()[-2000:]}'
        # Nothing subscribed any more: frames keep arriving but are not processed.
        time.sleep(1.0)
        _next_diagnostics(peer)
        before = _totals(_next_diagnostics(peer))
        time.sleep(1.5)
        after = _totals(_next_diagnostics(peer))
        assert after['received'] > before['received'] + 10
        assert after['idle'] > before['idle'] + 10
        assert after['processed'] == before['processed']
        # Only the mask wanted: only the mask is made.
        peer.subscribe('mask')
        try:
            assert peer.wait_for(lambda: len(peer.received.get('mask')) >= 3, timeout=10)
            before = _totals(_next_diagnostics(peer))
            time.sleep(1.5)
            after = _totals(_next_diagnostics(peer))
        finally:
            peer.unsubscribe('mask')
    assert after['mask'] > before['mask'] + 10
    assert (after['overlay'], after['blurred']) == (before['overlay'], before['blurred'])
    _assert_healthy(node)


# Parameter values the flipping thread draws from.
EFFECTS = ('blur', 'replace', 'none')
ALPHAS = (0.0, 0.35, 1.0)
THRESHOLDS = (0.3, 0.5, 0.7)
STRENGTHS = (1, 25, 75)
RESIZE_MODES = ('auto', 'letterbox', 'stretch')
COLORS = ((255, 0, 0), (0, 0, 255))


def _expected_outputs(image: np.ndarray, model_cache_dir):
    """Every mask and blurred image some combination of the flipped parameters can give."""
    segmentations = {}
    options = SegmenterOptions(model=MODEL, cache_dir=model_cache_dir, allow_download=False,
                               progress=False)
    with Segmenter(options=options) as segmenter:
        for threshold, mode in itertools.product(THRESHOLDS, RESIZE_MODES):
            segmenter.configure(threshold=threshold, resize_mode=mode)
            result = segmenter.segment(image)
            segmentations[(threshold, mode)] = (result.mask.copy(), result.foreground.copy())
        labels = segmenter.labels
    effects = [EffectOptions(effect='none')]
    effects += [EffectOptions(effect='blur', blur_strength=s) for s in STRENGTHS]
    effects += [EffectOptions(effect='replace', background_color=c) for c in COLORS]
    blurred = {}
    for key, (_, foreground) in segmentations.items():
        for effect in effects:
            name = f'{effect.effect}:{effect.blur_strength}:{effect.background_color}'
            blurred[(key, name)] = apply_background_effect(image, foreground, effect).copy()
    return segmentations, blurred, make_palette(labels)


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to the odd rounding or edge pixel (two processes, same model and code)."""
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return diff.mean() < 0.5 and np.count_nonzero(diff > 3) <= 0.002 * diff.size


def test_parameters_flipped_while_frames_flow_give_consistent_outputs(
        running, frame_480p, model_cache_dir):
    node, peer = running
    image = frame_480p
    segmentations, blurred_options, palette = _expected_outputs(image, model_cache_dir)
    # Start from values of the sets, not the defaults.
    results = peer.set_parameters(effect='blur', overlay_alpha=ALPHAS[1], threshold=0.5,
                                  blur_strength=STRENGTHS[1], resize_mode='auto',
                                  background_color=list(COLORS[0]))
    assert all(r.successful for r in results), results
    for name in OUTPUTS:
        peer.subscribe(name)
    assert peer.wait_for_node()
    rng = random.Random(7)
    stop = threading.Event()
    failures: list[str] = []
    flips = 0

    def flip() -> None:
        nonlocal flips
        choices = {
            'effect': lambda: rng.choice(EFFECTS),
            'overlay_alpha': lambda: rng.choice(ALPHAS),
            'threshold': lambda: rng.choice(THRESHOLDS),
            'blur_strength': lambda: rng.choice(STRENGTHS),
            'resize_mode': lambda: rng.choice(RESIZE_MODES),
            'background_color': lambda: list(rng.choice(COLORS)),
        }
        while not stop.is_set():
            names = rng.sample(sorted(choices), rng.randint(1, 3))
            results = peer.set_parameters(**{name: choices[name]() for name in names})
            failures.extend(r.reason for r in results if not r.successful)
            flips += 1
            stop.wait(0.05)

    flipper = threading.Thread(target=flip, daemon=True)
    peer.received.clear()
    try:
        with FrameFlow(peer, image, 15.0, 'flip') as flow:
            flipper.start()
            time.sleep(8.0)
            stop.set()
            flipper.join(timeout=30)
            time.sleep(0.5)
    finally:
        stop.set()
        for name in OUTPUTS:
            peer.unsubscribe(name)
        peer.set_parameters(effect='blur', overlay_alpha=0.5, threshold=0.5, blur_strength=55,
                            resize_mode='auto', background_color=[0, 177, 64])
    assert not failures, failures
    assert flips >= 20, flips

    by_stamp: dict[tuple[int, int], dict[str, object]] = {}
    for name in OUTPUTS:
        for msg in peer.received.get(name):
            if _stamp(msg) in flow.stamps:
                by_stamp.setdefault(_stamp(msg), {})[name] = msg
    complete = [outputs for outputs in by_stamp.values() if len(outputs) == 3]
    assert len(complete) >= 40, f'only {len(complete)} frames with all three outputs'
    seen_segmentations, seen_effects, seen_alphas = set(), set(), set()
    for outputs in complete:
        mask = image_array(outputs['mask'])
        matches = [key for key, (expected, _) in segmentations.items()
                   if np.count_nonzero(mask != expected) <= 0.002 * mask.size]
        assert matches, 'a mask that no (threshold, resize_mode) gives'
        seen_segmentations.add(matches[0])
        blurred = image_array(outputs['blurred'])
        effects = [name for (key, name), expected in blurred_options.items()
                   if key in matches and _close(blurred, expected)]
        assert effects, 'a blurred image that no (effect, strength, colour) gives'
        seen_effects.add(effects[0].split(':')[0])
        shown = image_array(outputs['overlay'])
        alphas = [a for a in ALPHAS if _close(shown, overlay(image, mask, palette, a))]
        assert alphas, 'an overlay that no overlay_alpha gives'
        seen_alphas.add(alphas[0])
    # The flips really reached the frames: several settings of each kind were seen.
    assert len(seen_segmentations) >= 3, seen_segmentations
    assert seen_effects == set(EFFECTS), seen_effects
    assert len(seen_alphas) >= 2, seen_alphas
    _assert_healthy(node)


def test_sigterm_during_inference_at_1080p_exits_cleanly(selfie_model_path):
    image = _frame(1920, 1080)
    domain = unique_domain_id()
    node = NodeProcess(domain, {'model': MODEL}, {'image': '/camera/image'})
    peer = Peer(domain)
    try:
        for name in OUTPUTS:
            peer.subscribe(name)
        assert peer.wait_for_node(60), node.output()
        with FrameFlow(peer, image, 0.0, 'flood'):  # back to back: the worker is never idle
            assert peer.wait_for(lambda: len(peer.received.get('blurred')) >= 3, timeout=30), \
                node.output()
            time.sleep(0.3)
            stopped = time.monotonic()
            code = node.stop(signal.SIGTERM, timeout=15)
            took = time.monotonic() - stopped
    finally:
        peer.close()
        node.stop()
    output = node.output()
    assert code == 0, output
    assert 'Traceback' not in output
    assert took < 10, f'exit took {took:.1f} s'
