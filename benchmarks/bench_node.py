# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""The node end to end over DDS: rates, latency, drops, CPU and memory; and its start-up time.

For each frame size (the astronaut photo scaled into 640x480, 1280x720, 1920x1080) and input
rate (30 Hz, and back to back = "max"), a fresh ``selfie_seg_node`` (general selfie model, CPU;
``--model`` for another) gets frames from a publisher process while this process subscribes to
the outputs (all three by default, ``--outputs`` to choose; raw, so only the header stamp is
read) and to /diagnostics; layout in node_harness.py. Per case:
    out fps        outputs received per second, per topic
    latency        input header stamp -> output received (same host clock), per topic
    dropped        the node's 'total dropped' over the window (frames replaced while waiting)
    CPU, RSS       of the node process, from /proc
    backlog        median latency of the last third of the window minus the first third
Targets: 720p at 30 Hz -> 30 fps on all three outputs; 1080p at 30 Hz -> 30 fps, p95 <= 40 ms.

``--startup`` measures launching the node to its first output with the IR cached (target
<= 1 s) and with a fresh cache (the .tflite copied in, so conversion but no download), and
splits it: Python imports, the Segmenter build, discovery and the first frame.

``--profile SIZE`` samples the node with py-spy (``pip install py-spy``) at SIZE and 30 Hz and
prints where its worker, painter and executor threads spend their time.

Usage:
    .venv/bin/python benchmarks/bench_node.py [--sizes 480p,720p,1080p] [--rates 30,max]
        [--seconds 20] [--startup] [--markdown] [--json OUT] [--publisher-thread]
        [--profile 1080p] [--outputs mask] [--model pose_segmentation] [--peer]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from common import (
    CACHE_DIR,
    CpuMeter,
    MachineMeter,
    percentile,
    rss_mib,
    table,
    wait_for_quiet,
)
from node_harness import (
    MODEL,
    OUTPUTS,
    PEER_PYTHON,
    NodeUnderTest,
    Pipeline,
    PublisherProcess,
    Recorder,
    latencies_ms,
)

from selfie_seg_ros.ros.harness import BIN, unique_domain_id

SIZES = {'480p': (640, 480), '720p': (1280, 720), '1080p': (1920, 1080)}
FPS_TOLERANCE = 1.0
"""'30 fps out' means at least 29 fps over the window (a frame lost now and then is fine)."""
TARGETS = {
    ('720p', 30.0): ('30 fps on all outputs', None),
    ('1080p', 30.0): ('30 fps, p95 <= 40 ms', 40.0),
}
STARTUP_TARGET_S = 1.0
PEER_CPU_TARGET = 0.25
"""Our CPU per frame at 720p as a share of the MediaPipe peer node's."""
IMPORT_PROBE = """
import json, time
marks = []
t = time.perf_counter()
def mark(name):
    global t
    now = time.perf_counter()
    marks.append((name, (now - t) * 1e3))
    t = now
import numpy
mark('numpy')
import cv2
mark('cv2')
import rclpy, rclpy.node, rclpy.executors
from sensor_msgs.msg import Image, CameraInfo, CompressedImage
from diagnostic_msgs.msg import DiagnosticArray
mark('rclpy + messages')
import openvino
mark('openvino')
import selfie_seg_ros.ros.node
mark('selfie_seg_ros.ros.node (what is left: segmenter, image_io, rosbags)')
rclpy.init()
node = rclpy.node.Node('import_probe')
mark('rclpy.init + Node()')
node.destroy_node()
rclpy.shutdown()
print(json.dumps(marks))
"""


# ---------------------------------------------------------------------------------------------
# Throughput and latency


