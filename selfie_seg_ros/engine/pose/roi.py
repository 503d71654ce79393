# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Body-aligned regions of interest, as MediaPipe's pose graph computes them, and the warps.

A region is a rotated square in frame pixels. From two alignment points (the detector's mid-hip
centre and full-body point, or the landmark model's two auxiliary landmarks) it is centred on
the first point, twice their distance wide, rotated so the second point is straight above the
first, then enlarged by 1.25 (AlignmentPointsRectsCalculator, RectTransformationCalculator with
``square_long``). Crops sample the frame as MediaPipe's ImageToTensorCalculator does: the
region's corners map onto the tensor's corners, bilinear.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

ROI_SCALE = 1.25
TARGET_ANGLE = math.pi / 2
"""The second alignment point ends up straight above the first."""
Size = tuple[int, int]
"""(width, height), OpenCV order."""
View = tuple[int, int, int]
"""A square tile of the frame: left, top, side."""


@dataclass(frozen=True)
class Roi:
    """A rotated rectangle in frame pixels."""

    center_x: float
    center_y: float
    width: float
    height: float
    rotation: float
    """Radians, in [-pi, pi); positive turns the region clockwise on screen."""

    def usable(self) -> bool:
        """True when every number is finite and the region is at least a pixel wide."""
        values = (self.center_x, self.center_y, self.width, self.height, self.rotation)
        return all(math.isfinite(v) for v in values) and self.width >= 1 and self.height >= 1

    def box(self) -> np.ndarray:
        """Axis-aligned bounds (xmin, ymin, xmax, ymax) of the rotated rectangle, float32."""
        corners = cv2.boxPoints(self.as_rotated_rect())
        return np.float32([*corners.min(axis=0), *corners.max(axis=0)])

    def as_rotated_rect(self) -> tuple[tuple[float, float], tuple[float, float], float]:
        """The OpenCV RotatedRect tuple (angle in degrees)."""
        return ((self.center_x, self.center_y), (self.width, self.height),
                math.degrees(self.rotation))


def normalize_radians(angle: float) -> float:
    """Wrap an angle to [-pi, pi)."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def roi_from_points(
    start: np.ndarray, end: np.ndarray, image_size: Size, scale: float = ROI_SCALE
) -> Roi:
    """The region of one person from two alignment points in normalised frame coordinates.

    Args:
        start: (x, y) of the centre point (mid-hip), normalised to the frame.
        end: (x, y) of the point giving size and direction (towards the head).
        image_size: (width, height) of the frame in pixels.
        scale: enlargement of the square (MediaPipe: 1.25).
    """
    width, height = image_size
    x0, y0 = float(start[0]) * width, float(start[1]) * height
    x1, y1 = float(end[0]) * width, float(end[1]) * height
    side = 2.0 * math.hypot(x1 - x0, y1 - y0) * scale
    rotation = normalize_radians(TARGET_ANGLE - math.atan2(-(y1 - y0), x1 - x0))
    return Roi(x0, y0, side, side, rotation)


def crop_matrix(roi: Roi, tensor_size: Size) -> np.ndarray:
    """2x3 affine map from frame pixels to tensor pixels that puts the region on the tensor.

    The region's corners land on the tensor's corners, as in MediaPipe's ImageToTensorCalculator
    (bottom-left, top-left, top-right of the rotated rectangle).
    """
    corners = cv2.boxPoints(roi.as_rotated_rect()).astype(np.float32)
    tw, th = float(tensor_size[0]), float(tensor_size[1])
    targets = np.float32([[0.0, th], [0.0, 0.0], [tw, 0.0]])
    return cv2.getAffineTransform(corners[:3], targets)


def crop(image: np.ndarray, roi: Roi, tensor_size: Size, border: int) -> np.ndarray:
    """Cut the region out of ``image`` at ``tensor_size`` (bilinear).

    Args:
        border: OpenCV border mode for pixels outside the frame (the landmark model is fed
            BORDER_REPLICATE, the detector BORDER_CONSTANT zeros).
    """
    return cv2.warpAffine(
        image, crop_matrix(roi, tensor_size), tensor_size, flags=cv2.INTER_LINEAR,
        borderMode=border, borderValue=0,
    )


def letterbox_roi(image_size: Size, tensor_size: Size) -> tuple[Roi, tuple[float, ...]]:
    """The whole frame, padded to the tensor's aspect ratio (centred), and that padding.

    Returns:
        The region and (left, top, right, bottom) padding as fractions of the padded region.
    """
    width, height = image_size
    tensor_aspect = tensor_size[1] / tensor_size[0]
    if height / width > tensor_aspect:
        padded_w, padded_h = height / tensor_aspect, float(height)
    else:
        padded_w, padded_h = float(width), width * tensor_aspect
    pad_x = (padded_w - width) / 2 / padded_w
    pad_y = (padded_h - height) / 2 / padded_h
    roi = Roi(width / 2, height / 2, padded_w, padded_h, 0.0)
    return roi, (pad_x, pad_y, pad_x, pad_y)


def warp_to_frame(plane: np.ndarray, roi: Roi, image_size: Size) -> np.ndarray:
    """Put a tensor-sized float plane (e.g. a region's mask) back into the frame; zeros outside."""
    matrix = crop_matrix(roi, (plane.shape[1], plane.shape[0]))
    return cv2.warpAffine(
        plane, matrix, image_size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT, borderValue=0,
    )


def tensor_to_frame_points(points: np.ndarray, roi: Roi, tensor_size: Size) -> np.ndarray:
    """Map (K, 2) points from tensor pixels to frame pixels."""
    matrix = cv2.invertAffineTransform(crop_matrix(roi, tensor_size))
    points = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    return points @ matrix[:, :2].T + matrix[:, 2]


def roi_iou(a: Roi, b: Roi) -> float:
    """IoU of two regions' axis-aligned bounds (for matching and de-duplication)."""
    box_a, box_b = a.box(), b.box()
    left, top = max(box_a[0], box_b[0]), max(box_a[1], box_b[1])
    right, bottom = min(box_a[2], box_b[2]), min(box_a[3], box_b[3])
    inter = max(0.0, right - left) * max(0.0, bottom - top)
    union = ((box_a[2] - box_a[0]) * (box_a[3] - box_a[1])
             + (box_b[2] - box_b[0]) * (box_b[3] - box_b[1]) - inter)
    return float(inter / union) if union > 0 else 0.0


def tile_grid(image_size: Size, side: int, min_overlap: int) -> list[View]:
    """Square tiles covering the frame, evenly spread, neighbours overlapping >= ``min_overlap``.

    Returns:
        (left, top, side) per tile, row by row; ``side`` is capped at the frame's short side.
    """
    width, height = image_size
    side = max(1, min(side, width, height))
    overlap = min(min_overlap, side - 1)

    def starts(length: int) -> list[int]:
        if length <= side:
            return [0]
        count = math.ceil((length - overlap) / (side - overlap))
        return [round(i * (length - side) / (count - 1)) for i in range(count)]

    return [(x, y, side) for y in starts(height) for x in starts(width)]


def detection_views(image_size: Size, levels: int) -> list[View]:
    """The tiles a full search runs the detector on, after the whole frame.

    Level 2 adds squares of the frame's short side (two for 16:9), level 3 squares of two thirds
    of it: there a person of 1/7 of the frame height is as large in the detector's input as one
    of 1/3 on the whole frame. A person up to ``overlap`` tall always lies wholly in one tile.

    Args:
        levels: 1 = whole frame only (MediaPipe), 2 or 3.
    """
    short = min(image_size)
    views: list[View] = []
    if levels >= 2:
        views += tile_grid(image_size, short, short // 5)
    if levels >= 3:
        side = round(short * 2 / 3)
        views += tile_grid(image_size, side, round(side * 0.4))
    whole = [(0, 0, short)] if image_size[0] == image_size[1] else []
    return [view for i, view in enumerate(views) if view not in views[:i] and view not in whole]
