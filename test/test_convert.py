# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""TFLite -> OpenVINO conversion: the ``Convolution2DTransposeBias`` translation, errors, IR cache.

The small models are real .tflite flatbuffers written by ``tflite_builder``; the converted graphs
are compiled on CPU and compared with a numpy reference of MediaPipe's kernel.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import openvino as ov
import pytest
import skimage.data
from mediapipe_kernels import scatter_transpose_conv
from mediapipe_kernels import transpose_conv as mediapipe_transpose_conv
from tflite_builder import (
    CUSTOM_OP,
    PADDING_SAME,
    PADDING_VALID,
    OperatorSpec,
    TensorSpec,
    add_model,
    build_tflite,
    transpose_conv_chain_model,
    transpose_conv_model,
)

from selfie_seg_ros.engine import convert, custom_ops
from selfie_seg_ros.engine.convert import ModelLoadError, UnsupportedOperatorError

X_SHAPE = (1, 4, 6, 3)
C_OUT = 5


@pytest.fixture(scope='module')
def core() -> ov.Core:
    return ov.Core()


def tensorflow_transpose_conv(
    x: np.ndarray, weights: np.ndarray, bias: np.ndarray, stride: tuple[int, int], padding: int
) -> np.ndarray:
    """The same with TensorFlow's conv2d_transpose convention: SAME output = size * stride,
    total padding = max((size - 1) * s + k - size * s, 0), pad_top = total // 2."""
    _, height, width, _ = x.shape
    _, k_h, k_w, _ = weights.shape
    full_h, full_w = (height - 1) * stride[0] + k_h, (width - 1) * stride[1] + k_w
    if padding == PADDING_VALID:
        out_h, out_w = full_h, full_w
    else:
        out_h, out_w = height * stride[0], width * stride[1]
    top, left = max(full_h - out_h, 0) // 2, max(full_w - out_w, 0) // 2
    canvas = (max(full_h, top + out_h), max(full_w, left + out_w))
    full = scatter_transpose_conv(x, weights, stride, canvas)
    return (full[top : top + out_h, left : left + out_w] + bias)[None].astype(np.float32)


def random_case(
    seed: int, x_shape: tuple[int, ...], kernel: tuple[int, int], c_out: int = C_OUT
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(np.float32)
    weights = rng.standard_normal((c_out, kernel[0], kernel[1], x_shape[3])).astype(np.float32)
    bias = rng.standard_normal(c_out).astype(np.float32)
    return x, weights, bias


def run_converted(core: ov.Core, source: Path, x: np.ndarray) -> np.ndarray:
    compiled = core.compile_model(convert.convert_model(source), 'CPU')
    return compiled(x)[0]


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def padding_name(padding: int) -> str:
    return 'SAME' if padding == PADDING_SAME else 'VALID'


# --- the reference itself ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ('size', 'stride', 'kernel'),
    [(4, 2, 2), (4, 2, 3), (4, 2, 4), (4, 1, 3), (6, 3, 3), (6, 3, 5)],
)
def test_reference_agrees_with_tensorflow_convention_when_stride_divides_size(
    size, stride, kernel
):
    x, weights, bias = random_case(0, (1, size, size, 2), (kernel, kernel))
    mediapipe = mediapipe_transpose_conv(x, weights, bias, (stride, stride), PADDING_SAME)
    tensorflow = tensorflow_transpose_conv(x, weights, bias, (stride, stride), PADDING_SAME)
    assert mediapipe.shape == (1, size * stride, size * stride, C_OUT)
    np.testing.assert_allclose(mediapipe, tensorflow, rtol=1e-6, atol=1e-6)


def test_reference_single_pixel_places_the_kernel():
    x = np.zeros((1, 2, 2, 1), np.float32)
    x[0, 1, 0, 0] = 1.0
    weights = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1) + 1
    out = mediapipe_transpose_conv(x, weights, np.zeros(1, np.float32), (2, 2), PADDING_VALID)
    expected = np.zeros((5, 5), np.float32)
    expected[2:5, 0:3] = weights[0, :, :, 0]
    np.testing.assert_array_equal(out[0, :, :, 0], expected)


# --- conversion of the custom op ----------------------------------------------------------------

GRID = [
    (2, 2, PADDING_SAME),  # MediaPipe's selfie models
    (2, 3, PADDING_SAME),
    (2, 4, PADDING_SAME),
    (1, 3, PADDING_SAME),
    (2, 3, PADDING_VALID),
    (3, 2, PADDING_VALID),
    (1, 1, PADDING_VALID),
]


