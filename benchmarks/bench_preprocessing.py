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
from pathlib import Path

import cv2
import numpy as np
import openvino as ov
from common import CACHE_DIR, summarize, time_interleaved

from selfie_seg_ros import Segmenter


def main() -> None:
    """Run the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=500)
    parser.add_argument('--cache-dir', type=Path, default=CACHE_DIR)
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
    # Interleaved rounds spread machine noise over both.
    results = time_interleaved({'folded (PrePostProcessor)': folded_path,
                                'numpy + cv2 preprocessing': numpy_path}, args.runs, warmup=20)
    print(f'max |output difference| between the two: {difference:.2e}')
    for name, samples in results.items():
        summary = summarize(samples)
        print(f'{name:28} median {summary["median_ms"]:6.3f} ms   p90 {summary["p90_ms"]:6.3f} ms')
    folded = statistics.median(results['folded (PrePostProcessor)'])
    numpy_ms = statistics.median(results['numpy + cv2 preprocessing'])
    print(f'numpy / folded = {numpy_ms / folded:.2f}x')
    segmenter.close()


if __name__ == '__main__':
    main()
