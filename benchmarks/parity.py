# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Accuracy against MediaPipe's own runtime: IoU and mean |dp| of our Segmenter vs MediaPipe.

Compares our engine (OpenVINO, per resize mode) with MediaPipe 0.10.21's legacy
``SelfieSegmentation`` on real photos, for the general and the landscape model. The reference
masks are the ones stored in test/data (``--live``: computed now in the MediaPipe venv).
``--make-reference`` regenerates test/data from the MediaPipe venv.

A diagnostic column runs the same converted model with MediaPipe's own input sampling (see
``mediapipe_style_probability``) at f32 precision: what the engine reaches once it samples like
MediaPipe.

Usage:
    .venv/bin/python benchmarks/parity.py [--live] [--markdown]
    .venv/bin/python benchmarks/parity.py --make-reference test/data
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import openvino as ov
from common import (
    CACHE_DIR,
    MODEL_SELECTION,
    REFERENCE_DIR,
    MediaPipeError,
    iou,
    load_reference,
    machine,
    mean_abs_diff,
    mediapipe_masks,
    parity_images,
    save_reference,
    table,
)

from selfie_seg_ros.engine.segmenter import Segmenter

MODES = ('stretch', 'letterbox')
SHORT_NAMES = {'selfie_segmentation': 'general', 'selfie_segmentation_landscape': 'landscape'}
MANIFEST = 'mediapipe_masks.json'


def reference_path(folder: Path, model_id: str, case: str) -> Path:
    """Where the stored MediaPipe mask of one model on one photo lives."""
    return folder / f'mediapipe_{model_id}_{case}.png'


