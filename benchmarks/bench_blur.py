# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Background blur: the engine's reduced-scale Gaussian against OpenCV's own blurs, side by side.

Every variant blurs the same real photo (the astronaut scaled into the frame) to stand in for
``cv2.GaussianBlur(image, (k, k), 0)``, the reference the tutorial uses. Per frame size and
strength it prints the median time, the ratio to the engine and the error against the reference
(mean and 99.9th percentile of the absolute difference, grey levels):
  engine          ``effects.blur_image`` (2x box halvings, residual Gaussian, bilinear upscale)
  gaussian        ``cv2.GaussianBlur`` at full size (the reference itself)
  stack           ``cv2.stackBlur`` at full size (OpenCV's constant-time Gaussian approximation)
  box x3          ``cv2.blur`` three times with the box width of the same variance
  pyrDown+gauss   ``cv2.pyrDown`` halvings, Gaussian with the residual sigma, ``cv2.resize`` up

    .venv/bin/python benchmarks/bench_blur.py [--runs 30] [--sizes 720p,1080p] [--strengths 55,101]
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

import cv2
import numpy as np
from common import fit_into_frame, photo, summarize, table, time_interleaved

from selfie_seg_ros.engine.effects import blur_image, blur_sigma

SIZES = {'480p': (640, 480), '720p': (1280, 720), '1080p': (1920, 1080)}


def gaussian(image: np.ndarray, strength: int) -> np.ndarray:
    """The reference: OpenCV's full-size Gaussian with the kernel the tutorial uses."""
    ksize = strength | 1
    return cv2.GaussianBlur(image, (ksize, ksize), 0)


def stack(image: np.ndarray, strength: int) -> np.ndarray:
    """OpenCV's stack blur with the same kernel size (its own Gaussian approximation)."""
    ksize = strength | 1
    return cv2.stackBlur(image, (ksize, ksize))


def box3(image: np.ndarray, strength: int) -> np.ndarray:
    """Three box blurs whose variances add up to the Gaussian's (central limit theorem)."""
    sigma = blur_sigma(strength)
    width = max(1, round(math.sqrt(12.0 * sigma * sigma / 3.0 + 1.0))) | 1
    out = cv2.blur(image, (width, width))
    out = cv2.blur(out, (width, width))
    return cv2.blur(out, (width, width))


def pyramid(image: np.ndarray, strength: int) -> np.ndarray:
    """pyrDown halvings (each a 5x5 Gaussian, sigma ~1 at that scale), then the residual."""
    sigma = blur_sigma(strength)
    small, factor, variance = image, 1, 0.0
    while sigma * sigma - variance > (4 * factor) ** 2 and min(small.shape[:2]) >= 16:
        small = cv2.pyrDown(small)
        variance += (1.1 * factor) ** 2  # pyrDown's kernel, in full-size pixels
        factor *= 2
    residual = math.sqrt(max(sigma * sigma - variance, 0.25)) / factor
    small = cv2.GaussianBlur(small, (0, 0), residual)
    return cv2.resize(small, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)


VARIANTS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    'engine': blur_image,
    'gaussian': gaussian,
    'stack': stack,
    'box x3': box3,
    'pyrDown+gauss': pyramid,
}


def error(result: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """Mean and 99.9th percentile of the absolute difference, in grey levels."""
    diff = np.abs(result.astype(np.int16) - reference.astype(np.int16))
    return float(diff.mean()), float(np.percentile(diff, 99.9))


def main(argv: list[str] | None = None) -> int:
    """Time every variant per size and strength; print one table per case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=30)
    parser.add_argument('--sizes', default='720p,1080p')
    parser.add_argument('--strengths', default='55,101')
    parser.add_argument('--markdown', action='store_true')
    args = parser.parse_args(argv)
    print(f'OpenCV {cv2.__version__}, {cv2.getNumThreads()} threads; median of {args.runs} runs')
    for size in args.sizes.split(','):
        width, height = SIZES[size.strip()]
        frame = fit_into_frame(photo('astronaut'), width, height)
        for strength in (int(s) for s in args.strengths.split(',')):
            reference = gaussian(frame, strength)
            cases = {name: (lambda f=fn, i=frame, k=strength: f(i, k))
                     for name, fn in VARIANTS.items()}
            times = time_interleaved(cases, args.runs, warmup=3)
            engine_ms = summarize(times['engine'])['median_ms']
            rows = []
            for name, fn in VARIANTS.items():
                median = summarize(times[name])['median_ms']
                mean, p999 = error(fn(frame, strength), reference)
                rows.append([name, f'{median:.2f}', f'{median / engine_ms:.2f}',
                             f'{mean:.2f}', f'{p999:.0f}'])
            print(f'\n{size} ({width}x{height}), strength {strength} '
                  f'(sigma {blur_sigma(strength):.1f})')
            print(table(['variant', 'median ms', 'x engine', 'mean |diff|', 'p99.9 |diff|'],
                        rows, args.markdown))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
