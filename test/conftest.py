# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Shared fixtures: the real MediaPipe selfie models, fetched once into a project-local cache."""

from __future__ import annotations

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
