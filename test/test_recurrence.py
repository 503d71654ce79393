# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""The hair segmenter's fourth input channel: the previous frame's mask, within one stream.

The model is synthetic (``tflite_builder.previous_mask_model``): one 1x1 convolution whose hair
logit is ``10 * (red + previous mask) - 5``, so a frame's mask remembers the previous frame's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tflite_builder import ConvOptions, GraphBuilder, previous_mask_model

from selfie_seg_ros.engine.recurrence import MAX_STREAM_GAP_S, PreviousMask
from selfie_seg_ros.engine.segmenter import Segmenter

SIZE = 16


def memory_model(path: Path) -> Path:
    path.write_bytes(previous_mask_model(SIZE))
    return path


@pytest.fixture(scope='module')
def segmenter(tmp_path_factory):
    folder = tmp_path_factory.mktemp('recurrent')
    with Segmenter(
        model=str(memory_model(folder / 'memory.tflite')),
        labels=('background', 'hair'),
        cache_dir=folder / 'cache',
        progress=False,
    ) as segmenter:
        yield segmenter


def red_square(size: int = SIZE) -> np.ndarray:
    image = np.zeros((size, size, 3), np.uint8)
    image[4:12, 2:9, 2] = 255  # BGR: red
    return image


BLACK = np.zeros((SIZE, SIZE, 3), np.uint8)


def test_model_is_recurrent(segmenter):
    assert segmenter.recurrent
    assert segmenter.labels == ('background', 'hair')


def test_next_frame_of_a_stream_remembers_the_previous_mask(segmenter):
    segmenter.reset_stream()
    first = segmenter.segment(red_square(), timestamp=10.0)
    assert first.mask[4:12, 2:9].all() and first.mask.sum() == 8 * 7
    second = segmenter.segment(BLACK, timestamp=10.033)
    np.testing.assert_array_equal(second.mask, first.mask)
    # Exactly the model on RGB + (first probability * 255, truncated to u8) / 255.
    def sigmoid(x: float) -> float:
        return 1.0 / (1.0 + np.exp(-x))

    for (y, x), first_logit in (((6, 4), 5.0), ((0, 0), -5.0)):
        stored = np.floor(sigmoid(first_logit) * 255.0) / 255.0
        expected = sigmoid(10.0 * stored - 5.0)
        np.testing.assert_allclose(second.foreground[y, x], expected, rtol=1e-4)


def test_single_image_gets_an_empty_channel(segmenter):
    segmenter.segment(red_square(), timestamp=20.0)
    assert segmenter.segment(BLACK).mask.sum() == 0
    # ... and it ends the stream.
    assert segmenter.segment(BLACK, timestamp=20.033).mask.sum() == 0


@pytest.mark.parametrize(
    ('next_image', 'next_time'),
    [
        (np.zeros((SIZE * 2, SIZE * 2, 3), np.uint8), 30.033),  # size change
        (BLACK, 30.0 + MAX_STREAM_GAP_S + 0.5),  # gap in the stream
        (BLACK, 29.0),  # time went backwards (a bag looping, a restarted camera)
        (BLACK, 30.0),  # the same frame again
    ],
    ids=['size-change', 'gap', 'backwards', 'repeated-stamp'],
)
def test_a_break_in_the_stream_starts_with_an_empty_channel(segmenter, next_image, next_time):
    segmenter.reset_stream()
    assert segmenter.segment(red_square(), timestamp=30.0).mask.sum() > 0
    assert segmenter.segment(next_image, timestamp=next_time).mask.sum() == 0


def test_reset_stream_forgets_the_mask(segmenter):
    segmenter.segment(red_square(), timestamp=40.0)
    segmenter.reset_stream()
    assert segmenter.segment(BLACK, timestamp=40.033).mask.sum() == 0


def test_a_new_segmenter_starts_empty(segmenter, tmp_path):
    segmenter.segment(red_square(), timestamp=50.0)
    with Segmenter(
        model=str(memory_model(tmp_path / 'other.tflite')),
        cache_dir=tmp_path / 'cache',
        progress=False,
    ) as other:
        assert other.segment(BLACK, timestamp=50.033).mask.sum() == 0


def test_three_channel_models_ignore_timestamps(tmp_path):
    graph = GraphBuilder((1, SIZE, SIZE, 3))
    weights = np.zeros((2, 1, 1, 3), np.float32)
    weights[1, 0, 0, 0] = 10.0
    out = graph.conv(0, weights, np.array([0.0, -5.0], np.float32), ConvOptions())
    path = tmp_path / 'rgb.tflite'
    path.write_bytes(graph.build([out]))
    with Segmenter(model=str(path), cache_dir=tmp_path / 'cache', progress=False) as rgb:
        assert not rgb.recurrent
        assert rgb.segment(red_square(), timestamp=1.0).mask.sum() == 56
        assert rgb.segment(BLACK, timestamp=1.033).mask.sum() == 0


# --- PreviousMask on its own ----------------------------------------------------------------


def test_previous_mask_stores_u8_truncated_like_mediapipe():
    memory = PreviousMask()
    memory.keep(np.array([[0.0, 0.5, 0.999, 1.2]], np.float32), (4, 1), 1.0)
    np.testing.assert_array_equal(memory.take((4, 1), 1.1), [[0, 127, 254, 255]])


def test_previous_mask_rejects_a_non_positive_gap():
    with pytest.raises(ValueError, match='max_gap_s'):
        PreviousMask(0.0)

