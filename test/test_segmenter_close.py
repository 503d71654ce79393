# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Segmenter.close() against a frame in flight: it waits for the frame, never breaks it.

Uses the synthetic six-colour test model of test_segmenter.py (not MediaPipe's). The infer
request is wrapped so that a frame can be held inside ``infer`` while ``close()`` is called.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
from test_segmenter import colour_model, save_ir

from selfie_seg_ros.engine.catalog import MULTICLASS_LABELS
from selfie_seg_ros.engine.errors import SegmenterClosedError
from selfie_seg_ros.engine.segmenter import Segmenter


@pytest.fixture(scope='module')
def colour_xml(tmp_path_factory):
    return save_ir(colour_model(), tmp_path_factory.mktemp('close_models') / 'colours.xml')


class HeldRequest:
    """An infer request whose ``infer`` waits until released (other calls pass through)."""

    def __init__(self, request: Any) -> None:
        self._request = request
        self.entered = threading.Event()
        self.release = threading.Event()

    def infer(self, inputs: Any) -> Any:
        self.entered.set()
        assert self.release.wait(10), 'never released'
        return self._request.infer(inputs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


def test_close_waits_for_the_frame_in_flight_and_the_frame_succeeds(colour_xml):
    segmenter = Segmenter(model=str(colour_xml), labels=MULTICLASS_LABELS,
                          cache_dir=colour_xml.parent)
    held = HeldRequest(segmenter._request)
    segmenter._request = held
    image = np.zeros((48, 64, 3), np.uint8)
    outcome: dict[str, Any] = {}

    def frame() -> None:
        try:
            outcome['result'] = segmenter.segment(image)
        except Exception as error:  # what this test looks for
            outcome['error'] = error

    worker = threading.Thread(target=frame)
    worker.start()
    assert held.entered.wait(10)
    closer = threading.Thread(target=segmenter.close)
    closer.start()
    closer.join(0.3)
    closed_under_the_frame = not closer.is_alive()
    held.release.set()
    worker.join(10)
    closer.join(10)
    assert 'error' not in outcome, f'the frame failed: {outcome["error"]!r}'
    assert outcome['result'].mask.shape == (48, 64)
    assert not closed_under_the_frame, 'close() returned while a frame was inside the model'


def test_a_closed_segmenter_refuses_frames_with_a_clear_error(colour_xml):
    segmenter = Segmenter(model=str(colour_xml), labels=MULTICLASS_LABELS,
                          cache_dir=colour_xml.parent)
    image = np.zeros((16, 16, 3), np.uint8)
    segmenter.segment(image)
    segmenter.close()
    segmenter.close()  # twice is fine
    with pytest.raises(SegmenterClosedError, match='closed'):
        segmenter.segment(image)
    with pytest.raises(SegmenterClosedError, match='closed'):
        segmenter.infer_raw(np.zeros((64, 64, 3), np.uint8))
