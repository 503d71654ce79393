# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Anonymising effects on a real photo with the real MediaPipe selfie model."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

from selfie_seg_ros.engine import effects as fx
from selfie_seg_ros.engine.segmenter import Segmenter

# The astronaut's face in the 512x512 photo: rows 60-150, columns 185-265.
FACE = (slice(60, 150), slice(185, 265))


def detail(image: np.ndarray) -> float:
    """Mean squared Laplacian of the grey image: what makes a face recognisable."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return float(np.mean(cv2.Laplacian(grey, cv2.CV_32F) ** 2))


@pytest.fixture(scope='module')
def astronaut_and_foreground(selfie_model_path, model_cache_dir):
    image = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    with Segmenter(model='selfie_segmentation', cache_dir=model_cache_dir,
                   allow_download=False) as segmenter:
        foreground = segmenter.segment(image).foreground
    return image, foreground


@pytest.mark.model
@pytest.mark.parametrize('effect', fx.ANONYMISING_EFFECTS)
def test_real_face_is_hidden_and_background_kept(astronaut_and_foreground, effect):
    image, foreground = astronaut_and_foreground
    assert foreground[FACE].min() >= 0.5
    out = fx.apply_background_effect(image, foreground, fx.EffectOptions(effect=effect))
    face, face_out = image[FACE], out[FACE]
    unchanged = np.all(face_out == face, axis=-1)
    # Smooth skin can match its blurred value by chance: a handful of pixels, never the face.
    assert unchanged.mean() < 0.01
    if effect == 'blur_people':
        assert detail(face_out) < 0.05 * detail(face)
    else:
        # 55 px tiles: the 90x80 face spans at most 3x3 of them, each one flat colour.
        assert len(np.unique(face_out.reshape(-1, 3), axis=0)) <= 9
    # The top-right corner (sky and the shuttle model) is background: untouched.
    np.testing.assert_array_equal(out[:70, 400:], image[:70, 400:])
