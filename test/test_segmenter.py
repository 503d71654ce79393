# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Segmenter engine: synthetic colour models with known masks, devices, errors, real models.

The synthetic models are built here with OpenVINO opsets; they are test models whose output is a
known function of the pixel colours, not MediaPipe's. The ``model``-marked tests run MediaPipe's
real selfie segmenters on scikit-image's photos.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest
import skimage.data

from selfie_seg_ros.engine.catalog import CATALOG, MULTICLASS_LABELS
from selfie_seg_ros.engine.convert import ModelLoadError
from selfie_seg_ros.engine.errors import ImageTooLargeError, UnknownModelError
from selfie_seg_ros.engine.fetch import FetchError
from selfie_seg_ros.engine.model_pool import ModelPool, one_thread_core
from selfie_seg_ros.engine.segmenter import (
    DeviceError,
    Segmenter,
    check_device,
    openvino_reason,
)

MODEL_SIZE = 64
# RGB colour centre of each class of the synthetic multiclass model.
CENTRES_RGB = np.array(
    [[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [255, 255, 0]],
    dtype=np.uint8,
)
BLACK, RED, GREEN, BLUE, WHITE, YELLOW = range(6)
SHARPNESS = 50.0
BINARY_GAIN = 20.0


def colour_model() -> ov.Model:
    """Synthetic six-class test model (not MediaPipe's): class = nearest colour centre.

    Input [1, 64, 64, 3] float32 NHWC RGB in [0, 1]; output [1, 64, 64, 6] probabilities
    ``softmax(-SHARPNESS * ||rgb - centre_c||^2)`` over black, red, green, blue, white, yellow.
    """
    image = ops.parameter([1, MODEL_SIZE, MODEL_SIZE, 3], np.float32, name='image')
    centres = ops.constant(CENTRES_RGB.astype(np.float32) / 255.0)
    pixels = ops.unsqueeze(image, ops.constant(np.array([3], np.int64)))
    difference = ops.subtract(pixels, centres)
    squared = ops.multiply(difference, difference)
    distance = ops.reduce_sum(squared, ops.constant(np.array([4], np.int64)), keep_dims=False)
    scores = ops.multiply(distance, ops.constant(np.float32(-SHARPNESS)))
    probabilities = ops.softmax(scores, axis=3)
    return ov.Model([probabilities.output(0)], [image], 'synthetic_colour_classes')


def red_model() -> ov.Model:
    """Synthetic single-channel test model (not MediaPipe's): p = sigmoid((R - 0.5) * 20).

    Input [1, 64, 64, 3] float32 NHWC RGB in [0, 1]; output [1, 64, 64, 1].
    """
    image = ops.parameter([1, MODEL_SIZE, MODEL_SIZE, 3], np.float32, name='image')
    red = ops.slice(
        image,
        ops.constant(np.array([0], np.int64)),
        ops.constant(np.array([1], np.int64)),
        ops.constant(np.array([1], np.int64)),
        ops.constant(np.array([3], np.int64)),
    )
    logits = ops.multiply(
        ops.subtract(red, ops.constant(np.float32(0.5))), ops.constant(np.float32(BINARY_GAIN))
    )
    return ov.Model([ops.sigmoid(logits).output(0)], [image], 'synthetic_red_detector')


def save_ir(model: ov.Model, path: Path) -> Path:
    ov.save_model(model, path, compress_to_fp16=False)
    return path


@pytest.fixture(scope='module')
def model_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp('synthetic_models')


@pytest.fixture(scope='module')
def colour_xml(model_dir) -> Path:
    return save_ir(colour_model(), model_dir / 'colours.xml')


@pytest.fixture(scope='module')
def red_xml(model_dir) -> Path:
    return save_ir(red_model(), model_dir / 'red.xml')


@pytest.fixture(scope='module')
def core() -> ov.Core:
    return ov.Core()


@pytest.fixture(scope='module')
def colour_segmenter(colour_xml, model_dir, core):
    with Segmenter(
        model=str(colour_xml), labels=MULTICLASS_LABELS, cache_dir=model_dir, core=core
    ) as segmenter:
        yield segmenter


@pytest.fixture
def segmenter(colour_segmenter):
    """The module's colour segmenter with its live options restored after each test."""
    saved = colour_segmenter.options
    yield colour_segmenter
    colour_segmenter.configure(
        threshold=saved.threshold,
        foreground_classes=saved.foreground_classes,
        resize_mode=saved.resize_mode,
        smoothing=saved.smoothing,
        max_pixels=saved.max_pixels,
    )


@pytest.fixture(scope='module')
def red_segmenter(red_xml, model_dir, core):
    with Segmenter(model=str(red_xml), cache_dir=model_dir, core=core) as segmenter:
        yield segmenter


def label_grid(height: int, width: int, rows: int = 2, cols: int = 3) -> np.ndarray:
    """A rows x cols grid of class blocks covering every class: 0 1 2 / 3 4 5."""
    ys = np.minimum(np.arange(height) * rows // height, rows - 1)
    xs = np.minimum(np.arange(width) * cols // width, cols - 1)
    return (ys[:, None] * cols + xs[None, :]).astype(np.uint8) % len(CENTRES_RGB)


def paint_bgr(labels: np.ndarray) -> np.ndarray:
    """The BGR image whose pixels are the colour centres of ``labels``."""
    return np.ascontiguousarray(CENTRES_RGB[labels][..., ::-1])


def interior(labels: np.ndarray, margin: int) -> np.ndarray:
    """Pixels at least ``margin`` pixels away from any region border."""
    kernel = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
    low = cv2.erode(labels, kernel, borderType=cv2.BORDER_REPLICATE)
    high = cv2.dilate(labels, kernel, borderType=cv2.BORDER_REPLICATE)
    return low == high


def assert_mask_matches(mask: np.ndarray, expected: np.ndarray, margin: int) -> None:
    assert mask.shape == expected.shape
    assert mask.dtype == np.uint8
    inside = interior(expected, margin)
    assert inside.mean() > 0.3
    np.testing.assert_array_equal(mask[inside], expected[inside])
    assert (mask == expected).mean() >= 0.95


# --- exact masks from the synthetic colour model ------------------------------------------------


@pytest.mark.parametrize('mode', ['stretch', 'letterbox'])
def test_mask_at_model_size_is_exact(segmenter, mode):
    segmenter.configure(resize_mode=mode)
    labels = label_grid(MODEL_SIZE, MODEL_SIZE)
    result = segmenter.segment(paint_bgr(labels))
    np.testing.assert_array_equal(result.mask, labels)
    assert result.mask.dtype == np.uint8
    assert result.inference_ms > 0.0
    assert result.timings['segment_ms'] >= result.inference_ms


@pytest.mark.parametrize('mode', ['stretch', 'letterbox'])
@pytest.mark.parametrize(
    ('height', 'width'), [(256, 256), (128, 320), (300, 120), (97, 203), (48, 40), (720, 1280)]
)
def test_mask_at_other_sizes_and_aspect_ratios(segmenter, mode, height, width):
    segmenter.configure(resize_mode=mode)
    labels = label_grid(height, width)
    result = segmenter.segment(paint_bgr(labels))
    # Resampling may move a border by up to one model pixel (`scale` image pixels), no more.
    scale = max(height, width) / MODEL_SIZE
    assert_mask_matches(result.mask, labels, margin=int(np.ceil(scale)) + 1)


def test_bgr_input_reaches_the_model_as_rgb(segmenter):
    labels = np.full((MODEL_SIZE, MODEL_SIZE), RED, np.uint8)
    labels[:, MODEL_SIZE // 2 :] = BLUE
    image = paint_bgr(labels)
    assert tuple(image[0, 0]) == (0, 0, 255)  # red, written in BGR order
    result = segmenter.segment(image)
    np.testing.assert_array_equal(result.mask, labels)
    # The same bytes read as RGB would be blue on the left.
    swapped = segmenter.segment(np.ascontiguousarray(image[..., ::-1]))
    np.testing.assert_array_equal(swapped.mask, np.where(labels == RED, BLUE, RED))


def test_grey_input_is_accepted(segmenter):
    grey = np.zeros((MODEL_SIZE * 2, MODEL_SIZE * 2), np.uint8)
    grey[:, MODEL_SIZE:] = 255
    result = segmenter.segment(grey)
    expected = np.where(grey == 255, WHITE, BLACK).astype(np.uint8)
    assert_mask_matches(result.mask, expected, margin=6)


# --- foreground ---------------------------------------------------------------------------------


def test_default_foreground_is_every_class_but_background(segmenter):
    labels = label_grid(MODEL_SIZE, MODEL_SIZE)
    result = segmenter.segment(paint_bgr(labels))
    assert segmenter.foreground_classes == (1, 2, 3, 4, 5)
    assert result.foreground.dtype == np.float32
    assert result.foreground.shape == labels.shape
    inside = interior(labels, 2)
    np.testing.assert_allclose(result.foreground[inside], (labels != BLACK)[inside], atol=1e-3)


def test_foreground_is_the_sum_of_the_chosen_classes(segmenter):
    labels = label_grid(128, 192)
    image = paint_bgr(labels)
    inside = interior(labels, 8)
    for classes in [(RED,), (RED, WHITE), (GREEN, BLUE, YELLOW)]:
        segmenter.configure(foreground_classes=classes)
        foreground = segmenter.segment(image).foreground
        assert foreground.shape == labels.shape
        assert foreground.min() >= 0.0 and foreground.max() <= 1.0
        wanted = np.isin(labels, classes)
        np.testing.assert_allclose(foreground[inside], wanted[inside], atol=1e-3)
    # The class mask does not depend on the foreground choice.
    assert_mask_matches(segmenter.segment(image).mask, labels, margin=8)


def test_foreground_classes_by_label_name(segmenter, colour_xml, model_dir, core):
    segmenter.configure(foreground_classes=('Face_Skin', 'hair'))
    assert segmenter.foreground_classes == (1, 3)
    assert segmenter.options.foreground_classes == (1, 3)
    with pytest.raises(ValueError, match="unknown foreground class 'wings'; labels: 0 background"):
        segmenter.configure(foreground_classes=('wings',))
    assert segmenter.foreground_classes == (1, 3)  # a rejected change leaves the old one
    with Segmenter(model=str(colour_xml), labels=MULTICLASS_LABELS, cache_dir=model_dir,
                   core=core, foreground_classes=('clothes',)) as built:
        assert built.foreground_classes == (4,)


def test_foreground_can_be_skipped(segmenter):
    result = segmenter.segment(paint_bgr(label_grid(MODEL_SIZE, MODEL_SIZE)), foreground=False)
    assert result.foreground is None
    np.testing.assert_array_equal(result.mask, label_grid(MODEL_SIZE, MODEL_SIZE))


# --- labels and options -------------------------------------------------------------------------


def test_labels_come_through(segmenter):
    assert segmenter.labels == MULTICLASS_LABELS
    assert segmenter.num_classes == 6
    assert segmenter.input_size == (MODEL_SIZE, MODEL_SIZE)
    assert segmenter.device == 'CPU'


def test_default_labels_without_labels(colour_xml, model_dir, core):
    with Segmenter(model=str(colour_xml), cache_dir=model_dir, core=core) as segmenter:
        assert segmenter.labels == tuple(f'class_{i}' for i in range(6))


def test_wrong_label_count_is_an_error(colour_xml, model_dir, core):
    with pytest.raises(ModelLoadError, match='6 classes but 2 labels'):
        Segmenter(
            model=str(colour_xml), labels=('background', 'person'), cache_dir=model_dir, core=core
        )


@pytest.mark.parametrize(
    ('changes', 'message'),
    [
        ({'model': 'selfie_segmentation'}, 'model cannot change live'),
        ({'device': 'GPU'}, 'device cannot change live'),
        ({'cache_dir': '/tmp'}, 'cache_dir cannot change live'),
        ({'threshold': 1.5}, 'threshold must be in'),
        ({'threshold': -0.1}, 'threshold must be in'),
        ({'resize_mode': 'crop'}, 'resize_mode must be one of'),
        ({'foreground_classes': (6,)}, 'out of range'),
        ({'foreground_classes': (-1, 1)}, 'out of range'),
        ({'smoothing': 1.0}, 'smoothing'),
        ({'smoothing': -0.5}, 'smoothing'),
        ({'max_pixels': 0}, 'max_pixels must be in'),
        ({'max_pixels': 1 << 40}, 'max_pixels must be in'),
    ],
)
def test_configure_rejects_fixed_options_and_bad_values(segmenter, changes, message):
    before = segmenter.options
    with pytest.raises(ValueError, match=message):
        segmenter.configure(**changes)
    assert segmenter.options == before


def test_configure_applies_live_options(segmenter):
    segmenter.configure(threshold=0.7, foreground_classes=(2, 3), resize_mode='stretch')
    assert segmenter.options.threshold == 0.7
    assert segmenter.foreground_classes == (2, 3)
    assert segmenter.resize_mode == 'stretch'


def test_local_model_defaults_to_letterbox(segmenter):
    assert segmenter.options.resize_mode == 'auto'
    assert segmenter.resize_mode == 'letterbox'


# --- temporal smoothing -------------------------------------------------------------------------


def test_smoothing_lags_after_a_change_then_converges(segmenter):
    red = paint_bgr(np.full((MODEL_SIZE, MODEL_SIZE), RED, np.uint8))
    green = paint_bgr(np.full((MODEL_SIZE, MODEL_SIZE), GREEN, np.uint8))
    segmenter.configure(smoothing=0.9, foreground_classes=(RED,))
    for _ in range(3):
        assert (segmenter.segment(red).mask == RED).all()
    lagging = segmenter.segment(green)
    assert (lagging.mask == RED).all()
    np.testing.assert_allclose(lagging.foreground, 0.9, atol=1e-3)
    previous = 0.9
    for _ in range(60):
        result = segmenter.segment(green)
        assert result.foreground.max() <= previous + 1e-6
        previous = float(result.foreground.max())
    assert (result.mask == GREEN).all()
    assert result.foreground.max() < 0.01
    # Turning smoothing off follows the frame at once.
    segmenter.configure(smoothing=0.0)
    assert (segmenter.segment(red).mask == RED).all()


def test_without_smoothing_a_change_shows_at_once(segmenter):
    red = paint_bgr(np.full((MODEL_SIZE, MODEL_SIZE), RED, np.uint8))
    green = paint_bgr(np.full((MODEL_SIZE, MODEL_SIZE), GREEN, np.uint8))
    segmenter.segment(red)
    assert (segmenter.segment(green).mask == GREEN).all()


# --- bad input images ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    'image',
    [
        np.zeros((32, 32, 3), np.float32),
        np.zeros((32, 32, 3), np.uint16),
        np.zeros((32, 32, 4), np.uint8),
        np.zeros((32, 32, 1), np.uint8),
        np.zeros((2, 32, 32, 3), np.uint8),
        np.zeros(32, np.uint8),
    ],
    ids=['float32', 'uint16', 'bgra', 'one-channel-3d', '4d', '1d'],
)
def test_unsupported_images_raise_value_error(segmenter, image):
    with pytest.raises(ValueError, match='expected an HxWx3 uint8'):
        segmenter.segment(image)


@pytest.mark.parametrize('shape', [(0, 32, 3), (32, 0, 3), (0, 32), (0, 0)])
def test_zero_size_images_raise_value_error(segmenter, shape):
    with pytest.raises(ValueError, match='zero size'):
        segmenter.segment(np.zeros(shape, np.uint8))


# --- single-channel (binary) model --------------------------------------------------------------


def red_ramp(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """A BGR image whose red channel rises from 0 to 255 left to right; returns it and R/255."""
    red = np.round(np.linspace(0, 255, width)).astype(np.uint8)
    image = np.zeros((height, width, 3), np.uint8)
    image[..., 2] = red[None, :]
    return image, red.astype(np.float64) / 255.0


def expected_edge(red: np.ndarray, threshold: float) -> int:
    """First column where sigmoid((R - 0.5) * gain) >= threshold."""
    probability = 1.0 / (1.0 + np.exp(-(red - 0.5) * BINARY_GAIN))
    return int(np.argmax(probability >= threshold))


@pytest.mark.parametrize('width', [MODEL_SIZE, 640])
@pytest.mark.parametrize('threshold', [0.5, 0.1, 0.9])
def test_binary_mask_is_the_thresholded_probability(red_segmenter, width, threshold):
    red_segmenter.configure(threshold=threshold)
    image, red = red_ramp(48, width)
    result = red_segmenter.segment(image)
    assert result.mask.shape == (48, width) and result.mask.dtype == np.uint8
    assert set(np.unique(result.mask)) <= {0, 1}
    edge = expected_edge(red, threshold)
    # The mask is the upsampled probability thresholded at image resolution, so its edge is
    # placed finer than one model pixel (10 px at 640). Sampling like MediaPipe (model pixel j
    # reads image x = j * w / W) and upsampling with cv2.resize (half-pixel centres), as
    # MediaPipe does, shifts it by (w / W - 1) / 2 = 4.5 px at 640.
    tolerance = 1 if width == MODEL_SIZE else 6
    columns = result.mask.mean(axis=0)
    assert (columns[: edge - tolerance] == 0).all()
    assert (columns[edge + tolerance :] == 1).all()
    np.testing.assert_array_equal(result.mask, result.foreground >= threshold)
    red_segmenter.configure(threshold=0.5)


@pytest.mark.parametrize('width', [MODEL_SIZE, 640])
def test_binary_results_written_into_given_buffers_equal_fresh_ones(red_segmenter, width):
    image, _ = red_ramp(48, width)
    fresh = red_segmenter.segment(image)
    mask_out = np.full((48, width), 7, np.uint8)
    foreground_out = np.full((48, width), -1.0, np.float32)
    result = red_segmenter.segment(image, mask_out=mask_out, foreground_out=foreground_out)
    assert result.mask is mask_out and result.foreground is foreground_out
    np.testing.assert_array_equal(mask_out, fresh.mask)
    np.testing.assert_array_equal(foreground_out, fresh.foreground)


def test_buffers_that_do_not_fit_are_not_used(segmenter):
    image = np.zeros((40, 50, 3), np.uint8)
    wrong = np.zeros((40, 49), np.uint8)
    result = segmenter.segment(image, mask_out=wrong,
                               foreground_out=np.zeros((40, 50), np.float64))
    assert result.mask is not wrong and result.mask.shape == (40, 50)
    assert result.foreground.dtype == np.float32
    multiclass_out = np.full((40, 50), 9, np.uint8)
    assert segmenter.segment(image, mask_out=multiclass_out).mask is multiclass_out
    np.testing.assert_array_equal(multiclass_out, segmenter.segment(image).mask)


def test_binary_model_threshold_moves_the_edge(red_segmenter):
    image, _ = red_ramp(32, 640)
    areas = []
    for threshold in (0.2, 0.5, 0.8):
        red_segmenter.configure(threshold=threshold)
        areas.append(red_segmenter.segment(image).mask.mean())
    red_segmenter.configure(threshold=0.5)
    assert areas[0] > areas[1] > areas[2]


def test_binary_model_labels_and_foreground(red_segmenter):
    assert red_segmenter.num_classes == 2
    assert red_segmenter.labels == ('class_0', 'class_1')
    assert red_segmenter.foreground_classes == (1,)
    image, red = red_ramp(16, MODEL_SIZE)
    foreground = red_segmenter.segment(image).foreground
    assert foreground.dtype == np.float32
    expected = 1.0 / (1.0 + np.exp(-(red - 0.5) * BINARY_GAIN))
    np.testing.assert_allclose(foreground, np.broadcast_to(expected, foreground.shape), atol=1e-3)


# --- devices ------------------------------------------------------------------------------------


def test_unknown_device_lists_the_available_ones(colour_xml, model_dir, core):
    with pytest.raises(DeviceError, match=r"'TPU' is not available; available devices: .*CPU"):
        Segmenter(model=str(colour_xml), device='TPU', cache_dir=model_dir, core=core)


def test_device_is_checked_before_any_fetch(tmp_path):
    with pytest.raises(DeviceError, match='TPU'):
        Segmenter(model='selfie_segmentation', device='TPU', cache_dir=tmp_path)
    assert not (tmp_path / 'models').exists()


@pytest.mark.parametrize(
    ('device', 'available'),
    [
        ('CPU', ['CPU']),
        ('AUTO', ['CPU']),
        ('GPU', ['GPU.0']),
        ('GPU.1', ['CPU', 'GPU.0', 'GPU.1']),
        ('MULTI:CPU', ['CPU']),
        ('HETERO:GPU,CPU', ['CPU', 'GPU']),
        ('AUTO:GPU,CPU', ['CPU', 'GPU.0']),
    ],
)
def test_check_device_accepts_present_devices(device, available):
    check_device(device, available)


@pytest.mark.parametrize(
    ('device', 'available', 'missing'),
    [
        ('GPU', ['CPU'], 'GPU'),
        ('GPU.1', ['CPU', 'GPU.0'], 'GPU.1'),
        ('HETERO:GPU,CPU', ['CPU'], 'GPU'),
        ('MULTI:CPU,NPU', ['CPU'], 'NPU'),
        ('TPU', ['CPU'], 'TPU'),
    ],
)
def test_check_device_rejects_absent_devices(device, available, missing):
    with pytest.raises(DeviceError, match=f"'{missing}'.* is not available.*CPU"):
        check_device(device, available)


def test_cpu_takes_no_device_index():
    """OpenVINO refuses 'CPU.0' at compile time; validation refuses it with the reason."""
    with pytest.raises(DeviceError, match="'CPU.0' is not available: CPU takes no device index"):
        check_device('CPU.0', ['CPU'])
    with pytest.raises(DeviceError, match='CPU takes no device index'):
        check_device('HETERO:GPU,CPU.0', ['CPU', 'GPU'])
    check_device('GPU.0', ['CPU', 'GPU'])


@pytest.mark.parametrize('device', ['', '  ', 'HETERO', 'MULTI'])
def test_check_device_rejects_empty_and_incomplete_names(device):
    with pytest.raises(DeviceError, match='available devices: CPU'):
        check_device(device, ['CPU'])


# --- model resolution errors --------------------------------------------------------------------


def test_unknown_catalogue_id_lists_the_ids(tmp_path):
    with pytest.raises(UnknownModelError, match='no_such_model') as caught:
        Segmenter(model='no_such_model', cache_dir=tmp_path)
    for model_id in CATALOG:
        assert model_id in str(caught.value)
    assert isinstance(caught.value, KeyError)
    # The message as it is, not KeyError's quoted repr.
    assert str(caught.value).startswith("unknown model 'no_such_model': not a file")


def test_missing_catalogue_model_without_downloads_says_where_to_put_it(tmp_path):
    with pytest.raises(FetchError, match='downloads are disabled') as caught:
        Segmenter(model='selfie_segmentation', cache_dir=tmp_path, allow_download=False)
    assert str(tmp_path / 'models' / 'selfie_segmentation') in str(caught.value)


@pytest.mark.parametrize('name', ['missing.tflite', 'missing.xml', 'sub/missing'])
def test_missing_local_file_raises_model_load_error(tmp_path, name):
    with pytest.raises(ModelLoadError, match='model file not found'):
        Segmenter(model=str(tmp_path / name), cache_dir=tmp_path)


# --- the real MediaPipe selfie models -----------------------------------------------------------


@pytest.fixture(scope='module')
def selfie(selfie_model_path, model_cache_dir, core):
    with Segmenter(
        model='selfie_segmentation', cache_dir=model_cache_dir, core=core, progress=False
    ) as segmenter:
        assert segmenter.source_path == selfie_model_path
        yield segmenter


@pytest.fixture(scope='module')
def selfie_landscape(selfie_landscape_model_path, model_cache_dir, core):
    with Segmenter(
        model='selfie_segmentation_landscape', cache_dir=model_cache_dir, core=core, progress=False
    ) as segmenter:
        assert segmenter.source_path == selfie_landscape_model_path
        yield segmenter


def astronaut_bgr() -> np.ndarray:
    return np.ascontiguousarray(skimage.data.astronaut()[..., ::-1])


# Boxes (rows, columns) of the 512x512 photos that are certainly the person.
ASTRONAUT_FACE = (slice(60, 150), slice(185, 265))
CAMERAMAN_HEAD = (slice(100, 190), slice(180, 245))


@pytest.mark.model
def test_real_model_finds_the_astronaut(selfie):
    assert selfie.input_size == (256, 256)
    assert selfie.labels == ('background', 'person')
    result = selfie.segment(astronaut_bgr())
    assert result.mask.shape == (512, 512) and result.mask.dtype == np.uint8
    assert result.mask[ASTRONAUT_FACE].mean() >= 0.9
    assert 0.15 <= result.mask.mean() <= 0.85
    # Sky and the shuttle model (top right) are background.
    assert result.mask[:140, 360:].mean() <= 0.05


@pytest.mark.model
def test_real_model_finds_the_cameraman_in_a_grey_photo(selfie):
    result = selfie.segment(skimage.data.camera())
    assert result.mask.shape == (512, 512)
    assert result.mask[CAMERAMAN_HEAD].mean() >= 0.9
    assert 0.15 <= result.mask.mean() <= 0.85
    assert result.mask[:60].mean() <= 0.05  # the sky


@pytest.mark.model
@pytest.mark.parametrize('photo', ['rocket', 'brick'])
def test_real_model_finds_no_one_in_photos_without_people(selfie, photo):
    image = getattr(skimage.data, photo)()
    if image.ndim == 3:
        image = np.ascontiguousarray(image[..., ::-1])
    assert selfie.segment(image).mask.mean() < 0.05


@pytest.mark.model
def test_real_model_output_has_the_input_size(selfie):
    image = cv2.resize(astronaut_bgr(), (1280, 720), interpolation=cv2.INTER_LINEAR)
    result = selfie.segment(image)
    assert result.mask.shape == (720, 1280) and result.mask.dtype == np.uint8
    assert result.foreground.shape == (720, 1280) and result.foreground.dtype == np.float32
    assert result.foreground.min() >= 0.0 and result.foreground.max() <= 1.0
    np.testing.assert_array_equal(result.mask, result.foreground >= 0.5)
    assert 0.15 <= result.mask.mean() <= 0.85


@pytest.mark.model
def test_real_landscape_model(selfie_landscape):
    assert selfie_landscape.input_size == (256, 144)
    result = selfie_landscape.segment(astronaut_bgr())
    assert result.mask.shape == (512, 512)
    assert result.mask[ASTRONAUT_FACE].mean() >= 0.9
    assert 0.15 <= result.mask.mean() <= 0.85
    wide = selfie_landscape.segment(cv2.resize(astronaut_bgr(), (1280, 720)))
    assert wide.mask.shape == (720, 1280)


# --- shared compiled models -------------------------------------------------------------------


def test_pooled_segmenters_share_one_compiled_model_with_own_requests(colour_xml, model_dir):
    pool = ModelPool()
    first = Segmenter(model=str(colour_xml), cache_dir=model_dir, pool=pool, progress=False)
    second = Segmenter(model=str(colour_xml), cache_dir=model_dir, pool=pool, progress=False)
    assert len(pool) == 1
    assert first._compiled is second._compiled
    assert first._request is not second._request
    image = np.zeros((MODEL_SIZE, MODEL_SIZE, 3), np.uint8)
    image[:, MODEL_SIZE // 2:] = (0, 0, 255)  # BGR red on the right
    np.testing.assert_array_equal(first.segment(image).mask, second.segment(image).mask)
    assert (first.segment(image).mask[:, -1] == RED).all()
    first.close()
    assert len(pool) == 1  # still used by the second one
    second.close()
    assert len(pool) == 0


def test_pool_compiles_per_device_settings_and_survives_a_failed_build(colour_xml, model_dir):
    pool = ModelPool()
    f32 = Segmenter(model=str(colour_xml), cache_dir=model_dir, pool=pool, progress=False)
    hint = Segmenter(model=str(colour_xml), cache_dir=model_dir, pool=pool, progress=False,
                     performance_hint='THROUGHPUT')
    assert len(pool) == 2 and f32._compiled is not hint._compiled
    with pytest.raises(ValueError):
        Segmenter(model=str(colour_xml), cache_dir=model_dir, pool=pool, progress=False,
                  foreground_classes=(99,))
    f32.close()
    hint.close()
    assert len(pool) == 0


def test_one_thread_core_compiles_cpu_models_on_one_thread(colour_xml, model_dir):
    pool = ModelPool(one_thread_core())
    with Segmenter(model=str(colour_xml), cache_dir=model_dir, pool=pool,
                   progress=False) as segmenter:
        assert int(segmenter._compiled.get_property('INFERENCE_NUM_THREADS')) == 1
        assert segmenter.segment(np.zeros((8, 8, 3), np.uint8)).mask.shape == (8, 8)


# --- pixel limit --------------------------------------------------------------------------------


def test_images_above_the_pixel_limit_are_refused_before_any_work(segmenter):
    segmenter.configure(max_pixels=MODEL_SIZE * MODEL_SIZE)
    assert segmenter.segment(np.zeros((MODEL_SIZE, MODEL_SIZE, 3), np.uint8)).mask.shape == (
        MODEL_SIZE, MODEL_SIZE)
    with pytest.raises(ImageTooLargeError, match=f'{MODEL_SIZE + 1}x{MODEL_SIZE}'):
        segmenter.segment(np.zeros((MODEL_SIZE, MODEL_SIZE + 1), np.uint8))


def test_a_huge_view_is_refused_without_being_read(segmenter):
    """A 2**31-pixel view of a tiny buffer: reading it would crash; it must be refused."""
    fake = np.lib.stride_tricks.as_strided(np.zeros(8, np.uint8), (1 << 16, 1 << 15, 3), (0, 0, 0))
    with pytest.raises(ImageTooLargeError, match='more than the limit'):
        segmenter.segment(fake)


def test_default_pixel_limit_admits_8k(segmenter):
    assert segmenter.options.max_pixels >= 7680 * 4320


def test_compile_errors_carry_no_source_locations():
    error = RuntimeError(
        'Exception from src/inference/src/cpp/core.cpp:117:\n'
        'Exception from src/inference/src/dev/plugin.cpp:54:\n'
        "Check 'device_id.empty()' failed at src/plugins/intel_cpu/src/config.cpp:247:\n"
        "CPU plugin supports only '' as device id\n\n\n")
    assert openvino_reason(error) == "CPU plugin supports only '' as device id"
