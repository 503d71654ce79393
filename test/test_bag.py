# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""``selfie-seg bag`` on real rosbag2 files (mcap and sqlite3) written by the tests themselves."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from rosbags.highlevel import AnyReader
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from selfie_seg_ros import cli
from selfie_seg_ros.cli.bag import BagJob, run_bag_job
from selfie_seg_ros.engine.effects import EffectOptions
from selfie_seg_ros.engine.segmenter import Segmenter

pytestmark = pytest.mark.model

TOPIC = '/camera/image_raw'
SECOND = '/camera2/image_raw/compressed'
TYPESTORE = get_typestore(Stores.LATEST)
FRAMES = 6
PERIOD_NS = 100_000_000
START_NS = 1_700_000_000_000_000_000
FACE = (slice(30, 75), slice(93, 132))  # the astronaut's face at 256x256


def astronaut(frame: int) -> np.ndarray:
    """The astronaut at 256x256, shifted a little per frame (BGR)."""
    image = cv2.resize(cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR), (256, 256))
    return np.roll(image, frame * 3, axis=1)


def header(index: int):
    stamp = START_NS + index * PERIOD_NS - 5_000_000  # header stamps differ from bag times
    time_msg = TYPESTORE.types['builtin_interfaces/msg/Time'](
        sec=stamp // 1_000_000_000, nanosec=stamp % 1_000_000_000)
    return TYPESTORE.types['std_msgs/msg/Header'](stamp=time_msg, frame_id=f'cam_{index}')


def raw_msg(image: np.ndarray, index: int, encoding: str = 'rgb8'):
    pixels = image[..., ::-1] if encoding == 'rgb8' else image
    return TYPESTORE.types['sensor_msgs/msg/Image'](
        header=header(index), height=image.shape[0], width=image.shape[1], encoding=encoding,
        is_bigendian=0, step=image.shape[1] * 3,
        data=np.ascontiguousarray(pixels).reshape(-1))


def compressed_msg(image: np.ndarray, index: int):
    data = cv2.imencode('.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].reshape(-1)
    return TYPESTORE.types['sensor_msgs/msg/CompressedImage'](
        header=header(index), format='bgr8; jpeg compressed bgr8', data=data)


def write_bag(path: Path, storage: str, compressed: bool, broken: int | None = None,
              frames: int = FRAMES) -> Path:
    """A bag with ``frames`` images on TOPIC and a String on /chatter between frames."""
    msgtype = 'sensor_msgs/msg/CompressedImage' if compressed else 'sensor_msgs/msg/Image'
    plugin = StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3
    string = TYPESTORE.types['std_msgs/msg/String']
    with Writer(path, version=9, storage_plugin=plugin) as writer:
        images = writer.add_connection(TOPIC, msgtype, typestore=TYPESTORE)
        chatter = writer.add_connection('/chatter', 'std_msgs/msg/String', typestore=TYPESTORE)
        for index in range(frames):
            stamp = START_NS + index * PERIOD_NS
            msg = compressed_msg(astronaut(index), index) if compressed else raw_msg(
                astronaut(index), index)
            if index == broken:
                msg.data = msg.data[: msg.data.size // 3] if not compressed else np.frombuffer(
                    b'not a jpeg', np.uint8)
            writer.write(images, stamp, TYPESTORE.serialize_cdr(msg, msgtype))
            writer.write(chatter, stamp + 1, TYPESTORE.serialize_cdr(
                string(data=f'hello {index}'), 'std_msgs/msg/String'))
    return path


def write_two_camera_bag(path: Path) -> Path:
    """TOPIC (raw rgb8) and SECOND (JPEG) interleaved, FRAMES each."""
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        raw = writer.add_connection(TOPIC, 'sensor_msgs/msg/Image', typestore=TYPESTORE)
        jpeg = writer.add_connection(SECOND, 'sensor_msgs/msg/CompressedImage',
                                     typestore=TYPESTORE)
        for index in range(FRAMES):
            stamp = START_NS + index * PERIOD_NS
            writer.write(raw, stamp, TYPESTORE.serialize_cdr(
                raw_msg(astronaut(index), index), 'sensor_msgs/msg/Image'))
            writer.write(jpeg, stamp + 7, TYPESTORE.serialize_cdr(
                compressed_msg(astronaut(index), index), 'sensor_msgs/msg/CompressedImage'))
    return path


def read_bag(path: Path) -> dict[str, list[tuple[int, object]]]:
    """Every message of a bag by topic: (bag time, message)."""
    topics: dict[str, list[tuple[int, object]]] = {}
    with AnyReader([path], default_typestore=TYPESTORE) as reader:
        for connection, timestamp, raw in reader.messages():
            topics.setdefault(connection.topic, []).append(
                (timestamp, reader.deserialize(raw, connection.msgtype)))
    return topics


def digest(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob('*')) if p.is_file()}


def as_array(msg) -> np.ndarray:
    channels = {'mono8': 1, 'bgr8': 3, 'rgb8': 3}[msg.encoding]
    array = np.asarray(msg.data).reshape(msg.height, msg.width, channels)
    return array[..., 0] if channels == 1 else array


@pytest.fixture
def run(model_cache_dir, capsys):
    def invoke(*args):
        code = cli.main(['bag', *args, '--model', 'selfie_segmentation', '--cache-dir',
                         str(model_cache_dir), '--no-progress'])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
@pytest.mark.parametrize('compressed', [False, True], ids=['raw', 'compressed'])
def test_bag_gets_output_topics_stamped_like_their_inputs(run, tmp_path, storage, compressed):
    source = write_bag(tmp_path / 'in', storage, compressed)
    before = digest(source)
    target = tmp_path / 'out'
    code, out, err = run(str(source), str(target), '--topic', TOPIC,
                         '--outputs', 'mask,overlay,blurred,confidence')
    assert code == 0, err
    assert digest(source) == before
    assert 'x real time' in out and f'{FRAMES} frames' in out
    assert any(target.glob('*.mcap' if storage == 'mcap' else '*.db3'))
    assert not list(tmp_path.glob('.out.partial-*'))
    original, result = read_bag(source), read_bag(target)
    assert [t for t, _ in result[TOPIC]] == [t for t, _ in original[TOPIC]]
    for (_, kept), (_, recorded) in zip(result[TOPIC], original[TOPIC], strict=True):
        np.testing.assert_array_equal(kept.data, recorded.data)
        assert kept.header.frame_id == recorded.header.frame_id
    assert [m.data for _, m in result['/chatter']] == [m.data for _, m in original['/chatter']]
    for name in ('mask', 'overlay', 'blurred', 'confidence'):
        outputs = result[f'/selfie_seg/{name}']
        assert len(outputs) == FRAMES
        for (time_in, msg_in), (time_out, msg_out) in zip(original[TOPIC], outputs, strict=True):
            assert time_out == time_in
            assert msg_out.header.stamp.sec == msg_in.header.stamp.sec
            assert msg_out.header.stamp.nanosec == msg_in.header.stamp.nanosec
            assert msg_out.header.frame_id == msg_in.header.frame_id
            assert (msg_out.height, msg_out.width) == (256, 256)
    mask = as_array(result['/selfie_seg/mask'][0][1])
    assert mask[FACE].mean() > 0.9 and mask[:35, 180:].mean() < 0.05
    confidence = result['/selfie_seg/confidence'][0][1]
    assert confidence.encoding == '32FC1' and confidence.step == 256 * 4
    soft = np.asarray(confidence.data).view(np.float32).reshape(256, 256)
    assert soft.min() >= 0.0 and soft.max() <= 1.0
    np.testing.assert_array_equal(soft >= 0.5, mask == 1)


def test_compressed_outputs_use_image_transport_topics_and_formats(run, tmp_path):
    source = write_bag(tmp_path / 'in', 'mcap', compressed=False)
    target = tmp_path / 'out'
    code, _, err = run(str(source), str(target), '--topic', TOPIC, '--compressed-outputs',
                       '--outputs', 'mask,overlay,confidence')
    assert code == 0, err
    result = read_bag(target)
    assert set(result) == {TOPIC, '/chatter', '/selfie_seg/mask/compressed',
                           '/selfie_seg/overlay/compressed', '/selfie_seg/confidence'}
    masks = result['/selfie_seg/mask/compressed']
    overlays = result['/selfie_seg/overlay/compressed']
    assert len(masks) == len(overlays) == FRAMES
    assert {m.format for _, m in masks} == {'mono8; png compressed '}
    assert {m.format for _, m in overlays} == {'bgr8; jpeg compressed bgr8'}
    _, first = masks[0]
    mask = cv2.imdecode(np.asarray(first.data), cv2.IMREAD_UNCHANGED)
    soft = np.asarray(result['/selfie_seg/confidence'][0][1].data).view(np.float32)
    np.testing.assert_array_equal(mask == 1, soft.reshape(256, 256) >= 0.5)
    assert cv2.imdecode(np.asarray(overlays[0][1].data), cv2.IMREAD_COLOR).shape == (256, 256, 3)


def write_street_bag(path: Path, photo: np.ndarray, frames: int = 3) -> Path:
    """A bag with ``frames`` copies of the street photo on TOPIC (bgr8)."""
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        images = writer.add_connection(TOPIC, 'sensor_msgs/msg/Image', typestore=TYPESTORE)
        for index in range(frames):
            msg = raw_msg(photo, index, encoding='bgr8')
            writer.write(images, START_NS + index * PERIOD_NS,
                         TYPESTORE.serialize_cdr(msg, 'sensor_msgs/msg/Image'))
    return path


@pytest.mark.parametrize('compressed', [False, True], ids=['raw', 'compressed'])
def test_pose_model_adds_an_instances_topic(tmp_path, model_cache_dir, pose_model_paths,
                                            street_photo_path, capsys, compressed):
    photo = cv2.imread(str(street_photo_path), cv2.IMREAD_COLOR)
    source = write_street_bag(tmp_path / 'in', photo)
    target = tmp_path / 'out'
    code = cli.main(['bag', str(source), str(target), '--topic', TOPIC, '--model',
                     'pose_segmentation', '--cache-dir', str(model_cache_dir), '--no-progress',
                     *(['--compressed-outputs'] if compressed else [])])
    assert code == 0, capsys.readouterr().err
    result = read_bag(target)
    suffix = '/compressed' if compressed else ''
    assert set(result) == {TOPIC, *(f'/selfie_seg/{name}{suffix}'
                                    for name in ('mask', 'instances', 'overlay', 'blurred'))}
    masks = result[f'/selfie_seg/mask{suffix}']
    instances = result[f'/selfie_seg/instances{suffix}']
    assert [t for t, _ in instances] == [t for t, _ in result[TOPIC]]
    for (_, mask_msg), (_, ids_msg), (_, frame) in zip(masks, instances, result[TOPIC],
                                                       strict=True):
        assert ids_msg.header.frame_id == frame.header.frame_id
        assert ids_msg.header.stamp.nanosec == frame.header.stamp.nanosec
        if compressed:
            assert ids_msg.format == 'mono8; png compressed '
            ids = cv2.imdecode(np.asarray(ids_msg.data), cv2.IMREAD_UNCHANGED)
            mask = cv2.imdecode(np.asarray(mask_msg.data), cv2.IMREAD_UNCHANGED)
        else:
            assert ids_msg.encoding == 'mono8'
            ids, mask = as_array(ids_msg), as_array(mask_msg)
        assert ids.shape == photo.shape[:2] and ids.dtype == np.uint8
        assert np.array_equal(ids > 0, mask == 1)
        assert len([i for i in np.unique(ids) if i]) >= 3  # one id per person


def test_models_without_instances_add_no_instances_topic(run, tmp_path):
    source = write_bag(tmp_path / 'in', 'mcap', compressed=False, frames=2)
    target = tmp_path / 'out'
    code, _, err = run(str(source), str(target), '--topic', TOPIC)
    assert code == 0, err
    assert set(read_bag(target)) == {TOPIC, '/chatter', '/selfie_seg/mask',
                                     '/selfie_seg/overlay', '/selfie_seg/blurred'}


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
@pytest.mark.parametrize('compressed', [False, True], ids=['raw', 'compressed'])
def test_anonymised_bag_replaces_images_and_drops_undecodable_ones(run, tmp_path, storage,
                                                                    compressed):
    source = write_bag(tmp_path / 'in', storage, compressed, broken=2)
    target = tmp_path / 'out'
    code, out, err = run(str(source), str(target), '--topic', TOPIC, '--anonymise')
    assert code == 0, err
    assert 'undecodable frames skipped' in out
    original, result = read_bag(source), read_bag(target)
    assert set(result) == {TOPIC, '/chatter'}
    assert len(result['/chatter']) == FRAMES
    kept = [(t, m) for t, m in original[TOPIC] if m.header.frame_id != 'cam_2']
    assert [t for t, _ in result[TOPIC]] == [t for t, _ in kept]
    for (_, before), (_, after) in zip(kept, result[TOPIC], strict=True):
        assert after.header.frame_id == before.header.frame_id
        assert after.header.stamp.nanosec == before.header.stamp.nanosec
        if compressed:
            assert after.format == 'bgr8; jpeg compressed bgr8'
            hidden = cv2.imdecode(np.asarray(after.data), cv2.IMREAD_COLOR)
            photo = cv2.imdecode(np.asarray(before.data), cv2.IMREAD_COLOR)
        else:
            assert after.encoding == 'bgr8'
            hidden = as_array(after)
            photo = as_array(before)[..., ::-1]  # recorded as rgb8
        face_change = np.abs(hidden[FACE].astype(int) - photo[FACE]).mean()
        sky_change = np.abs(hidden[:35, 200:].astype(int) - photo[:35, 200:]).mean()
        assert face_change > 10 and sky_change < 2.5


def test_several_cameras_are_anonymised_in_one_pass(run, tmp_path):
    source = write_two_camera_bag(tmp_path / 'in')
    target = tmp_path / 'out'
    code, out, err = run(str(source), str(target), '--anonymise', '--topic', TOPIC,
                         '--topic', SECOND)
    assert code == 0, err
    assert f'{2 * FRAMES} frames' in out
    original, result = read_bag(source), read_bag(target)
    assert set(result) == {TOPIC, SECOND}
    for topic in (TOPIC, SECOND):
        assert [t for t, _ in result[topic]] == [t for t, _ in original[topic]]
    photo = astronaut(0)
    raw = as_array(result[TOPIC][0][1])
    jpeg = cv2.imdecode(np.asarray(result[SECOND][0][1].data), cv2.IMREAD_COLOR)
    for hidden in (raw, jpeg):
        assert np.abs(hidden[FACE].astype(int) - photo[FACE]).mean() > 10


def test_interrupted_run_leaves_no_output(tmp_path, model_cache_dir):
    source = write_bag(tmp_path / 'in', 'mcap', compressed=False)
    before = digest(source)
    target = tmp_path / 'out'

    def interrupt(frames: int) -> None:
        if frames == 3:
            raise KeyboardInterrupt

    with Segmenter(model='selfie_segmentation', cache_dir=model_cache_dir,
                   allow_download=False) as segmenter, pytest.raises(KeyboardInterrupt):
        run_bag_job(BagJob(source, target, (TOPIC,)), segmenter, EffectOptions(), progress=False,
                    on_frame=interrupt)
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ['in']
    assert digest(source) == before


def _default_sigint() -> None:
    # A test run started in the background of a non-interactive shell ignores SIGINT, and a child
    # inherits that (as nohup intends); the child here must get Ctrl-C as a terminal gives it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_on_the_command_line_leaves_no_output(tmp_path, model_cache_dir):
    """SIGINT to a running ``selfie-seg bag``: exit 130, no output, no staging directory."""
    source = write_bag(tmp_path / 'in', 'mcap', compressed=True, frames=400)
    before = digest(source)
    target = tmp_path / 'out'
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name('selfie-seg')), 'bag', str(source), str(target),
         '--topic', TOPIC, '--model', 'selfie_segmentation', '--cache-dir', str(model_cache_dir),
         '--no-progress'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_default_sigint)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob('.out.partial-*')) and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    time.sleep(0.5)  # well inside the frame loop
    assert process.poll() is None, 'finished before it could be interrupted'
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert 'interrupted' in err and 'Traceback' not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ['in']
    assert digest(source) == before


