# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""What differs in the catalogue models whose weights cannot be downloaded here, end to end.

The weights are generated (``tflite_builder``) with the real models' shapes, operators and
pre-processing, and put where the catalogue expects the real file, so the catalogue entry's
normalisation, labels, foreground class and resize mode are what runs:

- ``hair_segmenter``: 4-channel input (RGB + previous mask), the three MediaPipe custom ops;
- ``deeplab_v3``: 257x257 input in [-1, 1], 21 Pascal VOC classes, person = class 15;
- ``selfie_segmenter`` / ``selfie_segmenter_landscape``: float16 weights behind DEQUANTIZE and
  ``Convolution2DTransposeBias``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from mediapipe_kernels import conv2d, hair_forward, transpose_conv
from tflite_builder import (
    ACTIVATION_RELU,
    PADDING_SAME,
    ConvOptions,
    GraphBuilder,
    OperatorSpec,
    TensorSpec,
    build_tflite,
    hair_model,
    random_hair_weights,
)

from selfie_seg_ros import cli
from selfie_seg_ros.engine import catalog
from selfie_seg_ros.engine.fetch import cached_model_path
from selfie_seg_ros.engine.segmenter import Segmenter

HAIR_SIZE = 32


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def in_catalogue_cache(cache: Path, model_id: str, data: bytes) -> Path:
    path = cached_model_path(catalog.CATALOG[model_id], cache)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture(scope='module')
def hair_file(tmp_path_factory) -> tuple[Path, object]:
    weights = random_hair_weights(2)
    path = tmp_path_factory.mktemp('hair') / 'hair.tflite'
    path.write_bytes(hair_model(HAIR_SIZE, weights))
    return path, weights


def photo(size: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), np.uint8)


# --- hair segmenter ---------------------------------------------------------------------------


def test_hair_model_file_runs_through_the_api_like_mediapipe(hair_file, tmp_path):
    path, weights = hair_file
    first, second = photo(HAIR_SIZE, 1), photo(HAIR_SIZE, 2)
    with Segmenter(model=str(path), cache_dir=tmp_path, progress=False) as segmenter:
        assert segmenter.recurrent and segmenter.input_size == (HAIR_SIZE, HAIR_SIZE)
        one = segmenter.segment(first, timestamp=1.0)
        two = segmenter.segment(second, timestamp=1.04)
    # First frame: RGB in [0, 1] and an empty fourth channel.
    x = np.zeros((1, HAIR_SIZE, HAIR_SIZE, 4), np.float32)
    x[0, ..., :3] = first[..., ::-1] / 255.0
    p_one = softmax(hair_forward(x, weights))[0, ..., 1]
    # The cached IR stores weights as float16 (OpenVINO's default): a little tolerance.
    np.testing.assert_allclose(one.foreground, p_one, atol=2e-3)
    clear = np.abs(p_one - 0.5) > 0.01
    np.testing.assert_array_equal(one.mask[clear], (p_one[clear] > 0.5).astype(np.uint8))
    # Second frame: the first frame's hair probability, as u8, in the fourth channel.
    x[0, ..., :3] = second[..., ::-1] / 255.0
    x[0, ..., 3] = np.floor(one.foreground * 255.0) / 255.0
    p_two = softmax(hair_forward(x, weights))[0, ..., 1]
    np.testing.assert_allclose(two.foreground, p_two, atol=4e-3)
    # ... and the fourth channel really changed the answer.
    x[0, ..., 3] = 0.0
    assert np.abs(softmax(hair_forward(x, weights))[0, ..., 1] - p_two).max() > 0.05
    assert 0.05 < one.mask.mean() < 0.95


def test_hair_catalogue_entry_runs_generated_weights(hair_file, tmp_path):
    path, _ = hair_file
    in_catalogue_cache(tmp_path, 'hair_segmenter', path.read_bytes())
    with Segmenter(model='hair_segmenter', cache_dir=tmp_path, allow_download=False) as segmenter:
        assert segmenter.labels == ('background', 'hair')
        assert segmenter.resize_mode == 'stretch'
        result = segmenter.segment(photo(100, 3))
    assert result.mask.shape == (100, 100)


def test_hair_model_file_through_the_cli(hair_file, tmp_path, capsys):
    path, _ = hair_file
    image = tmp_path / 'in.png'
    cv2.imwrite(str(image), cv2.resize(photo(HAIR_SIZE, 4), (64, 48)))
    code = cli.main(['image', str(image), '--model', str(path), '--out', str(tmp_path / 'out'),
                     '--cache-dir', str(tmp_path / 'cache')])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert cv2.imread(str(tmp_path / 'out' / 'mask.png'), cv2.IMREAD_UNCHANGED).shape == (48, 64)

    video = tmp_path / 'in.mp4'
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*'mp4v'), 10, (64, 48))
    for seed in range(5):
        writer.write(cv2.resize(photo(HAIR_SIZE, seed), (64, 48)))
    writer.release()
    code = cli.main(['video', str(video), '--model', str(path), '--out', str(tmp_path / 'o.mp4'),
                     '--cache-dir', str(tmp_path / 'cache')])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert '5 frames' in out


