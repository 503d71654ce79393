# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""ROS 2 glue: the node, its parameters, image messages, diagnostics, and the demo camera/viewer.

Imports point one way: this package uses ``selfie_seg_ros.engine``, never the reverse.
"""
