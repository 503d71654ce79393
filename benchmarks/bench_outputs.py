# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""What a remote subscriber receives, and what recorded bags cost.

1. Output topics at 720p (and 1080p): bytes per serialised message and CPU per frame to build
   and serialise it, raw ``sensor_msgs/Image`` side by side with the ``/compressed`` variant
   (JPEG at two qualities for pictures, PNG for the class-id mask), and the bandwidth at 30 Hz.
   The frame is the astronaut photo scaled to cover the frame, with camera-like noise (sigma 3)
   added, because a noise-free upscaled photo compresses unrealistically well; the outputs come
   from the real general selfie model.
2. ``selfie-seg bag`` on a 720p, 30 Hz bag written here: seconds of recording per second of
   processing (x real time), adding topics and anonymising.

    .venv/bin/python benchmarks/bench_outputs.py [--frames 200] [--bag-frames 60]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from common import CACHE_DIR, machine, photo
from rclpy.serialization import serialize_message
from std_msgs.msg import Header

from selfie_seg_ros import Segmenter
from selfie_seg_ros.cli.bag import BagJob, run_bag_job
from selfie_seg_ros.engine.effects import (
    EffectOptions,
    apply_background_effect,
    colorize,
    make_palette,
    overlay,
)
from selfie_seg_ros.engine.processing import cover_crop
from selfie_seg_ros.ros.image_io import (
    encode_compressed,
    encode_image,
    encode_probability,
)

SIZES = {'720p': (1280, 720), '1080p': (1920, 1080)}


def camera_frame(width: int, height: int) -> np.ndarray:
    """The astronaut covering the frame, plus Gaussian sensor noise (sigma 3)."""
    image = cover_crop(photo('astronaut'), height, width).astype(np.float32)
    image += np.random.default_rng(0).normal(0.0, 3.0, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def cpu_ms(function: Callable[[], bytes], frames: int) -> tuple[float, int]:
    """CPU milliseconds per call (process time, all threads) and the bytes of the last call."""
    data = function()
    started = time.process_time()
    for _ in range(frames):
        data = function()
    return (time.process_time() - started) * 1e3 / frames, len(data)


def _raw(array: np.ndarray, encoding: str, header: Header) -> Callable[[], bytes]:
    return lambda: serialize_message(encode_image(array, encoding, header))


def _compressed(array: np.ndarray, codec: str, header: Header,
                quality: int) -> Callable[[], bytes]:
    return lambda: serialize_message(
        encode_compressed(array, codec, header, quality=quality or 90))  # type: ignore[arg-type]


def bench_topics(segmenter: Segmenter, frames: int) -> None:
    """Bytes and CPU per frame of every output, raw and compressed."""
    header = Header(frame_id='camera')
    palette = make_palette(segmenter.labels)
    print(f'{"size":6} {"topic":24} {"bytes/frame":>12} {"MB/s @30Hz":>10} {"CPU ms/frame":>12}')
    for size, (width, height) in SIZES.items():
        image = camera_frame(width, height)
        result = segmenter.segment(image)
        colored = colorize(result.mask, palette)
        pictures = {
            'overlay': overlay(image, result.mask, palette, 0.5, colored=colored),
            'blurred': apply_background_effect(image, result.foreground, EffectOptions()),
            'mask_color': colored,
        }
        rows: list[tuple[str, Callable[[], bytes]]] = []
        for name, picture in pictures.items():
            rows.append((name, _raw(picture, 'bgr8', header)))
            for quality in (90, 75):
                rows.append((f'{name}/compressed q{quality}',
                             _compressed(picture, 'jpeg', header, quality)))
        rows.append(('mask', _raw(result.mask, 'mono8', header)))
        rows.append(('mask/compressed png', _compressed(result.mask, 'png', header, 0)))
        rows.append(('confidence (32FC1)',
                     lambda soft=result.foreground: serialize_message(
                         encode_probability(soft, header))))
        for name, build in rows:
            ms, size_bytes = cpu_ms(build, frames)
            print(f'{size:6} {name:24} {size_bytes:>12,} {size_bytes * 30 / 1e6:>10.1f} '
                  f'{ms:>12.2f}')


def write_bag(path: Path, frames: int) -> None:
    """A 720p bgr8 bag at 30 Hz with a slowly moving frame."""
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.LATEST)
    image_type, header_type = store.types['sensor_msgs/msg/Image'], store.types[
        'std_msgs/msg/Header']
    time_type = store.types['builtin_interfaces/msg/Time']
    base = camera_frame(*SIZES['720p'])
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connection = writer.add_connection('/camera/image_raw', 'sensor_msgs/msg/Image',
                                           typestore=store)
        for index in range(frames):
            stamp = 1_700_000_000_000_000_000 + index * 33_333_333
            frame = np.roll(base, index * 4, axis=1)
            msg = image_type(
                header=header_type(stamp=time_type(sec=stamp // 10**9, nanosec=stamp % 10**9),
                                   frame_id='camera'),
                height=720, width=1280, encoding='bgr8', is_bigendian=0, step=1280 * 3,
                data=frame.reshape(-1))
            writer.write(connection, stamp, store.serialize_cdr(msg, 'sensor_msgs/msg/Image'))


def bench_bag(segmenter: Segmenter, frames: int) -> None:
    """Speed of the bag command against the recording's own duration."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / 'in'
        write_bag(source, frames)
        cases = {
            'add mask,overlay,blurred': (
                BagJob(source, Path(tmp) / 'out1', ('/camera/image_raw',)), EffectOptions()),
            'add ... --compressed-outputs': (BagJob(
                source, Path(tmp) / 'out3', ('/camera/image_raw',), compressed_outputs=True),
                EffectOptions()),
            'anonymise blur_people': (BagJob(source, Path(tmp) / 'out2', ('/camera/image_raw',),
                                             anonymise=True), EffectOptions(effect='blur_people')),
        }
        for name, (job, effects) in cases.items():
            cpu_started = time.process_time()
            report = run_bag_job(job, segmenter, effects, progress=False)
            cpu = time.process_time() - cpu_started
            print(f'bag 720p {name:26} {report.summary()}; CPU {cpu * 1e3 / frames:.1f} ms/frame')


def main() -> None:
    """Run both parts and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--frames', type=int, default=200, help='repetitions per topic row')
    parser.add_argument('--bag-frames', type=int, default=60, help='frames in the test bag')
    args = parser.parse_args()
    print(machine())
    with Segmenter(model='selfie_segmentation', cache_dir=CACHE_DIR) as segmenter:
        bench_topics(segmenter, args.frames)
        bench_bag(segmenter, args.bag_frames)


if __name__ == '__main__':
    main()
