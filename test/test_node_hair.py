# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Integration: the node on generated hair-shaped models, as a real process over DDS.

``hair_model`` has the hair segmenter's shape and all three MediaPipe custom operators;
``previous_mask_model`` makes the previous-mask channel visible: a black frame that follows a red
square in one stream still shows the square.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from ros_harness import NodeProcess, Peer, bgr_image_msg, image_array, unique_domain_id
from tflite_builder import hair_model, previous_mask_model, random_hair_weights

from selfie_seg_ros.engine.recurrence import MAX_STREAM_GAP_S

pytestmark = [pytest.mark.ros]

SIZE = 16


def start(model_path, cache) -> tuple[NodeProcess, Peer]:
    domain = unique_domain_id()
    node = NodeProcess(domain, {'model': str(model_path), 'model_cache_dir': str(cache)},
                       {'image': '/camera/image'})
    peer = Peer(domain)
    peer.subscribe('mask')
    if not peer.wait_for_node(timeout=60):
        output = node.output()
        node.stop()
        peer.close()
        pytest.fail(f'node did not come up:\n{output}')
    return node, peer


class Stream:
    """Publishes frames with explicit stamps; collects the masks of the frames it sent."""

    def __init__(self, peer: Peer, start_s: float = 1000.0) -> None:
        self.peer = peer
        self.time_s = start_s

    def masks(self, image: np.ndarray, count: int, step_s: float = 0.05,
              timeout: float = 30.0) -> list[np.ndarray]:
        sent: set[tuple[int, int]] = set()

        def publish() -> None:
            self.time_s += step_s
            msg = bgr_image_msg(image, int(round(self.time_s * 1e9)), 'camera')
            sent.add((msg.header.stamp.sec, msg.header.stamp.nanosec))
            self.peer.image_pub.publish(msg)

        def ours() -> list:
            return [m for m in self.peer.received.get('mask')
                    if (m.header.stamp.sec, m.header.stamp.nanosec) in sent]

        assert self.peer.wait_for(lambda: len(ours()) >= count, timeout=timeout,
                                  publish=publish, period=0.05), 'no masks came back'
        return [image_array(m) for m in ours()]


def red_square() -> np.ndarray:
    image = np.zeros((SIZE, SIZE, 3), np.uint8)
    image[4:12, 2:9, 2] = 255
    return image


def test_hair_shaped_model_file_runs_in_the_node(tmp_path):
    path = tmp_path / 'hair.tflite'
    path.write_bytes(hair_model(32, random_hair_weights(0)))
    node, peer = start(path, tmp_path / 'cache')
    try:
        image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), np.uint8)
        masks = Stream(peer).masks(image, count=3)
        assert all(mask.shape == (48, 64) for mask in masks)
        assert set(np.unique(masks[-1])) <= {0, 1}
        assert peer.get_parameter('labels') == ['class_0', 'class_1']
    finally:
        peer.close()
        node.stop()


def test_node_feeds_the_previous_mask_within_a_stream(tmp_path):
    path = tmp_path / 'memory.tflite'
    path.write_bytes(previous_mask_model(SIZE))
    node, peer = start(path, tmp_path / 'cache')
    try:
        square = np.zeros((SIZE, SIZE), np.uint8)
        square[4:12, 2:9] = 1
        stream = Stream(peer)
        assert np.array_equal(stream.masks(red_square(), count=2)[-1], square)
        black = np.zeros((SIZE, SIZE, 3), np.uint8)
        peer.received.clear()
        # Black frames of the same stream remember the square.
        for mask in stream.masks(black, count=3):
            assert np.array_equal(mask, square)
        # A pause longer than the stream gap starts over with an empty channel.
        stream.time_s += MAX_STREAM_GAP_S + 1.0
        peer.received.clear()
        time.sleep(0.2)
        masks = stream.masks(black, count=2)
        assert masks[0].sum() == 0 and masks[-1].sum() == 0
    finally:
        peer.close()
        node.stop()


def test_unsupported_custom_operator_stops_the_node_with_a_reason(tmp_path):
    from tflite_builder import OperatorSpec, TensorSpec, build_tflite

    tensors = [TensorSpec('input', (1, 8, 8, 3)), TensorSpec('output', (1, 8, 8, 1))]
    path = tmp_path / 'exotic.tflite'
    path.write_bytes(build_tflite(tensors, [OperatorSpec('FancyCustomOp', (0,), (1,))], [0], [1]))
    node = NodeProcess(unique_domain_id(), {'model': str(path),
                                            'model_cache_dir': str(tmp_path / 'cache')})
    try:
        node.process.wait(timeout=60)
    finally:
        code = node.stop()
    output = node.output()
    assert code == 1, output
    assert 'FancyCustomOp' in output and 'exotic.tflite' in output
    assert 'selfie-seg models' in output and 'Traceback' not in output
