# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Decoding of MediaPipe's pose detector output: anchors and offsets to boxes, scores, keypoints.

Follows the options of MediaPipe's pose detection graph (TensorsToDetectionsCalculator and
NonMaxSuppressionCalculator): 2254 anchors, 12 values per anchor (box centre and size, then four
keypoints), coordinates scaled by the 224 px input, sigmoid scores clipped at +-100, weighted
non-max suppression at IoU 0.3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NUM_KEYPOINTS = 4
"""0 mid-hip centre, 1 full-body size/rotation point, 2 mid-shoulder centre, 3 upper-body point."""
SCORE_CLIP = 100.0
DEFAULT_MIN_SCORE = 0.5
"""MediaPipe Pose's ``min_detection_confidence`` default."""
NMS_IOU = 0.3


@dataclass(frozen=True)
class Detection:
    """One detected person, in normalised coordinates of the frame (0..1 across width/height)."""

    box: np.ndarray
    """float32 (4,): xmin, ymin, xmax, ymax (the detector's box is around the face)."""
    keypoints: np.ndarray
    """float32 (4, 2): x, y of the detector's keypoints."""
    score: float


def decode_boxes(
    raw_boxes: np.ndarray, anchors: np.ndarray, input_size: tuple[int, int] = (224, 224)
) -> tuple[np.ndarray, np.ndarray]:
    """Turn regressed offsets into boxes and keypoints in normalised detector-input coordinates.

    Args:
        raw_boxes: (N, 12) float: x, y, w, h of the box centre/size then 4 keypoints (x, y), in
            input pixels relative to the anchor centre.
        anchors: (N, 4) x_center, y_center, width, height (see ``generate_anchors``).
        input_size: (width, height) of the detector input (the coordinate scale).

    Returns:
        boxes (N, 4) xmin, ymin, xmax, ymax and keypoints (N, 4, 2), both float32.
    """
    raw = np.asarray(raw_boxes, dtype=np.float32).reshape(len(anchors), -1)
    scale = np.float32([input_size[0], input_size[1]])
    centre = anchors[:, None, :2]
    size = anchors[:, None, 2:]
    box_centre = raw[:, None, 0:2] / scale * size + centre
    box_size = raw[:, None, 2:4] / scale * size
    boxes = np.concatenate([box_centre - box_size / 2, box_centre + box_size / 2], axis=2)[:, 0]
    points = raw[:, 4:4 + 2 * NUM_KEYPOINTS].reshape(-1, NUM_KEYPOINTS, 2)
    keypoints = points / scale * size + centre
    return boxes.astype(np.float32), keypoints.astype(np.float32)


def scores_from_logits(logits: np.ndarray) -> np.ndarray:
    """Sigmoid of the clipped detector logits, float32 (N,)."""
    clipped = np.clip(np.asarray(logits, dtype=np.float32).reshape(-1), -SCORE_CLIP, SCORE_CLIP)
    return sigmoid(clipped)


def sigmoid(values: np.ndarray) -> np.ndarray:
    """Logistic function without overflow for large magnitudes, float32."""
    return (0.5 * (1.0 + np.tanh(0.5 * np.asarray(values, dtype=np.float32)))).astype(np.float32)


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one xyxy box with each of (M, 4) boxes (0 where the union is empty)."""
    left = np.maximum(box[0], boxes[:, 0])
    top = np.maximum(box[1], boxes[:, 1])
    right = np.minimum(box[2], boxes[:, 2])
    bottom = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def weighted_nms(
    boxes: np.ndarray,
    keypoints: np.ndarray,
    scores: np.ndarray,
    iou_threshold: float = NMS_IOU,
    max_detections: int | None = None,
) -> list[Detection]:
    """MediaPipe's weighted non-max suppression.

    The best remaining detection absorbs every detection that overlaps it by more than
    ``iou_threshold``; its box and keypoints become the score-weighted mean of that cluster and
    it keeps its own score.

    Returns:
        Detections, best first.
    """
    order = np.argsort(-scores, kind='stable')
    remaining = order
    result: list[Detection] = []
    while remaining.size and (max_detections is None or len(result) < max_detections):
        best = remaining[0]
        overlap = box_iou(boxes[best], boxes[remaining])
        cluster = remaining[overlap > iou_threshold]
        if cluster.size == 0:  # degenerate (empty) best box: keep it as is
            cluster = remaining[:1]
        weights = scores[cluster][:, None]
        total = float(weights.sum())
        box = (boxes[cluster] * weights).sum(axis=0) / total
        points = (keypoints[cluster] * weights[:, :, None]).sum(axis=0) / total
        result.append(Detection(box.astype(np.float32), points.astype(np.float32),
                                float(scores[best])))
        remaining = remaining[(overlap <= iou_threshold) & (remaining != best)]
    return result


def remove_letterbox(
    detection: Detection, padding: tuple[float, float, float, float]
) -> Detection:
    """Map a detection from the letterboxed detector input back to the frame.

    Args:
        padding: (left, top, right, bottom) padding as fractions of the detector input.
    """
    left, top, right, bottom = padding
    scale = np.float32([1.0 - left - right, 1.0 - top - bottom])
    offset = np.float32([left, top])
    box = ((detection.box.reshape(2, 2) - offset) / scale).reshape(4)
    points = (detection.keypoints - offset) / scale
    return Detection(box.astype(np.float32), points.astype(np.float32), detection.score)


def decode_detections(
    raw_boxes: np.ndarray,
    raw_scores: np.ndarray,
    anchors: np.ndarray,
    padding: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0),
    *,
    min_score: float = DEFAULT_MIN_SCORE,
    input_size: tuple[int, int] = (224, 224),
) -> list[Detection]:
    """Detector output to detections in frame coordinates, best first.

    Args:
        raw_boxes: the detector's (1, N, 12) box tensor.
        raw_scores: the detector's (1, N, 1) score logits.
        anchors: (N, 4) anchors.
        padding: letterbox padding of the detector input (see ``remove_letterbox``).
        min_score: detections below this score are dropped before suppression.
        input_size: (width, height) of the detector input.
    """
    scores = scores_from_logits(raw_scores)
    if scores.shape[0] != anchors.shape[0]:
        raise ValueError(
            f'detector returned {scores.shape[0]} scores for {anchors.shape[0]} anchors'
        )
    keep = np.flatnonzero(scores >= min_score)
    if keep.size == 0:
        return []
    boxes, keypoints = decode_boxes(
        np.asarray(raw_boxes).reshape(anchors.shape[0], -1)[keep], anchors[keep], input_size
    )
    detections = weighted_nms(boxes, keypoints, scores[keep])
    return [remove_letterbox(d, padding) for d in detections]
