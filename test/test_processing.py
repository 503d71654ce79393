# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Pure unit tests of pre/post-processing and the catalogue (synthetic arrays, no model)."""

import sys

import numpy as np
import pytest

from selfie_seg_ros.engine import catalog
from selfie_seg_ros.engine.processing import (
    TemporalSmoother,
    class_mask,
    content_size,
    foreground_probability,
    resize_to_model,
    restore_size,
    to_probabilities,
)


def test_pure_core_imports_neither_rclpy_nor_openvino():
    import subprocess

    code = (
        'import sys, selfie_seg_ros.engine.processing, selfie_seg_ros.engine.effects, '
        'selfie_seg_ros.engine.catalog;'
        'print(sorted(m for m in ("rclpy", "openvino") if m in sys.modules))'
    )
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == '[]'


@pytest.mark.parametrize(
    ('image_size', 'mode', 'expected'),
    [
        ((1280, 720), 'letterbox', (256, 144)),
        ((720, 1280), 'letterbox', (144, 256)),
        ((512, 512), 'letterbox', (256, 256)),
        ((1280, 720), 'stretch', (256, 256)),
        ((10, 1000), 'letterbox', (3, 256)),
    ],
)
def test_content_size(image_size, mode, expected):
    assert content_size(image_size, (256, 256), mode) == expected


def test_letterbox_pads_bottom_right_with_zeros():
    image = np.full((72, 128, 3), 200, np.uint8)
    resized, content = resize_to_model(image, (64, 64), 'letterbox')
    assert resized.shape == (64, 64, 3)
    assert content == (64, 36)
    assert (resized[:36] == 200).all()
    assert (resized[36:] == 0).all()


def test_stretch_fills_the_input():
    image = np.full((72, 128, 3), 7, np.uint8)
    resized, content = resize_to_model(image, (64, 32), 'stretch')
    assert resized.shape == (32, 64, 3)
    assert content == (64, 32)
    assert (resized == 7).all()


