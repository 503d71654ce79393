# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""People at robot distance: person height vs IoU per model, and pose_segmentation's cost per
frame for 1, 2 and 4 people at 720p.

Rows: each cached selfie model, ``pose_segmentation`` searching the whole frame only
(``detection_levels=1``, as MediaPipe) and with tiles (the default, 3), and MediaPipe Pose's own
runtime on the same frames (its venv; skipped without it).

The person: the man in front on the street photo (ultralytics' ``bus.jpg``, fetched from its
wheel), cut out with MediaPipe Pose's own mask of him (test/data/mediapipe_pose_street.png) and
pasted, alpha-blended, into a 1280x720 frame of a real background without people (scikit-image's
``rocket``, scaled to cover the frame) at decreasing heights. The pasted mask (>= 0.5) is the
truth each model's mask is scored against (IoU).

Cost: frames with 1, 2 and 4 such people (360 px tall, side by side). ``follow`` is a video frame
(regions from the previous frame's landmarks, no detector), ``detect`` a frame where the detector
runs (``reset()`` first: one detector run per person found plus one). The selfie model's
``segment`` on the same frame runs in the same rounds, so ratios hold on a noisy machine.

Usage:
    .venv/bin/python benchmarks/bench_pose.py [--runs 30]      (prints Markdown tables)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

import cv2
import numpy as np
from common import (
    CACHE_DIR,
    MEDIAPIPE_SKIPPED,
    REFERENCE_DIR,
    iou,
    load_reference,
    machine,
    mediapipe_masks,
    mediapipe_python,
    photo,
    street_photo,
    time_interleaved,
)

from selfie_seg_ros.engine.catalog import CATALOG
from selfie_seg_ros.engine.fetch import cached_model_path
from selfie_seg_ros.engine.segmenter import Segmenter

FRAME = (1280, 720)
HEIGHTS = (512, 384, 256, 180, 128, 96, 64)
CANDIDATES = ('selfie_segmentation', 'selfie_segmentation_landscape', 'selfie_multiclass_256x256',
              'selfie_segmenter', 'selfie_segmenter_landscape', 'pose_segmentation')
PEOPLE = (1, 2, 4)
COST_HEIGHT = 360


def person_cutout() -> tuple[np.ndarray, np.ndarray]:
    """The man in front on the street photo: BGR crop and its alpha (MediaPipe Pose's mask)."""
    image = street_photo()
    alpha = load_reference(REFERENCE_DIR / 'mediapipe_pose_street.png')
    ys, xs = np.nonzero(alpha >= 0.5)
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    return image[top:bottom, left:right], alpha[top:bottom, left:right]


def background() -> np.ndarray:
    """A real scene without people, scaled to cover the frame."""
    scene = photo('rocket')
    scale = max(FRAME[0] / scene.shape[1], FRAME[1] / scene.shape[0])
    resized = cv2.resize(scene, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    top = (resized.shape[0] - FRAME[1]) // 2
    left = (resized.shape[1] - FRAME[0]) // 2
    return np.ascontiguousarray(resized[top:top + FRAME[1], left:left + FRAME[0]])


def paste(frame: np.ndarray, truth: np.ndarray, cutout: tuple[np.ndarray, np.ndarray],
          height: int, centre_x: int, flip: bool = False) -> None:
    """Blend the person into ``frame`` standing on its lower edge (10 px margin), in place."""
    person, alpha = cutout
    width = max(1, round(person.shape[1] * height / person.shape[0]))
    person = cv2.resize(person, (width, height), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(alpha, (width, height), interpolation=cv2.INTER_AREA)
    if flip:
        person, alpha = person[:, ::-1], alpha[:, ::-1]
    bottom = FRAME[1] - 10
    top, left = bottom - height, centre_x - width // 2
    region = frame[top:bottom, left:left + width].astype(np.float32)
    blended = region * (1 - alpha[..., None]) + person * alpha[..., None]
    frame[top:bottom, left:left + width] = np.round(blended).astype(np.uint8)
    truth[top:bottom, left:left + width] = np.maximum(truth[top:bottom, left:left + width], alpha)


def scene(cutout: tuple[np.ndarray, np.ndarray], height: int, people: int = 1
          ) -> tuple[np.ndarray, np.ndarray]:
    """A frame with ``people`` copies of the person side by side, and the true mask."""
    frame = background()
    truth = np.zeros(frame.shape[:2], np.float32)
    for i in range(people):
        centre = round(FRAME[0] * (i + 1) / (people + 1))
        paste(frame, truth, cutout, height, centre, flip=bool(i % 2))
    return frame, truth


def available_models() -> list[str]:
    """The candidate models whose weights are cached (the URL-only ones need a download)."""
    found = []
    for model_id in CANDIDATES:
        if cached_model_path(CATALOG[model_id], CACHE_DIR).is_file():
            found.append(model_id)
    return found


def size_curve(models: list[str]) -> dict[str, dict[int, float]]:
    """IoU per model and person height (fresh state per frame)."""
    cutout = person_cutout()
    scenes = {height: scene(cutout, height) for height in HEIGHTS}
    runs = [(model_id, model_id, {}) for model_id in models if model_id != 'pose_segmentation']
    if 'pose_segmentation' in models:
        runs += [('pose_segmentation (whole frame, as MediaPipe)', 'pose_segmentation',
                  {'detection_levels': 1}),
                 ('pose_segmentation (default: + tiles)', 'pose_segmentation', {})]
    curve: dict[str, dict[int, float]] = {}
    for name, model_id, options in runs:
        with Segmenter(model=model_id, cache_dir=CACHE_DIR, progress=False,
                       **options) as segmenter:
            curve[name] = {}
            for height, (frame, truth) in scenes.items():
                segmenter.reset()
                result = segmenter.segment(frame)
                curve[name][height] = iou(result.mask.astype(np.float32), truth)
    if mediapipe_python() is not None:
        masks, _ = mediapipe_masks({str(h): f for h, (f, _) in scenes.items()}, 0,
                                   solution='pose')
        curve['MediaPipe Pose (its own runtime)'] = {
            h: iou(masks[str(h)], truth) for h, (_, truth) in scenes.items()}
    else:
        print(f'MediaPipe Pose row {MEDIAPIPE_SKIPPED}')
    return curve


def cost(runs: int) -> list[dict[str, Any]]:
    """Per-frame milliseconds at 720p for 1, 2, 4 people, side by side with the selfie model."""
    cutout = person_cutout()
    rows = []
    with Segmenter(model='pose_segmentation', cache_dir=CACHE_DIR, progress=False) as pose, \
            Segmenter(model='selfie_segmentation', cache_dir=CACHE_DIR,
                      progress=False) as selfie:
        for people in PEOPLE:
            frame, truth = scene(cutout, COST_HEIGHT, people)
            pose.reset()
            first = pose.segment(frame)
            found = int(first.timings['people'])
            per_person: list[float] = []

            def follow(frame: np.ndarray = frame, sink: list[float] = per_person) -> None:
                sink.append(pose.segment(frame).timings['per_person_ms'])

            def detect(frame: np.ndarray = frame) -> None:
                pose.reset()
                pose.segment(frame)

            times = time_interleaved(
                {'follow': follow, 'detect': detect,
                 'selfie': lambda frame=frame: selfie.segment(frame)},
                runs=runs, warmup=3,
            )
            medians = {name: statistics.median(values) for name, values in times.items()}
            video = video_frames(pose, frame)
            runs_per_search = int(first.timings['detector_runs'])
            rows.append({
                'people': people, 'found': found, 'detector_runs': runs_per_search,
                'iou': iou(pose.segment(frame).mask.astype(np.float32), truth),
                **{f'{name}_ms': value for name, value in medians.items()},
                'per_person_ms': statistics.median(per_person),
                'video_mean_ms': statistics.mean(video), 'video_max_ms': max(video),
            })
    return rows


def video_frames(pose: Segmenter, frame: np.ndarray, intervals: int = 3) -> list[float]:
    """Milliseconds per frame of a video of ``frame`` once its search is spread over the frames:
    the frames from ``redetect_interval`` on (the first frame searches all at once)."""
    interval = pose.options.redetect_interval
    pose.reset()
    times = []
    for index in range((intervals + 1) * interval):
        started = time.perf_counter()
        pose.segment(frame)
        if index >= interval:
            times.append((time.perf_counter() - started) * 1e3)
    return times


def main(argv: list[str] | None = None) -> int:
    """Measure and print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=30, help='timed rounds per scene')
    args = parser.parse_args(argv)
    models = available_models()
    curve = size_curve(models)
    print(f'IoU with the pasted person, {FRAME[0]}x{FRAME[1]} frame, by person height (px):')
    print('| model | ' + ' | '.join(f'{h} px' for h in HEIGHTS) + ' |')
    print('|---|' + '---:|' * len(HEIGHTS))
    for model_id, row in curve.items():
        print(f'| {model_id} | ' + ' | '.join(f'{row[h]:.2f}' for h in HEIGHTS) + ' |')
    print()
    print(f'pose_segmentation per frame at {FRAME[0]}x{FRAME[1]}, people {COST_HEIGHT} px tall, '
          f'median of {args.runs} interleaved rounds:')
    print('| people | found | IoU | follow (ms) | per person (ms) | search (ms) | detector runs '
          '| video mean / max (ms) | selfie_segmentation (ms) | follow / selfie '
          '| search / selfie | video max / search |')
    print('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for row in cost(args.runs):
        print(f"| {row['people']} | {row['found']} | {row['iou']:.2f} | {row['follow_ms']:.1f} | "
              f"{row['per_person_ms']:.1f} | {row['detect_ms']:.1f} | {row['detector_runs']} | "
              f"{row['video_mean_ms']:.1f} / {row['video_max_ms']:.1f} | "
              f"{row['selfie_ms']:.1f} | {row['follow_ms'] / row['selfie_ms']:.1f}x | "
              f"{row['detect_ms'] / row['selfie_ms']:.1f}x | "
              f"{row['video_max_ms'] / row['detect_ms']:.2f}x |")
    info = machine()
    print(f"\nmachine: {info.get('cpu', '')}, load {info.get('load_average', '')}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
