# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""MediaPipe's pooling custom ops (hair segmenter): translations against numpy references.

Every model here is a real .tflite flatbuffer written by ``tflite_builder``, converted with the
project's extensions and run on OpenVINO's CPU plugin; ``mediapipe_kernels`` holds the numpy
references written from MediaPipe's kernels.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import openvino as ov
import pytest
from mediapipe_kernels import hair_forward, max_pool_argmax, max_unpool
from tflite_builder import (
    ACTIVATION_RELU6,
    MAX_POOL_ARGMAX,
    MAX_UNPOOLING,
    PADDING_SAME,
    PADDING_VALID,
    GraphBuilder,
    OperatorSpec,
    TensorSpec,
    build_tflite,
    hair_model,
    pool_options,
    pool_unpool_model,
    random_hair_weights,
)

from selfie_seg_ros.engine import convert, custom_ops
from selfie_seg_ros.engine.convert import ModelLoadError


@pytest.fixture(scope='module')
def core() -> ov.Core:
    return ov.Core()


def run(core: ov.Core, path: Path, x: np.ndarray) -> list[np.ndarray]:
    # f32: OpenVINO would compute in bf16 on CPUs that have it.
    compiled = core.compile_model(
        convert.convert_model(path), 'CPU', {'INFERENCE_PRECISION_HINT': 'f32'}
    )
    result = compiled(x)
    return [result[output] for output in compiled.outputs]


# --- the references themselves --------------------------------------------------------------


def test_reference_pool_takes_the_first_maximum_of_each_window():
    x = np.array([[1, 5, 2, 0], [5, 3, 2, 2], [0, 0, 9, 1], [0, 0, 1, 9]], np.float32)
    values, indices = max_pool_argmax(x[None, :, :, None], (2, 2), (2, 2), PADDING_VALID)
    np.testing.assert_array_equal(values[0, :, :, 0], [[5, 2], [0, 9]])
    # Window-local row * 2 + column, first maximum in row-major order, stored plus 0.1.
    np.testing.assert_allclose(indices[0, :, :, 0], [[1.1, 0.1], [0.1, 0.1]])


def test_reference_unpool_puts_values_back_where_pooling_found_them():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 6, 8, 3)).astype(np.float32)
    values, indices = max_pool_argmax(x, (2, 2), (2, 2), PADDING_SAME)
    restored = max_unpool(values, indices, (2, 2), (2, 2))
    kept = restored != 0
    np.testing.assert_array_equal(restored[kept], x[kept])
    assert kept.sum() == values.size  # one value per window


# --- the translations over a grid ---------------------------------------------------------------

SIZES = [(4, 4), (5, 7), (7, 6)]
WINDOWS = [((2, 2), (2, 2)), ((3, 3), (2, 2)), ((2, 3), (1, 2)), ((3, 2), (3, 1))]
GRID = [
    (size, kernel, stride, padding)
    for size, (kernel, stride), padding in itertools.product(
        SIZES, WINDOWS, (PADDING_SAME, PADDING_VALID)
    )
]


def _id(case: tuple) -> str:
    (h, w), (kh, kw), (sh, sw), padding = case
    return f'{h}x{w}-k{kh}x{kw}-s{sh}x{sw}-{"SAME" if padding == PADDING_SAME else "VALID"}'


@pytest.mark.parametrize('case', GRID, ids=[_id(c) for c in GRID])
def test_pool_and_unpool_match_mediapipe_kernels(core, tmp_path, case):
    (height, width), kernel, stride, padding = case
    shape = (1, height, width, 3)
    x = np.random.default_rng(height * 31 + width).standard_normal(shape).astype(np.float32)
    path = tmp_path / 'pool.tflite'
    path.write_bytes(pool_unpool_model(shape, kernel, stride, padding))

    values, indices, unpooled = run(core, path, x)
    expected_values, expected_indices = max_pool_argmax(x, kernel, stride, padding)
    assert values.shape == expected_values.shape
    np.testing.assert_array_equal(values, expected_values)
    np.testing.assert_allclose(indices, expected_indices, atol=1e-6)
    expected_unpooled = max_unpool(expected_values, expected_indices, kernel, stride)
    assert unpooled.shape == expected_unpooled.shape
    np.testing.assert_array_equal(unpooled, expected_unpooled)


def test_ties_pick_the_first_maximum_like_mediapipe(core, tmp_path):
    # Few distinct values (as after a ReLU): most windows hold several equal maxima.
    shape = (1, 8, 8, 4)
    x = np.random.default_rng(3).integers(0, 3, shape).astype(np.float32)
    path = tmp_path / 'ties.tflite'
    path.write_bytes(pool_unpool_model(shape, (3, 3), (2, 2), PADDING_SAME))
    values, indices, unpooled = run(core, path, x)
    expected_values, expected_indices = max_pool_argmax(x, (3, 3), (2, 2), PADDING_SAME)
    np.testing.assert_array_equal(values, expected_values)
    np.testing.assert_allclose(indices, expected_indices, atol=1e-6)
    np.testing.assert_array_equal(
        unpooled, max_unpool(expected_values, expected_indices, (3, 3), (2, 2))
    )


