# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Engine speed: raw model, engine, tutorial-style code and MediaPipe's own pipeline, side by side.

At each frame size (the astronaut photo scaled into a camera frame), general selfie model, CPU:
    raw         ``Segmenter.infer_raw`` on a prepared model-sized input (the floor)
    mask        ``Segmenter.segment(frame, foreground=False)``
    all         segment + overlay + blurred background (what the node publishes)
    tutorial    resize + float numpy input + the same compiled IR + ``tutorial_effects``
    mediapipe   MediaPipe 0.10.21 ``SelfieSegmentation.process`` (mask only), in its own venv
The first four run in this process, MediaPipe in a subprocess (``mediapipe_runner.py serve``).
They alternate in blocks (each case N calls back to back), and blocks during which other
processes took CPU are dropped, so a shared machine still gives clean numbers. Also measures
start-up (a fresh process building a Segmenter, IR cached vs converted) and, with ``--profile``,
what each step of ``segment()`` and of the effects costs.

Usage:
    .venv/bin/python benchmarks/bench_engine.py [--runs 200] [--json OUT] [--markdown] [--profile]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import openvino as ov
from common import (
    CACHE_DIR,
    MEDIAPIPE_SKIPPED,
    REPO_ROOT,
    MediaPipeError,
    MediaPipeServer,
    cpu_snapshot,
    fit_into_frame,
    foreign_cpu_share,
    load_average,
    machine,
    mediapipe_python,
    photo,
    summarize,
    table,
    time_interleaved,
)
from tutorial_reference import tutorial_effects

from selfie_seg_ros.engine.compositor import Compositor
from selfie_seg_ros.engine.effects import (
    EffectOptions,
    Scratch,
    apply_background_effect,
    blur_image,
    composite,
    make_palette,
    overlay,
)
from selfie_seg_ros.engine.processing import (
    foreground_probability,
    resize_to_model,
    restore_size,
    to_probabilities,
)
from selfie_seg_ros.engine.segmenter import Segmenter

MODEL = 'selfie_segmentation'
SIZES = ((640, 480), (1280, 720), (1920, 1080))
TUTORIAL_BACKGROUND_RGB = (192, 192, 192)
OVERLAY_ALPHA = 0.5
# (name, numerator, denominator, target, True when the ratio must be at most the target)
RATIOS = (
    ('mask / MediaPipe', 'mask', 'mediapipe', 0.4, True),
    ('mask / raw', 'mask', 'raw', 1.5, True),
    ('all / MediaPipe', 'all', 'mediapipe', 1.0, True),
    ('tutorial / all', 'tutorial', 'all', 4.0, False),
)
STARTUP_TARGET_S = 1.0
BLOCK_WARMUP = 2
"""Untimed calls of a case at the start of each block (caches and threads warm again)."""
STARTUP_SCRIPT = """
import json, sys, time
from pathlib import Path
started = time.perf_counter()
from selfie_seg_ros.engine.segmenter import Segmenter
imported = time.perf_counter()
segmenter = Segmenter(model=sys.argv[1], cache_dir=Path(sys.argv[2]), progress=False,
                      allow_download=False)
built = time.perf_counter()
print(json.dumps({'import_s': imported - started, 'construct_s': built - imported,
                  'total_s': built - started}))
"""


@dataclass(frozen=True)
class Settings:
    """How long and how carefully to measure."""

    runs: int = 200
    """Clean timed calls per case and size."""
    warmup: int = 20
    block: int = 20
    """Calls per case per block; a block disturbed by other processes is dropped."""
    max_foreign: float = 0.05
    """Largest share of the machine's CPU other processes may use during a kept block."""
    patience_s: float = 300.0
    """Per size: stop collecting clean blocks after this long (then all blocks count)."""
    startup_runs: int = 3


def tutorial_pipeline(segmenter: Segmenter, core: ov.Core) -> Callable[[np.ndarray], object]:
    """The whole frame the tutorial's way: resize, float numpy input, plain compiled IR, effects.

    The IR is the engine's cached conversion, compiled without the engine's built-in u8/BGR
    preprocessing, so the model itself costs the same in both.
    """
    compiled = core.compile_model(segmenter.model_path, 'CPU')
    output = compiled.output(0)
    width, height = segmenter.input_size

    def run(frame: np.ndarray) -> object:
        resized = cv2.resize(frame, (width, height))
        rgb = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
        tensor = np.expand_dims(rgb.astype(np.float32) / 255.0, 0)
        probability = compiled([tensor])[output][0, :, :, 0]
        return tutorial_effects(frame, probability, TUTORIAL_BACKGROUND_RGB)

    return run


