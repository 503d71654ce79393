# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Several cameras: memory of one process hosting N camera nodes, and how many it serves.

For each camera count N, one ``selfie_seg_cameras --namespaces cam0 ... cam<N-1>`` process
(general selfie model, CPU, one compiled model shared) gets frames from N publisher processes
(the astronaut photo in a frame of the given size, at the given rate, one topic per camera)
while this process subscribes to the three outputs of every camera (raw, only the header stamp
is read). Per N: the process's RSS (and RSS per camera), its CPU, CPU per output frame, and
out fps and p95 latency of the slowest camera. A camera count is "served at full rate" when
every camera's every output reaches rate - 1 fps. For comparison the RSS of one
``selfie_seg_node`` process (one camera) is measured the same way: N separate processes would
take about N times that.

Usage:
    .venv/bin/python benchmarks/bench_cameras.py [--counts 1,2,3,4] [--size 1280x720]
        [--rate 30] [--seconds 15] [--markdown] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from common import CpuMeter, load_average, percentile, rss_mib, table
from node_harness import (
    MODEL,
    OUTPUTS,
    NodeUnderTest,
    PublisherProcess,
    header_stamp_ns,
    ros_env,
)

from selfie_seg_ros.ros import harness

REPO_ROOT = Path(__file__).resolve().parents[1]
FPS_TOLERANCE = 1.0
RSS_TARGET = 1.5
"""RSS of 4 cameras in one process, as a multiple of one camera's."""
SERVED_TARGET = 3


class MultiRecorder(harness.RclpyPeer):
    """Raw subscriptions on every camera's outputs; (stamp, received) per topic."""

    def __init__(self, domain: int, namespaces: list[str]) -> None:
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image

        super().__init__(domain, f'bench_cameras_recorder_{domain}',
                         REPO_ROOT / 'config' / 'fastdds_shm.xml')
        self.lock = threading.Lock()
        self.samples: dict[str, list[tuple[int, int]]] = {}
        qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        self.subscriptions = []
        for namespace in namespaces:
            for output in OUTPUTS:
                topic = f'{namespace}/selfie_seg/{output}'
                self.samples[topic] = []
                self.subscriptions.append(self.node.create_subscription(
                    Image, topic, lambda data, key=topic: self._on(key, data), qos, raw=True))

    def _on(self, topic: str, data: bytes) -> None:
        received = time.time_ns()
        with self.lock:
            self.samples[topic].append((header_stamp_ns(data), received))

    def window(self, start_ns: int, end_ns: int) -> dict[str, list[tuple[int, int]]]:
        with self.lock:
            return {topic: [s for s in samples if start_ns <= s[1] < end_ns]
                    for topic, samples in self.samples.items()}

    def flowing(self) -> bool:
        with self.lock:
            return all(self.samples.values())


class CamerasProcess(harness.ChildProcess):
    """``selfie_seg_cameras`` with N namespaces and the benchmark model."""

    def __init__(self, domain: int, namespaces: list[str], log_dir: Path) -> None:
        command = [str(harness.BIN / 'selfie_seg_cameras'), '--namespaces', *namespaces,
                   *harness.ros_arguments({'model': MODEL}, {'image': 'camera/image'})]
        super().__init__(command, ros_env(domain),
                         log_dir / f'bench_cameras_{domain}_{len(namespaces)}.log')


