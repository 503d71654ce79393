# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Unit tests of the effects core on synthetic arrays."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from selfie_seg_ros.engine import effects as fx
from selfie_seg_ros.engine.catalog import BINARY_LABELS, MULTICLASS_LABELS, PASCAL_VOC_LABELS
from selfie_seg_ros.engine.processing import cover_crop

TUTORIAL_RGB = {
    'background': (192, 192, 192),
    'hair': (128, 0, 0),
    'body-skin': (255, 229, 204),
    'face-skin': (255, 204, 204),
    'clothes': (0, 0, 128),
    'others': (128, 0, 128),
}


def textured(height: int = 120, width: int = 160, seed: int = 0) -> np.ndarray:
    """A BGR test card: noise, stripes of several periods and hard edges."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 128 + 50 * np.sin(xx / 3.0) + 30 * np.cos(yy / 7.0)
    image = np.stack([base, base[:, ::-1], base[::-1]], axis=-1)
    image += rng.normal(0, 20, image.shape)
    image[:, width // 3: width // 2] = 240
    return np.clip(image, 0, 255).astype(np.uint8)


def hf_energy(image: np.ndarray) -> float:
    """Mean squared Laplacian: high-frequency energy."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return float(np.mean(cv2.Laplacian(grey, cv2.CV_32F) ** 2))


def ones(image: np.ndarray, value: float = 1.0) -> np.ndarray:
    return np.full(image.shape[:2], value, np.float32)


# --- palettes -------------------------------------------------------------------------------


def test_multiclass_palette_uses_tutorial_colours_in_bgr():
    palette = fx.make_palette(MULTICLASS_LABELS)
    assert palette.shape == (6, 3)
    assert palette.dtype == np.uint8
    for class_id, name in enumerate(MULTICLASS_LABELS):
        assert tuple(palette[class_id]) == TUTORIAL_RGB[name][::-1]


def test_multiclass_palette_accepts_spelling_variants():
    variants = ('Background', 'hair', 'body skin', 'face_skin', 'clothes', 'others')
    np.testing.assert_array_equal(fx.make_palette(variants), fx.make_palette(MULTICLASS_LABELS))


def test_binary_palette_has_dark_background_and_strong_person():
    palette = fx.make_palette(BINARY_LABELS)
    assert palette.shape == (2, 3)
    background, person = palette.astype(int)
    assert background.max() <= 64
    assert person.max() == 255
    assert person.max() - person.min() >= 200  # saturated, not grey


def test_pascal_voc_palette_is_the_voc_colour_map():
    palette = fx.make_palette(PASCAL_VOC_LABELS)
    assert palette.shape == (21, 3)
    assert len({tuple(row) for row in palette}) == 21
    assert tuple(palette[0]) == (0, 0, 0)
    assert tuple(palette[1]) == (0, 0, 128)  # aeroplane, RGB (128, 0, 0)
    assert tuple(palette[2]) == (0, 128, 0)  # bicycle
    assert tuple(palette[15]) == (128, 128, 192)  # person, RGB (192, 128, 128)


def test_arbitrary_palette_is_distinct_and_deterministic():
    labels = [f'class_{i}' for i in range(300)]
    palette = fx.make_palette(labels)
    assert palette.shape == (300, 3)
    assert len({tuple(row) for row in palette}) == 300
    np.testing.assert_array_equal(palette, fx.make_palette(labels))


def test_empty_palette_is_rejected():
    with pytest.raises(ValueError, match='at least one class'):
        fx.make_palette([])


# --- colorize / overlay ---------------------------------------------------------------------


def test_colorize_maps_every_id_to_its_row():
    palette = fx.make_palette(MULTICLASS_LABELS)
    mask = np.random.default_rng(1).integers(0, 6, (37, 53), dtype=np.uint8)
    colored = fx.colorize(mask, palette)
    assert colored.shape == (37, 53, 3)
    assert colored.dtype == np.uint8
    np.testing.assert_array_equal(colored, palette[mask])


