# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Accuracy against MediaPipe's own runtime, on real photos, with masks stored in test/data.

The references are MediaPipe 0.10.21's ``SelfieSegmentation.segmentation_mask`` (see
test/data/README.md; ``benchmarks/parity.py --make-reference test/data`` regenerates them and
prints the full table).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import openvino as ov
import pytest
import skimage.data
from reference_masks import iou, reference_mask

from selfie_seg_ros.engine.catalog import CATALOG
from selfie_seg_ros.engine.segmenter import Segmenter

pytestmark = pytest.mark.model

GENERAL = 'selfie_segmentation'
LANDSCAPE = 'selfie_segmentation_landscape'
PHOTOS = ('astronaut', 'cameraman', 'astronaut_720p')

# Engine as shipped (catalogue default 'stretch', MediaPipe's input sampling, f32 on CPU): it
# reproduces MediaPipe's masks (measured IoU 0.998-1.000, MAE <= 0.0006; docs/BENCHMARKS.md).
ENGINE_BOUNDS = {  # (min IoU, max mean absolute probability difference)
    (model, photo): (0.995, 0.0015) for model in (GENERAL, LANDSCAPE) for photo in PHOTOS
}
# Our converted model, fed exactly as MediaPipe feeds it and computed in f32.
EXACT_MIN_IOU = 0.995
EXACT_MAX_MAD = 0.0015


def parity_image(name: str) -> np.ndarray:
    """The BGR inputs the references were made from (test/data/README.md)."""
    astronaut = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    if name == 'astronaut':
        return astronaut
    if name == 'cameraman':
        return cv2.cvtColor(skimage.data.camera(), cv2.COLOR_GRAY2BGR)
    # 512x512 scaled to 720x720 and centred in 1280x720 between black bars.
    scaled = cv2.resize(astronaut, (720, 720), interpolation=cv2.INTER_LINEAR)
    return cv2.copyMakeBorder(scaled, 0, 0, 280, 280, cv2.BORDER_CONSTANT, value=(0, 0, 0))


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a - b)))


def mediapipe_sampled(segmenter: Segmenter, image: np.ndarray) -> np.ndarray:
    """MediaPipe's CPU pre/post-processing around our model (benchmarks/parity.py explains)."""
    height, width = image.shape[:2]
    model_w, model_h = segmenter.input_size
    scale = np.float32([[model_w / width, 0, 0], [0, model_h / height, 0]])
    tensor_image = cv2.warpAffine(image, scale, (model_w, model_h), flags=cv2.INTER_LINEAR)
    low = segmenter.infer_raw(tensor_image)[..., 0]
    return cv2.resize(low, (width, height), interpolation=cv2.INTER_LINEAR)


@pytest.fixture(scope='module')
def segmenters(
    selfie_model_path: Path, selfie_landscape_model_path: Path, model_cache_dir: Path
) -> Iterator[dict[tuple[str, str], Segmenter]]:
    """{(model id, 'default' | 'f32'): Segmenter}, built once for the module."""
    exact_core = ov.Core()
    exact_core.set_property('CPU', {'INFERENCE_PRECISION_HINT': 'f32'})
    built = {}
    for model_id in (GENERAL, LANDSCAPE):
        built[model_id, 'default'] = Segmenter(
            model=model_id, cache_dir=model_cache_dir, progress=False, allow_download=False)
        built[model_id, 'f32'] = Segmenter(
            model=model_id, cache_dir=model_cache_dir, progress=False, allow_download=False,
            core=exact_core)
    yield built
    for segmenter in built.values():
        segmenter.close()


@pytest.mark.parametrize('photo', PHOTOS)
@pytest.mark.parametrize('model_id', (GENERAL, LANDSCAPE))
def test_engine_matches_mediapipe(segmenters, model_id: str, photo: str) -> None:
    segmenter = segmenters[model_id, 'default']
    assert segmenter.resize_mode == 'stretch'  # what MediaPipe does for these models
    image = parity_image(photo)
    reference = reference_mask(model_id, photo)
    result = segmenter.segment(image)
    assert result.foreground.shape == reference.shape
    min_iou, max_mad = ENGINE_BOUNDS[model_id, photo]
    measured_iou = iou(result.foreground, reference)
    measured_mad = mean_abs_diff(result.foreground, reference)
    assert measured_iou >= min_iou, f'IoU {measured_iou:.4f} < {min_iou}'
    assert measured_mad <= max_mad, f'mean |dp| {measured_mad:.4f} > {max_mad}'
    # The class mask is the thresholded probability: the same IoU as the soft map.
    assert iou(result.mask.astype(np.float32), reference) == pytest.approx(measured_iou)


@pytest.mark.parametrize('photo', PHOTOS)
@pytest.mark.parametrize('model_id', (GENERAL, LANDSCAPE))
def test_model_matches_mediapipe_with_its_sampling_at_f32(
    segmenters, model_id: str, photo: str
) -> None:
    """The converted model itself (incl. Convolution2DTransposeBias) reproduces MediaPipe."""
    probability = mediapipe_sampled(segmenters[model_id, 'f32'], parity_image(photo))
    reference = reference_mask(model_id, photo)
    measured_iou = iou(probability, reference)
    measured_mad = mean_abs_diff(probability, reference)
    assert measured_iou >= EXACT_MIN_IOU, f'IoU {measured_iou:.4f} < {EXACT_MIN_IOU}'
    assert measured_mad <= EXACT_MAX_MAD, f'mean |dp| {measured_mad:.5f} > {EXACT_MAX_MAD}'


def test_stretch_beats_letterbox_for_the_selfie_models(segmenters) -> None:
    """MediaPipe stretches frames into these models; letterboxing them loses the match."""
    for model_id, photo in ((GENERAL, 'astronaut_720p'), (LANDSCAPE, 'astronaut')):
        assert CATALOG[model_id].resize_mode == 'stretch'
        segmenter = segmenters[model_id, 'default']
        image, reference = parity_image(photo), reference_mask(model_id, photo)
        stretched = iou(segmenter.segment(image).foreground, reference)
        segmenter.configure(resize_mode='letterbox')
        try:
            letterboxed = iou(segmenter.segment(image).foreground, reference)
        finally:
            segmenter.configure(resize_mode='auto')
        assert stretched - letterboxed >= 0.05, (model_id, photo, stretched, letterboxed)


def test_references_are_people_masks() -> None:
    """Guard against a broken reference: a person covers a sensible part of each photo."""
    for model_id in (GENERAL, LANDSCAPE):
        for photo in PHOTOS:
            reference = reference_mask(model_id, photo)
            assert reference.shape == parity_image(photo).shape[:2]
            assert 0.2 < np.mean(reference >= 0.5) < 0.7, (model_id, photo)
