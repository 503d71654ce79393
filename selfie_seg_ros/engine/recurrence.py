# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""The previous frame's mask, for models that take it as an input channel (hair segmentation).

MediaPipe's hair segmenter reads RGB plus the previous frame's hair mask (at model resolution,
0..255, normalised like the colour channels); the first frame of a stream, and a single image,
get an empty channel. A stored mask is only fed to the next frame of the same stream: a frame
of another size, a frame without a timestamp (a single image), a timestamp that goes backwards
or jumps further than ``max_gap_s`` all start over with an empty channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_STREAM_GAP_S = 1.0
"""Longest pause between two frames of one stream; a longer one starts a new stream."""


@dataclass
class _Stored:
    mask: np.ndarray
    image_size: tuple[int, int]
    timestamp: float


class PreviousMask:
    """Keeps the last mask of a stream and hands it to the stream's next frame."""

    def __init__(self, max_gap_s: float = MAX_STREAM_GAP_S) -> None:
        if not max_gap_s > 0:
            raise ValueError(f'max_gap_s must be positive, got {max_gap_s}')
        self.max_gap_s = max_gap_s
        self._stored: _Stored | None = None

    def reset(self) -> None:
        """Forget the stored mask: the next frame starts a new stream."""
        self._stored = None

    def take(self, image_size: tuple[int, int], timestamp: float | None) -> np.ndarray | None:
        """The mask to feed to a frame of ``image_size`` at ``timestamp`` (seconds), or None.

        None (an empty channel) for a single image (no timestamp), the first frame of a stream,
        and any frame that breaks the stream; the stored mask is then forgotten.
        """
        stored = self._stored
        if stored is None:
            return None
        if (
            timestamp is None
            or image_size != stored.image_size
            or not 0.0 < timestamp - stored.timestamp <= self.max_gap_s
        ):
            self._stored = None
            return None
        return stored.mask

    def keep(
        self, probability: np.ndarray, image_size: tuple[int, int], timestamp: float | None
    ) -> None:
        """Store a frame's model-sized foreground probability (float in [0, 1]) as u8 0..255.

        A frame without a timestamp is a single image: nothing is kept.
        """
        if timestamp is None:
            self._stored = None
            return
        mask = np.clip(probability * 255.0, 0.0, 255.0).astype(np.uint8)
        self._stored = _Stored(mask, image_size, float(timestamp))