@pytest.mark.parametrize(
    ('stride', 'kernel', 'padding'),
    GRID,
    ids=[f's{s}-k{k}-{padding_name(p)}' for s, k, p in GRID],
)
def test_transpose_conv_matches_reference(core, tmp_path, stride, kernel, padding):
    x, weights, bias = random_case(stride * 10 + kernel, X_SHAPE, (kernel, kernel))
    source = write(
        tmp_path / 'tconv.tflite',
        transpose_conv_model(X_SHAPE, weights, bias, (stride, stride), padding),
    )
    expected = mediapipe_transpose_conv(x, weights, bias, (stride, stride), padding)
    actual = run_converted(core, source, x)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4)


def test_transpose_conv_with_different_strides_and_kernel_per_axis(core, tmp_path):
    x, weights, bias = random_case(7, X_SHAPE, (3, 2))
    source = write(
        tmp_path / 'tconv.tflite',
        transpose_conv_model(X_SHAPE, weights, bias, (1, 2), PADDING_SAME),
    )
    expected = mediapipe_transpose_conv(x, weights, bias, (1, 2), PADDING_SAME)
    actual = run_converted(core, source, x)
    assert actual.shape == (1, 4, 12, C_OUT)
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4)


def test_same_padding_follows_mediapipe_kernel_when_stride_does_not_divide_size(core, tmp_path):
    # MediaPipe's kernel makes a 5-wide input 9 wide at stride 2 (not 10, as TensorFlow would).
    shape = (1, 5, 5, 3)
    x, weights, bias = random_case(3, shape, (2, 2))
    source = write(
        tmp_path / 'odd.tflite', transpose_conv_model(shape, weights, bias, (2, 2), PADDING_SAME)
    )
    expected = mediapipe_transpose_conv(x, weights, bias, (2, 2), PADDING_SAME)
    assert expected.shape == (1, 9, 9, C_OUT)
    actual = run_converted(core, source, x)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4)


def test_two_custom_ops_get_their_own_options(core, tmp_path):
    # Options are matched to frontend nodes by tensor shapes: two ops, two option sets.
    x, w1, b1 = random_case(11, (1, 4, 4, 2), (2, 2), c_out=4)
    _, w2, b2 = random_case(12, (1, 8, 8, 4), (3, 3), c_out=2)
    layers = [(w1, b1, (2, 2), PADDING_SAME), (w2, b2, (1, 1), PADDING_VALID)]
    source = write(tmp_path / 'chain.tflite', transpose_conv_chain_model((1, 4, 4, 2), layers))
    params = [custom_ops.transpose_conv_params(op) for op in convert.read_operators(source)]
    assert [(p.padding, p.stride_width, p.stride_height) for p in params] == [
        (PADDING_SAME, 2, 2),
        (PADDING_VALID, 1, 1),
    ]
    middle = mediapipe_transpose_conv(x, w1, b1, (2, 2), PADDING_SAME)
    expected = mediapipe_transpose_conv(middle, w2, b2, (1, 1), PADDING_VALID)
    actual = run_converted(core, source, x)
    assert actual.shape == (1, 10, 10, 2)
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4)


def test_builtin_ops_convert_without_the_extension(core, tmp_path):
    constant = np.array([0.5, -1.0, 2.0], np.float32)
    source = write(tmp_path / 'add.tflite', add_model((1, 2, 3, 3), constant))
    assert convert.read_operators(source) == []
    x = np.random.default_rng(1).standard_normal((1, 2, 3, 3)).astype(np.float32)
    np.testing.assert_allclose(run_converted(core, source, x), x + constant, rtol=1e-6)


@pytest.mark.parametrize(('padding', 'stride_w', 'stride_h'), [(1, 2, 2), (2, 3, 1), (1, 1, 4)])
def test_read_transpose_conv_params_returns_the_written_options(
    tmp_path, padding, stride_w, stride_h
):
    _, weights, bias = random_case(0, X_SHAPE, (3, 2))
    source = write(
        tmp_path / 'tconv.tflite',
        transpose_conv_model(X_SHAPE, weights, bias, (stride_h, stride_w), padding),
    )
    (op,) = convert.read_operators(source)
    params = custom_ops.transpose_conv_params(op)
    assert (params.padding, params.stride_width, params.stride_height) == (
        padding,
        stride_w,
        stride_h,
    )
    assert op.name == CUSTOM_OP
    assert op.input_names == ('input', 'weights', 'bias')
    assert op.input_shapes == (X_SHAPE, (C_OUT, 3, 2, 3), (C_OUT,))