def engine_cases(
    segmenter: Segmenter, tutorial: Callable[[np.ndarray], object], frame: np.ndarray
) -> dict[str, Callable[[], object]]:
    """The four in-process measurements on one frame."""
    palette = make_palette(segmenter.labels)
    options = EffectOptions(effect='blur', blur_strength=55)
    prepared, _ = resize_to_model(frame, segmenter.input_size, segmenter.resize_mode)
    scratch = Scratch(compositor=Compositor(segmenter.core))  # as the node and the CLI do

    def all_outputs() -> object:
        result = segmenter.segment(frame)
        overlaid = overlay(frame, result.mask, palette, OVERLAY_ALPHA, scratch=scratch)
        blurred = apply_background_effect(frame, result.foreground, options, scratch=scratch)
        return result.mask, overlaid, blurred

    return {
        'raw': lambda: segmenter.infer_raw(prepared),
        'mask': lambda: segmenter.segment(frame, foreground=False),
        'all': all_outputs,
        'tutorial': lambda: tutorial(frame),
    }


def segment_steps(segmenter: Segmenter, frame: np.ndarray) -> dict[str, Callable[[], object]]:
    """Each step of ``segment(frame, foreground=False)`` on its own, to time them one by one.

    Mirrors the engine's code path for a single-channel (binary) model.
    """
    size = (frame.shape[1], frame.shape[0])
    mode, threshold = segmenter.resize_mode, segmenter.options.threshold
    resized, content = resize_to_model(frame, segmenter.input_size, mode)
    raw = segmenter.infer_raw(resized)
    probabilities = to_probabilities(raw, segmenter.activation)
    low = foreground_probability(probabilities, segmenter.foreground_classes)
    soft = restore_size(low, content, size)
    steps = {
        'resize_to_model': lambda: resize_to_model(frame, segmenter.input_size, mode),
        'infer_raw': lambda: segmenter.infer_raw(resized),
        'to_probabilities': lambda: to_probabilities(raw, segmenter.activation),
        'foreground_probability': lambda: foreground_probability(
            probabilities, segmenter.foreground_classes),
        'restore_size (float32 bilinear)': lambda: restore_size(low, content, size),
        'threshold (>= t, astype uint8)': lambda: (soft >= threshold).astype(np.uint8),
        'segment(foreground=False)': lambda: segmenter.segment(frame, foreground=False),
    }
    return steps


def output_steps(segmenter: Segmenter, frame: np.ndarray) -> dict[str, Callable[[], object]]:
    """Each part of the all-outputs case (segment + overlay + blurred), to time them one by one."""
    palette = make_palette(segmenter.labels)
    result = segmenter.segment(frame)
    blurred = blur_image(frame, 55)
    scratch = Scratch(compositor=Compositor(segmenter.core))
    steps = {
        'segment(foreground=True)': lambda: segmenter.segment(frame),
        'overlay (colorize + addWeighted)': lambda: overlay(
            frame, result.mask, palette, OVERLAY_ALPHA, scratch=scratch),
        'blur_image (55, reduced scale)': lambda: blur_image(frame, 55),
        'composite (blendLinear)': lambda: composite(
            frame, blurred, result.foreground, scratch=scratch),
        'apply_background_effect': lambda: apply_background_effect(
            frame, result.foreground, EffectOptions(), scratch=scratch),
    }
    return steps


def profile(settings: Settings) -> dict[str, dict[str, float]]:
    """Median ms of each step of segment() and of the effects, per size."""
    person = photo('astronaut')
    medians = {}
    with Segmenter(model=MODEL, cache_dir=CACHE_DIR, progress=False) as segmenter:
        for width, height in SIZES:
            frame = fit_into_frame(person, width, height)
            steps = {**segment_steps(segmenter, frame), **output_steps(segmenter, frame)}
            summary = measure_size(steps, settings)
            medians[f'{width}x{height}'] = {name: summary[name]['median_ms'] for name in steps}
    return medians


