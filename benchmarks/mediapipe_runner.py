# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""MediaPipe's own selfie segmentation and Pose runtimes, as a subprocess for the benchmarks.

Runs inside the separate MediaPipe venv ``.venv-mediapipe`` (``make bench-mediapipe`` builds it:
mediapipe 0.10.21 pins numpy<2, so it cannot share the project's venv) and imports nothing from
this project. Images are read from files the caller wrote (PNG, lossless), so both runtimes see the
same pixels.

``--solution pose`` runs the legacy ``Pose(static_image_mode=True, enable_segmentation=True)``
(one person, model_complexity 1 = pose_landmark_full) instead of ``SelfieSegmentation``; an image
where it finds nobody gets an all-zero mask.

Commands (results as JSON on stdout):
    masks --out DIR IMAGE...   write ``DIR/<image stem>.npy``: the float32 HxW segmentation_mask
    time IMAGE...              time ``SelfieSegmentation.process()`` on each image (its own size)
    serve IMAGE...             print a ready line, then for each stdin line ``<index> <runs>``
                               time that many calls on image ``index`` and print the times, so
                               a caller can interleave MediaPipe with its own measurements

Example:
    .venv-mediapipe/bin/python benchmarks/mediapipe_runner.py time --runs 200 frame_1280x720.png
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

# Keep absl/TFLite start-up chatter (INFO/WARNING on stderr) out of the caller's output.
os.environ.setdefault('GLOG_minloglevel', '2')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import cv2  # noqa: E402
import numpy as np  # noqa: E402

SOLUTION = 'selfie'
"""'selfie' or 'pose' (set from the command line)."""


def _solution(model_selection: int) -> Any:
    import mediapipe as mp

    if SOLUTION == 'pose':
        return mp.solutions.pose.Pose(
            static_image_mode=True, enable_segmentation=True, model_complexity=1
        )
    return mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=model_selection)


def _read_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f'cannot read image {path}')
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _process(solution: Any, rgb: np.ndarray) -> np.ndarray:
    mask = solution.process(rgb).segmentation_mask
    if mask is None:  # Pose found nobody
        return np.zeros(rgb.shape[:2], np.float32)
    return np.asarray(mask, dtype=np.float32)


def write_masks(images: list[Path], out_dir: Path, model_selection: int) -> dict[str, Any]:
    """Segment each image with a fresh solution (no state from earlier images) and save its mask.

    Args:
        images: image files (any format OpenCV reads; read as BGR, given to MediaPipe as RGB).
        out_dir: where ``<stem>.npy`` files go.
        model_selection: 0 = general 256x256 model, 1 = landscape 144x256 model.

    Returns:
        {'masks': {stem: npy path}, plus the versions used}.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    for path in images:
        rgb = _read_rgb(path)
        # A new graph per image: the legacy solution is a video graph, but the selfie graph has
        # no temporal smoothing, so this only guards against future changes.
        with _solution(model_selection) as solution:
            mask = _process(solution, rgb)
        target = out_dir / f'{path.stem}.npy'
        np.save(target, mask)
        written[path.stem] = str(target)
    return {'masks': written, **versions()}


def time_process(
    images: list[Path], model_selection: int, runs: int, warmup: int, bgr: bool
) -> dict[str, Any]:
    """Median and p90 wall time of ``process()`` per image, after warm-up.

    Args:
        images: frames, one per size to time.
        model_selection: 0 or 1, as for ``write_masks``.
        runs: timed calls per image.
        warmup: untimed calls per image first.
        bgr: include the BGR -> RGB conversion a camera frame needs in the timed call.

    Returns:
        {'results': [{'image', 'width', 'height', 'median_ms', 'p90_ms', 'cpu_per_wall'}], ...}.
    """
    results = []
    with _solution(model_selection) as solution:
        for path in images:
            rgb = _read_rgb(path)
            frame = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if bgr else rgb

            def call(frame: np.ndarray = frame) -> None:
                source = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if bgr else frame
                solution.process(source)

            for _ in range(warmup):
                call()
            times = []
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            for _ in range(runs):
                start = time.perf_counter()
                call()
                times.append((time.perf_counter() - start) * 1e3)
            cpu = time.process_time() - cpu_start
            wall = time.perf_counter() - wall_start
            times.sort()
            results.append({
                'image': str(path),
                'width': int(rgb.shape[1]),
                'height': int(rgb.shape[0]),
                'runs': runs,
                'median_ms': statistics.median(times),
                'p90_ms': times[min(len(times) - 1, int(round(0.9 * (len(times) - 1))))],
                # CPU seconds per wall second: ~1 means the pipeline ran on one core.
                'cpu_per_wall': cpu / wall if wall > 0 else 0.0,
            })
    return {'results': results, **versions()}


def serve(images: list[Path], model_selection: int) -> None:
    """Answer timing requests from stdin until it closes (one JSON line per request)."""
    frames = [_read_rgb(path) for path in images]
    with _solution(model_selection) as solution:
        for frame in frames:
            solution.process(frame)
        print(json.dumps({'ready': True, **versions()}), flush=True)
        for line in sys.stdin:
            index, runs = (int(field) for field in line.split())
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                solution.process(frames[index])
                times.append((time.perf_counter() - start) * 1e3)
            print(json.dumps({'times_ms': times}), flush=True)


def versions() -> dict[str, str]:
    """Versions of the runtime pieces, for the record."""
    import mediapipe as mp

    return {
        'mediapipe': mp.__version__,
        'numpy': np.__version__,
        'opencv': cv2.__version__,
        'python': platform.python_version(),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the command, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model-selection', type=int, choices=(0, 1), default=0,
                        help='0: general 256x256 model, 1: landscape 144x256 model')
    parser.add_argument('--solution', choices=('selfie', 'pose'), default='selfie',
                        help='selfie: SelfieSegmentation; pose: Pose with enable_segmentation')
    commands = parser.add_subparsers(dest='command', required=True)
    masks = commands.add_parser('masks', help='write the segmentation mask of each image (.npy)')
    masks.add_argument('--out', type=Path, required=True, help='output directory')
    masks.add_argument('images', type=Path, nargs='+')
    timing = commands.add_parser('time', help='time process() on each image')
    timing.add_argument('--runs', type=int, default=100)
    timing.add_argument('--warmup', type=int, default=20)
    timing.add_argument('--bgr', action='store_true',
                        help='include the BGR -> RGB conversion in the timed call')
    timing.add_argument('images', type=Path, nargs='+')
    server = commands.add_parser('serve', help='time process() on request from stdin')
    server.add_argument('images', type=Path, nargs='+')
    args = parser.parse_args(argv)
    global SOLUTION
    SOLUTION = args.solution
    if args.command == 'serve':
        serve(args.images, args.model_selection)
        return 0
    if args.command == 'masks':
        result = write_masks(args.images, args.out, args.model_selection)
    else:
        result = time_process(args.images, args.model_selection, args.runs, args.warmup, args.bgr)
    json.dump(result, sys.stdout)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