@pytest.mark.parametrize('options', [b'\x01\x00\x00\x00', b'\x07' + bytes(11), bytes(12)])
def test_malformed_custom_options_are_rejected(tmp_path, options):
    _, weights, bias = random_case(0, X_SHAPE, (2, 2))
    tensors = [
        TensorSpec('input', X_SHAPE),
        TensorSpec('weights', weights.shape, weights),
        TensorSpec('bias', bias.shape, bias),
        TensorSpec('output', (1, 8, 12, C_OUT)),
    ]
    op = OperatorSpec(CUSTOM_OP, (0, 1, 2), (3,), options)
    source = write(tmp_path / 'bad.tflite', build_tflite(tensors, [op], [0], [3]))
    with pytest.raises(ModelLoadError, match=r'bad\.tflite.*Convolution2DTransposeBias'):
        convert.convert_model(source)


# --- errors -----------------------------------------------------------------------------------


def test_random_bytes_raise_model_load_error_naming_the_file(tmp_path):
    source = write(tmp_path / 'noise.tflite', np.random.default_rng(0).bytes(4096))
    with pytest.raises(ModelLoadError, match='noise.tflite'):
        convert.convert_model(source)
    with pytest.raises(ModelLoadError, match='noise.tflite'):
        convert.load_ir(source, tmp_path / 'cache')


@pytest.mark.parametrize('keep', [0.5, 0.9, 0.99])
def test_truncated_tflite_raises_model_load_error_naming_the_file(tmp_path, keep):
    _, weights, bias = random_case(0, X_SHAPE, (2, 2))
    data = transpose_conv_model(X_SHAPE, weights, bias, (2, 2), PADDING_SAME)
    source = write(tmp_path / 'cut.tflite', data[: int(len(data) * keep)])
    with pytest.raises(ModelLoadError, match='cut.tflite'):
        convert.convert_model(source)


def test_missing_file_raises_model_load_error(tmp_path):
    with pytest.raises(ModelLoadError, match='not found.*absent.tflite'):
        convert.convert_model(tmp_path / 'absent.tflite')
    with pytest.raises(ModelLoadError, match='not found.*absent.tflite'):
        convert.load_ir(tmp_path / 'absent.tflite', tmp_path / 'cache')


def test_unsupported_suffix_raises_model_load_error(tmp_path):
    source = write(tmp_path / 'model.pb', b'\x00' * 64)
    with pytest.raises(ModelLoadError, match=r'unsupported model file .*model\.pb'):
        convert.load_ir(source, tmp_path / 'cache')


def test_ir_without_weights_raises_model_load_error(tmp_path):
    source = write(tmp_path / 'model.xml', b'<net/>')
    with pytest.raises(ModelLoadError, match=r'model\.xml has no weights file .*model\.bin'):
        convert.load_ir(source, tmp_path / 'cache')


def test_ir_with_weights_is_used_as_is(tmp_path):
    source = write(tmp_path / 'model.xml', b'<net/>')
    write(tmp_path / 'model.bin', b'')
    assert convert.load_ir(source, tmp_path / 'cache') == source
    assert not (tmp_path / 'cache').exists()


# --- the IR cache -------------------------------------------------------------------------------


def test_load_ir_converts_once_and_caches(core, tmp_path, monkeypatch):
    x, weights, bias = random_case(5, X_SHAPE, (2, 2))
    source = write(
        tmp_path / 'tconv.tflite', transpose_conv_model(X_SHAPE, weights, bias, (2, 2), 1)
    )
    cache = tmp_path / 'cache'
    calls = []
    real_convert = convert.convert_model

    def counting_convert(path):
        calls.append(path)
        if len(calls) > 1:
            raise AssertionError('converted twice')
        return real_convert(path)

    monkeypatch.setattr(convert, 'convert_model', counting_convert)
    first = convert.load_ir(source, cache)
    assert first.is_file() and first.with_suffix('.bin').is_file()
    assert first == convert.ir_cache_path(source, cache)
    assert ov.get_version().split('-')[0] in first.parent.name
    mtime = first.stat().st_mtime_ns
    assert convert.load_ir(source, cache) == first
    assert len(calls) == 1
    assert first.stat().st_mtime_ns == mtime
    assert [p.name for p in (cache / 'ir').iterdir()] == [first.parent.name]

    # The cached IR is the converted model (weights may be stored as FP16).
    expected = mediapipe_transpose_conv(x, weights, bias, (2, 2), 1)
    actual = core.compile_model(core.read_model(first), 'CPU')(x)[0]
    np.testing.assert_allclose(actual, expected, rtol=1e-2, atol=1e-2)