def measure_startup(settings: Settings) -> dict[str, Any]:
    """Fresh-process start-up: import + Segmenter() with the IR cached, and converting anew.

    Samples during which other processes took CPU are retried, as for the timings.
    """

    def one(cache: Path) -> tuple[dict[str, float], float]:
        before = cpu_snapshot()
        done = subprocess.run(
            [sys.executable, '-c', STARTUP_SCRIPT, MODEL, str(cache)],
            capture_output=True, text=True, check=True, cwd=REPO_ROOT,
        )
        return json.loads(done.stdout.strip().splitlines()[-1]), foreign_cpu_share(
            before, cpu_snapshot())

    def converting() -> tuple[dict[str, float], float]:
        with tempfile.TemporaryDirectory(prefix='bench-startup-') as tmp:
            # The model file, but no IR: the Segmenter converts the .tflite again.
            shutil.copytree(CACHE_DIR / 'models' / MODEL, Path(tmp) / 'models' / MODEL)
            return one(Path(tmp))

    def collect(sample: Callable[[], tuple[dict[str, float], float]]) -> dict[str, Any]:
        deadline = time.monotonic() + settings.patience_s
        clean, every = [], []
        while len(clean) < settings.startup_runs and (
                time.monotonic() < deadline or not every):
            values, foreign = sample()
            every.append(values)
            if foreign <= settings.max_foreign:
                clean.append(values)
        used = clean or every
        medians = {key: float(np.median([s[key] for s in used])) for key in used[0]}
        return {**medians, 'samples': len(used), 'noisy': not clean}

    one(CACHE_DIR)  # make sure the IR is cached and the files are in the page cache
    return {'ir_cached': collect(lambda: one(CACHE_DIR)), 'first_conversion': collect(converting)}


def _property_text(value: object) -> str:
    to_string = getattr(value, 'to_string', None)  # ov.Type prints as <Type: 'bfloat16'>
    return to_string() if callable(to_string) else str(value)


def run_benchmark(
    settings: Settings, with_mediapipe: bool, precision: str | None = None
) -> dict[str, Any]:
    """Time every case at every size; returns the results as a JSON-ready dict.

    Each block runs every case ``settings.block`` times back to back (after two untimed calls),
    then MediaPipe as many times in its process; a block during which other processes used more
    than ``settings.max_foreign`` of the machine's CPU is dropped (measured from /proc/stat).
    Blocks go on until ``settings.runs`` clean calls per case are in or ``settings.patience_s``
    has passed (then every block counts and the size is marked noisy).

    Args:
        settings: runs, warm-up, block size, noise tolerance.
        with_mediapipe: also time MediaPipe (when its venv exists).
        precision: inference precision of the engine and the tutorial-style model (e.g.
            'bf16'); None = the engine's default ('auto': f32 on CPU).
    """
    core = ov.Core()
    core.set_property('CPU', {'INFERENCE_PRECISION_HINT': precision or 'f32'})
    segmenter = Segmenter(model=MODEL, cache_dir=CACHE_DIR, core=core, progress=False,
                          precision=precision or 'auto')
    tutorial = tutorial_pipeline(segmenter, core)
    person = photo('astronaut')
    frames = [fit_into_frame(person, width, height) for width, height in SIZES]
    compiled = segmenter._compiled
    results: dict[str, Any] = {
        'machine': machine(),
        'model': MODEL,
        'openvino': {
            key: _property_text(compiled.get_property(key))
            for key in ('INFERENCE_NUM_THREADS', 'INFERENCE_PRECISION_HINT', 'NUM_STREAMS',
                        'PERFORMANCE_HINT')
        },
        'runs': settings.runs,
        'warmup': settings.warmup,
        'block': settings.block,
        'max_foreign_share': settings.max_foreign,
        'mediapipe': None,
        'sizes': {},
    }
    server = None
    if with_mediapipe and mediapipe_python() is not None:
        try:
            server = MediaPipeServer(frames)
        except MediaPipeError as error:
            print(error, file=sys.stderr)
        else:
            results['mediapipe'] = server.versions
    try:
        for index, frame in enumerate(frames):
            label = f'{frame.shape[1]}x{frame.shape[0]}'
            results['sizes'][label] = measure_size(
                engine_cases(segmenter, tutorial, frame), settings, server, index)
    finally:
        if server is not None:
            server.close()
    results['load_average_after'] = load_average()
    segmenter.close()
    return results


