# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""The node without post-set parameter callbacks (rclpy on Humble): the on-set callback applies.

rclpy >= Iron has ``add_post_set_parameters_callback``; Humble's has not, and there the node
applies an accepted change at the end of its on-set callback. This runs the node in-process with
that method hidden, on the real MediaPipe selfie models.
"""

from __future__ import annotations

import os
import time

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter

from selfie_seg_ros.ros.node import SUCCESS, SelfieSegNode

pytestmark = [pytest.mark.ros, pytest.mark.model]


class HumbleNode(SelfieSegNode):
    """SelfieSegNode as rclpy without post-set callbacks builds it."""

    @property
    def add_post_set_parameters_callback(self) -> None:
        raise AttributeError('no post-set parameter callbacks (Humble)')


@pytest.fixture
def node(selfie_model_path, model_cache_dir):
    context = rclpy.Context()
    rclpy.init(args=['--ros-args', '-p', 'model:=selfie_segmentation', '-p',
                     f'model_cache_dir:={model_cache_dir}', '-p', 'autostart:=false'],
               context=context, domain_id=1 + (os.getpid() * 5) % 200)
    executor = SingleThreadedExecutor(context=context)
    made = HumbleNode(context=context)
    executor.add_node(made)
    try:
        yield made, executor
    finally:
        made.shutdown()
        made.destroy_node()
        executor.shutdown()
        rclpy.try_shutdown(context=context)


def test_without_post_set_callbacks_changes_are_judged_whole_then_applied(node):
    made, executor = node
    assert not made._apply_after_set
    assert made.trigger_configure() == SUCCESS
    segmenter = made._model.current.segmenter
    assert made.set_parameters([Parameter('threshold', value=0.3)])[0].successful
    assert segmenter.options.threshold == 0.3  # applied by the on-set callback
    result = made.set_parameters_atomically([
        Parameter('model', value='hair_segmenter'),
        Parameter('foreground_classes', value=['person'])])
    assert not result.successful and 'person' in result.reason
    assert made.get_parameter('model').value == 'selfie_segmentation'
    assert made.set_parameters([Parameter('model', value='selfie_segmentation_landscape')])[
        0].successful
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.1)
        current = made._model.current
        if current is not None and current.config.model == 'selfie_segmentation_landscape':
            break
    current = made._model.current
    assert current.config.model == 'selfie_segmentation_landscape'
    assert current.segmenter.options.threshold == 0.3  # live options carried over
    deadline = time.monotonic() + 10  # the old one is closed on the builder thread
    while segmenter._request is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert segmenter._request is None
