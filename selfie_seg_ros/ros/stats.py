# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Frame counters and timing windows of the node (pure: no ROS), read once a second."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

REJECTIONS = ('malformed', 'oversized', 'failed')
"""Counters of frames that arrived but could not be processed."""


@dataclass(frozen=True)
class StatsSnapshot:
    """Rates over the interval since the previous snapshot; totals since start."""

    interval_s: float
    input_fps: float
    output_fps: dict[str, float]
    drop_rate: float
    """Fraction of the frames sent in the interval that were never processed for being late:
    replaced by a newer frame in the node, or lost before reaching it."""
    inference_ms: float | None
    work_ms: float | None
    latency_ms_p50: float | None
    latency_ms_p95: float | None
    totals: dict[str, int] = field(default_factory=dict)
    received: int = 0
    """Frames received in the interval."""
    processed: int = 0
    """Frames processed in the interval."""
    rejected: dict[str, int] = field(default_factory=dict)
    """Frames in the interval that could not be processed, per reason (:data:`REJECTIONS`)."""
    lost: int = 0
    """Frames the middleware reports lost before they reached the node, in the interval."""


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


class FrameStats:
    """Thread-safe counters (received, dropped, malformed, idle, per output...) and timings."""

    def __init__(self, outputs: Sequence[str], window: int = 300) -> None:
        """Count frames; ``outputs`` names the node's output topics, each counted as published.

        Args:
            outputs: Output names whose rates the snapshots report.
            window: Most timings kept between two snapshots.
        """
        self._lock = threading.Lock()
        self._outputs = tuple(outputs)
        self._totals: dict[str, int] = dict.fromkeys(
            ('received', 'dropped', 'lost', *REJECTIONS, 'idle', 'processed', *self._outputs), 0
        )
        self._last_totals = dict(self._totals)
        self._last_time = time.monotonic()
        self._inference: deque[float] = deque(maxlen=window)
        self._work: deque[float] = deque(maxlen=window)
        self._latency: deque[float] = deque(maxlen=window)

    def count(self, name: str, increment: int = 1) -> None:
        """Add to a counter."""
        with self._lock:
            self._totals[name] = self._totals.get(name, 0) + increment

    def processed(self, inference_ms: float, work_ms: float, latency_ms: float | None) -> None:
        """Record one processed frame's timings."""
        with self._lock:
            self._totals['processed'] += 1
            self._inference.append(inference_ms)
            self._work.append(work_ms)
            if latency_ms is not None:
                self._latency.append(latency_ms)

    def snapshot(self) -> StatsSnapshot:
        """Rates since the previous snapshot, timings of the frames in that interval."""
        with self._lock:
            now = time.monotonic()
            interval = max(now - self._last_time, 1e-6)
            delta = {k: v - self._last_totals.get(k, 0) for k, v in self._totals.items()}
            inference, work, latency = list(self._inference), list(self._work), list(self._latency)
            self._inference.clear()
            self._work.clear()
            self._latency.clear()
            self._last_totals = dict(self._totals)
            self._last_time = now
            totals = dict(self._totals)
        received, lost = delta['received'], delta['lost']
        sent = received + lost
        return StatsSnapshot(
            interval_s=interval,
            input_fps=received / interval,
            output_fps={name: delta[name] / interval for name in self._outputs},
            drop_rate=(delta['dropped'] + lost) / sent if sent else 0.0,
            inference_ms=_mean(inference),
            work_ms=_mean(work),
            latency_ms_p50=_percentile(latency, 50),
            latency_ms_p95=_percentile(latency, 95),
            totals=totals,
            received=received,
            processed=delta['processed'],
            rejected={name: delta[name] for name in REJECTIONS},
            lost=lost,
        )