def test_unsupported_custom_operator_through_the_cli(tmp_path, capsys):
    tensors = [TensorSpec('input', (1, 8, 8, 3)), TensorSpec('output', (1, 8, 8, 1))]
    path = tmp_path / 'exotic.tflite'
    path.write_bytes(build_tflite(tensors, [OperatorSpec('FancyCustomOp', (0,), (1,))], [0], [1]))
    image = tmp_path / 'in.png'
    cv2.imwrite(str(image), photo(8, 0))
    code = cli.main(['image', str(image), '--model', str(path), '--out', str(tmp_path / 'out'),
                     '--cache-dir', str(tmp_path / 'cache')])
    _, err = capsys.readouterr()
    assert code == 1
    assert 'FancyCustomOp' in err and 'exotic.tflite' in err and 'selfie-seg models' in err
    assert 'Traceback' not in err


# --- deeplab_v3 -------------------------------------------------------------------------------


def deeplab_like() -> tuple[bytes, np.ndarray, np.ndarray]:
    """257x257x3 -> 21 logits: a 1x1 convolution where red says 'person' (class 15)."""
    weights = np.zeros((21, 1, 1, 3), np.float32)
    weights[15, 0, 0, 0] = 8.0  # red, in [-1, 1]
    weights[0, 0, 0, 0] = -8.0
    bias = np.full(21, -3.0, np.float32)
    bias[0] = bias[15] = 0.0
    graph = GraphBuilder((1, 257, 257, 3))
    out = graph.conv(0, weights, bias, ConvOptions())
    return graph.build([out]), weights, bias


def test_deeplab_v3_input_classes_and_person(tmp_path):
    data, weights, bias = deeplab_like()
    in_catalogue_cache(tmp_path, 'deeplab_v3', data)
    image = np.zeros((200, 300, 3), np.uint8)
    image[50:150, 100:200, 2] = 255  # a red block: "person"
    with Segmenter(model='deeplab_v3', cache_dir=tmp_path, allow_download=False) as segmenter:
        assert segmenter.input_size == (257, 257)
        assert segmenter.num_classes == 21 and segmenter.labels[15] == 'person'
        assert segmenter.foreground_classes == (15,)
        assert segmenter.resize_mode == 'stretch'
        model_image = np.random.default_rng(0).integers(0, 256, (257, 257, 3), np.uint8)
        raw = segmenter.infer_raw(model_image)
        result = segmenter.segment(image)
    # [-1, 1] normalisation: (pixel - 127.5) / 127.5 of RGB.
    rgb = (model_image[..., ::-1].astype(np.float32) - 127.5) / 127.5
    np.testing.assert_allclose(raw, conv2d(rgb[None], weights, bias, (1, 1), PADDING_SAME)[0],
                               atol=1e-4)
    assert set(np.unique(result.mask)) == {0, 15}
    assert (result.mask[60:140, 110:190] == 15).all()
    assert (result.mask[:40] == 0).all()
    assert result.foreground[100, 150] > 0.99 and result.foreground[10, 10] < 0.01


# --- float16 Tasks selfie segmenters ----------------------------------------------------------


def float16_selfie(height: int, width: int, seed: int) -> tuple[bytes, dict[str, np.ndarray]]:
    """conv 3x3/2 relu -> Convolution2DTransposeBias 2x2/2 -> 1 logit; float16 weights."""
    rng = np.random.default_rng(seed)
    w = {
        'conv_w': (rng.standard_normal((4, 3, 3, 3)) * 0.5).astype(np.float32),
        'conv_b': (rng.standard_normal(4) * 0.1).astype(np.float32),
        'tconv_w': (rng.standard_normal((1, 2, 2, 4)) * 0.5).astype(np.float32),
        'tconv_b': np.array([0.1], np.float32),
    }
    graph = GraphBuilder((1, height, width, 3))
    x = graph.conv(0, w['conv_w'], w['conv_b'], ConvOptions((2, 2), PADDING_SAME, ACTIVATION_RELU),
                   float16=True)
    x = graph.transpose_conv(x, w['tconv_w'], w['tconv_b'], (2, 2), PADDING_SAME, float16=True)
    return graph.build([x]), w


@pytest.mark.parametrize(
    ('model_id', 'height', 'width'),
    [('selfie_segmenter', 256, 256), ('selfie_segmenter_landscape', 144, 256)],
)
def test_float16_tasks_selfie_segmenters(tmp_path, model_id, height, width):
    data, w = float16_selfie(height, width, seed=height)
    path = in_catalogue_cache(tmp_path, model_id, data)
    from selfie_seg_ros.engine.convert import read_operators

    assert [op.name for op in read_operators(path)] == ['Convolution2DTransposeBias']
    image = np.random.default_rng(1).integers(0, 256, (height, width, 3), np.uint8)
    with Segmenter(model=model_id, cache_dir=tmp_path, allow_download=False) as segmenter:
        assert segmenter.input_size == (width, height)
        raw = segmenter.infer_raw(image)
    # The weights the model really holds: rounded to float16.
    half = {name: value.astype(np.float16).astype(np.float32) for name, value in w.items()}
    rgb = image[None, ..., ::-1].astype(np.float32) / 255.0
    y = conv2d(rgb, half['conv_w'], half['conv_b'], (2, 2), PADDING_SAME, ACTIVATION_RELU)
    expected = transpose_conv(y, half['tconv_w'], half['tconv_b'], (2, 2), PADDING_SAME)[0]
    assert raw.shape == (height, width, 1)
    np.testing.assert_allclose(raw, expected, atol=1e-4)
    # float32 weights would give a different answer: the float16 rounding is really there.
    y32 = conv2d(rgb, w['conv_w'], w['conv_b'], (2, 2), PADDING_SAME, ACTIVATION_RELU)
    full = transpose_conv(y32, w['tconv_w'], w['tconv_b'], (2, 2), PADDING_SAME)[0]
    assert np.abs(full - expected).max() > 1e-4
