# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Soak: the node under steady load for minutes; fails on memory growth or latency creep.

The node (general selfie model) gets 1280x720 frames at 30 Hz from a publisher process, with all
three outputs subscribed by this process (see node_harness.py for the layout). Once a second it
samples the node's RSS and CPU, the output rates and the latency of the outputs received in that
second.

PASS when, after the run:
    * the node is still running and every output still arrives in the last window;
    * memory: the node's median RSS over the last window is < 5 % above its median RSS over the
      first window after the warm-up (warm-up: the first min(60 s, duration / 6) of output);
    * latency: the p95 latency (all outputs) of the last window is at most 20 % above the p95 of
      the first window; windows are min(60 s, duration / 3) long, the first one starting
      SETTLE_S after the first output.

Usage:
    .venv/bin/python benchmarks/soak.py [--duration 600] [--csv samples.csv]
Exits 0 on PASS, 1 on FAIL, 2 when the node does not come up.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from common import CpuMeter, MachineMeter, memory_mib, percentile
from node_harness import OUTPUTS, Pipeline, StartError, latencies_ms

RSS_GROWTH_LIMIT = 0.05
LATENCY_GROWTH_LIMIT = 0.20
SETTLE_S = 5.0


@dataclass
class Row:
    """One second of the soak."""

    t_s: float
    rss_mib: float
    rss_anon_mib: float
    rss_shmem_mib: float
    cpu_percent: float
    fps_mask: float
    fps_overlay: float
    fps_blurred: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    node_received: int
    node_dropped: int
    other_busy_cores: float
    """CPU used by everything but the node, the publisher and this process (other jobs)."""
    load1: float


def _window_latencies(pipeline: Pipeline, start_ns: int, end_ns: int) -> list[float]:
    values: list[float] = []
    for topic in OUTPUTS:
        values += latencies_ms(pipeline.recording.samples(topic, start_ns, end_ns))
    return values


