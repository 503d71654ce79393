# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Demo camera and headless viewer: frame sources, Image decoding, and both as real processes."""

from __future__ import annotations

import re
import signal
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import rclpy
from bombs import jpeg_bomb
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image

from selfie_seg_ros.engine.catalog import MULTICLASS_LABELS
from selfie_seg_ros.engine.effects import colorize, make_palette
from selfie_seg_ros.engine.limits import DEFAULT_MAX_PIXELS, MAX_PIXELS_CEILING
from selfie_seg_ros.ros import harness
from selfie_seg_ros.ros.camera import (
    CameraNode,
    SourceError,
    fit_frame,
    load_builtin,
    motion_matrix,
    open_source,
    output_size,
)
from selfie_seg_ros.ros.image_io import ImageDecodeError, OversizedImageError
from selfie_seg_ros.ros.image_io import decode_native as image_to_array
from selfie_seg_ros.ros.viewer import (
    full_topic,
    parse_args,
    topic_file_name,
)

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SHM_PROFILE = REPO / 'config' / 'fastdds_shm.xml'
DOMAIN_ID = harness.unique_domain_id()


def ros_env() -> dict[str, str]:
    """Environment for ROS processes of this test run: own domain, loopback, SHM profile."""
    env = harness.ros_env(DOMAIN_ID, profile=SHM_PROFILE)
    env.update({'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST', 'RCUTILS_COLORIZED_OUTPUT': '0'})
    return env


def start(args: list[str], log: Path) -> harness.ChildProcess:
    """Start a console script of this package with stderr and stdout into ``log``."""
    return harness.ChildProcess([str(BIN / args[0]), *args[1:]], ros_env(), log)


def wait_for_text(log: Path, text: str, timeout: float = 10.0) -> None:
    """Wait until ``text`` shows in ``log``."""
    if not harness.wait_until(lambda: text in log.read_text(errors='replace'), timeout):
        raise AssertionError(f'{text!r} not in {log} after {timeout} s:\n{log.read_text()}')


def stop(process: harness.ChildProcess, sig: int = signal.SIGINT) -> int:
    """Send ``sig`` and return the exit code (-9: killed after 10 s)."""
    return process.stop(sig, timeout=10.0)


# ---------------------------------------------------------------- sources (no ROS traffic)

def test_output_size_keeps_aspect_for_zero_sides():
    assert output_size(512, 256, 0, 0) == (512, 256)
    assert output_size(512, 256, 0, 128) == (256, 128)
    assert output_size(512, 256, 100, 0) == (100, 50)
    assert output_size(512, 256, 1280, 720) == (1280, 720)


def test_output_size_derived_from_a_thin_source_is_bounded():
    with pytest.raises(SourceError, match='set both width and height'):
        output_size(8000, 10, 0, 8192)  # would be 6553600x8192
    assert output_size(8000, 10, 4096, 8192) == (4096, 8192)


def test_fit_frame_covers_crops_centre_and_keeps_top():
    image = np.zeros((100, 100, 3), np.uint8)
    image[:10] = 255  # a white band at the top must survive the crop
    image[:, 48:52, 1] = 200  # a green stripe at the centre column stays centred
    fitted = fit_frame(image, 200, 100)
    assert fitted.shape == (100, 200, 3)
    assert fitted.flags['C_CONTIGUOUS']
    assert fitted[:15, :, 0].mean() > 250  # top rows kept
    assert fitted[50, 100, 1] > 150 and fitted[50, 20, 1] == 0
    assert fit_frame(image, 100, 100) is image


def test_motion_moves_the_frame_and_never_shows_a_border():
    frame = np.full((72, 128, 3), 200, np.uint8)
    frame[::8] = 30
    outputs = []
    for t in (0.0, 1.3, 2.9, 4.4):
        matrix = motion_matrix(t, 1.0, 128, 72)
        warped = cv2.warpAffine(frame, matrix, (128, 72), borderMode=cv2.BORDER_CONSTANT,
                                borderValue=(0, 0, 255))
        red = (warped[:, :, 2] > 150) & (warped[:, :, 0] < 100)
        assert red.sum() == 0, f'border visible at t={t}'
        outputs.append(warped)
    assert any(not np.array_equal(outputs[0], other) for other in outputs[1:])
    assert np.allclose(motion_matrix(3.0, 0.0, 128, 72), [[1, 0, 0], [0, 1, 0]])