def test_colorize_paints_unknown_ids_black():
    palette = fx.make_palette(BINARY_LABELS)
    mask = np.array([[0, 1, 2, 200, 255]], np.uint8)
    colored = fx.colorize(mask, palette)
    np.testing.assert_array_equal(colored[0, :2], palette)
    assert not colored[0, 2:].any()


def test_colorize_wide_integer_masks():
    palette = fx.make_palette(MULTICLASS_LABELS)
    mask = np.array([[-1, 0, 5, 6, 1000]], np.int64)
    colored = fx.colorize(mask, palette)
    np.testing.assert_array_equal(colored[0, 1], palette[0])
    np.testing.assert_array_equal(colored[0, 2], palette[5])
    assert not colored[0, [0, 3, 4]].any()


def test_colorize_writes_into_out():
    palette = fx.make_palette(MULTICLASS_LABELS)
    mask = np.random.default_rng(2).integers(0, 6, (10, 12), dtype=np.uint8)
    out = np.zeros((10, 12, 3), np.uint8)
    assert fx.colorize(mask, palette, out=out) is out
    np.testing.assert_array_equal(out, palette[mask])


@pytest.mark.parametrize(
    ('mask', 'palette', 'message'),
    [
        (np.zeros((4, 4), np.float32), np.zeros((2, 3), np.uint8), 'integer class-id'),
        (np.zeros((4, 4, 1), np.uint8), np.zeros((2, 3), np.uint8), 'integer class-id'),
        (np.zeros((4, 4), np.uint8), np.zeros((2, 4), np.uint8), r'\(N, 3\) uint8'),
        (np.zeros((4, 4), np.uint8), np.zeros((2, 3), np.float32), r'\(N, 3\) uint8'),
        ([[0, 1]], np.zeros((2, 3), np.uint8), 'numpy array'),
    ],
)
def test_colorize_rejects_bad_inputs(mask, palette, message):
    with pytest.raises(ValueError, match=message):
        fx.colorize(mask, palette)


def test_overlay_endpoints_and_midpoint():
    image = textured(40, 60)
    palette = fx.make_palette(MULTICLASS_LABELS)
    mask = np.random.default_rng(3).integers(0, 6, (40, 60), dtype=np.uint8)
    colored = palette[mask]
    np.testing.assert_array_equal(fx.overlay(image, mask, palette, 0.0), image)
    np.testing.assert_array_equal(fx.overlay(image, mask, palette, 1.0), colored)
    half = fx.overlay(image, mask, palette, 0.5).astype(int)
    expected = (image.astype(float) + colored) / 2
    assert np.abs(half - expected).max() <= 1.0
    np.testing.assert_array_equal(
        fx.overlay(image, mask, palette, 0.3, colored=colored),
        fx.overlay(image, mask, palette, 0.3),
    )


def test_overlay_rejects_bad_inputs():
    image = textured(20, 30)
    palette = fx.make_palette(BINARY_LABELS)
    mask = np.zeros((20, 30), np.uint8)
    with pytest.raises(ValueError, match=r'alpha must be in \[0, 1\]'):
        fx.overlay(image, mask, palette, 1.5)
    with pytest.raises(ValueError, match='does not match image size'):
        fx.overlay(image, np.zeros((10, 30), np.uint8), palette, 0.5)
    with pytest.raises(ValueError, match='HxWx3 uint8 BGR'):
        fx.overlay(image[..., 0], mask, palette, 0.5)
    with pytest.raises(ValueError, match='colored shape'):
        fx.overlay(image, mask, palette, 0.5, colored=np.zeros((10, 10, 3), np.uint8))


# --- composite ------------------------------------------------------------------------------


def test_composite_exact_at_zero_and_one_and_rounded_between():
    front = textured(30, 40, seed=4)
    back = textured(30, 40, seed=5)[::-1].copy()
    np.testing.assert_array_equal(fx.composite(front, back, ones(front)), front)
    np.testing.assert_array_equal(fx.composite(front, back, ones(front, 0.0)), back)
    alpha = np.random.default_rng(6).random((30, 40), dtype=np.float32)
    expected = alpha[..., None] * front + (1 - alpha[..., None]) * back
    result = fx.composite(front, back, alpha)
    assert result.dtype == np.uint8
    assert np.abs(result - expected).max() <= 0.51


