# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Integration: selfie_seg_node with pose_segmentation as a real process over DDS: ~/mask and
~/instances (raw and PNG-compressed) for every person on a real street photo, at a measured
rate."""

import time

import cv2
import numpy as np
import pytest
from ros_harness import bgr_image_msg, image_array, node_and_peer
from sensor_msgs.msg import CompressedImage, Image

pytestmark = [pytest.mark.ros, pytest.mark.model]

RATE_WINDOW_S = 6.0


@pytest.fixture(scope='module')
def running(pose_model_paths):
    with node_and_peer(
        {'model': 'pose_segmentation', 'max_people': '6'}, {'image': '/camera/image'},
        [('mask', Image, None), ('instances', Image, None),
         ('instances/compressed', CompressedImage, None)], timeout=90,
    ) as running_pair:
        yield running_pair


def test_mask_and_instances_for_every_person(running, street_photo_path, capsys):
    node, peer = running
    street = cv2.imread(str(street_photo_path), cv2.IMREAD_COLOR)
    stamp = time.time_ns()
    sent = set()

    def publish():
        nonlocal stamp
        stamp += 1_000_000
        msg = bgr_image_msg(street, stamp, 'camera_optical')
        sent.add((msg.header.stamp.sec, msg.header.stamp.nanosec))
        peer.image_pub.publish(msg)

    def ours(topic):
        return [m for m in peer.received.get(topic)
                if (m.header.stamp.sec, m.header.stamp.nanosec) in sent]

    assert peer.wait_for(lambda: len(ours('instances')) >= 2 and len(ours('mask')) >= 2
                         and len(ours('instances/compressed')) >= 2,
                         timeout=60, publish=publish, period=0.1), node.output()
    # Rate: frames published at 10 Hz for a fixed window; the latest-frame policy drops what the
    # node cannot keep up with, so the received count is what it sustains.
    before = len(ours('instances'))
    started = time.monotonic()
    peer.wait_for(lambda: False, timeout=RATE_WINDOW_S, publish=publish, period=0.1)
    rate = (len(ours('instances')) - before) / (time.monotonic() - started)
    with capsys.disabled():
        print(f'\npose_segmentation node, 810x1080 street photo at 10 Hz in: '
              f'{rate:.1f} instance frames/s out')
    assert rate > 0, 'the node stopped publishing'
    assert node.alive()

    instances_msgs = {(m.header.stamp.sec, m.header.stamp.nanosec): m for m in ours('instances')}
    paired = [(m, instances_msgs[(m.header.stamp.sec, m.header.stamp.nanosec)])
              for m in ours('mask') if (m.header.stamp.sec, m.header.stamp.nanosec)
              in instances_msgs]
    assert paired, 'no frame had both outputs'
    counts = []
    for mask_msg, instances_msg in paired[-10:]:
        for msg in (mask_msg, instances_msg):
            assert msg.encoding == 'mono8'
            assert (msg.height, msg.width) == street.shape[:2]
            assert msg.header.frame_id == 'camera_optical'
        mask, instances = image_array(mask_msg), image_array(instances_msg)
        assert np.array_equal(instances > 0, mask == 1)
        counts.append(len([i for i in np.unique(instances) if i]))
    # The two men in full view and the one cut by the right border are followed on every frame.
    assert min(counts) >= 3, counts

    # The compressed twin is lossless PNG: the same ids as the raw instances of that frame.
    compressed = [(m, instances_msgs[(m.header.stamp.sec, m.header.stamp.nanosec)])
                  for m in ours('instances/compressed')
                  if (m.header.stamp.sec, m.header.stamp.nanosec) in instances_msgs]
    assert compressed, 'no frame had both instance outputs'
    for packed, raw in compressed[-5:]:
        assert packed.format == 'mono8; png compressed '
        assert packed.header.frame_id == 'camera_optical'
        decoded = cv2.imdecode(np.frombuffer(bytes(packed.data), np.uint8), cv2.IMREAD_UNCHANGED)
        assert decoded.dtype == np.uint8
        assert np.array_equal(decoded, image_array(raw))


def test_people_parameters_are_live_and_checked(running):
    _, peer = running
    results = peer.set_parameters(max_people=2, redetect_interval=5, detection_levels=1,
                                  detection_threshold=0.6)
    assert all(r.successful for r in results), [r.reason for r in results]
    assert peer.get_parameter('max_people') == 2
    rejected = peer.set_parameters(max_people=0)
    assert not rejected[0].successful
    assert peer.get_parameter('max_people') == 2
    rejected = peer.set_parameters(detection_levels=4)
    assert not rejected[0].successful
    assert peer.get_parameter('detection_threshold') == 0.6
    rejected = peer.set_parameters(detection_threshold=0.0)
    assert not rejected[0].successful
    assert peer.get_parameter('detection_threshold') == 0.6
