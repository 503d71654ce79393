# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Person (selfie) segmentation with OpenVINO, for ROS 2 and the command line.

``from selfie_seg_ros import Segmenter`` gives the engine; OpenVINO is imported on first use so the
pure image-processing modules stay importable without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from selfie_seg_ros.engine.segmenter import Segmentation, Segmenter, SegmenterOptions

__all__ = ['Segmentation', 'Segmenter', 'SegmenterOptions']


def __getattr__(name: str) -> Any:
    if name in __all__:
        from selfie_seg_ros.engine import segmenter

        return getattr(segmenter, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
