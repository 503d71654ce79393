# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Is folding u8 BGR -> RGB, layout and scaling into the model (PrePostProcessor) faster?

Side by side in one run, on the general selfie model, both fed the same 256x256 resized frame:
  folded: the Segmenter's compiled model (u8 BGR NHWC in; conversion, colour and scale inside);
  numpy:  the plain converted model, fed float32 RGB made with cv2.cvtColor + numpy scaling.
Both compute in f32, so their outputs agree (the script prints the largest difference).
Prints the median and p90 per variant and their ratio.

    .venv/bin/python benchmarks/bench_preprocessing.py [--runs 500]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import openvino as ov

from selfie_seg_ros import Segmenter

REPO = Path(__file__).resolve().parent.parent


def timed(function: Callable[[], object], runs: int) -> list[float]:
    """Milliseconds per call, after a warm-up."""
    for _ in range(20):
        function()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1e3)
    return samples


def main() -> None:
    """Run the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=500)
    parser.add_argument('--cache-dir', type=Path, default=REPO / '.cache')
    args = parser.parse_args()

    from skimage import data

    segmenter = Segmenter(model='selfie_segmentation', cache_dir=args.cache_dir, progress=False)
    frame = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), segmenter.input_size)

    core = ov.Core()
    plain = core.compile_model(core.read_model(segmenter.model_path), 'CPU',
                               {'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_PRECISION_HINT': 'f32'})
    plain_request = plain.create_infer_request()
    scale = np.float32(1.0 / 255.0)

    def numpy_path() -> np.ndarray:
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB).astype(np.float32)
        rgb *= scale
        plain_request.infer({0: rgb[None]})
        return plain_request.get_output_tensor(0).data

    def folded_path() -> np.ndarray:
        return segmenter.infer_raw(frame)

    difference = np.abs(numpy_path().reshape(-1) - folded_path().reshape(-1)).max()
    results = {}
    for _ in range(2):  # alternate to spread machine noise over both
        for name, function in (('folded (PrePostProcessor)', folded_path),
                               ('numpy + cv2 preprocessing', numpy_path)):
            results.setdefault(name, []).extend(timed(function, args.runs // 2))
    print(f'max |output difference| between the two: {difference:.2e}')
    for name, samples in results.items():
        samples.sort()
        print(f'{name:28} median {statistics.median(samples):6.3f} ms   '
              f'p90 {samples[int(0.9 * len(samples))]:6.3f} ms')
    folded = statistics.median(results['folded (PrePostProcessor)'])
    numpy_ms = statistics.median(results['numpy + cv2 preprocessing'])
    print(f'numpy / folded = {numpy_ms / folded:.2f}x')
    segmenter.close()


if __name__ == '__main__':
    main()
