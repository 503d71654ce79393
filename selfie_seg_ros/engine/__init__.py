# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""The segmentation engine, free of ROS: nothing under this package imports rclpy or ROS messages.

Pure core (numpy + OpenCV): ``catalog``, ``processing``, ``effects``, ``devices``.
OpenVINO model layer: ``fetch`` (download, cache), ``convert`` (TFLite -> IR), ``segmenter``.
"""