def test_still_image_source_with_and_without_motion(tmp_path):
    photo = load_builtin('astronaut')
    assert photo.shape == (512, 512, 3)
    path = tmp_path / 'photo.png'
    cv2.imwrite(str(path), photo)
    still = open_source(str(path), 320, 240, 0.0)
    assert (still.width, still.height) == (320, 240)
    first = still.read(0.0)
    assert np.array_equal(first, still.read(5.0))
    assert np.array_equal(first, fit_frame(photo, 320, 240))
    moving = open_source('astronaut', 320, 240, 0.5)
    a, b = moving.read(0.0), moving.read(2.0)
    assert a.shape == b.shape == (240, 320, 3)
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 2.0


def test_video_file_source_loops(tmp_path):
    path = tmp_path / 'clip.avi'
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 10, (64, 48))
    assert writer.isOpened()
    for level in (0, 120, 240):
        writer.write(np.full((48, 64, 3), level, np.uint8))
    writer.release()
    source = open_source(str(path), 32, 0, 0.3)
    assert (source.width, source.height) == (32, 24)
    means = [int(source.read(0.0).mean()) for _ in range(7)]
    assert means[:3] == sorted(means[:3]) and means[2] - means[0] > 150
    assert means[3:6] == means[:3] and means[6] == means[0]
    source.close()


def test_bad_sources_raise_source_error(tmp_path):
    with pytest.raises(SourceError, match='neither a built-in photo'):
        open_source(str(tmp_path / 'missing.png'), 0, 0, 0.0)
    junk = tmp_path / 'junk.mp4'
    junk.write_bytes(b'not a video at all')
    with pytest.raises(SourceError):
        open_source(str(junk), 0, 0, 0.0)
    bomb = tmp_path / 'bomb.jpg'
    bomb.write_bytes(jpeg_bomb(30000, 30000))
    with pytest.raises(SourceError, match='pixels'):
        open_source(str(bomb), 0, 0, 0.0)


# ---------------------------------------------------------------- viewer decoding

def _image(encoding: str, array: np.ndarray, step: int, bigendian: bool = False) -> Image:
    height, width = array.shape[:2]
    rows = array.reshape(height, -1).view(np.uint8)
    padded = np.zeros((height, step), np.uint8)
    padded[:, :rows.shape[1]] = rows
    return Image(height=height, width=width, encoding=encoding, step=step,
                 is_bigendian=int(bigendian), data=padded.tobytes())


def test_image_to_array_respects_step_and_channel_order():
    rng = np.random.default_rng(3)
    bgr = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    assert np.array_equal(image_to_array(_image('bgr8', bgr, 7 * 3 + 5)), bgr)
    rgb = bgr[:, :, ::-1].copy()
    assert np.array_equal(image_to_array(_image('rgb8', rgb, 7 * 3)), bgr)
    mask = rng.integers(0, 6, (5, 7), dtype=np.uint8)
    decoded = image_to_array(_image('mono8', mask, 8))
    assert decoded.shape == (5, 7) and np.array_equal(decoded, mask)
    depth = rng.integers(0, 65535, (5, 7), dtype=np.uint16)
    big = _image('mono16', depth.astype('>u2'), 16, bigendian=True)
    assert np.array_equal(image_to_array(big), depth)
    little = _image('16UC1', depth.astype('<u2'), 14)
    assert np.array_equal(image_to_array(little), depth)
    bgra = rng.integers(0, 256, (5, 7, 4), dtype=np.uint8)
    assert np.array_equal(image_to_array(_image('rgba8', bgra[:, :, [2, 1, 0, 3]], 28)), bgra)
    assert np.array_equal(image_to_array(_image('8UC1', mask, 7)), mask)


def test_image_to_array_rejects_bad_messages():
    with pytest.raises(ImageDecodeError, match='bayer_rggb8'):
        image_to_array(Image(height=1, width=2, encoding='bayer_rggb8', step=2, data=bytes(2)))
    with pytest.raises(ImageDecodeError, match='image data is truncated'):
        image_to_array(Image(height=2, width=2, encoding='mono8', step=2, data=bytes(3)))


