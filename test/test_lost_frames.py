# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Subscriptions that count frames lost before the node, where rclpy and the RMW can."""

from __future__ import annotations

import rclpy
from rclpy.node import Node
from sensor_msgs.msg import Image

from selfie_seg_ros.ros import lost_frames


def test_real_subscription_reports_lost_messages_where_the_rmw_can():
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=199)
    try:
        node = Node('lost_frames_probe', context=context)
        counted = []
        subscription, supported = lost_frames.create_counted_subscription(
            node, counted.append, Image, 'image', lambda msg: None, 5)
        assert subscription.topic_name == '/image'
        assert supported  # Fast DDS implements the message-lost event
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)


class _NodeWithoutLostEvents:
    """Stands in for a node on an RMW without the message-lost event."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def create_subscription(self, *args, **kwargs):
        self.calls.append(kwargs)
        if 'event_callbacks' in kwargs:
            raise lost_frames._unsupported_error()('message lost event not supported')
        return 'subscription'


def test_an_rmw_without_the_event_gets_a_plain_subscription():
    node = _NodeWithoutLostEvents()
    subscription, supported = lost_frames.create_counted_subscription(
        node, lambda count: None, Image, 'image', print, 5)
    assert (subscription, supported) == ('subscription', False)
    assert len(node.calls) == 2 and 'event_callbacks' not in node.calls[1]


def test_lost_counts_reach_the_callback():
    counted = []
    callbacks = lost_frames.lost_event_callbacks(counted.append)
    assert callbacks is not None

    class Info:
        total_count = 7
        total_count_change = 3

    callbacks.message_lost(Info())
    assert counted == [3]