@pytest.mark.parametrize('mode', ['letterbox', 'stretch'])
@pytest.mark.parametrize('size', [(640, 480), (480, 640), (1280, 720), (256, 256)])
def test_letterbox_unpad_round_trip_restores_geometry(mode, size):
    width, height = size
    # Left half 0, right half 1: the boundary must come back at the same place.
    plane = np.zeros((height, width), np.float32)
    plane[:, width // 2 :] = 1.0
    resized, content = resize_to_model(plane, (128, 128), mode)
    restored = restore_size(resized, content, size)
    assert restored.shape == (height, width)
    assert np.abs(restored - plane)[:, : width // 2 - 8].max() < 1e-3
    assert np.abs(restored - plane)[:, width // 2 + 8 :].max() < 1e-3


def test_restore_size_nearest_keeps_class_ids():
    plane = np.array([[0, 1], [2, 3]], np.uint8)
    restored = restore_size(plane, (2, 2), (4, 4), nearest=True)
    assert set(np.unique(restored)) == {0, 1, 2, 3}
    assert restored[0, 0] == 0 and restored[3, 3] == 3


def test_unknown_resize_mode_and_zero_size_rejected():
    with pytest.raises(ValueError, match='resize mode'):
        content_size((10, 10), (5, 5), 'crop')  # type: ignore[arg-type]
    with pytest.raises(ValueError, match='zero size'):
        resize_to_model(np.zeros((0, 5, 3), np.uint8), (4, 4), 'stretch')


def test_activations():
    logits = np.array([[[0.0, 2.0, -1.0]]], np.float32)
    probs = to_probabilities(logits, 'softmax')
    assert probs.sum() == pytest.approx(1.0)
    assert probs.argmax() == 1
    assert to_probabilities(np.array([[[0.0]]], np.float32), 'sigmoid')[0, 0, 0] == 0.5
    already = np.array([[[0.2, 0.8]]], np.float32)
    assert to_probabilities(already, 'auto') is already
    assert to_probabilities(logits, 'auto').sum() == pytest.approx(1.0)
    assert to_probabilities(np.array([[[3.0]]], np.float32), 'auto')[0, 0, 0] > 0.95
    assert to_probabilities(already, 'none') is already
    with pytest.raises(ValueError):
        to_probabilities(already, 'relu')


def test_class_mask_argmax_and_threshold():
    probs = np.zeros((2, 2, 3), np.float32)
    probs[0, 0, 2] = probs[0, 1, 1] = probs[1, 0, 0] = probs[1, 1, 2] = 1.0
    assert class_mask(probs).tolist() == [[2, 1], [0, 2]]
    binary = np.array([[[0.2], [0.6]]], np.float32)
    assert class_mask(binary, 0.5).tolist() == [[0, 1]]
    assert class_mask(binary, 0.1).tolist() == [[1, 1]]
    assert class_mask(binary).dtype == np.uint8


def test_foreground_is_the_sum_of_chosen_classes():
    probs = np.zeros((1, 3, 4), np.float32)
    probs[0, 0] = [0.1, 0.2, 0.3, 0.4]
    probs[0, 1] = [1.0, 0.0, 0.0, 0.0]
    probs[0, 2] = [0.0, 0.0, 0.5, 0.5]
    np.testing.assert_allclose(foreground_probability(probs, [1, 2, 3])[0], [0.9, 0.0, 1.0])
    np.testing.assert_allclose(foreground_probability(probs, [3])[0], [0.4, 0.0, 0.5])
    assert foreground_probability(probs, []).max() == 0.0
    binary = np.array([[[0.25]]], np.float32)
    assert foreground_probability(binary, [1])[0, 0] == 0.25
    assert foreground_probability(binary, [0])[0, 0] == 0.75
    with pytest.raises(ValueError, match='out of range'):
        foreground_probability(probs, [4])


def test_temporal_smoother_lags_then_converges():
    smoother = TemporalSmoother(0.5)
    ones = np.ones((2, 2, 1), np.float32)
    first = smoother.update(np.zeros_like(ones)).copy()
    assert first.max() == 0.0
    second = smoother.update(ones).copy()
    np.testing.assert_allclose(second, 0.5)
    for _ in range(20):
        last = smoother.update(ones)
    np.testing.assert_allclose(last, 1.0, atol=1e-5)
    smoother.weight = 0.0
    frame = np.full((2, 2, 1), 0.3, np.float32)
    assert smoother.update(frame) is frame
    with pytest.raises(ValueError):
        TemporalSmoother(1.0)


def test_catalogue_entries_are_consistent():
    for model_id, entry in catalog.CATALOG.items():
        assert entry.model_id == model_id
        assert entry.labels[0] == 'background'
        assert all(0 < c < len(entry.labels) for c in entry.foreground_classes)
        assert entry.resize_mode in ('letterbox', 'stretch')
        assert entry.source is not None and entry.source.filename.endswith('.tflite')
    assert catalog.CATALOG[catalog.DEFAULT_MODEL].labels == catalog.MULTICLASS_LABELS
    assert catalog.CATALOG['deeplab_v3'].labels[15] == 'person'
    assert catalog.CATALOG['selfie_segmentation'].verified
    assert not catalog.CATALOG['selfie_multiclass_256x256'].verified
    with pytest.raises(KeyError, match='known ids') as caught:
        catalog.get_entry('nope')
    assert str(caught.value).startswith("unknown model id 'nope'; known ids: ")


@pytest.mark.parametrize(('text', 'is_path'), [
    ('selfie_segmentation', False), (' selfie_segmentation ', False), ('selfie', False),
    ('model.tflite', True), ('dir/model', True), ('~/model', True), ('frozen.pb', True),
])
def test_one_rule_tells_model_files_from_catalogue_ids(text, is_path):
    assert catalog.is_model_path(text) is is_path


def test_an_existing_file_without_suffix_is_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'mymodel').write_bytes(b'x')
    assert catalog.is_model_path('mymodel')
    assert 'unsupported type' in catalog.check_model_reference('mymodel')


def test_resolve_classes_by_name_and_id():
    labels = catalog.MULTICLASS_LABELS
    assert catalog.resolve_classes(['face-skin', 'hair'], labels) == (1, 3)
    assert catalog.resolve_classes(['4', ' clothes '], labels) == (4,)
    with pytest.raises(ValueError, match='0 background'):
        catalog.resolve_classes(['shoes'], labels)
    with pytest.raises(ValueError):
        catalog.resolve_classes(['9'], labels)
    assert catalog.default_labels(1) == ('class_0', 'class_1')
    assert catalog.default_labels(3) == ('class_0', 'class_1', 'class_2')
