# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""The node a user would write without this package: rclpy + MediaPipe's own selfie segmentation.

It is the peer that ``bench_node.py --peer`` measures side by side with ``selfie_seg_node``. It
follows MediaPipe's documented selfie-segmentation example: threshold 0.5 on the segmentation
mask, ``np.where`` between the frame and a 55x55 ``GaussianBlur`` of it, and an ``addWeighted``
colour overlay, and publishes the same three outputs on the same topics as
``selfie_seg_node`` (``/selfie_seg/mask`` mono8, ``/selfie_seg/overlay`` and
``/selfie_seg/blurred`` bgr8, with the input header), reliable like ours; the input
subscription uses the sensor-data QoS like ours. Messages are converted with numpy the way a
plain rclpy node does (no cv_bridge: PyPI's is broken).

Runs in the MediaPipe venv (``make venv-mediapipe``: mediapipe 0.10.21 + the ROS 2 wheels) and
imports nothing from this project::

    .venv-mediapipe/bin/python benchmarks/mediapipe_peer_node.py --ros-args -r image:=/camera/image
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault('GLOG_minloglevel', '2')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import cv2  # noqa: E402
import mediapipe as mp  # noqa: E402
import numpy as np  # noqa: E402
import rclpy  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

OVERLAY_COLOR = (0, 177, 64)


class MediaPipeSelfieNode(Node):
    """Subscribe ``image``; publish ``~/mask``, ``~/overlay``, ``~/blurred``."""

    def __init__(self) -> None:
        super().__init__('selfie_seg')
        self.segmentation = mp.solutions.selfie_segmentation.SelfieSegmentation(
            model_selection=0)
        qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        self.mask_pub = self.create_publisher(Image, '~/mask', qos)
        self.overlay_pub = self.create_publisher(Image, '~/overlay', qos)
        self.blurred_pub = self.create_publisher(Image, '~/blurred', qos)
        self.create_subscription(Image, 'image', self.on_image, qos_profile_sensor_data)

    def on_image(self, msg: Image) -> None:
        frame = np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.width, 3)
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        results = self.segmentation.process(rgb)
        condition = np.stack((results.segmentation_mask,) * 3, axis=-1) > 0.5
        blurred_background = cv2.GaussianBlur(frame, (55, 55), 0)
        blurred = np.where(condition, frame, blurred_background)
        mask = condition[:, :, 0].astype(np.uint8)
        color = np.zeros(frame.shape, np.uint8)
        color[:] = OVERLAY_COLOR
        colored = np.where(condition, color, frame)
        overlay = cv2.addWeighted(frame, 0.5, colored, 0.5, 0)
        self.mask_pub.publish(self.to_msg(mask, 'mono8', msg))
        self.overlay_pub.publish(self.to_msg(overlay, 'bgr8', msg))
        self.blurred_pub.publish(self.to_msg(blurred, 'bgr8', msg))

    @staticmethod
    def to_msg(array: np.ndarray, encoding: str, source: Image) -> Image:
        out = Image()
        out.header = source.header
        out.height, out.width = array.shape[:2]
        out.encoding = encoding
        out.step = array.shape[1] * (1 if array.ndim == 2 else array.shape[2])
        out.data = array.tobytes()
        return out


def main() -> int:
    rclpy.init(args=sys.argv)
    node = MediaPipeSelfieNode()
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