def run_case(size: str, rate: float, seconds: float, warmup: float, publisher_thread: bool,
             quiet_wait: float = 0.0,
             patches: tuple[str, ...] = (), peer: bool = False,
             outputs: tuple[str, ...] = OUTPUTS,
             parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """One size and rate on a fresh node (or the MediaPipe peer); returns the measurements.

    Only ``outputs`` are subscribed (the node computes only what is subscribed); ``parameters``
    go to our node (e.g. another ``model``).
    """
    width, height = SIZES[size]
    busy_before = wait_for_quiet(quiet_wait) if quiet_wait > 0 else None
    pipeline = Pipeline(width, height, rate, publisher_thread=publisher_thread, patches=patches,
                        peer=peer, outputs=outputs, parameters=parameters)
    try:
        time.sleep(warmup)
        node_cpu = CpuMeter(pipeline.node.pid)
        own_cpu = CpuMeter(os.getpid())
        publisher_cpu = CpuMeter(pipeline.publisher.pid) if pipeline.publisher else None
        machine = MachineMeter()
        start_ns = time.time_ns()
        rss = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            rss.append(rss_mib(pipeline.node.pid))
        end_ns = time.time_ns()
        cpu, recorder_cpu = node_cpu.percent(), own_cpu.percent()
        publisher_percent = publisher_cpu.percent() if publisher_cpu else 0.0
        # Everything else on the machine (other users' jobs) during the window, in cores.
        other = machine.cores() - (cpu + recorder_cpu + publisher_percent) / 100.0
        time.sleep(1.2)  # the diagnostics that cover end_ns
    finally:
        code, summary = pipeline.stop()
    recording = pipeline.recording
    window_s = (end_ns - start_ns) / 1e9
    topics: dict[str, Any] = {}
    for topic in outputs:
        samples = recording.samples(topic, start_ns, end_ns)
        latency = latencies_ms(samples)
        third = max(1, len(latency) // 3)
        topics[topic] = {
            'fps': len(samples) / window_s,
            'p50_ms': percentile(latency, 50),
            'p95_ms': percentile(latency, 95),
            'p99_ms': percentile(latency, 99),
            'max_ms': max(latency) if latency else None,
            'backlog_ms': (statistics.median(latency[-third:]) - statistics.median(latency[:third])
                           if latency else None),
        }
    before, after = recording.diagnostic_at(start_ns), recording.diagnostic_at(end_ns)
    received = dropped = processed = 0
    diag_s = 1.0
    if before is not None and after is not None and after is not before:
        received = after.total('received') - before.total('received')
        dropped = after.total('dropped') - before.total('dropped')
        processed = after.total('processed') - before.total('processed')
        diag_s = (after.received_ns - before.received_ns) / 1e9
    if peer:
        # The peer publishes no diagnostics: every frame of the last output (published last) is a
        # processed frame; what it received is unknown.
        processed, diag_s = len(recording.samples(outputs[-1], start_ns, end_ns)), window_s
    last_values = after.values if after is not None else {}
    result = {
        'node': 'MediaPipe peer' if peer else 'selfie_seg_node',
        'size': size, 'width': SIZES[size][0], 'height': SIZES[size][1],
        'rate': 'max' if rate == 0 else rate, 'window_s': window_s,
        'publisher': summary or {}, 'publisher_in_thread': publisher_thread,
        'node_input_fps': received / diag_s if diag_s > 0 else 0.0,
        'node_dropped': dropped, 'node_received': received, 'node_processed': processed,
        # CPU time per processed frame: unlike rates and latency, barely moved by other load.
        'node_cpu_ms_per_frame': (cpu / 100.0 * window_s * 1e3 / (processed / diag_s * window_s)
                                  if processed else None),
        # The same per frame of the last output received: one method for ours and the peer.
        'node_cpu_ms_per_output': (cpu / 100.0 * 1e3 / topics[outputs[-1]]['fps']
                                   if topics[outputs[-1]]['fps'] else None),
        'node_processing_ms': _float(last_values.get('processing ms')),
        'node_inference_ms': _float(last_values.get('inference ms')),
        'node_cpu_percent': cpu, 'node_rss_mib': rss[-1] if rss else None,
        'node_rss_max_mib': max(rss) if rss else None,
        'recorder_cpu_percent': recorder_cpu, 'publisher_cpu_percent': publisher_percent,
        'other_busy_cores': max(other, 0.0), 'busy_cores_before': busy_before,
        'node_exit_code': code, 'patches': list(patches),
        'load_average': os.getloadavg(), 'topics': topics,
    }
    result['target'] = _judge(size, rate, topics)
    return result


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _judge(size: str, rate: float, topics: dict[str, Any]) -> str:
    target = TARGETS.get((size, rate))
    if target is None:
        return ''
    text, p95_limit = target
    ok = all(t['fps'] >= rate - FPS_TOLERANCE for t in topics.values())
    if p95_limit is not None:
        ok = ok and all(t['p95_ms'] is not None and t['p95_ms'] <= p95_limit
                        for t in topics.values())
    return f'{"met" if ok else "MISSED"}: {text}'


def _ms(value: float | None) -> str:
    return '-' if value is None else f'{value:.0f}'


def throughputtable(results: list[dict[str, Any]], markdown: bool) -> str:
    """The per-case table; latency columns are those of the last output (blurred, when all are
    subscribed: it is published last)."""
    header = ['node', 'size', 'input', 'published Hz', 'node in fps', 'out fps per output',
              'last output p50/p95/p99 ms', 'mask p95 ms', 'dropped', 'node CPU %',
              'CPU ms/frame', 'CPU ms/output', 'RSS MiB', 'backlog ms', 'other load (cores)',
              'target']
    rows = []
    for r in results:
        t = r['topics']
        blurred = t[list(t)[-1]]
        peer = r.get('node') == 'MediaPipe peer'
        rows.append([
            r.get('node', 'selfie_seg_node'), r['size'],
            'max' if r['rate'] == 'max' else f'{r["rate"]:g} Hz',
            f'{r["publisher"].get("rate", 0):.1f}', '-' if peer else f'{r["node_input_fps"]:.1f}',
            '/'.join(f'{name} {t[name]["fps"]:.1f}' for name in t),
            '/'.join(_ms(blurred[k]) for k in ('p50_ms', 'p95_ms', 'p99_ms')),
            _ms(t['mask']['p95_ms']) if 'mask' in t else '-',
            '-' if peer else
            f'{r["node_dropped"]} ({r["node_dropped"] / max(r["node_received"], 1):.0%})',
            f'{r["node_cpu_percent"]:.0f}', _ms(r['node_cpu_ms_per_frame']),
            _ms(r.get('node_cpu_ms_per_output')),
            f'{r["node_rss_mib"]:.0f}',
            f'{blurred["backlog_ms"]:+.1f}' if blurred['backlog_ms'] is not None else '-',
            f'{r["other_busy_cores"]:.2f}', r['target'],
        ])
    return table(header, rows, markdown)


def peer_ratios(results: list[dict[str, Any]]) -> str:
    """Ours / the peer's CPU per frame and RSS, per size and rate measured for both."""
    lines = []
    ours = {(r['size'], r['rate']): r for r in results if r.get('node') != 'MediaPipe peer'}
    for r in results:
        mine = ours.get((r['size'], r['rate']))
        if r.get('node') != 'MediaPipe peer' or mine is None:
            continue
        cpu = (mine['node_cpu_ms_per_output'] / r['node_cpu_ms_per_output']
               if mine['node_cpu_ms_per_output'] and r['node_cpu_ms_per_output'] else None)
        verdict = '' if cpu is None or r['size'] != '720p' else (
            f' ({"met" if cpu <= PEER_CPU_TARGET else "MISSED"}: <= {PEER_CPU_TARGET:g}x)')
        lines.append(
            f'{r["size"]} {r["rate"]}: ours / peer CPU per output frame '
            f'{"-" if cpu is None else f"{cpu:.2f}x"}{verdict}, RSS '
            f'{mine["node_rss_mib"] / max(r["node_rss_mib"] or 1, 1):.2f}x, last output fps '
            f'{mine["topics"][list(mine["topics"])[-1]]["fps"]:.1f} vs '
            f'{r["topics"][list(r["topics"])[-1]]["fps"]:.1f}')
    return '\n'.join(lines)


# ---------------------------------------------------------------------------------------------
# Start-up


def _startup_once(cache_dir: Path | None, quiet_wait: float) -> dict[str, Any]:
    """Launch the node while frames already flow; time it to its first output."""
    if quiet_wait > 0:
        wait_for_quiet(quiet_wait)
    domain = unique_domain_id()
    recorder = Recorder(domain)
    publisher = PublisherProcess(domain, 640, 480, 30.0, wait_for_subscriber=False)
    node: NodeUnderTest | None = None
    try:
        if not recorder.wait(lambda: recorder.node.count_publishers('/camera/image') > 0, 30):
            raise RuntimeError('the frame publisher did not come up')
        time.sleep(0.5)  # let the publisher's discovery traffic settle
        node = NodeUnderTest(domain, cache_dir=cache_dir)
        launched = node.started_ns
        recorder.wait(lambda: all(recorder.recording.first_received_ns(t) for t in OUTPUTS)
                      or not node.alive(), 120)
        firsts = [recorder.recording.first_received_ns(t) for t in OUTPUTS]
        if not all(firsts):
            raise RuntimeError(f'node gave no output:\n{node.output()[-3000:]}')
        first = min(firsts)  # type: ignore[type-var]
        first_sample = next(s for t in OUTPUTS for s in recorder.recording.samples(t)
                            if s.received_ns == first)
        ready = node.ready_ns()
        engine_s = node.engine_startup_s()
    finally:
        if node is not None:
            node.stop()
        publisher.stop()
        recorder.close()
    first_frame_ms = (first_sample.received_ns - first_sample.stamp_ns) / 1e6
    ready_to_first_ms = (first - ready) / 1e6 if ready else None
    return {
        'launch_to_first_output_ms': (first - launched) / 1e6,
        'launch_to_all_outputs_ms': (max(firsts) - launched) / 1e6,  # type: ignore[type-var]
        'launch_to_ready_ms': (ready - launched) / 1e6 if ready else None,
        'segmenter_build_ms': engine_s * 1e3 if engine_s is not None else None,
        'ready_to_first_output_ms': ready_to_first_ms,
        'first_frame_latency_ms': first_frame_ms,
    }


def import_breakdown(runs: int) -> dict[str, float]:
    """Median milliseconds of each import step of the node, in fresh interpreters."""
    steps: dict[str, list[float]] = {}
    env = dict(os.environ, FASTDDS_DEFAULT_PROFILES_FILE=str(
        Path(__file__).resolve().parents[1] / 'config' / 'fastdds_shm.xml'),
        ROS_DOMAIN_ID=str(unique_domain_id()))
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, '-c', 'pass'], check=True, env=env)
        steps.setdefault('python interpreter start', []).append(
            (time.perf_counter() - started) * 1e3)
        done = subprocess.run([sys.executable, '-c', IMPORT_PROBE], check=True, env=env,
                              capture_output=True, text=True)
        for name, ms in json.loads(done.stdout.strip().splitlines()[-1]):
            steps.setdefault(name, []).append(ms)
    return {name: statistics.median(values) for name, values in steps.items()}


