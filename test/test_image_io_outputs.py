# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Compressed and 32FC1 output messages: what image_transport's subscribers and cv_bridge read."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from selfie_seg_ros.ros.image_io import decode_compressed, encode_compressed, encode_probability


def header() -> Header:
    msg = Header(frame_id='camera_optical')
    msg.stamp.sec, msg.stamp.nanosec = 1234, 5678
    return msg


def test_png_mask_survives_serialisation_losslessly():
    ids = np.random.default_rng(0).integers(0, 6, (48, 64), dtype=np.uint8)
    msg = deserialize_message(serialize_message(encode_compressed(ids, 'png', header())),
                              CompressedImage)
    assert msg.format == 'mono8; png compressed '
    assert (msg.header.frame_id, msg.header.stamp.sec, msg.header.stamp.nanosec) == (
        'camera_optical', 1234, 5678)
    decoded = cv2.imdecode(np.frombuffer(bytes(msg.data), np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(decoded, ids)


def test_jpeg_overlay_round_trips_through_the_node_decoder():
    image = cv2.GaussianBlur(
        np.random.default_rng(1).integers(0, 256, (60, 80, 3), dtype=np.uint8), (0, 0), 3)
    msg = encode_compressed(image, 'jpeg', header(), quality=95)
    assert msg.format == 'bgr8; jpeg compressed bgr8'
    assert np.abs(decode_compressed(msg).astype(int) - image).mean() < 2


def test_probability_image_is_32fc1_at_input_size():
    soft = np.linspace(0, 1, 30 * 40, dtype=np.float32).reshape(30, 40)
    msg = deserialize_message(serialize_message(encode_probability(soft, header())), Image)
    assert (msg.encoding, msg.height, msg.width, msg.step, msg.is_bigendian) == (
        '32FC1', 30, 40, 160, 0)
    np.testing.assert_array_equal(np.frombuffer(bytes(msg.data), np.float32).reshape(30, 40),
                                  soft)


@pytest.mark.parametrize('array_', [np.zeros((3, 4), np.uint8), np.zeros((3, 4, 1), np.float32),
                                    np.zeros((0, 4), np.float32)])
def test_probability_rejects_what_is_not_a_float_plane(array_):
    with pytest.raises(ValueError):
        encode_probability(array_, header())