def test_composite_greyscale_and_out():
    front = np.full((5, 6), 200, np.uint8)
    back = np.full((5, 6), 100, np.uint8)
    out = np.zeros_like(front)
    result = fx.composite(front, back, ones(front, 0.25), out=out)
    assert result is out
    assert (out == 125).all()


@pytest.mark.parametrize(
    ('front', 'back', 'alpha', 'message'),
    [
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8),
         np.zeros((4, 4), np.float32), 'does not match back'),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.uint8),
         np.zeros((4, 4), np.float64), 'float32'),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.uint8),
         np.zeros((4, 5), np.float32), r'shape \(4, 4\)'),
        (np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 3), np.uint8),
         np.zeros((4, 4), np.float32), 'front must be'),
    ],
)
def test_composite_rejects_bad_inputs(front, back, alpha, message):
    with pytest.raises(ValueError, match=message):
        fx.composite(front, back, alpha)


# --- blur -----------------------------------------------------------------------------------


def test_blur_strength_one_is_identity():
    image = textured()
    np.testing.assert_array_equal(fx.blur_image(image, 1), image)
    result = fx.blur_background(image, ones(image, 0.0), 1)
    np.testing.assert_array_equal(result, image)
    assert result is not image


@pytest.mark.parametrize('strength', [3, 5, 9])
def test_small_blur_is_opencv_gaussian_blur(strength):
    image = textured()
    expected = cv2.GaussianBlur(image, (strength, strength), 0)
    np.testing.assert_array_equal(fx.blur_image(image, strength), expected)


@pytest.mark.parametrize('strength', [15, 31, 55, 101, 301])
def test_reduced_resolution_blur_matches_full_size_blur(strength):
    image = textured(360, 480)
    expected = cv2.GaussianBlur(image, (strength, strength), 0).astype(float)
    diff = np.abs(fx.blur_image(image, strength) - expected)
    assert diff.mean() < 0.6
    assert np.percentile(diff, 99) <= 3


def test_blur_does_not_shift_the_image():
    image = np.zeros((240, 320, 3), np.uint8)
    image[100:140, 150:190] = 255
    blurred = fx.blur_image(image, 101)[..., 0].astype(float)
    yy, xx = np.mgrid[0:240, 0:320]
    assert abs((blurred * yy).sum() / blurred.sum() - 119.5) < 0.5
    assert abs((blurred * xx).sum() / blurred.sum() - 169.5) < 0.5


def test_blur_keeps_flat_images_flat():
    image = np.full((90, 130, 3), (10, 120, 250), np.uint8)
    for strength in (7, 55, 301):
        np.testing.assert_array_equal(fx.blur_image(image, strength), image)


STRENGTH_LADDER = (1, 2, 3, 5, 7, 9, 11, 15, 21, 31, 41, 55, 75, 101, 151, 201, 251, 301)


def test_blur_strength_is_monotonic():
    image = textured(240, 320)
    blurred = [fx.blur_image(image, s) for s in STRENGTH_LADDER]
    # Fine detail: the Laplacian, up to where uint8 rounding noise (a floor of ~2 here, for
    # OpenCV's own full-size blur too) is all that is left of it.
    energies = [hf_energy(b) for b in blurred[:8]]
    assert all(a > b for a, b in zip(energies, energies[1:], strict=False)), energies
    assert energies[-1] < energies[0] / 500
    # All non-constant content: a Gaussian shrinks every frequency, so the spread falls.
    spreads = [float(b.astype(float).std(axis=(0, 1)).mean()) for b in blurred]
    assert all(a > b for a, b in zip(spreads, spreads[1:], strict=False)), spreads


def test_blur_background_keeps_foreground_and_blurs_background():
    image = textured()
    np.testing.assert_array_equal(fx.blur_background(image, ones(image), 55), image)
    np.testing.assert_array_equal(
        fx.blur_background(image, ones(image, 0.0), 55), fx.blur_image(image, 55)
    )


