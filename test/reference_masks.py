# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""MediaPipe's stored reference masks (test/data) and the IoU the parity tests score them with."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

DATA_DIR = Path(__file__).resolve().parent / 'data'


def reference_mask(model_id: str, photo: str) -> np.ndarray:
    """MediaPipe's mask of ``photo`` with ``model_id`` (``mediapipe_<model>_<photo>.png``) as
    float32 probabilities."""
    stored = cv2.imread(str(DATA_DIR / f'mediapipe_{model_id}_{photo}.png'), cv2.IMREAD_UNCHANGED)
    assert stored is not None, f'missing reference mask for {model_id} / {photo}'
    return stored.astype(np.float32) / 255.0


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two probability maps thresholded at 0.5."""
    mask_a, mask_b = a >= 0.5, b >= 0.5
    return np.count_nonzero(mask_a & mask_b) / max(1, np.count_nonzero(mask_a | mask_b))
