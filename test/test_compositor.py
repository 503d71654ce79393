# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""The OpenVINO compositor against OpenCV's blendLinear, and the effects that use it."""

from __future__ import annotations

import array

import cv2
import numpy as np
import pytest

from selfie_seg_ros.engine.compositor import Compositor, _shareable
from selfie_seg_ros.engine.effects import (
    EffectOptions,
    Scratch,
    apply_background_effect,
    composite,
)
from selfie_seg_ros.engine.model_pool import one_thread_core


@pytest.fixture(scope='module')
def compositor() -> Compositor:
    return Compositor(one_thread_core())


def _inputs(shape: tuple[int, ...], seed: int = 0):
    rng = np.random.default_rng(seed)
    front = rng.integers(0, 256, shape, dtype=np.uint8)
    back = rng.integers(0, 256, shape, dtype=np.uint8)
    alpha = rng.random(shape[:2], dtype=np.float32)
    alpha[:5] = 0.0
    alpha[-5:] = 1.0
    return front, back, alpha


@pytest.mark.parametrize('shape', [(48, 64, 3), (31, 77, 3), (40, 50), (720, 1280, 3)])
def test_blend_is_blendlinear_within_rounding(compositor, shape):
    front, back, alpha = _inputs(shape)
    out = np.empty_like(front)
    result = compositor(front, back, alpha, out)
    assert result is out
    reference = cv2.blendLinear(front, back, alpha, 1.0 - alpha)
    difference = np.abs(result.astype(int) - reference)
    assert difference.max() <= 1
    assert (difference > 0).mean() < 0.01
    # Where alpha is exactly 0 or 1 the result is exactly one of the images.
    assert np.array_equal(result[:5], back[:5]) and np.array_equal(result[-5:], front[-5:])


def test_frames_of_another_size_get_their_own_graph(compositor):
    for shape in ((20, 30, 3), (30, 20, 3), (20, 30, 3)):
        front, back, alpha = _inputs(shape, seed=shape[0])
        out = compositor(front, back, alpha, np.empty_like(front))
        assert np.abs(out.astype(int) - cv2.blendLinear(front, back, alpha, 1 - alpha)).max() <= 1


def test_a_read_only_view_of_a_message_buffer_is_read_in_place():
    buffer = array.array('B', bytes(range(256)) * 30)
    view = np.frombuffer(buffer, np.uint8).reshape(30, 256)[5:10].view()
    view.flags.writeable = False
    shared = _shareable(view)
    assert shared.flags.writeable and np.shares_memory(shared, view)
    assert np.array_equal(shared, view)
    immutable = np.frombuffer(bytes(64), np.uint8).reshape(8, 8)
    copied = _shareable(immutable)
    assert copied.flags.writeable and not np.shares_memory(copied, immutable)
    strided = np.arange(64, dtype=np.uint8).reshape(8, 8)[:, ::2]
    assert np.array_equal(_shareable(strided), strided)


def test_effects_composite_through_the_scratch_compositor(compositor):
    front, back, alpha = _inputs((60, 80, 3), seed=4)
    front.flags.writeable = False
    with_ov = composite(front, back, alpha, scratch=Scratch(compositor=compositor))
    plain = composite(front, back, alpha, scratch=Scratch())
    assert np.abs(with_ov.astype(int) - plain).max() <= 1
    calls: list[tuple[int, ...]] = []

    def counting(front, back, alpha, out):
        calls.append(front.shape)
        return compositor(front, back, alpha, out)

    options = EffectOptions(effect='blur', blur_strength=21)
    scratch = Scratch(compositor=counting)
    blurred = apply_background_effect(np.ascontiguousarray(front), alpha, options,
                                      scratch=scratch)
    reference = apply_background_effect(np.ascontiguousarray(front), alpha, options)
    assert calls == [(60, 80, 3)]
    assert np.abs(blurred.astype(int) - reference).max() <= 1
    # A result handed to the caller never lives in the scratch buffers.
    again = apply_background_effect(np.ascontiguousarray(front), alpha, options,
                                    scratch=scratch)
    assert not np.shares_memory(again, blurred)


def test_a_graph_openvino_cannot_compile_falls_back_to_opencv():
    class NoCompile:
        def compile_model(self, *args, **kwargs):
            raise RuntimeError('no CPU plugin here')

    fallback = Compositor(NoCompile())  # type: ignore[arg-type]
    front, back, alpha = _inputs((20, 30, 3))
    out = fallback(front, back, alpha, np.empty_like(front))
    assert np.array_equal(out, cv2.blendLinear(front, back, alpha, 1.0 - alpha))
    assert 'no CPU plugin here' in fallback.unavailable