def mediapipe_style_probability(segmenter: Segmenter, image: np.ndarray) -> np.ndarray:
    """Person probability with MediaPipe's own pre- and post-processing around our model.

    MediaPipe's ImageToTensorCalculator (CPU) maps the image corners onto the tensor corners and
    samples with ``cv2.warpPerspective(..., INTER_LINEAR)``: tensor pixel ``j`` reads the image
    at ``j * w / W`` (no half-pixel centre offset, no anti-aliasing), unlike ``cv2.resize``,
    which reads at ``(j + 0.5) * w / W - 0.5``. TensorsToSegmentationCalculator then upsamples
    the tensor with ``cv2.resize`` (INTER_LINEAR).
    """
    height, width = image.shape[:2]
    model_w, model_h = segmenter.input_size
    scale = np.float32([[model_w / width, 0.0, 0.0], [0.0, model_h / height, 0.0]])
    tensor_image = cv2.warpAffine(
        image, scale, (model_w, model_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    low = segmenter.infer_raw(tensor_image)[..., 0]
    return cv2.resize(low, (width, height), interpolation=cv2.INTER_LINEAR)


def f32_core() -> ov.Core:
    """An OpenVINO Core whose CPU plugin computes in f32 (no bf16/fp16 downgrade)."""
    core = ov.Core()
    core.set_property('CPU', {'INFERENCE_PRECISION_HINT': 'f32'})
    return core


def inference_precision(segmenter: Segmenter) -> str:
    """The precision the compiled model really computes in."""
    return segmenter.inference_precision or 'unknown'


def variants(engine: Segmenter, exact: Segmenter, image: np.ndarray) -> dict[str, np.ndarray]:
    """Person probability of one image by each variant: resize mode x precision, and sampling.

    Args:
        engine: the Segmenter as users get it (default precision).
        exact: the same model compiled at f32.
        image: BGR frame.
    """
    results = {}
    for segmenter, suffix in ((engine, ''), (exact, '_f32')):
        for mode in MODES:
            segmenter.configure(resize_mode=mode)
            results[f'{mode}{suffix}'] = segmenter.segment(image).foreground
        results[f'mp_sampling{suffix}'] = mediapipe_style_probability(segmenter, image)
    return results


def make_reference(folder: Path) -> None:
    """Run MediaPipe (its venv) on the parity photos and store the masks and a manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    images = parity_images()
    manifest: dict[str, Any] = {'masks': {}}
    for model_id, selection in MODEL_SELECTION.items():
        masks, versions = mediapipe_masks(images, selection)
        manifest['mediapipe_runner'] = versions
        for case, mask in masks.items():
            path = reference_path(folder, model_id, case)
            save_reference(path, mask)
            manifest['masks'][path.name] = {
                'model_selection': selection,
                'our_model': model_id,
                'photo': case,
                'width': int(mask.shape[1]),
                'height': int(mask.shape[0]),
                'foreground_fraction': round(float(np.mean(mask >= 0.5)), 4),
                'max_quantization_error': round(
                    float(np.abs(load_reference(path) - mask).max()), 5),
            }
            print(f'wrote {path} ({path.stat().st_size} bytes)')
    info = machine()
    import skimage

    manifest['project_side'] = {key: info[key] for key in ('python', 'numpy', 'opencv')}
    manifest['project_side']['scikit_image'] = skimage.__version__
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + '\n')
    print(f'wrote {folder / MANIFEST}')


def compare(live: bool) -> list[dict[str, Any]]:
    """IoU and mean |dp| of each model x photo x resize mode against MediaPipe."""
    images = parity_images()
    rows = []
    for model_id, selection in MODEL_SELECTION.items():
        if live:
            references, _ = mediapipe_masks(images, selection)
        else:
            references = {
                case: load_reference(reference_path(REFERENCE_DIR, model_id, case))
                for case in images
            }
        engine = Segmenter(model=model_id, cache_dir=CACHE_DIR, progress=False)
        exact = Segmenter(model=model_id, cache_dir=CACHE_DIR, progress=False, core=f32_core())
        for case, image in images.items():
            reference = references[case]
            row: dict[str, Any] = {
                'model': SHORT_NAMES[model_id],
                'photo': case,
                'size': f'{image.shape[1]}x{image.shape[0]}',
                'precision': inference_precision(engine),
                'foreground': float(np.mean(reference >= 0.5)),
            }
            for name, probability in variants(engine, exact, image).items():
                row[f'{name}_iou'] = iou(probability, reference)
                row[f'{name}_mad'] = mean_abs_diff(probability, reference)
            rows.append(row)
        engine.close()
        exact.close()
    return rows


def print_table(rows: list[dict[str, Any]], markdown: bool) -> None:
    """Print the comparison as aligned text or as a markdown table."""
    columns = [
        ('stretch IoU', 'stretch_iou'), ('stretch MAE', 'stretch_mad'),
        ('letterbox IoU', 'letterbox_iou'), ('letterbox MAE', 'letterbox_mad'),
        ('stretch f32 IoU', 'stretch_f32_iou'), ('MP sampling IoU', 'mp_sampling_iou'),
        ('MP sampling f32 IoU', 'mp_sampling_f32_iou'),
        ('MP sampling f32 MAE', 'mp_sampling_f32_mad'),
    ]
    headers = ['model', 'photo', 'size', *(title for title, _ in columns)]
    lines = [
        [row['model'], row['photo'], row['size'], *(f'{row[key]:.4f}' for _, key in columns)]
        for row in rows
    ]
    print(table(headers, lines, markdown, left=3))


def main(argv: list[str] | None = None) -> int:
    """Print the parity table, or regenerate the references."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--live', action='store_true',
                        help='compare with MediaPipe run now (its venv) instead of test/data')
    parser.add_argument('--markdown', action='store_true', help='print a markdown table')
    parser.add_argument('--json', type=Path, help='also save the rows as JSON here')
    parser.add_argument('--make-reference', type=Path, metavar='DIR',
                        help='run MediaPipe and write the reference masks into DIR')
    args = parser.parse_args(argv)
    try:
        if args.make_reference:
            make_reference(args.make_reference)
            return 0
        rows = compare(args.live)
    except MediaPipeError as error:
        print(error, file=sys.stderr)
        return 1
    source = 'MediaPipe run now' if args.live else f'stored masks in {REFERENCE_DIR}'
    print(f'Reference: {source}. IoU of p >= 0.5; MAE = mean absolute probability '
          f'difference. Engine precision: {rows[0]["precision"]}.')
    print_table(rows, args.markdown)
    if args.json:
        args.json.write_text(json.dumps({'machine': machine(), 'rows': rows}, indent=2) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
