# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Headless viewer: saves the latest frame of each output topic as PNG and prints frame rates.

For machines without a display (or without rviz2)::

    selfie_seg_viewer --out frames --prefix /selfie_seg --duration 10 --min-frames 30

saves ``frames/mask.png``, ``frames/overlay.png`` and ``frames/blurred.png`` every ``--save-every``
seconds and at exit, prints the frame rate of every topic once a second, and exits non-zero when a
topic delivered fewer than ``--min-frames`` frames. A mono8 class mask (black to the eye: ids 0..N)
is also saved colourised as ``mask_color.png``, with the palette of the node's ``labels``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import rclpy
from rcl_interfaces.srv import GetParameters
from rclpy.clock import Clock, ClockType
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter_client import AsyncParameterClient
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.task import Future
from rclpy.utilities import remove_ros_args
from sensor_msgs.msg import Image

from selfie_seg_ros.engine.catalog import default_labels
from selfie_seg_ros.engine.effects import colorize, make_palette
from selfie_seg_ros.engine.limits import DEFAULT_MAX_PIXELS, check_max_pixels
from selfie_seg_ros.ros import process
from selfie_seg_ros.ros.image_io import decode_native

NODE_NAME = 'selfie_seg_viewer'
DEFAULT_TOPICS = ('mask', 'overlay', 'blurred')

def save_png(path: Path, array: np.ndarray) -> None:
    """Write ``array`` as PNG atomically, so a reader never sees half a file."""
    ok, encoded = cv2.imencode('.png', array)
    if not ok:
        raise ValueError(f'PNG encoding failed for {path}')
    tmp = path.with_name(f'.{path.name}.tmp')
    tmp.write_bytes(encoded.tobytes())
    os.replace(tmp, path)


def topic_file_name(name: str) -> str:
    """PNG file name for a topic given relative to the prefix: ``'mask'`` -> ``'mask.png'``."""
    return name.strip('/').replace('/', '_') + '.png'


def is_class_mask(name: str, encoding: str) -> bool:
    """Whether a topic carries a class-id mask worth a colourised copy."""
    return name.rstrip('/').endswith('mask') and encoding in ('mono8', '8UC1')


def full_topic(prefix: str, name: str) -> str:
    """Join the node prefix and a topic name; an empty prefix leaves ``name`` relative."""
    prefix = prefix.rstrip('/')
    return f'{prefix}/{name.lstrip("/")}' if prefix else name


@dataclass
class TopicStats:
    """What arrived on one topic."""

    topic: str
    name: str
    """The topic as given, relative to the prefix (``'mask'``)."""
    count: int = 0
    window: int = 0
    first_arrival: float | None = None
    last_arrival: float | None = None
    latest: Image | None = field(default=None, repr=False)
    saved_count: int = -1
    warned: bool = False

    @property
    def file_name(self) -> str:
        """PNG file name of the latest frame."""
        return topic_file_name(self.name)

    def mean_fps(self) -> float:
        """Frames per second between the first and the last arrival."""
        if self.count < 2 or self.first_arrival is None or self.last_arrival is None:
            return 0.0
        span = self.last_arrival - self.first_arrival
        return (self.count - 1) / span if span > 0 else 0.0


