# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""pose_segmentation against MediaPipe's own Pose runtime on real photos.

MediaPipe Pose (legacy ``Pose(static_image_mode=True, enable_segmentation=True)``, model
complexity 1) segments one person: its mask is compared with our whole mask on one-person photos
and with the best-matching person of our instance mask on the street photo (where we also find
the others).

Usage:
    .venv/bin/python benchmarks/pose_parity.py                # table from the stored references
    .venv/bin/python benchmarks/pose_parity.py --live         # MediaPipe run now (its venv)
    .venv/bin/python benchmarks/pose_parity.py --make-reference test/data
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from common import (
    CACHE_DIR,
    REFERENCE_DIR,
    fit_into_frame,
    iou,
    load_reference,
    machine,
    mean_abs_diff,
    mediapipe_masks,
    photo,
    save_reference,
    street_photo,
)

from selfie_seg_ros.engine.segmenter import Segmenter

MANIFEST = 'mediapipe_pose_masks.json'
ONE_PERSON = ('astronaut', 'astronaut_720p')


def pose_photos() -> dict[str, np.ndarray]:
    """The photos: two one-person photos and the street scene (BGR)."""
    astronaut = photo('astronaut')
    return {
        'astronaut': astronaut,
        'astronaut_720p': fit_into_frame(astronaut, 1280, 720),
        'street': street_photo(),
    }


def reference_path(folder: Path, name: str) -> Path:
    """Where MediaPipe Pose's mask of photo ``name`` is stored."""
    return folder / f'mediapipe_pose_{name}.png'


def best_instance(instances: np.ndarray, reference: np.ndarray) -> tuple[int, np.ndarray]:
    """Our person (instance id and 0/1 mask) that overlaps MediaPipe's person most."""
    person = reference >= 0.5
    ids = [i for i in np.unique(instances[person]) if i]
    if not ids:
        return 0, np.zeros(instances.shape, np.float32)
    best = max(ids, key=lambda i: np.count_nonzero(person & (instances == i)))
    return int(best), (instances == best).astype(np.float32)


def make_reference(folder: Path) -> None:
    """Run MediaPipe Pose (its venv) on the photos; store the masks and a manifest."""
    images = pose_photos()
    masks, versions = mediapipe_masks(images, 0, solution='pose')
    manifest: dict[str, Any] = {'mediapipe_runner': versions, 'masks': {}}
    for name, mask in masks.items():
        path = reference_path(folder, name)
        save_reference(path, mask)
        manifest['masks'][path.name] = {
            'photo': name, 'width': int(mask.shape[1]), 'height': int(mask.shape[0]),
            'foreground_fraction': round(float(np.mean(mask >= 0.5)), 4),
        }
        print(f'wrote {path} ({path.stat().st_size} bytes)')
    info = machine()
    manifest['project_side'] = {key: info[key] for key in ('python', 'numpy', 'opencv')}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + '\n')


def compare(live: bool) -> list[dict[str, Any]]:
    """IoU and mean |dp| per photo; people found by each runtime."""
    images = pose_photos()
    if live:
        references, _ = mediapipe_masks(images, 0, solution='pose')
    else:
        references = {name: load_reference(reference_path(REFERENCE_DIR, name))
                      for name in images}
    rows = []
    with Segmenter(model='pose_segmentation', cache_dir=CACHE_DIR, progress=False) as segmenter:
        for name, image in images.items():
            segmenter.reset()
            result = segmenter.segment(image)
            reference = references[name]
            ours = result.foreground
            if name not in ONE_PERSON:
                _, ours = best_instance(result.instances, reference)
            rows.append({
                'photo': name,
                'size': f'{image.shape[1]}x{image.shape[0]}',
                'people_ours': int(result.timings['people']),
                'people_mediapipe': int(np.any(reference >= 0.5)),
                'iou': iou(ours, reference),
                'mad': mean_abs_diff(ours, reference) if name in ONE_PERSON else float('nan'),
            })
    return rows


def main(argv: list[str] | None = None) -> int:
    """Print the parity table (or regenerate the references)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--live', action='store_true', help='run MediaPipe now (its venv)')
    parser.add_argument('--make-reference', type=Path, metavar='DIR')
    args = parser.parse_args(argv)
    if args.make_reference:
        make_reference(args.make_reference)
        return 0
    print('| photo | size | people (ours) | people (MediaPipe Pose) | IoU | mean abs diff |')
    print('|---|---|---:|---:|---:|---:|')
    for row in compare(args.live):
        print(f"| {row['photo']} | {row['size']} | {row['people_ours']} | "
              f"{row['people_mediapipe']} | {row['iou']:.3f} | {row['mad']:.4f} |")
    print("(street: IoU of MediaPipe's one person with our instance that overlaps it most; "
          'mean abs diff only where both segment the same single person)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
