# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""SSD anchors of MediaPipe's pose detector, generated as its SsdAnchorsCalculator does."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AnchorOptions:
    """The SsdAnchorsCalculator options of MediaPipe's pose detection graph."""

    input_size: tuple[int, int] = (224, 224)
    """(width, height) of the detector input."""
    min_scale: float = 0.1484375
    max_scale: float = 0.75
    strides: Sequence[int] = (8, 16, 32, 32, 32)
    aspect_ratios: Sequence[float] = (1.0,)
    offset: tuple[float, float] = (0.5, 0.5)
    interpolated_scale_aspect_ratio: float = 1.0
    fixed_anchor_size: bool = True


POSE_DETECTOR_ANCHORS = AnchorOptions()


def _scale(options: AnchorOptions, layer: int) -> float:
    count = len(options.strides)
    if count == 1:
        return (options.min_scale + options.max_scale) / 2
    return options.min_scale + (options.max_scale - options.min_scale) * layer / (count - 1)


def generate_anchors(options: AnchorOptions = POSE_DETECTOR_ANCHORS) -> np.ndarray:
    """Anchors in the detector's normalised input coordinates.

    Layers that share a stride share one feature map; each layer contributes one anchor per
    aspect ratio plus one interpolated between its scale and the next layer's.

    Returns:
        float32 (N, 4) array of (x_center, y_center, width, height); width = height = 1 with
        fixed anchor sizes (then the regressed sizes are plain fractions of the input).
    """
    strides = list(options.strides)
    width, height = options.input_size
    rows: list[tuple[float, float, float, float]] = []
    layer = 0
    while layer < len(strides):
        sizes: list[tuple[float, float]] = []
        last = layer
        while last < len(strides) and strides[last] == strides[layer]:
            scale = _scale(options, last)
            for ratio in options.aspect_ratios:
                sizes.append((scale * math.sqrt(ratio), scale / math.sqrt(ratio)))
            if options.interpolated_scale_aspect_ratio > 0:
                following = 1.0 if last == len(strides) - 1 else _scale(options, last + 1)
                between = math.sqrt(scale * following)
                ratio = options.interpolated_scale_aspect_ratio
                sizes.append((between * math.sqrt(ratio), between / math.sqrt(ratio)))
            last += 1
        map_w = math.ceil(width / strides[layer])
        map_h = math.ceil(height / strides[layer])
        for y in range(map_h):
            for x in range(map_w):
                center_x = (x + options.offset[0]) / map_w
                center_y = (y + options.offset[1]) / map_h
                for anchor_w, anchor_h in sizes:
                    if options.fixed_anchor_size:
                        anchor_w = anchor_h = 1.0
                    rows.append((center_x, center_y, anchor_w, anchor_h))
        layer = last
    return np.asarray(rows, dtype=np.float32)