def test_viewer_topic_names_and_arguments():
    assert full_topic('/selfie_seg', 'mask') == '/selfie_seg/mask'
    assert full_topic('/cam1/selfie_seg/', '/overlay') == '/cam1/selfie_seg/overlay'
    assert full_topic('', 'image') == 'image'
    assert topic_file_name('mask') == 'mask.png'
    assert topic_file_name('debug/mask') == 'debug_mask.png'
    args = parse_args([])
    assert args.topics == ['mask', 'overlay', 'blurred'] and args.prefix == '/selfie_seg'
    with pytest.raises(SystemExit):
        parse_args(['--duration', '-1'])
    assert args.max_pixels == DEFAULT_MAX_PIXELS
    assert parse_args(['--max-pixels', '4800']).max_pixels == 4800
    for bad in ('0', 'lots', str(MAX_PIXELS_CEILING + 1)):
        with pytest.raises(SystemExit):
            parse_args(['--max-pixels', bad])


def test_viewer_decoder_refuses_frames_above_its_pixel_limit():
    mask = np.zeros((40, 120), np.uint8)
    msg = _image('mono8', mask, 120)
    assert image_to_array(msg, 4800).shape == (40, 120)
    with pytest.raises(OversizedImageError, match='4800'):
        image_to_array(msg, 4799)
    # A header that lies about a huge size is refused from the header alone.
    liar = Image(height=1 << 15, width=1 << 15, encoding='mono8', step=1 << 15, data=bytes(64))
    with pytest.raises(OversizedImageError):
        image_to_array(liar)


# ---------------------------------------------------------------- real processes over DDS

@pytest.fixture
def ros_context(monkeypatch):
    for key, value in ros_env().items():
        monkeypatch.setenv(key, value)
    context = rclpy.Context()
    rclpy.init(args=[], context=context, domain_id=DOMAIN_ID)
    yield context
    rclpy.try_shutdown(context=context)


def test_camera_parameters_apply_live_or_are_refused(ros_context):
    node = CameraNode(context=ros_context,
                      parameter_overrides=[Parameter('width', value=64),
                                           Parameter('height', value=48)])
    try:
        results = node.set_parameters([
            Parameter('rate', value=10.0), Parameter('motion', value=0.0),
            Parameter('frame_id', value='other'), Parameter('width', value=32),
            Parameter('motion', value=1.5), Parameter('rate', value=500.0),
        ])
        assert [r.successful for r in results] == [True, True, True, False, False, False]
        assert node._timer.timer_period_ns == 100_000_000
        assert node._source.motion == 0.0 and node._frame_id == 'other'
        assert node.get_parameter('width').value == 64
        descriptor = node.describe_parameter('rate')
        assert descriptor.floating_point_range[0].to_value == 240.0 and descriptor.description
    finally:
        node.destroy_node()


@pytest.mark.ros
def test_camera_with_mistyped_parameter_fails_with_a_hint(tmp_path):
    log = tmp_path / 'camera.log'
    camera = start(['selfie_seg_camera', '--ros-args', '-p', 'rate:=15'], log)
    assert camera.wait(timeout=20) == 1
    output = log.read_text()
    assert "'rate'" in output and 'rate:=15.0' in output
    assert 'Traceback' not in output


@pytest.mark.ros
def test_camera_publishes_images_with_matching_camera_info(ros_context, tmp_path):
    log = tmp_path / 'camera.log'
    camera = start(['selfie_seg_camera', '--ros-args', '-r', 'image:=cam_test/image',
                    '-r', 'camera_info:=cam_test/camera_info', '-p', 'source:=astronaut',
                    '-p', 'width:=640', '-p', 'height:=480', '-p', 'rate:=20.0',
                    '-p', 'motion:=0.0', '-p', 'frame_id:=test_optical', '-p', 'reliable:=true'],
                   log)
    node = rclpy.create_node('camera_test_listener', context=ros_context)
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(node)
    images: list[Image] = []
    infos: list[CameraInfo] = []
    qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(Image, 'cam_test/image', images.append, qos)
    node.create_subscription(CameraInfo, 'cam_test/camera_info', infos.append, qos)
    try:
        deadline = time.monotonic() + 15.0
        while (len(images) < 5 or len(infos) < 5) and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.1)
            assert camera.poll() is None, log.read_text()
    finally:
        executor.shutdown()
        node.destroy_node()
        code = stop(camera, signal.SIGINT)
    output = log.read_text()
    assert len(images) >= 5 and len(infos) >= 5, output
    assert code == 0, output
    assert 'Traceback' not in output
    assert "publishing built-in 'astronaut' (512x512 still image) as 640x480" in output

    expected = fit_frame(load_builtin('astronaut'), 640, 480)
    for msg in images:
        assert (msg.width, msg.height, msg.encoding, msg.step) == (640, 480, 'bgr8', 640 * 3)
        assert msg.header.frame_id == 'test_optical'
        assert np.array_equal(image_to_array(msg), expected)
    info_headers = {(i.header.stamp.sec, i.header.stamp.nanosec): i for i in infos}
    matched = [info_headers.get((m.header.stamp.sec, m.header.stamp.nanosec)) for m in images]
    matched = [info for info in matched if info is not None]
    assert matched, 'no CameraInfo with the header of a received Image'
    for info in matched:
        assert (info.width, info.height) == (640, 480)
        assert info.header.frame_id == 'test_optical'
        assert info.k[0] == 0.0  # uncalibrated, as CameraInfo documents it
    stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in images]
    assert all(b > a for a, b in zip(stamps, stamps[1:], strict=False))