def run_startup(runs: int, quiet_wait: float = 0.0) -> dict[str, Any]:
    """Warm (IR cached) and cold (fresh cache, .tflite copied in) start-ups, plus imports."""
    if not (CACHE_DIR / 'ir').is_dir():
        raise SystemExit(f'{CACHE_DIR}/ir is empty: run the node or the tests once first')
    warm = [_startup_once(None, quiet_wait) for _ in range(runs)]
    cold = []
    source = CACHE_DIR / 'models' / MODEL / f'{MODEL}.tflite'
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix='selfie-seg-cold-') as tmp:
            target = Path(tmp) / 'models' / MODEL / source.name
            target.parent.mkdir(parents=True)
            shutil.copy2(source, target)
            cold.append(_startup_once(Path(tmp), quiet_wait))
            converted = any((Path(tmp) / 'ir').glob('*/model.xml'))
            cold[-1]['converted'] = converted
    return {'warm': warm, 'cold': cold, 'imports_ms': import_breakdown(runs),
            'load_average': os.getloadavg()}


def _median_of(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def startup_tables(result: dict[str, Any], markdown: bool) -> str:
    """Start-up medians (warm and cold) and the import breakdown."""
    keys = (('launch -> first output', 'launch_to_first_output_ms'),
            ('launch -> all three outputs', 'launch_to_all_outputs_ms'),
            ('launch -> node ready (log line)', 'launch_to_ready_ms'),
            ('  of which Segmenter build', 'segmenter_build_ms'),
            ('ready -> first output', 'ready_to_first_output_ms'),
            ('first frame: input stamp -> output received', 'first_frame_latency_ms'))
    rows = []
    for label, key in keys:
        cells = [label]
        for case in ('warm', 'cold'):
            values = [r[key] for r in result[case] if r.get(key) is not None]
            cells.append(f'{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})'
                         if values else '-')
        rows.append(cells)
    warm_first = _median_of(result['warm'], 'launch_to_first_output_ms') or 0.0
    verdict = 'met' if warm_first <= STARTUP_TARGET_S * 1e3 else 'MISSED'
    runs = len(result['warm'])
    first = table(['ms, median (min-max) of ' + str(runs), 'IR cached', 'fresh cache (converts)'],
                   rows, markdown)
    imports = table(['import step (fresh interpreter, median)', 'ms'],
                     [[name, f'{ms:.0f}'] for name, ms in result['imports_ms'].items()]
                     + [['total', f'{sum(result["imports_ms"].values()):.0f}']], markdown)
    return (f'{first}\n\nTarget launch -> first output <= {STARTUP_TARGET_S:g} s with the IR '
            f'cached: {verdict} ({warm_first:.0f} ms)\n\n{imports}')


# ---------------------------------------------------------------------------------------------
# Profile


def run_profile(size: str, seconds: float, out: Path, patches: tuple[str, ...] = (),
                outputs: tuple[str, ...] = OUTPUTS,
                parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """Sample the node with py-spy at ``size``, 30 Hz, ``outputs`` subscribed; aggregate by
    function.

    Two recordings one after the other: every thread at all times (wall time, idle included),
    then only the thread holding the GIL (who keeps the others waiting).
    """
    py_spy = shutil.which('py-spy') or str(BIN / 'py-spy')
    if not Path(py_spy).exists():
        raise SystemExit('py-spy not found: .venv/bin/pip install py-spy')
    width, height = SIZES[size]
    pipeline = Pipeline(width, height, 30.0, patches=patches, outputs=outputs,
                        parameters=parameters)
    raws = {'wall': out.with_suffix('.wall.txt'), 'gil': out.with_suffix('.gil.txt')}
    try:
        time.sleep(2.0)
        for mode, raw in raws.items():
            subprocess.run([py_spy, 'record', '--pid', str(pipeline.node.pid), '--duration',
                            str(int(seconds)), '--rate', '200', '--threads',
                            '--idle' if mode == 'wall' else '--gil', '--format', 'raw',
                            '--output', str(raw), '--nonblocking'],
                           check=True, capture_output=True)
    finally:
        pipeline.stop()
    return {mode: summarize_profile(raw) for mode, raw in raws.items()}


def summarize_profile(raw: Path) -> dict[str, Any]:
    """Inclusive and self sample shares per function, for the worker, painter and executor
    threads.

    py-spy's raw output is one collapsed stack per line, ``thread (tid): name;frame;... count``.
    """
    threads: Counter[str] = Counter()
    groups = {'worker': ('inclusive', 'self'), 'painter': ('inclusive', 'self'),
              'executor': ('inclusive', 'self')}
    counts = {group: {kind: Counter() for kind in kinds} for group, kinds in groups.items()}
    totals: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(' ')
        count = int(count_text)
        frames = stack.split(';')
        thread = frames[0]
        threads[thread] += count
        if 'selfie_seg_worker' in thread:
            group = 'worker'
        elif 'selfie_seg_painter' in thread:
            group = 'painter'
        elif 'ThreadPoolExecutor' in thread or 'MainThread' in thread:
            group = 'executor'  # MultiThreadedExecutor: callbacks run in its pool threads
        else:
            continue
        totals[group] += count
        for name in {_frame_name(f) for f in frames[1:]}:
            counts[group]['inclusive'][name] += count
        if len(frames) > 1:
            counts[group]['self'][_frame_name(frames[-1], line=True)] += count
    return {
        'threads': dict(threads.most_common()),
        **{f'{group}_samples': totals[group] for group in groups},
        **{f'{group}_{kind}': counts[group][kind].most_common(40)
           for group, kinds in groups.items() for kind in kinds},
    }


def _frame_name(frame: str, line: bool = False) -> str:
    """'function (path/to/file.py:123)' -> 'function (file.py)', or '... (file.py:123)'."""
    name, _, where = frame.partition(' (')
    path, _, number = where.rstrip(')').rpartition(':')
    if not where:
        return name
    return f'{name} ({Path(path).name}{":" + number if line else ""})'


def profile_text(result: dict[str, Any]) -> str:
    """Where the worker, painter and executor threads spend their samples (idle included)."""
    lines = ['samples per thread: ' + ', '.join(
        f'{name} {count}' for name, count in list(result['threads'].items())[:8])]
    for group in ('worker', 'painter', 'executor'):
        total = max(result[f'{group}_samples'], 1)
        lines.append(f'{group} threads, inclusive share of {total} samples:')
        lines += [f'  {count / total:6.1%}  {name}'
                  for name, count in result[f'{group}_inclusive'][:28]]
        lines.append(f'{group} threads, self (leaf) share:')
        lines += [f'  {count / total:6.1%}  {name}'
                  for name, count in result[f'{group}_self'][:20]]
    return '\n'.join(lines)


# ---------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sizes', default='480p,720p,1080p')
    parser.add_argument('--rates', default='30,max', help="Hz values and/or 'max'")
    parser.add_argument('--seconds', type=float, default=20.0, help='measured window per case')
    parser.add_argument('--warmup', type=float, default=3.0, help='seconds before the window')
    parser.add_argument('--quiet-wait', type=float, default=0.0,
                        help='before each case, wait up to this many seconds for the machine to '
                             'be idle (other jobs skew the numbers)')
    parser.add_argument('--max-other', type=float, default=None, metavar='CORES',
                        help='repeat a case (up to twice) when other jobs used more than this '
                             'many cores during it')
    parser.add_argument('--publisher-thread', action='store_true',
                        help='publish from a thread of this process instead of a process')
    parser.add_argument('--patch', default='', metavar='P1,P2',
                        help='experiment: run the node with these changes (cv<N>, ov<N>, '
                             'switch<MS>, single_executor, events_executor, check_fields, '
                             'search_at_once; see node_harness.py)')
    parser.add_argument('--outputs', default=','.join(OUTPUTS),
                        help='outputs to subscribe, e.g. mask (the node computes only those)')
    parser.add_argument('--model', default=MODEL,
                        help="the node's model, e.g. pose_segmentation (default: %(default)s)")
    parser.add_argument('--peer', action='store_true',
                        help='after each case, run the same case on the MediaPipe peer node '
                             '(mediapipe_peer_node.py in .venv-mediapipe) and compare')
    parser.add_argument('--startup', action='store_true', help='measure start-up only')
    parser.add_argument('--startup-runs', type=int, default=3)
    parser.add_argument('--profile', choices=tuple(SIZES), default=None,
                        help='profile the node with py-spy at this size (30 Hz)')
    parser.add_argument('--markdown', action='store_true')
    parser.add_argument('--json', type=Path, default=None)
    args = parser.parse_args()
    load = os.getloadavg()
    print(f'{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; '
          f'model {args.model}, CPU', flush=True)
    output: dict[str, Any] = {}
    if args.profile:
        patches = tuple(p for p in args.patch.split(',') if p)
        outputs = tuple(o.strip() for o in args.outputs.split(',') if o.strip())
        result = run_profile(args.profile, args.seconds,
                             Path(tempfile.gettempdir()) / f'bench_node_profile_{args.profile}',
                             patches, outputs, parameters={'model': args.model})
        output['profile'] = result
        print('== wall time (idle included)\n' + profile_text(result['wall']))
        print('\n== holding the GIL\n' + profile_text(result['gil']))
    elif args.startup:
        result = run_startup(args.startup_runs, args.quiet_wait)
        output['startup'] = result
        print(startup_tables(result, args.markdown))
    else:
        results = []
        rates = [0.0 if r.strip() == 'max' else float(r) for r in args.rates.split(',')]
        patches = tuple(p for p in args.patch.split(',') if p)
        outputs = tuple(o.strip() for o in args.outputs.split(',') if o.strip())
        if args.peer and not PEER_PYTHON.exists():
            raise SystemExit(f'{PEER_PYTHON} not found: make venv-mediapipe')
        for size in (s.strip() for s in args.sizes.split(',')):
            for rate in rates:
                for peer in (False, True) if args.peer else (False,):
                    for attempt in range(3):
                        result = run_case(size, rate, args.seconds, args.warmup,
                                          publisher_thread=args.publisher_thread,
                                          quiet_wait=args.quiet_wait, patches=patches,
                                          peer=peer, outputs=outputs,
                                          parameters={'model': args.model})
                        result['attempt'] = attempt + 1
                        if (args.max_other is None
                                or result['other_busy_cores'] <= args.max_other):
                            break
                        print(f'  {size} {result["rate"]}: other jobs used '
                              f'{result["other_busy_cores"]:.2f} cores, again', flush=True)
                    results.append(result)
                    print(f'  {result["node"]} {size} {result["rate"]}: out fps '
                          + '/'.join(f'{result["topics"][t]["fps"]:.1f}' for t in outputs)
                          + f', last p95 {_ms(result["topics"][outputs[-1]]["p95_ms"])} ms, '
                          f'load {os.getloadavg()[0]:.2f}', flush=True)
        output['cases'] = results
        where = 'a thread of the recording process' if args.publisher_thread else 'its own process'
        setup = f'; node patched: {args.patch}' if args.patch else ''
        print(f'\npublisher in {where}{setup}; latency = input stamp -> output received\n')
        print(throughputtable(results, args.markdown))
        if args.peer:
            print('\n' + peer_ratios(results))
    if args.json:
        args.json.write_text(json.dumps(output, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