def test_overlapping_windows_keep_the_last_write(core, tmp_path):
    # 3x3 windows at stride 1: neighbouring windows share their maximum, and when unpooling
    # several windows write the same output element; MediaPipe keeps the last one.
    shape = (1, 5, 5, 2)
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    path = tmp_path / 'overlap.tflite'
    path.write_bytes(pool_unpool_model(shape, (3, 3), (1, 1), PADDING_SAME))
    _, _, unpooled = run(core, path, x)
    expected = max_unpool(*max_pool_argmax(x, (3, 3), (1, 1), PADDING_SAME), (3, 3), (1, 1))
    np.testing.assert_array_equal(unpooled, expected)
    assert np.count_nonzero(expected) > 0


def test_fused_activation_clamps_pooled_values(core, tmp_path):
    shape = (1, 4, 4, 2)
    x = (np.random.default_rng(5).standard_normal(shape) * 10).astype(np.float32)
    path = tmp_path / 'relu6.tflite'
    path.write_bytes(pool_unpool_model(shape, (2, 2), (2, 2), PADDING_SAME, ACTIVATION_RELU6))
    values, _, _ = run(core, path, x)
    expected, _ = max_pool_argmax(x, (2, 2), (2, 2), PADDING_SAME, ACTIVATION_RELU6)
    np.testing.assert_array_equal(values, expected)
    assert values.max() == 6.0 and values.min() == 0.0


def test_pool_options_are_read_per_operator(tmp_path):
    graph = GraphBuilder((1, 8, 8, 2))
    a, _ = graph.pool(0, (2, 2), (2, 2), PADDING_SAME)
    b, _ = graph.pool(a, (3, 2), (1, 2), PADDING_VALID, ACTIVATION_RELU6)
    path = tmp_path / 'two.tflite'
    path.write_bytes(graph.build([b]))
    params = [custom_ops.pool_params(op) for op in convert.read_operators(path)]
    assert params == [
        custom_ops.PoolParams(PADDING_SAME, 2, 2, 2, 2, 0),
        custom_ops.PoolParams(PADDING_VALID, 2, 1, 2, 3, ACTIVATION_RELU6),
    ]


@pytest.mark.parametrize(
    'options', [bytes(8), pool_options(7, (2, 2), (2, 2)), pool_options(1, (0, 2), (2, 2))]
)
def test_malformed_pool_options_are_rejected_naming_the_file(tmp_path, options):
    tensors = [TensorSpec('input', (1, 4, 4, 1)), TensorSpec('values', (1, 2, 2, 1)),
               TensorSpec('indices', (1, 2, 2, 1))]
    op = OperatorSpec(MAX_POOL_ARGMAX, (0,), (1, 2), options)
    path = tmp_path / 'bad_pool.tflite'
    path.write_bytes(build_tflite(tensors, [op], [0], [1, 2]))
    with pytest.raises(ModelLoadError, match=r'bad_pool\.tflite.*MaxPoolingWithArgmax2D'):
        convert.convert_model(path)


def test_unpool_with_one_input_is_rejected(tmp_path):
    tensors = [TensorSpec('input', (1, 2, 2, 1)), TensorSpec('output', (1, 4, 4, 1))]
    op = OperatorSpec(MAX_UNPOOLING, (0,), (1,), pool_options(PADDING_SAME, (2, 2), (2, 2)))
    path = tmp_path / 'one_input.tflite'
    path.write_bytes(build_tflite(tensors, [op], [0], [1]))
    with pytest.raises(ModelLoadError, match=r'one_input\.tflite.*MaxUnpooling2D.*1 inputs'):
        convert.convert_model(path)


# --- the hair segmenter's shape, end to end ----------------------------------------------------


@pytest.mark.parametrize('seed', [0, 1])
def test_hair_shaped_model_matches_a_numpy_forward_pass(core, tmp_path, seed):
    weights = random_hair_weights(seed)
    path = tmp_path / 'hair.tflite'
    path.write_bytes(hair_model(32, weights))
    operators = {op.name for op in convert.read_operators(path)}
    assert operators == set(custom_ops.SUPPORTED_CUSTOM_OPS)
    x = np.random.default_rng(seed + 10).random((1, 32, 32, 4)).astype(np.float32)
    (logits,) = run(core, path, x)
    expected = hair_forward(x, weights)
    assert logits.shape == (1, 32, 32, 2)
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-4)
    # The unpooled paths matter: the output is not constant.
    assert np.ptp(expected[..., 1] - expected[..., 0]) > 1.0


def test_unpool_follows_indices_that_do_not_come_from_a_pool(core, tmp_path):
    # Constant indices (not a pool's output) may point outside their window or be negative:
    # MediaPipe's kernel truncates them toward zero and writes wherever they lead, if inside.
    shape = (1, 3, 4, 2)
    rng = np.random.default_rng(6)
    indices = rng.choice([0.1, 1.1, 3.1, 5.1, 6.9, -1.1, -2.5, 11.1], shape).astype(np.float32)
    graph = GraphBuilder(shape)
    constant = graph.tensor('indices', shape, indices)
    out = graph.unpool(0, constant, (2, 2), (2, 2))
    path = tmp_path / 'free_indices.tflite'
    path.write_bytes(graph.build([out]))
    x = rng.standard_normal(shape).astype(np.float32)
    (unpooled,) = run(core, path, x)
    expected = max_unpool(x, indices, (2, 2), (2, 2))
    np.testing.assert_array_equal(unpooled, expected)
    assert np.count_nonzero(expected) > 0