def run(duration: float, width: int, height: int, rate: float, warmup: float, window: float,
        csv_path: Path | None, patches: tuple[str, ...] = (),
        node_env: dict[str, str] | None = None) -> int:
    """Run the soak and print the verdict; returns the exit code."""
    try:
        pipeline = Pipeline(width, height, rate, patches=patches, node_env=node_env)
    except StartError as error:
        print(f'FAIL: {error}', file=sys.stderr)
        return 2
    first_ns = min(pipeline.recording.first_received_ns(t) or 0 for t in OUTPUTS)
    cpu = CpuMeter(pipeline.node.pid)
    side_meters = [CpuMeter(os.getpid())]
    if pipeline.publisher is not None:
        side_meters.append(CpuMeter(pipeline.publisher.pid))
    machine = MachineMeter()
    first_window = (first_ns + int(SETTLE_S * 1e9), first_ns + int((SETTLE_S + window) * 1e9))
    first_p95: float | None = None
    rows: list[Row] = []
    started = time.monotonic()
    try:
        tick = started
        while time.monotonic() - started < duration and pipeline.node.alive():
            tick += 1.0
            time.sleep(max(0.0, tick - time.monotonic()))
            now_ns = time.time_ns()
            last = now_ns - 1_000_000_000
            latency = _window_latencies(pipeline, last, now_ns)
            fps = {t: len(pipeline.recording.samples(t, last, now_ns)) for t in OUTPUTS}
            diagnostic = pipeline.recording.diagnostic_at(now_ns)
            node_cpu = cpu.percent()
            memory = memory_mib(pipeline.node.pid)
            other = machine.cores() - (node_cpu + sum(h.percent() for h in side_meters)) / 100.0
            rows.append(Row(
                t_s=round((now_ns - first_ns) / 1e9, 2),
                rss_mib=round(memory.get('VmRSS', 0.0), 1),
                rss_anon_mib=round(memory.get('RssAnon', 0.0), 1),
                rss_shmem_mib=round(memory.get('RssShmem', 0.0), 1),
                cpu_percent=round(node_cpu, 1),
                fps_mask=fps['mask'], fps_overlay=fps['overlay'], fps_blurred=fps['blurred'],
                latency_p50_ms=_round(percentile(latency, 50)),
                latency_p95_ms=_round(percentile(latency, 95)),
                node_received=diagnostic.total('received') if diagnostic else 0,
                node_dropped=diagnostic.total('dropped') if diagnostic else 0,
                other_busy_cores=round(max(other, 0.0), 2),
                load1=os.getloadavg()[0],
            ))
            if first_p95 is None and now_ns >= first_window[1]:
                first_p95 = percentile(_window_latencies(pipeline, *first_window), 95)
            if len(rows) % 10 == 0:
                _progress(rows[-1])
                if first_p95 is not None:  # older samples are in no window still to come
                    pipeline.recording.trim(now_ns - int((window + 5) * 1e9))
        end_ns = time.time_ns()
        alive = pipeline.node.alive()
        last_window = (end_ns - int(window * 1e9), end_ns)
        if first_p95 is None:
            first_p95 = percentile(_window_latencies(pipeline, *first_window), 95)
        last_p95 = percentile(_window_latencies(pipeline, *last_window), 95)
        last_fps = {t: len(pipeline.recording.samples(t, *last_window)) / window
                    for t in OUTPUTS}
    finally:
        code, summary = pipeline.stop()
    if csv_path is not None:
        with open(csv_path, 'w', newline='') as handle:
            writer = csv.DictWriter(handle, fieldnames=list(asdict(rows[0])) if rows else [])
            writer.writeheader()
            writer.writerows(asdict(row) for row in rows)
    return _verdict(rows, warmup, window, alive, code, first_p95, last_p95, last_fps, summary)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _progress(row: Row) -> None:
    print(f'  t={row.t_s:6.0f} s  rss {row.rss_mib:6.1f} MiB (anon {row.rss_anon_mib:.0f}, shm '
          f'{row.rss_shmem_mib:.0f})  cpu {row.cpu_percent:5.1f} %  '
          f'fps {row.fps_mask}/{row.fps_overlay}/{row.fps_blurred}  '
          f'p95 {row.latency_p95_ms} ms  dropped {row.node_dropped}  '
          f'other jobs {row.other_busy_cores:.2f} cores',
          flush=True)