@pytest.mark.ros
def test_camera_exits_cleanly_on_sigterm(tmp_path):
    log = tmp_path / 'camera.log'
    camera = start(['selfie_seg_camera', '--ros-args', '-p', 'width:=320', '-p', 'height:=0'],
                   log)
    wait_for_text(log, 'publishing')
    time.sleep(0.3)
    code = stop(camera, signal.SIGTERM)
    output = log.read_text()
    assert code == 0, output
    assert 'as 320x320 bgr8 at 30 Hz' in output
    assert 'Traceback' not in output


@pytest.mark.ros
def test_camera_with_missing_source_fails_with_reason(tmp_path):
    log = tmp_path / 'camera.log'
    missing = tmp_path / 'nowhere.mp4'
    camera = start(['selfie_seg_camera', '--ros-args', '-p', f'source:={missing}'], log)
    assert camera.wait(timeout=20) == 1
    output = log.read_text()
    assert 'nowhere.mp4' in output and 'neither a built-in photo' in output
    assert 'Traceback' not in output


@pytest.mark.ros
def test_shm_profile_carries_best_effort_720p_between_processes(tmp_path):
    """The default camera (1280x720 bgr8, best effort, 30 Hz) reaches another process."""
    camera_log, viewer_log = tmp_path / 'camera.log', tmp_path / 'viewer.log'
    frames = tmp_path / 'frames'
    camera = start(['selfie_seg_camera', '--ros-args', '-r', 'image:=shm_test/image'],
                   camera_log)
    try:
        wait_for_text(camera_log, 'publishing')
        viewer = start(['selfie_seg_viewer', '--prefix', '/shm_test', '--topics', 'image',
                        '--best-effort', '--duration', '4', '--save-every', '0',
                        '--min-frames', '10', '--out', str(frames)], viewer_log)
        viewer_code = viewer.wait(timeout=30)
    finally:
        camera_code = stop(camera, signal.SIGINT)
    output = viewer_log.read_text()
    assert viewer_code == 0, output
    assert camera_code == 0, camera_log.read_text()
    match = re.search(r'/shm_test/image: (\d+) frames, ([\d.]+) fps, last 1280x720 bgr8', output)
    assert match, output
    assert float(match.group(2)) >= 15.0, output  # at least half of the 30 Hz arrive
    assert re.search(r'fps  /shm_test/image +\d', output)
    saved = cv2.imread(str(frames / 'image.png'))
    assert saved is not None and saved.shape == (720, 1280, 3)
    assert 'Traceback' not in output + camera_log.read_text()