def test_blur_background_smooths_edges_only_where_background():
    image = np.zeros((200, 200, 3), np.uint8)
    image[:, 100:] = 255  # sharp vertical edge through both halves
    foreground = np.zeros((200, 200), np.float32)
    foreground[:100] = 1.0  # top half is the person
    result = fx.blur_background(image, foreground, 31).astype(int)
    top_step = np.abs(np.diff(result[50, :, 1])).max()
    bottom_step = np.abs(np.diff(result[150, :, 1])).max()
    assert top_step == 255
    assert bottom_step < 40
    np.testing.assert_array_equal(result[:100], image[:100])


def test_blur_background_edge_is_soft():
    image = textured()
    ramp = np.tile(np.linspace(0, 1, image.shape[1], dtype=np.float32), (image.shape[0], 1))
    blurred = fx.blur_image(image, 55).astype(float)
    expected = ramp[..., None] * image + (1 - ramp[..., None]) * blurred
    result = fx.blur_background(image, ramp, 55)
    assert np.abs(result - expected).max() <= 0.51


@pytest.mark.parametrize('strength', [0, 302, -5, 2.5, True, '55'])
def test_blur_rejects_bad_strength(strength):
    image = textured(20, 20)
    with pytest.raises(ValueError, match='blur strength'):
        fx.blur_background(image, ones(image), strength)


def test_blur_background_rejects_bad_foreground():
    image = textured(20, 30)
    with pytest.raises(ValueError, match='foreground must be float32'):
        fx.blur_background(image, np.ones((20, 30)), 55)
    with pytest.raises(ValueError, match=r'foreground must have shape \(20, 30\)'):
        fx.blur_background(image, np.ones((30, 20), np.float32), 55)
    with pytest.raises(ValueError, match='HxWx3 uint8 BGR'):
        fx.blur_background(image.astype(np.float32), ones(image), 55)


def test_scratch_gives_the_same_results_and_is_reused():
    images = [textured(120, 160, seed=s) for s in range(2)] + [textured(90, 70, seed=2)]
    foregrounds = [np.random.default_rng(s).random(i.shape[:2], dtype=np.float32)
                   for s, i in enumerate(images)]
    palette = fx.make_palette(MULTICLASS_LABELS)
    options = fx.EffectOptions(effect='replace', background_color=(10, 20, 30))
    scratch = fx.Scratch()
    for image, foreground in zip(images * 2, foregrounds * 2, strict=True):
        mask = (foreground * 6).astype(np.uint8)
        blurred = fx.blur_background(image, foreground, 55, scratch=scratch)
        assert np.array_equal(blurred, fx.blur_background(image, foreground, 55))
        replaced = fx.apply_background_effect(image, foreground, options, scratch=scratch)
        assert np.array_equal(replaced, fx.apply_background_effect(image, foreground, options))
        overlaid = fx.overlay(image, mask, palette, 0.5, scratch=scratch)
        assert np.array_equal(overlaid, fx.overlay(image, mask, palette, 0.5))
    # Results are the caller's own: the next frame does not overwrite them.
    first = fx.blur_background(images[0], foregrounds[0], 55, scratch=scratch)
    kept = first.copy()
    fx.blur_background(images[1], foregrounds[1], 55, scratch=scratch)
    assert np.array_equal(first, kept)
    # Same size and dtype: the buffer is reused; a new size gets a new one.
    buffer = scratch.buffer('blur', images[0].shape, np.uint8)
    assert scratch.buffer('blur', images[0].shape, np.uint8) is buffer
    assert scratch.buffer('blur', images[2].shape, np.uint8) is not buffer


def test_scratch_per_thread_keeps_threads_apart():
    images = [textured(120, 160, seed=s) for s in range(2)] + [textured(90, 70, seed=2)]
    foregrounds = [np.random.default_rng(s).random(i.shape[:2], dtype=np.float32)
                   for s, i in enumerate(images)]
    expected = [fx.blur_background(i, f, 55) for i, f in zip(images, foregrounds, strict=True)]
    failures: list[int] = []

    def work(index: int) -> None:
        scratch = fx.Scratch()
        for _ in range(20):
            result = fx.blur_background(images[index], foregrounds[index], 55, scratch=scratch)
            if not np.array_equal(result, expected[index]):
                failures.append(index)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures


