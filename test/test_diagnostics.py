# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Frame statistics and the /diagnostics status built from them (pure: no node)."""

from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticStatus

from selfie_seg_ros.ros.diagnostics import build_status
from selfie_seg_ros.ros.stats import FrameStats


def _status(stats: FrameStats, max_drop_rate: float = 0.5) -> DiagnosticStatus:
    return build_status('node: segmentation', 'CPU', stats.snapshot(), 'model', 100.0,
                        max_drop_rate)


def _values(status: DiagnosticStatus) -> dict[str, str]:
    return {kv.key: kv.value for kv in status.values}


def test_frames_that_all_fail_are_an_error_not_ok():
    stats = FrameStats(('mask', 'overlay'))
    stats.count('received', 10)
    stats.count('malformed', 6)
    stats.count('oversized', 4)
    status = _status(stats)
    assert status.level == DiagnosticStatus.ERROR
    assert 'none of the 10 frames' in status.message
    assert '6 malformed' in status.message and '4 oversized' in status.message
    values = _values(status)
    assert values['total oversized'] == '4' and values['total malformed'] == '6'


def test_some_rejected_frames_are_a_warning():
    stats = FrameStats(('mask', 'overlay'))
    stats.count('received', 10)
    stats.count('oversized', 1)
    for _ in range(9):
        stats.processed(inference_ms=2.0, work_ms=5.0, latency_ms=20.0)
    status = _status(stats)
    assert status.level == DiagnosticStatus.WARN
    assert status.message == '1 frames rejected: 1 oversized'


def test_the_error_clears_once_frames_are_processed_again():
    stats = FrameStats(('mask', 'overlay'))
    stats.count('received', 3)
    stats.count('malformed', 3)
    assert _status(stats).level == DiagnosticStatus.ERROR
    stats.count('received', 3)
    for _ in range(3):
        stats.processed(inference_ms=2.0, work_ms=5.0, latency_ms=20.0)
        stats.count('mask')
    status = _status(stats)
    assert status.level == DiagnosticStatus.OK and status.message == 'ok'


def test_frames_lost_before_the_node_count_as_dropped():
    stats = FrameStats(('mask', 'overlay'))
    stats.count('received', 4)
    stats.count('lost', 6)
    for _ in range(4):
        stats.processed(inference_ms=2.0, work_ms=5.0, latency_ms=20.0)
        stats.count('mask')
    snapshot = stats.snapshot()
    assert snapshot.lost == 6 and snapshot.drop_rate == 0.6
    stats.count('received', 4)
    stats.count('lost', 6)
    status = _status(stats)
    assert status.level == DiagnosticStatus.WARN and 'dropping 60% of frames' in status.message
    assert _values(status)['total lost'] == '12'


def test_idle_node_without_errors_says_no_subscribers():
    stats = FrameStats(('mask', 'overlay'))
    stats.count('received', 5)
    stats.count('idle', 5)
    status = _status(stats)
    assert status.level == DiagnosticStatus.OK
    assert status.message == 'no subscribers: frames are not processed'
