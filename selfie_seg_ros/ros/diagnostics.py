# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""The node's statistics as a diagnostic_msgs/DiagnosticStatus for ``/diagnostics``.

Why not diagnostic_updater: it is the usual helper on a ROS 2 distro, but it is not on PyPI, so a
node that needs it would not run (or be tested) where ROS comes from PyPI wheels. The node needs
one status a second with its own thresholds, which is this pure function plus a timer; its output
is the same ``DiagnosticArray`` an ``Updater`` publishes, so aggregators and rqt see no difference.
"""

from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

from selfie_seg_ros.ros.stats import StatsSnapshot


def _fmt(value: float | None, digits: int = 1) -> str:
    return 'n/a' if value is None else f'{value:.{digits}f}'


def build_status(
    name: str,
    hardware_id: str,
    snapshot: StatsSnapshot,
    model: str,
    max_latency_ms: float,
    max_drop_rate: float,
) -> DiagnosticStatus:
    """A status that tells what the node does with the frames it gets.

    ERROR when frames arrive but none of them can be processed (malformed, oversized, failing);
    WARN when some are rejected, or the drop rate or the latency crosses its limit.
    """
    rejected = {reason: count for reason, count in snapshot.rejected.items() if count}
    rejected_text = ', '.join(f'{count} {reason}' for reason, count in rejected.items())
    errors, problems = [], []
    if rejected and snapshot.processed == 0:
        errors.append(
            f'none of the {snapshot.received} frames received in the last '
            f'{snapshot.interval_s:.0f} s could be processed: {rejected_text}')
    elif rejected:
        problems.append(f'{sum(rejected.values())} frames rejected: {rejected_text}')
    if snapshot.drop_rate > max_drop_rate:
        problems.append(f'dropping {snapshot.drop_rate:.0%} of frames (> {max_drop_rate:.0%})')
    if snapshot.latency_ms_p95 is not None and snapshot.latency_ms_p95 > max_latency_ms:
        problems.append(
            f'p95 latency {snapshot.latency_ms_p95:.0f} ms (> {max_latency_ms:.0f} ms)'
        )
    status = DiagnosticStatus()
    status.name = name
    status.hardware_id = hardware_id
    if errors:
        status.level = DiagnosticStatus.ERROR
    else:
        status.level = DiagnosticStatus.WARN if problems else DiagnosticStatus.OK
    if errors or problems:
        status.message = '; '.join(errors + problems)
    elif snapshot.input_fps == 0:
        status.message = 'waiting for images'
    elif sum(snapshot.output_fps.values()) == 0:
        status.message = 'no subscribers: frames are not processed'
    else:
        status.message = 'ok'
    values = {
        'device': hardware_id,
        'model': model,
        'input fps': _fmt(snapshot.input_fps),
        **{f'output fps {topic}': _fmt(fps) for topic, fps in snapshot.output_fps.items()},
        'inference ms': _fmt(snapshot.inference_ms),
        'processing ms': _fmt(snapshot.work_ms),
        'latency ms p50': _fmt(snapshot.latency_ms_p50),
        'latency ms p95': _fmt(snapshot.latency_ms_p95),
        'drop rate': _fmt(snapshot.drop_rate, 3),
        **{f'total {key}': str(value) for key, value in snapshot.totals.items()},
    }
    status.values = [KeyValue(key=key, value=value) for key, value in values.items()]
    return status