def test_load_ir_key_changes_with_the_source_bytes(tmp_path):
    cache = tmp_path / 'cache'
    paths = []
    for seed in (1, 2):
        _, weights, bias = random_case(seed, X_SHAPE, (2, 2))
        source = write(
            tmp_path / 'tconv.tflite', transpose_conv_model(X_SHAPE, weights, bias, (2, 2), 1)
        )
        paths.append(convert.load_ir(source, cache))
    assert paths[0] != paths[1]
    assert all(p.is_file() and p.with_suffix('.bin').is_file() for p in paths)
    names = sorted(p.name for p in (cache / 'ir').iterdir())
    assert names == sorted(p.parent.name for p in paths)
    assert not [n for n in names if n.startswith('.')]


def unknown_op_model() -> bytes:
    tensors = [TensorSpec('input', (1, 2, 2, 1)), TensorSpec('output', (1, 2, 2, 1))]
    return build_tflite(tensors, [OperatorSpec('NoSuchCustomOp', (0,), (1,))], [0], [1])


def test_unknown_custom_op_names_the_operator_the_file_and_what_to_do(tmp_path):
    source = write(tmp_path / 'unknown_op.tflite', unknown_op_model())
    cache = tmp_path / 'cache'
    with pytest.raises(UnsupportedOperatorError) as caught:
        convert.load_ir(source, cache)
    message = str(caught.value)
    assert 'NoSuchCustomOp' in message and str(source) in message
    assert 'MaxUnpooling2D' in message  # what is supported
    assert 'ONNX or OpenVINO IR' in message and 'selfie-seg models' in message
    assert not (cache / 'ir').exists() or list((cache / 'ir').iterdir()) == []


def test_interrupted_save_leaves_no_partial_ir(tmp_path, monkeypatch):
    _, weights, bias = random_case(5, X_SHAPE, (2, 2))
    source = write(
        tmp_path / 'tconv.tflite', transpose_conv_model(X_SHAPE, weights, bias, (2, 2), 1)
    )
    cache = tmp_path / 'cache'

    def failing_save(model, path, *args, **kwargs):
        Path(path).write_text('<net partial')
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(convert.ov, 'save_model', failing_save)
    with pytest.raises(OSError, match='No space left'):
        convert.load_ir(source, cache)
    assert list((cache / 'ir').iterdir()) == []
    monkeypatch.undo()
    target = convert.load_ir(source, cache)
    assert target.is_file() and target.with_suffix('.bin').is_file()


# --- the real MediaPipe model -------------------------------------------------------------------


@pytest.mark.model
def test_real_selfie_model_has_one_same_stride_2_custom_op(selfie_model_path):
    (op,) = convert.read_operators(selfie_model_path)
    params = custom_ops.transpose_conv_params(op)
    assert params.padding == PADDING_SAME
    assert (params.stride_width, params.stride_height) == (2, 2)
    assert op.input_shapes[1][1:3] == (2, 2)


@pytest.mark.model
def test_real_selfie_model_converts_and_segments_the_astronaut(core, selfie_model_path):
    model = convert.convert_model(selfie_model_path)
    assert list(model.input(0).get_shape()) == [1, 256, 256, 3]
    image = cv2.resize(skimage.data.astronaut(), (256, 256), interpolation=cv2.INTER_LINEAR)
    output = core.compile_model(model, 'CPU')(image[None].astype(np.float32) / 255.0)[0]
    assert output.shape == (1, 256, 256, 1)
    assert output.min() >= 0.0 and output.max() <= 1.0
    person = output[0, :, :, 0] >= 0.5
    assert 0.15 <= person.mean() <= 0.85
    # The face (rows 60-150, columns 185-265 of the 512x512 photo) is person.
    assert person[30:75, 93:132].mean() >= 0.9
    # The top-right corner (sky and the shuttle model) is not.
    assert person[:70, 180:].mean() <= 0.05


@pytest.mark.model
def test_truncated_real_model_raises_model_load_error(tmp_path, selfie_model_path):
    data = selfie_model_path.read_bytes()
    source = write(tmp_path / 'selfie_segmentation.tflite', data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match='selfie_segmentation.tflite'):
        convert.convert_model(source)