def test_user_errors_exit_2_without_writing(run, tmp_path, capsys):
    source = write_bag(tmp_path / 'in', 'sqlite3', compressed=False)
    code, _, err = run(str(source), str(tmp_path / 'o1'), '--topic', '/nope')
    assert code == 2 and '/camera/image_raw' in err and '/nope' in err
    code, _, err = run(str(source), str(tmp_path / 'o2'), '--topic', '/chatter')
    assert code == 2 and 'std_msgs/msg/String' in err
    code, _, err = run(str(source), str(source), '--topic', TOPIC)
    assert code == 2 and 'exists already' in err
    code, _, err = run(str(tmp_path / 'missing'), str(tmp_path / 'o3'), '--topic', TOPIC)
    assert code == 2 and 'not found' in err
    code, _, err = run(str(source), str(tmp_path / 'o4'), '--topic', TOPIC, '--anonymise',
                       '--effect', 'blur')
    assert code == 2 and 'blur_people' in err
    with pytest.raises(SystemExit) as exited:  # refused by the option's own range
        run(str(source), str(tmp_path / 'o5'), '--topic', TOPIC, '--jpeg-quality', '0')
    assert exited.value.code == 2
    assert '--jpeg-quality: must be in 1..100' in capsys.readouterr().err
    code, _, err = run(str(source), str(tmp_path / 'o6'), '--topic', TOPIC, '--topic', TOPIC)
    assert code == 2 and 'exactly one --topic' in err
    code, _, err = run(str(source), str(tmp_path / 'o7'), '--anonymise', '--topic', TOPIC,
                       '--topic', '/chatter', '--smoothing', '0.3')
    assert code == 2 and 'smoothing' in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ['in']