# --- replace --------------------------------------------------------------------------------


def test_replace_with_colour_is_rgb():
    image = textured(30, 40)
    result = fx.replace_background(image, ones(image, 0.0), (255, 10, 0))
    assert (result == np.array([0, 10, 255], np.uint8)).all()
    np.testing.assert_array_equal(fx.replace_background(image, ones(image), (255, 10, 0)), image)
    # A changed colour at the same size must not reuse the previous frame.
    again = fx.replace_background(image, ones(image, 0.0), (1, 2, 3))
    assert (again == np.array([3, 2, 1], np.uint8)).all()


def test_replace_with_image_of_another_size_covers_the_frame():
    image = textured(100, 100)
    background = np.zeros((100, 200, 3), np.uint8)
    background[:, :50] = background[:, 150:] = (0, 255, 0)  # green outer quarters
    background[:, 50:100] = (0, 0, 255)  # red
    background[:, 100:150] = (255, 0, 0)  # blue
    result = fx.replace_background(image, ones(image, 0.0), background)
    assert result.shape == image.shape
    # Aspect kept (no squeeze): only the centre 100 columns remain, half red, half blue.
    assert (result[:, :45] == (0, 0, 255)).all()
    assert (result[:, 55:] == (255, 0, 0)).all()


def test_parse_rgb_reads_sequences_and_text():
    assert fx.parse_rgb((0, 177, 64)) == (0, 177, 64)
    assert fx.parse_rgb(' 1, 2,3') == (1, 2, 3)
    for bad in ('1,2', '1,2,x', '', 'red'):
        with pytest.raises(ValueError, match='an RGB colour needs 3 integers'):
            fx.parse_rgb(bad)
    with pytest.raises(ValueError, match=r"RGB values must be in 0\.\.255, got '0,0,256'"):
        fx.parse_rgb('0,0,256')


def test_cover_crop_upscales_small_images():
    background = textured(10, 20)
    fitted = cover_crop(background, 60, 90)
    assert fitted.shape == (60, 90, 3)
    assert fitted.flags.c_contiguous
    assert cover_crop(background, 10, 20) is background


def test_replace_with_soft_foreground():
    image = textured(30, 40)
    alpha = np.random.default_rng(7).random((30, 40), dtype=np.float32)
    result = fx.replace_background(image, alpha, (0, 0, 0))
    assert np.abs(result - alpha[..., None] * image).max() <= 0.51


@pytest.mark.parametrize('color', [(256, 0, 0), (0, 0), (1.5, 0, 0), (-1, 0, 0)])
def test_replace_rejects_bad_colours(color):
    image = textured(10, 10)
    with pytest.raises(ValueError, match=r'an RGB colour needs 3 integers|RGB values must be in '):
        fx.replace_background(image, ones(image), color)


def test_replace_rejects_bad_background_image():
    image = textured(10, 10)
    with pytest.raises(ValueError, match='background image must be an HxWx3 uint8'):
        fx.replace_background(image, ones(image), np.zeros((10, 10), np.uint8))


# --- options and dispatch -------------------------------------------------------------------


def test_apply_none_returns_the_image():
    image = textured(20, 20)
    assert fx.apply_background_effect(image, ones(image, 0.0), fx.EffectOptions('none')) is image


def test_apply_blur_and_replace():
    image = textured()
    foreground = np.random.default_rng(8).random(image.shape[:2], dtype=np.float32)
    np.testing.assert_array_equal(
        fx.apply_background_effect(image, foreground, fx.EffectOptions('blur', 101)),
        fx.blur_background(image, foreground, 101),
    )
    np.testing.assert_array_equal(
        fx.apply_background_effect(image, foreground, fx.EffectOptions('replace')),
        fx.replace_background(image, foreground, (0, 177, 64)),
    )
    background = textured(50, 300, seed=9)
    options = fx.EffectOptions('replace', background_image=background)
    np.testing.assert_array_equal(
        fx.apply_background_effect(image, foreground, options),
        fx.replace_background(image, foreground, background),
    )
    assert options.background_for(120, 160) is options.background_for(120, 160)