def _verdict(rows: list[Row], warmup: float, window: float, alive: bool, code: int,
             first_p95: float | None, last_p95: float | None, last_fps: dict[str, float],
             summary: dict | None) -> int:
    checks: list[tuple[str, bool]] = []
    after = [row for row in rows if row.t_s >= warmup]
    if not after:
        print('FAIL: the run ended before the warm-up did')
        return 1
    # Medians of whole windows: single samples swing by +-10 MiB as frame buffers come and go.
    baseline = statistics.median(r.rss_mib for r in after if r.t_s < warmup + window)
    final = statistics.median(r.rss_mib for r in rows if r.t_s >= rows[-1].t_s - window)
    peak = max(row.rss_mib for row in after)
    growth = (final - baseline) / baseline
    anon_first = statistics.median(r.rss_anon_mib for r in after if r.t_s < warmup + window)
    anon_last = statistics.median(r.rss_anon_mib for r in rows if r.t_s >= rows[-1].t_s - window)
    checks.append((f'RSS median {baseline:.1f} MiB in the {window:.0f} s after the '
                   f'{warmup:.0f} s warm-up, {final:.1f} MiB in the last {window:.0f} s: '
                   f'growth {growth:+.1%} (limit {RSS_GROWTH_LIMIT:.0%}); peak {peak:.1f} MiB; '
                   f'of which private (RssAnon) {anon_first:.1f} -> {anon_last:.1f} MiB',
                   growth < RSS_GROWTH_LIMIT))
    if first_p95 is None or last_p95 is None:
        checks.append(('latency: no output in the first or the last window', False))
    else:
        ratio = last_p95 / first_p95
        checks.append((f'p95 latency first {window:.0f} s {first_p95:.1f} ms, last {window:.0f} s '
                       f'{last_p95:.1f} ms: {ratio - 1:+.1%} (limit +{LATENCY_GROWTH_LIMIT:.0%})',
                       ratio <= 1 + LATENCY_GROWTH_LIMIT))
    fps_text = ', '.join(f'{t} {fps:.1f}' for t, fps in last_fps.items())
    checks.append((f'outputs in the last {window:.0f} s: {fps_text} fps',
                   all(fps > 0 for fps in last_fps.values())))
    checks.append((f'node alive to the end, exit code {code} after SIGINT',
                   alive and code == 0))
    duration = rows[-1].t_s
    dropped = rows[-1].node_dropped
    received = rows[-1].node_received
    cpu = sum(row.cpu_percent for row in after) / len(after)
    load = sum(row.load1 for row in rows) / len(rows)
    other = sum(row.other_busy_cores for row in rows) / len(rows)
    other_first = statistics.mean(r.other_busy_cores for r in rows if r.t_s <= SETTLE_S + window)
    other_last = statistics.mean(r.other_busy_cores for r in rows
                                 if r.t_s >= rows[-1].t_s - window)
    rate = f'{summary["rate"]:.1f} Hz' if summary else 'unknown'
    print(f'soak {duration:.0f} s: node received {received} frames, dropped {dropped} '
          f'({dropped / max(received, 1):.1%}); node CPU {cpu:.0f} % of one core (mean after '
          f'warm-up); publisher rate {rate}', flush=True)
    print(f'other jobs on the machine: {other:.2f} cores busy on average ({other_first:.2f} in '
          f'the first window, {other_last:.2f} in the last); mean load average {load:.2f} '
          f'({os.cpu_count()} cores)')
    for text, ok in checks:
        print(f'  [{"ok" if ok else "FAIL"}] {text}')
    passed = all(ok for _, ok in checks)
    print('PASS' if passed else 'FAIL', flush=True)
    return 0 if passed else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--duration', type=float, default=600.0, help='seconds (default 600)')
    parser.add_argument('--width', type=int, default=1280)
    parser.add_argument('--height', type=int, default=720)
    parser.add_argument('--rate', type=float, default=30.0, help='input frames per second')
    parser.add_argument('--warmup', type=float, default=None,
                        help='seconds excluded from the memory baseline '
                             '(default min(60, duration / 6))')
    parser.add_argument('--window', type=float, default=None,
                        help='length of the first and last latency windows '
                             '(default min(60, duration / 3))')
    parser.add_argument('--csv', type=Path, default=None, help='write the per-second samples')
    parser.add_argument('--patch', default='', metavar='P1,P2',
                        help='experiment: run the node with these changes (see node_harness.py)')
    parser.add_argument('--node-env', action='append', default=[], metavar='NAME=VALUE',
                        help='experiment: an environment variable of the node (repeatable)')
    args = parser.parse_args()
    if args.duration < 30:
        parser.error('--duration must be at least 30 seconds')
    warmup = args.warmup if args.warmup is not None else min(60.0, args.duration / 6)
    window = args.window if args.window is not None else min(60.0, args.duration / 3)
    print(f'soak: {args.width}x{args.height} at {args.rate:g} Hz for {args.duration:.0f} s, '
          f'all outputs subscribed; warm-up {warmup:.0f} s, latency windows {window:.0f} s',
          flush=True)
    patches = tuple(p for p in args.patch.split(',') if p)
    node_env = dict(item.split('=', 1) for item in args.node_env)
    if patches or node_env:
        print(f'node patched: {",".join(patches) or "-"}; node environment: {node_env or "-"}')
    return run(args.duration, args.width, args.height, args.rate, warmup, window, args.csv,
               patches, node_env)


if __name__ == '__main__':
    sys.exit(main())