def measure_size(
    cases: dict[str, Callable[[], object]],
    settings: Settings,
    server: MediaPipeServer | None = None,
    index: int = 0,
) -> dict[str, Any]:
    """Blocks of each case (and MediaPipe on frame ``index``) at one size (see run_benchmark)."""
    time_interleaved(cases, 0, settings.warmup)
    pids = (server.process.pid,) if server else ()
    if server:
        server.time(index, settings.warmup)
    blocks: list[dict[str, Any]] = []
    clean_runs = 0
    deadline = time.monotonic() + settings.patience_s
    while clean_runs < settings.runs and (time.monotonic() < deadline or not blocks):
        count = min(settings.block, settings.runs - clean_runs)
        before = cpu_snapshot(pids)
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        # Each case runs back to back (as frames would), the cases one after another.
        times = {name: time_interleaved({name: fn}, count, BLOCK_WARMUP)[name]
                 for name, fn in cases.items()}
        engine = (time.process_time() - cpu_start, time.perf_counter() - wall_start)
        mediapipe = (0.0, 0.0)
        if server:
            mediapipe_start = cpu_snapshot(pids)[2], time.perf_counter()
            server.time(index, BLOCK_WARMUP)
            times['mediapipe'] = server.time(index, count)
            mediapipe = (cpu_snapshot(pids)[2] - mediapipe_start[0],
                         time.perf_counter() - mediapipe_start[1])
        foreign = foreign_cpu_share(before, cpu_snapshot(pids))
        # (CPU seconds, wall seconds) of each part, warm-up calls included in both.
        blocks.append({'foreign': foreign, 'times': times, 'engine': engine,
                       'mediapipe': mediapipe})
        if foreign <= settings.max_foreign:
            clean_runs += count
    used = [b for b in blocks if b['foreign'] <= settings.max_foreign]
    noisy = clean_runs < settings.runs // 4
    if noisy:
        used = blocks
    merged = {case: [t for b in used for t in b['times'][case]] for case in used[0]['times']}
    summary: dict[str, Any] = {case: summarize(values) for case, values in merged.items()}
    summary['engine_cpu_per_wall'] = _cpu_per_wall(b['engine'] for b in used)
    if server:
        summary['mediapipe']['cpu_per_wall'] = _cpu_per_wall(b['mediapipe'] for b in used)
    summary['blocks'] = {
        'tried': len(blocks),
        'used': len(used),
        'noisy': noisy,
        'foreign_share_used': statistics.fmean(b['foreign'] for b in used),
        'foreign_share_all': statistics.fmean(b['foreign'] for b in blocks),
    }
    return summary


def _cpu_per_wall(parts: Iterable[tuple[float, float]]) -> float:
    cpu = wall = 0.0
    for cpu_s, wall_s in parts:
        cpu += cpu_s
        wall += wall_s
    return cpu / wall if wall else 0.0


def ratio_rows(results: dict[str, Any]) -> list[list[str]]:
    """One row per size: each ratio of medians with its target and a pass/miss mark."""
    rows = []
    for label, cases in results['sizes'].items():
        row = [label]
        for _, numerator, denominator, target, at_most in RATIOS:
            if numerator not in cases or denominator not in cases:
                row.append('n/a')
                continue
            value = cases[numerator]['median_ms'] / cases[denominator]['median_ms']
            met = value <= target if at_most else value >= target
            row.append(f'{value:.2f} {"ok" if met else "MISS"}')
        rows.append(row)
    return rows


def print_tables(results: dict[str, Any], markdown: bool) -> None:
    """Timing table (median and p90) and ratio table, as text or markdown."""
    names = {'raw': 'raw model', 'mask': 'engine mask-only', 'all': 'engine all outputs',
             'tutorial': 'tutorial-style', 'mediapipe': 'MediaPipe mask-only'}
    headers = ['size', *names.values()]
    rows = []
    for label, cases in results['sizes'].items():
        row = [label]
        for case in names:
            if case in cases:
                row.append(f'{cases[case]["median_ms"]:.2f} ({cases[case]["p90_ms"]:.2f})')
            else:
                row.append(MEDIAPIPE_SKIPPED if case == 'mediapipe' else 'n/a')
        rows.append(row)
    ratio_headers = ['size', *(
        f'{name} ({"<=" if at_most else ">="} {target})'
        for name, _, _, target, at_most in RATIOS)]
    print('Milliseconds per frame, median (p90):')
    _print_table(headers, rows, markdown)
    print()
    print('Ratios of medians (target in the header):')
    _print_table(ratio_headers, ratio_rows(results), markdown)
    startup = results.get('startup')
    if startup:
        print()
        cached, converted = startup['ir_cached'], startup['first_conversion']
        met = 'ok' if cached['construct_s'] <= STARTUP_TARGET_S else 'MISS'
        noisy = [name for name, part in (('cached', cached), ('conversion', converted))
                 if part['noisy']]
        if noisy:
            print(f'start-up NOISY ({", ".join(noisy)}): other processes used the CPU')
        _print_table(
            ['start-up (fresh process, median)', 'import', 'Segmenter()', 'total'],
            [[f'IR cached (target Segmenter() <= {STARTUP_TARGET_S} s: {met})',
              f'{cached["import_s"]:.2f} s', f'{cached["construct_s"]:.2f} s',
              f'{cached["total_s"]:.2f} s'],
             ['first conversion (.tflite -> IR)', f'{converted["import_s"]:.2f} s',
              f'{converted["construct_s"]:.2f} s', f'{converted["total_s"]:.2f} s']],
            markdown,
        )
    profile = results.get('profile')
    if profile:
        print()
        sizes = list(profile)
        steps = list(profile[sizes[0]])
        _print_table(['step (median ms)', *sizes],
                     [[step, *(f'{profile[size][step]:.3f}' for size in sizes)]
                      for step in steps], markdown)