def test_apply_validates_inputs():
    image = textured(20, 20)
    with pytest.raises(ValueError, match='foreground must be float32'):
        fx.apply_background_effect(image, np.ones((20, 20)), fx.EffectOptions('none'))


def test_effect_options_defaults():
    options = fx.EffectOptions()
    assert options.effect == 'blur'
    assert options.blur_strength == 55
    assert options.background_color == (0, 177, 64)
    assert options.background_image is None


@pytest.mark.parametrize(
    ('kwargs', 'message'),
    [
        ({'effect': 'sepia'}, 'effect must be one of'),
        ({'blur_strength': 0}, 'blur strength'),
        ({'blur_strength': 400}, 'blur strength'),
        ({'background_color': (0, 0, 300)}, r'RGB values must be in 0\.\.255'),
        ({'background_image': np.zeros((4, 4), np.uint8)}, 'background image'),
        ({'background_image': np.zeros((4, 4, 3), np.float32)}, 'background image'),
    ],
)
def test_effect_options_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fx.EffectOptions(**kwargs)


def test_effect_options_equality_and_immutability():
    background = textured(10, 10)
    options = fx.EffectOptions('replace', background_image=background)
    same = fx.EffectOptions('replace', background_image=background.copy())
    other = fx.EffectOptions('replace', background_image=background[::-1].copy())
    assert options == same
    assert hash(options) == hash(same)
    assert options != other
    assert options != fx.EffectOptions('replace')
    assert fx.EffectOptions(background_color=[1, 2, 3]) == fx.EffectOptions(
        background_color=(1, 2, 3))
    with pytest.raises(ValueError, match='read-only'):
        options.background_image[0, 0, 0] = 1
    background[0, 0, 0] = 1  # the caller's own array stays writable
    with pytest.raises(AttributeError):
        options.effect = 'none'


# --- anonymising effects -------------------------------------------------------------------


