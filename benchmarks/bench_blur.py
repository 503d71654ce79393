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

``--composite`` times the step after the blur instead: the soft-edged blend of the sharp frame over
the blurred one, ``cv2.blendLinear`` (with its inverse weights made per frame, as the effects did)
against the engine's one-pass OpenVINO compositor (``engine/compositor.py``), one thread each.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

import cv2
import numpy as np
from common import fit_into_frame, photo, summarize, table, time_interleaved

from selfie_seg_ros.engine.compositor import Compositor
from selfie_seg_ros.engine.effects import blur_image, blur_sigma
from selfie_seg_ros.engine.model_pool import one_thread_core

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


def soft_alpha(height: int, width: int) -> np.ndarray:
    """A person-like weight map: 1 inside a centred ellipse, a 40-pixel soft edge, 0 outside."""
    rows, cols = np.ogrid[:height, :width]
    radius = np.hypot((cols - width / 2) / (width / 4), (rows - height / 2) / (height / 2.2))
    edge = 40.0 / (min(height, width) / 2.2)
    return np.clip((1.0 - radius) / edge + 0.5, 0.0, 1.0).astype(np.float32)


def composite_row(compositor: Compositor, size: str, runs: int) -> list[str]:
    """blendLinear against the OpenVINO compositor at one frame size: one table row."""
    width, height = SIZES[size]
    front = fit_into_frame(photo('astronaut'), width, height)
    back = blur_image(front, 55)
    alpha = soft_alpha(height, width)
    inverse = np.empty_like(alpha)
    outputs = {'blendLinear': np.empty_like(front), 'compositor': np.empty_like(front)}

    def blend_linear() -> np.ndarray:
        np.subtract(1.0, alpha, out=inverse)
        return cv2.blendLinear(front, back, alpha, inverse, dst=outputs['blendLinear'])

    cases = {'blendLinear': blend_linear,
             'compositor': lambda: compositor(front, back, alpha, outputs['compositor'])}
    times = time_interleaved(cases, runs, warmup=3)
    cv_ms = summarize(times['blendLinear'])['median_ms']
    ov_ms = summarize(times['compositor'])['median_ms']
    difference = np.abs(outputs['compositor'].astype(np.int16) - outputs['blendLinear'])
    return [f'{size} ({width}x{height})', f'{cv_ms:.2f}', f'{ov_ms:.2f}', f'{ov_ms / cv_ms:.2f}',
            f'{int(difference.max())}']


def run_composite(sizes: list[str], runs: int, markdown: bool) -> None:
    """blendLinear against the OpenVINO compositor, per frame size."""
    compositor = Compositor(one_thread_core())
    rows = [composite_row(compositor, size, runs) for size in sizes]
    print(table(['frame', 'blendLinear ms', 'compositor ms', 'compositor / blendLinear',
                 'max |diff|'], rows, markdown))


def main(argv: list[str] | None = None) -> int:
    """Time every variant per size and strength; print one table per case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=30)
    parser.add_argument('--sizes', default='720p,1080p')
    parser.add_argument('--strengths', default='55,101')
    parser.add_argument('--markdown', action='store_true')
    parser.add_argument('--composite', action='store_true',
                        help='time the blend after the blur instead (see above)')
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)  # as the node and the CLI run it
    print(f'OpenCV {cv2.__version__}, {cv2.getNumThreads()} threads; median of {args.runs} runs')
    if args.composite:
        run_composite([s.strip() for s in args.sizes.split(',')], args.runs, args.markdown)
        return 0
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
