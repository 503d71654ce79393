# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""MediaPipe Pose's person segmentation for every person in view: detector, regions, landmarks.

The geometry (anchors, box decoding, non-max suppression, body-aligned regions) is pure
numpy/OpenCV; only ``pose_segmenter`` imports OpenVINO.
"""