def generated_person(height: int = 240, width: int = 320, seed: int = 7):
    """A drawn person on a textured background: image, soft foreground and face-region mask.

    The person (head ellipse over a body) is filled with noise so that no blurred or averaged
    value equals the original by construction; the foreground is the drawn silhouette softened
    like a model's output (probabilities fall from 1 to 0 across the edge).
    """
    rng = np.random.default_rng(seed)
    image = textured(height, width, seed)
    silhouette = np.zeros((height, width), np.uint8)
    face = np.zeros((height, width), np.uint8)
    centre = (width // 2, height // 3)
    axes = (width // 10, height // 7)
    cv2.ellipse(face, centre, axes, 0, 0, 360, 1, -1)
    cv2.ellipse(silhouette, centre, axes, 0, 0, 360, 1, -1)
    cv2.rectangle(silhouette, (width // 2 - width // 6, centre[1] + axes[1] - 4),
                  (width // 2 + width // 6, height - 1), 1, -1)
    person = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    image[silhouette > 0] = person[silhouette > 0]
    foreground = cv2.GaussianBlur(silhouette.astype(np.float32), (0, 0), 3.0)
    return image, foreground, face.astype(bool)


@pytest.mark.parametrize('effect', fx.ANONYMISING_EFFECTS)
@pytest.mark.parametrize('strength', [fx.MIN_ANONYMISING_STRENGTH, 55, 301])
def test_anonymising_changes_every_face_pixel(effect, strength):
    image, foreground, face = generated_person()
    out = fx.apply_background_effect(image, foreground,
                                     fx.EffectOptions(effect=effect, blur_strength=strength))
    unchanged = np.all(out == image, axis=-1)
    assert face.sum() > 1000
    assert not np.any(unchanged & face), f'{int((unchanged & face).sum())} face pixels unchanged'


@pytest.mark.parametrize('effect', fx.ANONYMISING_EFFECTS)
def test_anonymising_covers_weakly_detected_faces(effect):
    """A face the model is only 50 % sure about is hidden as fully as a certain one."""
    image, foreground, face = generated_person()
    weak = np.where(face, np.float32(0.5), foreground).astype(np.float32)
    out = fx.apply_background_effect(image, weak, fx.EffectOptions(effect=effect))
    hidden = fx.apply_background_effect(image, np.ones_like(weak), fx.EffectOptions(effect=effect))
    np.testing.assert_array_equal(out[face], hidden[face])


@pytest.mark.parametrize('effect', fx.ANONYMISING_EFFECTS)
def test_anonymising_keeps_the_background_sharp(effect):
    image, foreground, _ = generated_person()
    out = fx.apply_background_effect(image, foreground, fx.EffectOptions(effect=effect))
    far = cv2.dilate((foreground > 0.001).astype(np.uint8), np.ones((15, 15), np.uint8)) == 0
    assert far.sum() > 10000
    np.testing.assert_array_equal(out[far], image[far])


def test_cover_matte_is_one_on_likely_foreground_and_soft_outside():
    foreground = np.zeros((200, 300), np.float32)
    foreground[50:150, 100:200] = 0.6
    matte = fx.cover_matte(foreground)
    assert matte.dtype == np.float32 and matte.shape == foreground.shape
    assert np.all(matte[50:150, 100:200] == 1.0)
    row = matte[100, 200:230]
    # Falls off monotonically outside the region, through intermediate values, down to 0.
    assert np.all(np.diff(row) <= 1e-6)
    assert 0.0 < row[1] < 1.0 and row[-1] == 0.0


def test_pixelate_paints_tiles_with_their_mean():
    image = np.zeros((40, 40, 3), np.uint8)
    image[:20, :20] = (10, 20, 30)
    image[:20, 20:] = (200, 100, 50)
    image[0, 0] = (30, 40, 50)  # one odd pixel moves its tile's mean a little
    out = fx.pixelate_image(image, 20)
    assert np.all(out[:20, 20:] == (200, 100, 50))
    assert len(np.unique(out[:20, :20].reshape(-1, 3), axis=0)) == 1
    assert fx.pixelate_image(image, 1).tolist() == image.tolist()


@pytest.mark.parametrize('effect', fx.ANONYMISING_EFFECTS)
def test_anonymising_refuses_a_strength_that_leaves_faces_recognisable(effect):
    with pytest.raises(ValueError, match='too weak to anonymise'):
        fx.EffectOptions(effect=effect, blur_strength=fx.MIN_ANONYMISING_STRENGTH - 1)
    image, foreground, _ = generated_person()
    with pytest.raises(ValueError, match='too weak'):
        fx.anonymise_people(image, foreground, 3)


@pytest.mark.parametrize('effect', ['blur', 'replace', 'none', 'blur_people', 'pixelate_people'])
def test_effects_write_into_out_exactly_what_they_return_without_it(effect):
    image = textured(48, 64, seed=11)
    foreground = np.random.default_rng(12).random((48, 64), dtype=np.float32)
    options = fx.EffectOptions(effect=effect, blur_strength=15)
    expected = fx.apply_background_effect(image, foreground, options)
    out = np.zeros_like(image)
    result = fx.apply_background_effect(image, foreground, options, out=out,
                                        scratch=fx.Scratch())
    assert result is out
    np.testing.assert_array_equal(out, expected)


def test_overlay_writes_into_out():
    image = textured(20, 30, seed=13)
    mask = (np.arange(30)[None, :] >= 15).repeat(20, axis=0).astype(np.uint8)
    palette = fx.make_palette(BINARY_LABELS)
    out = np.zeros_like(image)
    result = fx.overlay(image, mask, palette, 0.4, out=out)
    assert result is out
    np.testing.assert_array_equal(out, fx.overlay(image, mask, palette, 0.4))
    with pytest.raises(ValueError, match='out must be'):
        fx.overlay(image, mask, palette, 0.4, out=np.zeros((20, 30), np.uint8))
