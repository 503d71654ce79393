# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""``selfie-seg``: the engine on image files, video files, webcams and the model cache."""

from selfie_seg_ros.cli.app import main

__all__ = ['main']