def _print_table(headers: list[str], rows: list[list[str]], markdown: bool) -> None:
    print(table(headers, rows, markdown))


def print_header(results: dict[str, Any]) -> None:
    """Machine, versions, threads and load, so the numbers can be judged."""
    info, ov_config = results['machine'], results['openvino']
    print(f'CPU: {info["cpu"]}, {info["cores"]} cores; Python {info["python"]}, '
          f'numpy {info["numpy"]}, OpenCV {info["opencv"]} ({info["opencv_threads"]} threads), '
          f'OpenVINO {info["openvino"]}')
    print(f'OpenVINO CPU: {ov_config["INFERENCE_NUM_THREADS"]} inference threads, '
          f'{ov_config["NUM_STREAMS"]} stream, hint {ov_config["PERFORMANCE_HINT"]}, '
          f'precision {ov_config["INFERENCE_PRECISION_HINT"]}')
    mediapipe = results.get('mediapipe')
    engine_cpu = [cases['engine_cpu_per_wall'] for cases in results['sizes'].values()]
    print(f'Engine cases: CPU time per wall time {min(engine_cpu):.2f}-{max(engine_cpu):.2f}')
    if mediapipe:
        cpu = [cases['mediapipe']['cpu_per_wall'] for cases in results['sizes'].values()]
        print(f'MediaPipe {mediapipe["mediapipe"]} (numpy {mediapipe["numpy"]}, OpenCV '
              f'{mediapipe["opencv"]}): CPU time per wall time {min(cpu):.2f}-{max(cpu):.2f}')
    load = ', '.join(f'{value:.2f}' for value in info['load_average'])
    after = ', '.join(f'{value:.2f}' for value in results['load_average_after'])
    print(f'Load average before: {load}; after: {after}. Model {results["model"]}, '
          f'{results["runs"]} rounds after {results["warmup"]} warm-up, in blocks of '
          f'{results["block"]}; astronaut scaled into each frame.')
    for label, cases in results['sizes'].items():
        blocks = cases['blocks']
        note = ' NOISY: too few clean blocks, all kept' if blocks['noisy'] else ''
        print(f'  {label}: {blocks["used"]}/{blocks["tried"]} blocks kept (other processes '
              f'<= {results["max_foreign_share"]:.0%} of the CPU); their mean share '
              f'{blocks["foreign_share_used"]:.1%}{note}')


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print (and optionally save) the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=200, help='timed runs per case and size')
    parser.add_argument('--warmup', type=int, default=20, help='untimed runs first')
    parser.add_argument('--block', type=int, default=20,
                        help='rounds per block; blocks disturbed by other processes are dropped')
    parser.add_argument('--max-foreign', type=float, default=0.05,
                        help='drop blocks in which other processes used more than this share '
                             'of all CPU time')
    parser.add_argument('--patience', type=float, default=300.0,
                        help='seconds per size to wait for clean blocks before keeping all')
    parser.add_argument('--startup-runs', type=int, default=3,
                        help='fresh processes per start-up measurement (0: skip)')
    parser.add_argument('--no-mediapipe', action='store_true', help="skip MediaPipe's pipeline")
    parser.add_argument('--profile', action='store_true', help='time each step of segment()')
    parser.add_argument('--precision', choices=('f32', 'bf16', 'f16'),
                        help="inference precision (default: the engine's, f32 on CPU)")
    parser.add_argument('--json', type=Path, metavar='OUT', help='save the results as JSON')
    parser.add_argument('--markdown', action='store_true', help='print markdown tables')
    args = parser.parse_args(argv)

    settings = Settings(runs=args.runs, warmup=args.warmup, block=args.block,
                        max_foreign=args.max_foreign, patience_s=args.patience,
                        startup_runs=args.startup_runs)
    results = run_benchmark(settings, not args.no_mediapipe, args.precision)
    if args.profile:
        results['profile'] = profile(settings)
    if settings.startup_runs > 0:
        results['startup'] = measure_startup(settings)
    print_header(results)
    print()
    print_tables(results, args.markdown)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + '\n')
        print(f'\nsaved {args.json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