@pytest.mark.ros
def test_viewer_saves_outputs_and_colours_the_mask_with_the_node_labels(ros_context, tmp_path):
    """A stand-in publisher node named like the real one: mask (mono8) and overlay (bgr8)."""
    labels = list(MULTICLASS_LABELS)
    node = rclpy.create_node('viewer_test_seg', context=ros_context)
    node.declare_parameter('labels', labels)
    qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
    mask_pub = node.create_publisher(Image, '~/mask', qos)
    overlay_pub = node.create_publisher(Image, '~/overlay', qos)
    mask = np.repeat(np.arange(6, dtype=np.uint8), 20)[None, :].repeat(40, axis=0)  # 40x120
    overlay = np.dstack([mask * 40, mask * 20, 255 - mask * 40]).astype(np.uint8)

    def publish() -> None:
        mask_pub.publish(Image(height=40, width=120, encoding='mono8', step=120,
                               data=mask.tobytes()))
        overlay_pub.publish(Image(height=40, width=120, encoding='bgr8', step=360,
                                  data=overlay.tobytes()))

    node.create_timer(0.05, publish)
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(node)
    out = tmp_path / 'frames'
    log = tmp_path / 'viewer.log'
    viewer = start(['selfie_seg_viewer', '--prefix', '/viewer_test_seg', '--topics', 'mask',
                    'overlay', 'blurred', '--duration', '4', '--save-every', '0.5',
                    '--out', str(out)], log)
    try:
        deadline = time.monotonic() + 30.0
        while viewer.poll() is None and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
    finally:
        executor.shutdown()
        node.destroy_node()
        code = stop(viewer)
    output = log.read_text()
    assert code == 0, output
    assert np.array_equal(cv2.imread(str(out / 'mask.png'), cv2.IMREAD_UNCHANGED), mask)
    assert np.array_equal(cv2.imread(str(out / 'overlay.png')), overlay)
    expected_color = colorize(mask, make_palette(labels))
    assert np.array_equal(cv2.imread(str(out / 'mask_color.png')), expected_color)
    assert 'class labels: background, hair' in output
    assert not (out / 'blurred.png').exists()
    assert re.search(r'/viewer_test_seg/blurred: 0 frames', output)
    assert re.search(r'/viewer_test_seg/mask: \d{2,} frames', output)

    # --min-frames fails the run when a topic stays silent.
    log2 = tmp_path / 'viewer2.log'
    silent = start(['selfie_seg_viewer', '--prefix', '/nobody_here', '--duration', '1',
                    '--min-frames', '1', '--out', str(tmp_path / 'none')], log2)
    assert silent.wait(timeout=20) == 1
    assert 'fewer than 1 frames on: /nobody_here/mask' in log2.read_text()


@pytest.mark.ros
@pytest.mark.model
def test_camera_node_viewer_pipeline_on_the_real_model(selfie_model_path, model_cache_dir,
                                                       tmp_path):
    """The demo as users run it: camera -> selfie_seg_node -> viewer, three processes."""
    logs = {name: tmp_path / f'{name}.log' for name in ('camera', 'node', 'viewer')}
    remaps = ['-r', 'image:=pipe/image', '-r', 'camera_info:=pipe/camera_info']
    camera = start(['selfie_seg_camera', '--ros-args', *remaps, '-p', 'width:=640',
                    '-p', 'height:=480', '-p', 'rate:=15.0'], logs['camera'])
    node = start(['selfie_seg_node', '--ros-args', *remaps, '-r', '__node:=pipe_seg',
                  '--params-file', str(REPO / 'config' / 'selfie_seg.yaml'),
                  '-p', 'model:=selfie_segmentation', '-p', 'allow_download:=false',
                  '-p', f'model_cache_dir:={model_cache_dir}'], logs['node'])
    out = tmp_path / 'frames'
    try:
        wait_for_text(logs['node'], 'ready in', timeout=60)
        viewer = start(['selfie_seg_viewer', '--prefix', '/pipe_seg', '--duration', '5',
                        '--min-frames', '15', '--out', str(out)], logs['viewer'])
        viewer_code = viewer.wait(timeout=60)
    finally:
        node_code = stop(node)
        camera_code = stop(camera)
    output = {name: log.read_text() for name, log in logs.items()}
    assert viewer_code == 0, output['viewer'] + output['node']
    assert node_code == 0 and camera_code == 0, output
    assert not any('Traceback' in text for text in output.values()), output
    for topic, encoding in (('mask', 'mono8'), ('overlay', 'bgr8'), ('blurred', 'bgr8')):
        assert re.search(rf'/pipe_seg/{topic}: \d+ frames, [\d.]+ fps, last 640x480 {encoding}',
                         output['viewer']), output['viewer']
    mask = cv2.imread(str(out / 'mask.png'), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (480, 640) and set(np.unique(mask)) <= {0, 1}
    assert 0.2 < (mask == 1).mean() < 0.8  # the astronaut fills a good part of the frame
    blurred = cv2.imread(str(out / 'blurred.png'))
    overlay = cv2.imread(str(out / 'overlay.png'))
    colored = cv2.imread(str(out / 'mask_color.png'))
    assert blurred.shape == overlay.shape == colored.shape == (480, 640, 3)
    assert np.abs(blurred.astype(int) - overlay.astype(int)).mean() > 5
    assert 'class labels: background, person' in output['viewer']
