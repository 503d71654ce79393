# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Integration: the node's compressed topics and ~/confidence, over DDS, on the real model."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from ros_harness import bgr_image_msg, image_array, node_and_peer
from sensor_msgs.msg import CompressedImage, Image

pytestmark = [pytest.mark.ros, pytest.mark.model]

MODEL = 'selfie_segmentation'
FACE_BOX_512 = (slice(70, 170), slice(180, 280))
COMPRESSED = {
    'mask/compressed': 'mono8; png compressed ',
    'mask_color/compressed': 'bgr8; jpeg compressed bgr8',
    'overlay/compressed': 'bgr8; jpeg compressed bgr8',
    'blurred/compressed': 'bgr8; jpeg compressed bgr8',
}


@pytest.fixture(scope='module')
def astronaut():
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope='module')
def running():
    with node_and_peer(
        {'model': MODEL, 'jpeg_quality': '90'},
        {'image': '/camera/image', 'camera_info': '/camera/camera_info'},
        [('mask', Image, None), *((name, CompressedImage, None) for name in COMPRESSED),
         ('confidence', Image, None), ('diagnostics', DiagnosticArray, '/diagnostics')],
    ) as running_pair:
        yield running_pair


def stamp_of(msg) -> tuple[int, int]:
    return msg.header.stamp.sec, msg.header.stamp.nanosec


def publish_until(peer, image, topics, count=2, timeout=30.0):
    """Publish frames until every topic has ``count`` messages answering them; by stamp."""
    sent: set[tuple[int, int]] = set()
    clock = [time.time_ns()]

    def publish():
        clock[0] += 1_000_000
        msg = bgr_image_msg(image, clock[0], 'camera_optical')
        sent.add(stamp_of(msg))
        peer.image_pub.publish(msg)

    def ours(topic):
        return {stamp_of(m): m for m in peer.received.get(topic) if stamp_of(m) in sent}

    ok = peer.wait_for(lambda: all(len(ours(t)) >= count for t in topics), timeout=timeout,
                       publish=publish)
    assert ok, f'no output on {[t for t in topics if len(ours(t)) < count]}'
    return {t: ours(t) for t in topics}


def decode(msg: CompressedImage) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(bytes(msg.data), np.uint8), cv2.IMREAD_UNCHANGED)


def test_compressed_topics_carry_image_transport_formats_and_headers(running, astronaut):
    _, peer = running
    got = publish_until(peer, astronaut, ['mask', *COMPRESSED])
    for topic, fmt in COMPRESSED.items():
        for msg in got[topic].values():
            assert msg.format == fmt
            assert msg.header.frame_id == 'camera_optical'
            picture = decode(msg)
            assert picture.shape[:2] == (512, 512)
            assert picture.ndim == (2 if topic.startswith('mask/') else 3)
    # The PNG mask is lossless: identical to the raw mask of the same frame.
    common = set(got['mask']) & set(got['mask/compressed'])
    assert common
    for stamp in common:
        raw = image_array(got['mask'][stamp])
        np.testing.assert_array_equal(decode(got['mask/compressed'][stamp]), raw)
        assert raw[FACE_BOX_512].mean() > 0.9


def test_confidence_is_the_soft_foreground_at_input_size(running, astronaut):
    _, peer = running
    got = publish_until(peer, astronaut, ['mask', 'confidence'])
    common = set(got['mask']) & set(got['confidence'])
    assert common
    for stamp in common:
        msg = got['confidence'][stamp]
        assert (msg.encoding, msg.height, msg.width, msg.step) == ('32FC1', 512, 512, 2048)
        soft = np.frombuffer(bytes(msg.data), np.float32).reshape(512, 512)
        assert soft.min() >= 0.0 and soft.max() <= 1.0
        assert len(np.unique(soft)) > 100  # soft, not a thresholded mask
        # threshold 0.5 on the confidence gives the mask exactly
        np.testing.assert_array_equal(soft >= 0.5, image_array(got['mask'][stamp]) == 1)


def test_jpeg_quality_is_live_and_checked(running, astronaut):
    _, peer = running
    sizes = {}
    for quality in (95, 20):
        (result,) = peer.set_parameters(jpeg_quality=quality)
        assert result.successful, result.reason
        peer.received.clear()
        got = publish_until(peer, astronaut, ['overlay/compressed'], count=3)
        sizes[quality] = min(len(m.data) for m in got['overlay/compressed'].values())
    assert sizes[20] < 0.6 * sizes[95]
    (result,) = peer.set_parameters(jpeg_quality=0)
    assert not result.successful and 'jpeg_quality' in result.reason


def _totals(peer) -> dict[str, str]:
    peer.received.clear()
    assert peer.wait_for(lambda: bool(peer.received.get('diagnostics')), timeout=5)
    status = peer.received.get('diagnostics')[-1].status[0]
    return {kv.key: kv.value for kv in status.values}


def test_unwatched_outputs_are_not_computed(running, astronaut):
    """With only overlay/compressed watched, neither confidence nor raw pictures are made."""
    _, peer = running
    kept = 'overlay/compressed'
    dropped = ['mask', 'confidence', *(t for t in COMPRESSED if t != kept)]
    for name in dropped:
        peer.unsubscribe(name)
    try:
        for _ in range(5):  # the node sees unsubscriptions after DDS discovery: retry windows
            before = _totals(peer)
            publish_until(peer, astronaut, [kept], count=4)
            after = _totals(peer)
            grew = int(after[f'total {kept}']) >= int(before[f'total {kept}']) + 4
            if grew and all(after[f'total {t}'] == before[f'total {t}']
                            for t in (*dropped, 'overlay', 'blurred')):
                break
        else:
            pytest.fail(f'unwatched outputs kept being computed: {before} -> {after}')
    finally:
        for name in dropped:
            peer.subscribe(name, Image if name in ('mask', 'confidence') else CompressedImage)
        peer.wait_for_node()


def test_anonymising_effect_hides_the_face_live(running, astronaut):
    _, peer = running
    (result,) = peer.set_parameters(effect='pixelate_people')
    assert result.successful, result.reason
    try:
        (result,) = peer.set_parameters(blur_strength=3)
        assert not result.successful and 'too weak to anonymise' in result.reason
        (result,) = peer.set_parameters(blur_strength=31)
        assert result.successful, result.reason
        peer.subscribe('blurred')
        peer.wait_for_node()
        got = publish_until(peer, astronaut, ['blurred'], count=2)
        hidden = image_array(next(iter(got['blurred'].values())))
        face = (slice(80, 150), slice(190, 260))
        assert np.all(hidden[face] == astronaut[face], axis=-1).mean() < 0.01
        np.testing.assert_array_equal(hidden[:60, 420:], astronaut[:60, 420:])  # background
    finally:
        if 'blurred' in peer._subscriptions:
            peer.unsubscribe('blurred')
        peer.set_parameters(effect='blur')
        peer.set_parameters(blur_strength=55)
