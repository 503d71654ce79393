# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Tutorial-style post-processing: the baseline ``selfie_seg_ros.engine.effects`` is timed against.

``tutorial_effects`` follows the OpenVINO "Selfie Segmentation using TFLite and OpenVINO" notebook:
argmax labels resized with INTER_NEAREST, a full-size ``cv2.GaussianBlur(image, (55, 55), 0)``,
the label mask stacked to three channels and a hard ``np.where`` cut, and the colour mask and
overlay done in float numpy. (The notebook painted the colour mask with per-class contours, which
is slower still; per-class ``np.where`` keeps this baseline conservative.)

Run ``python benchmarks/tutorial_reference.py`` to time it against
``selfie_seg_ros.engine.effects`` on synthetic frames, interleaved in one process.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import cv2
import numpy as np

from selfie_seg_ros.engine import effects

PERSON_RGB = (0, 160, 255)
OVERLAY_ALPHA = 0.5
BLUR_KERNEL = 55
SIZES = ((640, 480), (1280, 720))
LOWRES = (256, 256)


def tutorial_effects(
    image_bgr: np.ndarray, person_prob_lowres: np.ndarray, bg_color_rgb: tuple[int, int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Colour mask, overlay and background blur the way the tutorial computes them.

    Args:
        image_bgr: HxWx3 uint8 frame.
        person_prob_lowres: hxw float person probability at model resolution.
        bg_color_rgb: Colour of the background class in the colour mask.

    Returns:
        (colour mask, overlay, blurred background), each HxWx3 uint8 BGR.
    """
    height, width = image_bgr.shape[:2]
    label_mask = (person_prob_lowres > 0.5).astype(np.uint8)  # argmax of {background, person}
    mask = cv2.resize(label_mask, (width, height), interpolation=cv2.INTER_NEAREST)

    colormap = np.array([bg_color_rgb[::-1], PERSON_RGB[::-1]], dtype=np.float32)
    colored = np.zeros((height, width, 3), dtype=np.float32)
    for label, color in enumerate(colormap):
        colored = np.where((mask == label)[..., None], color, colored)
    blended = image_bgr.astype(np.float32) * (1.0 - OVERLAY_ALPHA) + colored * OVERLAY_ALPHA
    overlay = np.round(blended).astype(np.uint8)

    blurred_image = cv2.GaussianBlur(image_bgr, (BLUR_KERNEL, BLUR_KERNEL), 0)
    condition = np.stack((mask,) * 3, axis=-1) > 0
    blurred = np.where(condition, image_bgr, blurred_image)
    return colored.astype(np.uint8), overlay, blurred


def our_effects(
    image_bgr: np.ndarray, person_prob_lowres: np.ndarray, palette: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same three outputs through ``selfie_seg_ros.engine.effects`` (soft edges).

    Args:
        image_bgr: HxWx3 uint8 frame.
        person_prob_lowres: hxw float32 person probability at model resolution.
        palette: (2, 3) uint8 BGR table.

    Returns:
        (colour mask, overlay, blurred background), each HxWx3 uint8 BGR.
    """
    height, width = image_bgr.shape[:2]
    foreground = cv2.resize(person_prob_lowres, (width, height), interpolation=cv2.INTER_LINEAR)
    label_mask = (person_prob_lowres > 0.5).view(np.uint8)
    mask = cv2.resize(label_mask, (width, height), interpolation=cv2.INTER_NEAREST)
    colored = effects.colorize(mask, palette)
    overlay = effects.overlay(image_bgr, mask, palette, OVERLAY_ALPHA, colored=colored)
    blurred = effects.blur_background(image_bgr, foreground, BLUR_KERNEL)
    return colored, overlay, blurred


def synthetic_inputs(
    width: int, height: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A random frame and a random but matte-like low-resolution person probability."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    noise = rng.standard_normal(LOWRES).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 12)
    smooth /= smooth.std() + 1e-6
    prob = (1.0 / (1.0 + np.exp(-4.0 * smooth))).astype(np.float32)
    return image, prob


def _time_ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def compare(width: int, height: int, runs: int) -> tuple[float, float]:
    """Median milliseconds of (tutorial, ours) at one size, runs interleaved."""
    image, prob = synthetic_inputs(width, height)
    bg_rgb = (192, 192, 192)
    palette = np.array([bg_rgb[::-1], PERSON_RGB[::-1]], dtype=np.uint8)

    ref_mask, ref_overlay, ref_blurred = tutorial_effects(image, prob, bg_rgb)
    mask, overlay, blurred = our_effects(image, prob, palette)
    if not np.array_equal(ref_mask, mask):
        raise AssertionError('colour masks differ')
    if np.abs(ref_overlay.astype(np.int16) - overlay).max() > 1:
        raise AssertionError('overlays differ by more than one level')
    if blurred.shape != ref_blurred.shape:
        raise AssertionError('blurred images differ in shape')

    tutorial_ms, ours_ms = [], []
    for _ in range(3):
        tutorial_effects(image, prob, bg_rgb)
        our_effects(image, prob, palette)
    for _ in range(runs):
        tutorial_ms.append(_time_ms(lambda: tutorial_effects(image, prob, bg_rgb)))
        ours_ms.append(_time_ms(lambda: our_effects(image, prob, palette)))
    return statistics.median(tutorial_ms), statistics.median(ours_ms)


def main(argv: list[str] | None = None) -> None:
    """Print tutorial vs effects timings at 640x480 and 1280x720."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=50, help='timed runs per size (median)')
    parser.add_argument('--threads', type=int, default=None,
                        help='OpenCV worker threads (default: OpenCV decides)')
    args = parser.parse_args(argv)
    if args.threads is not None:
        cv2.setNumThreads(args.threads)
    print(f'OpenCV {cv2.__version__}, {cv2.getNumThreads()} threads, {args.runs} runs, median')
    for width, height in SIZES:
        tutorial, ours = compare(width, height, args.runs)
        print(f'{width}x{height} tutorial {tutorial:.1f} ms ours {ours:.1f} ms '
              f'ratio {tutorial / ours:.1f}x')


if __name__ == '__main__':
    main()