def run_count(count: int, width: int, height: int, rate: float, seconds: float,
              warmup: float, single_node: bool = False) -> dict[str, Any]:
    """N cameras in one process (or, with ``single_node``, one selfie_seg_node)."""
    domain = harness.unique_domain_id()
    namespaces = [f'/cam{i}' for i in range(count)]
    log_dir = Path(os.environ.get('TMPDIR', '/tmp'))
    recorder = MultiRecorder(domain, [''] if single_node else namespaces)
    if single_node:
        process: harness.ChildProcess = NodeUnderTest(domain, log_dir=log_dir)
        topics = ['/camera/image']
    else:
        process = CamerasProcess(domain, namespaces, log_dir)
        topics = [f'{namespace}/camera/image' for namespace in namespaces]
    publishers: list[PublisherProcess] = []
    try:
        publishers = [PublisherProcess(domain, width, height, rate, topic=topic)
                      for topic in topics]
        if not harness.wait_until(lambda: recorder.flowing() or not process.alive(), 180):
            raise RuntimeError(f'no output from every camera:\n{process.output()[-3000:]}')
        time.sleep(warmup)
        cpu = CpuMeter(process.pid)
        start_ns = time.time_ns()
        rss = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            rss.append(rss_mib(process.pid))
        end_ns = time.time_ns()
        cpu_percent = cpu.percent()
    finally:
        for publisher in publishers:
            publisher.stop()
        code = process.stop()
        recorder.close()
    window_s = (end_ns - start_ns) / 1e9
    samples = recorder.window(start_ns, end_ns)
    fps = {topic: len(values) / window_s for topic, values in samples.items()}
    latency = [(received - stamp) / 1e6 for values in samples.values()
               for stamp, received in values]
    frames = sum(len(values) for topic, values in samples.items() if topic.endswith('/blurred'))
    slowest = min(fps.values()) if fps else 0.0
    return {
        'cameras': count, 'single_node': single_node, 'width': width, 'height': height,
        'rate': rate, 'window_s': window_s, 'rss_mib': max(rss) if rss else None,
        'cpu_percent': cpu_percent,
        'cpu_ms_per_frame': cpu_percent / 100.0 * window_s * 1e3 / frames if frames else None,
        'slowest_fps': slowest, 'mean_fps': sum(fps.values()) / max(len(fps), 1),
        'p95_ms': percentile(latency, 95), 'full_rate': slowest >= rate - FPS_TOLERANCE,
        'exit_code': code, 'load_average': load_average(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--counts', default='1,2,3,4', help='camera counts to run')
    parser.add_argument('--size', default='1280x720')
    parser.add_argument('--rate', type=float, default=30.0)
    parser.add_argument('--seconds', type=float, default=15.0)
    parser.add_argument('--warmup', type=float, default=3.0)
    parser.add_argument('--markdown', action='store_true')
    parser.add_argument('--json', type=Path, default=None)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split('x'))
    load = load_average()
    print(f'{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; '
          f'model {MODEL}, CPU, {args.size} at {args.rate:g} Hz per camera', flush=True)
    results = [run_count(1, width, height, args.rate, args.seconds, args.warmup,
                         single_node=True)]
    for count in (int(c) for c in args.counts.split(',')):
        results.append(run_count(count, width, height, args.rate, args.seconds, args.warmup))
        r = results[-1]
        print(f'  {count} cameras: RSS {r["rss_mib"]:.0f} MiB, slowest {r["slowest_fps"]:.1f} '
              f'fps, load {load_average()[0]:.2f}', flush=True)
    one = next((r for r in results if r['cameras'] == 1 and not r['single_node']), None)
    rows = []
    for r in results:
        rows.append([
            'selfie_seg_node (1 camera)' if r['single_node'] else
            f'selfie_seg_cameras, {r["cameras"]} camera(s)',
            f'{r["rss_mib"]:.0f}', f'{r["rss_mib"] / r["cameras"]:.0f}',
            f'{r["slowest_fps"]:.1f}', f'{r["mean_fps"]:.1f}',
            '-' if r['p95_ms'] is None else f'{r["p95_ms"]:.0f}', f'{r["cpu_percent"]:.0f}',
            '-' if r['cpu_ms_per_frame'] is None else f'{r["cpu_ms_per_frame"]:.0f}',
            'yes' if r['full_rate'] else 'no', f'{r["load_average"][0]:.1f}'])
    print()
    print(table(['process', 'RSS MiB', 'RSS per camera', 'slowest out fps', 'mean out fps',
                 'p95 ms', 'CPU %', 'CPU ms/frame', 'full rate', 'load'], rows, args.markdown))
    four = next((r for r in results if r['cameras'] == 4 and not r['single_node']), None)
    if one and four:
        ratio = four['rss_mib'] / one['rss_mib']
        print(f'\nRSS 4 cameras / 1 camera in one process: {ratio:.2f}x '
              f'({"met" if ratio <= RSS_TARGET else "MISSED"}: <= {RSS_TARGET:g}x)')
    served = max((r['cameras'] for r in results if not r['single_node'] and r['full_rate']),
                 default=0)
    print(f'cameras served at full rate ({args.size}, {args.rate:g} Hz, all outputs): {served} '
          f'({"met" if served >= SERVED_TARGET else "MISSED"}: >= {SERVED_TARGET})')
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