class Viewer(Node):
    """Subscribes the output topics, keeps the latest frame of each, saves and reports."""

    def __init__(self, out_dir: Path, prefix: str, topics: Sequence[str], save_every: float,
                 best_effort: bool, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        """Subscribe ``prefix/<topic>`` per topic; save to ``out_dir`` every ``save_every`` s.

        Frames declaring more than ``max_pixels`` pixels are refused, not decoded.
        """
        super().__init__(NODE_NAME)
        self._out_dir = out_dir
        self._max_pixels = max_pixels
        out_dir.mkdir(parents=True, exist_ok=True)
        reliability = ReliabilityPolicy.BEST_EFFORT if best_effort else ReliabilityPolicy.RELIABLE
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=5, reliability=reliability)
        self.stats: list[TopicStats] = []
        self._labels: list[str] | None = None
        self._labels_client = AsyncParameterClient(self, prefix) if prefix.strip('/') else None
        self._labels_future: Future[GetParameters.Response] | None = None
        for name in topics:
            stats = TopicStats(full_topic(prefix, name), name)
            subscription = self.create_subscription(
                Image, stats.topic, lambda msg, s=stats: self._on_image(s, msg), qos)
            stats.topic = subscription.topic_name
            self.stats.append(stats)
        wall = Clock(clock_type=ClockType.STEADY_TIME)
        self._last_report = time.monotonic()
        self.create_timer(1.0, self._report, clock=wall)
        if save_every > 0:
            self.create_timer(save_every, self.save_all, clock=wall)
        topics_text = ', '.join(s.topic for s in self.stats)
        self.get_logger().info(f'saving {topics_text} to {out_dir}')

    def _on_image(self, stats: TopicStats, msg: Image) -> None:
        now = time.monotonic()
        if stats.first_arrival is None:
            stats.first_arrival = now
        stats.last_arrival = now
        stats.count += 1
        stats.window += 1
        stats.latest = msg

    def _report(self) -> None:
        now = time.monotonic()
        elapsed = max(now - self._last_report, 1e-6)
        self._last_report = now
        parts = [f'{s.topic} {s.window / elapsed:5.1f}' for s in self.stats]
        for stats in self.stats:
            stats.window = 0
        print('fps  ' + '  '.join(parts), flush=True)
        self._request_labels()

    def save_all(self) -> None:
        """Save the latest frame of every topic that received a new one since the last save."""
        for stats in self.stats:
            if stats.latest is None or stats.saved_count == stats.count:
                continue
            try:
                array = decode_native(stats.latest, self._max_pixels)
                save_png(self._out_dir / stats.file_name, array)
                if is_class_mask(stats.name, stats.latest.encoding):
                    color_name = topic_file_name(f'{stats.name}_color')
                    save_png(self._out_dir / color_name, colorize(array, self._palette(array)))
            except ValueError as error:
                if not stats.warned:
                    self.get_logger().warning(f'{stats.topic}: {error}')
                    stats.warned = True
                continue
            stats.saved_count = stats.count

    def _request_labels(self) -> None:
        """Ask the publisher for its ``labels`` parameter once its services are up."""
        client = self._labels_client
        if self._labels_future is None and client is not None and client.services_are_ready():
            self._labels_future = client.get_parameters(['labels'], callback=self._on_labels)

    def _palette(self, mask: np.ndarray) -> np.ndarray:
        """Palette of the publisher's ``labels`` parameter; generic colours until it is known."""
        self._request_labels()
        if self._labels:
            return make_palette(self._labels)
        return make_palette(default_labels(int(mask.max()) + 1))

    def _on_labels(self, future: Future[GetParameters.Response]) -> None:
        response = future.result()
        if response is not None and response.values:
            labels = list(response.values[0].string_array_value)
            self._labels = labels or None
            if labels:
                self.get_logger().info(f'class labels: {", ".join(labels)}')

    def summary(self) -> list[str]:
        """One line per topic: frames received, mean fps, size and encoding of the last frame."""
        lines = []
        for stats in self.stats:
            last = stats.latest
            shape = f'{last.width}x{last.height} {last.encoding}' if last is not None else '-'
            lines.append(f'{stats.topic}: {stats.count} frames, {stats.mean_fps():.1f} fps, '
                         f'last {shape}')
        return lines


def _max_pixels(text: str) -> int:
    try:
        return check_max_pixels(int(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse the viewer's command line (without ROS arguments)."""
    parser = argparse.ArgumentParser(
        prog='selfie_seg_viewer',
        description='Save the latest frame of each selfie_seg output as PNG; print frame rates.')
    parser.add_argument('--out', type=Path, default=Path('selfie_seg_frames'),
                        help='folder for the PNG files (default: %(default)s)')
    parser.add_argument('--prefix', default='/selfie_seg',
                        help="namespace + node name of the publisher; '' for relative topics "
                             '(default: %(default)s)')
    parser.add_argument('--topics', nargs='+', default=list(DEFAULT_TOPICS),
                        help='topics under the prefix (default: %(default)s)')
    parser.add_argument('--save-every', type=float, default=5.0, metavar='SECONDS',
                        help='save interval; 0 saves only at exit (default: %(default)s)')
    parser.add_argument('--duration', type=float, default=0.0, metavar='SECONDS',
                        help='exit after this long; 0 runs until Ctrl-C (default: %(default)s)')
    parser.add_argument('--min-frames', type=int, default=0, metavar='N',
                        help='exit with code 1 if a topic delivered fewer frames (default: 0)')
    parser.add_argument('--best-effort', action='store_true',
                        help='subscribe best effort (matches any publisher) instead of reliable')
    parser.add_argument('--max-pixels', type=_max_pixels, default=DEFAULT_MAX_PIXELS, metavar='N',
                        help='refuse frames declaring more pixels (default: %(default)s)')
    args = parser.parse_args(argv)
    if args.save_every < 0 or args.duration < 0 or args.min_frames < 0:
        parser.error('--save-every, --duration and --min-frames must not be negative')
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Run the viewer until ``--duration`` has passed, Ctrl-C or SIGTERM."""
    argv = list(sys.argv if argv is None else argv)
    args = parse_args(remove_ros_args(argv)[1:])
    viewer: Viewer | None = None
    with process.StopSignal() as stop:
        try:
            process.init(argv)
            viewer = Viewer(args.out, args.prefix, args.topics, args.save_every, args.best_effort,
                            args.max_pixels)
            executor = SingleThreadedExecutor()
            executor.add_node(viewer)
            process.spin_until_stopped(executor, stop, duration_s=args.duration or None)
        except (process.StopRequested, KeyboardInterrupt, ExternalShutdownException):
            pass
        finally:
            if viewer is not None:
                viewer.save_all()
                for line in viewer.summary():
                    print(line, flush=True)
                viewer.destroy_node()
            rclpy.try_shutdown()
    short = [s.topic for s in viewer.stats if s.count < args.min_frames] if viewer else []
    if short:
        print(f'fewer than {args.min_frames} frames on: {", ".join(short)}', file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
