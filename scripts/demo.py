# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""``make demo``: the engine on a real photo, then the real ROS 2 pipeline over DDS.

1. Fetch the default model (the multiclass selfie segmenter). Where it cannot be downloaded, say so
   loudly and fall back to the general selfie model from the mediapipe wheel on PyPI.
2. ``selfie-seg image`` on the astronaut photo: mask.png, overlay.png, blurred.png.
3. ``selfie-seg bag --anonymise`` on a short recording of the photo (a rosbag2 written here):
   the same bag with the person blurred; its first frame is saved as anonymised.png.
4. ROS 2: selfie_seg_camera (the photo, gently moving, 1280x720 at 30 Hz) -> selfie_seg_node ->
   selfie_seg_viewer, which saves the latest frame of each output and prints output fps.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np

from selfie_seg_ros import cli
from selfie_seg_ros.engine.catalog import DEFAULT_MODEL, FALLBACK_MODEL
from selfie_seg_ros.engine.fetch import default_cache_dir, fetch_default_model

BIN = Path(sys.executable).parent


def banner(lines: list[str]) -> None:
    """Print a message nobody can miss."""
    lines = [part for line in lines for part in textwrap.wrap(line, 92) or ['']]
    width = max(len(line) for line in lines) + 4
    print('\n' + '!' * width)
    for line in lines:
        print(f'! {line:<{width - 4}} !')
    print('!' * width + '\n', flush=True)


def choose_model(cache_dir: Path) -> str:
    """The default model if it can be had, else the fallback (loudly)."""
    model, error = fetch_default_model(cache_dir)
    if error is not None:
        banner([
            f'The default model {DEFAULT_MODEL} cannot be downloaded:',
            *str(error).splitlines()[:1],
            '',
            f'FALLING BACK to {FALLBACK_MODEL} (general selfie model, from the mediapipe wheel',
            'on PyPI): person vs background, 2 classes instead of 6.',
        ])
    return model


def run_image(photo: Path, out: Path, model: str, cache_dir: Path) -> None:
    """Step 2: the CLI's image command."""
    print(f'== selfie-seg image {photo} --model {model} --out {out}', flush=True)
    code = cli.main(['image', str(photo), '--model', model, '--out', str(out),
                     '--cache-dir', str(cache_dir)])
    if code:
        sys.exit(code)


def record_bag(photo: Path, bag: Path, frames: int = 15) -> None:
    """A short 640x480 rgb8 recording of the photo on /camera/image_raw at 15 Hz (mcap)."""
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.LATEST)
    types = store.types
    image = cv2.resize(cv2.imread(str(photo)), (480, 480))
    frame = cv2.copyMakeBorder(image, 0, 0, 80, 80, cv2.BORDER_REPLICATE)[..., ::-1]
    with Writer(bag, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connection = writer.add_connection('/camera/image_raw', 'sensor_msgs/msg/Image',
                                           typestore=store)
        for index in range(frames):
            stamp = 1_700_000_000 * 10**9 + index * 66_666_666
            header = types['std_msgs/msg/Header'](
                stamp=types['builtin_interfaces/msg/Time'](sec=stamp // 10**9,
                                                           nanosec=stamp % 10**9),
                frame_id='camera')
            msg = types['sensor_msgs/msg/Image'](
                header=header, height=480, width=640, encoding='rgb8', is_bigendian=0,
                step=640 * 3, data=np.ascontiguousarray(np.roll(frame, index * 4, 1)).reshape(-1))
            writer.write(connection, stamp, store.serialize_cdr(msg, 'sensor_msgs/msg/Image'))


def run_bag(photo: Path, out: Path, model: str, cache_dir: Path) -> None:
    """Step 3: anonymise a recorded bag; save its first frame."""
    from rosbags.highlevel import AnyReader

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    recorded, anonymised = out / 'recorded', out / 'anonymised'
    record_bag(photo, recorded)
    print(f'== selfie-seg bag {recorded} {anonymised} --topic /camera/image_raw --anonymise',
          flush=True)
    code = cli.main(['bag', str(recorded), str(anonymised), '--topic', '/camera/image_raw',
                     '--anonymise', '--model', model, '--cache-dir', str(cache_dir),
                     '--no-progress'])
    if code:
        sys.exit(code)
    with AnyReader([anonymised]) as reader:
        connection, _, raw = next(reader.messages())
        msg = reader.deserialize(raw, connection.msgtype)
    frame = np.asarray(msg.data).reshape(msg.height, msg.width, 3)
    cv2.imwrite(str(out / 'anonymised.png'), frame)
    print(f'wrote {out / "anonymised.png"} (first frame of the anonymised bag)')


def run_ros(out: Path, model: str, cache_dir: Path, seconds: float) -> int:
    """Step 3: camera -> node -> viewer as separate processes over DDS."""
    env = dict(os.environ)
    env.setdefault('ROS_DOMAIN_ID', str(40 + os.getpid() % 100))
    repo = Path(__file__).resolve().parent.parent
    env.setdefault('FASTDDS_DEFAULT_PROFILES_FILE', str(repo / 'config' / 'fastdds_shm.xml'))
    print(f'== ROS 2 pipeline for {seconds:.0f} s (ROS_DOMAIN_ID={env["ROS_DOMAIN_ID"]}, '
          f'Fast DDS profile {env["FASTDDS_DEFAULT_PROFILES_FILE"]})', flush=True)
    camera = subprocess.Popen([
        str(BIN / 'selfie_seg_camera'), '--ros-args', '-p', 'source:=astronaut',
        '-p', 'width:=1280', '-p', 'height:=720', '-p', 'rate:=30.0',
        '-r', 'image:=/camera/image', '-r', 'camera_info:=/camera/camera_info'], env=env)
    node = subprocess.Popen([
        str(BIN / 'selfie_seg_node'), '--ros-args', '-p', f'model:={model}',
        '-p', f'model_cache_dir:={cache_dir}', '-r', 'image:=/camera/image',
        '-r', 'camera_info:=/camera/camera_info'], env=env)
    try:
        viewer = subprocess.run([
            str(BIN / 'selfie_seg_viewer'), '--out', str(out), '--duration', str(seconds),
            '--min-frames', '10'], env=env, check=False)
        return viewer.returncode
    finally:
        for process in (node, camera):
            process.send_signal(signal.SIGINT)
        for process in (node, camera):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def main() -> int:
    """Run the demo."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', type=Path, default=Path('demo_output'))
    parser.add_argument('--seconds', type=float, default=10.0, help='how long the ROS part runs')
    parser.add_argument('--cache-dir', type=Path, default=None)
    args = parser.parse_args()
    cache_dir = args.cache_dir or default_cache_dir()
    args.out.mkdir(parents=True, exist_ok=True)

    from skimage import data

    photo = args.out / 'astronaut.png'
    cv2.imwrite(str(photo), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    model = choose_model(cache_dir)
    run_image(photo, args.out / 'image', model, cache_dir)
    run_bag(photo, args.out / 'bag', model, cache_dir)
    code = run_ros(args.out / 'ros', model, cache_dir, args.seconds)
    print(f'\nDemo outputs: {args.out.resolve()}/image (CLI), {args.out.resolve()}/bag '
          f'(anonymised recording) and {args.out.resolve()}/ros (ROS topics ~/mask, ~/overlay, '
          '~/blurred)')
    return code


if __name__ == '__main__':
    sys.exit(main())
