# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Integration: selfie_seg_node as a real process, talking over DDS on an isolated domain.

Uses the real MediaPipe general selfie model (from the mediapipe wheel on PyPI) on real photos.
"""

import signal
import threading
import time

import cv2
import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from ros_harness import (
    NodeProcess,
    Peer,
    bgr_image_msg,
    image_array,
    node_and_peer,
    unique_domain_id,
)
from sensor_msgs.msg import CompressedImage, Image

pytestmark = [pytest.mark.ros, pytest.mark.model]

MODEL = 'selfie_segmentation'
FACE_BOX_512 = (slice(70, 170), slice(180, 280))  # rows, cols of the astronaut's face


@pytest.fixture(scope='module')
def photos():
    from skimage import data

    astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    frame_720p = np.full((720, 1280, 3), 90, np.uint8)
    frame_720p[:, 280:1000] = cv2.resize(astronaut, (720, 720))
    return {'astronaut': astronaut, '720p': frame_720p}


@pytest.fixture(scope='module')
def running():
    """One node process and one peer for the module (start-up costs ~2 s)."""
    with node_and_peer(
        {'model': MODEL}, {'image': '/camera/image', 'camera_info': '/camera/camera_info'},
        [*((name, Image, None) for name in ('mask', 'overlay', 'blurred')),
         ('diagnostics', DiagnosticArray, '/diagnostics')],
    ) as running_pair:
        yield running_pair


class Stamps:
    """Unique, increasing stamps for published frames."""

    def __init__(self) -> None:
        self.value = time.time_ns()

    def next(self) -> int:
        self.value += 1_000_000
        return self.value


def publish_until(peer, image, topics, *, frame_id='camera_optical', count=1, timeout=20.0):
    """Publish frames (~20 Hz) until every topic got ``count`` messages with our frame_id."""
    stamps = Stamps()
    sent: dict[tuple[int, int], str] = {}

    def publish():
        stamp = stamps.next()
        msg = bgr_image_msg(image, stamp, frame_id)
        sent[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = frame_id
        peer.image_pub.publish(msg)

    def ours(topic):
        return [
            m for m in peer.received.get(topic)
            if (m.header.stamp.sec, m.header.stamp.nanosec) in sent
        ]

    ok = peer.wait_for(lambda: all(len(ours(t)) >= count for t in topics), timeout=timeout,
                       publish=publish)
    assert ok, f'no output on {[t for t in topics if len(ours(t)) < count]}'
    return {t: ours(t) for t in topics}, sent


@pytest.mark.parametrize('photo', ['astronaut', '720p'])
def test_outputs_keep_header_size_and_encoding(running, photos, photo):
    _, peer = running
    image = photos[photo]
    got, sent = publish_until(peer, image, ('mask', 'overlay', 'blurred'), count=3)
    height, width = image.shape[:2]
    for topic, encoding in (('mask', 'mono8'), ('overlay', 'bgr8'), ('blurred', 'bgr8')):
        for msg in got[topic]:
            assert msg.encoding == encoding
            assert (msg.height, msg.width) == (height, width)
            assert msg.header.frame_id == 'camera_optical'
            assert (msg.header.stamp.sec, msg.header.stamp.nanosec) in sent
    # The three outputs of one frame carry the identical header.
    stamps = [{(m.header.stamp.sec, m.header.stamp.nanosec) for m in got[t]} for t in got]
    assert stamps[0] & stamps[1] & stamps[2]
    mask = image_array(got['mask'][-1])
    assert set(np.unique(mask)) <= {0, 1}
    share = mask.mean()
    assert 0.15 < share < 0.85, share
    if photo == 'astronaut':
        assert mask[FACE_BOX_512].mean() > 0.9
    else:
        face = cv2.resize(mask[:, 280:1000], (512, 512), interpolation=cv2.INTER_NEAREST)
        assert face[FACE_BOX_512].mean() > 0.9
        assert mask[:, :200].mean() < 0.05  # plain grey border: background


def test_each_frames_outputs_are_made_from_that_frame_under_fast_input(running, photos):
    """The two worker threads never mix frames: at a rate above what the node keeps up with,
    alternating frames, every overlay is exactly that frame's picture with that frame's mask,
    and every blurred image keeps that frame's person sharp."""
    from selfie_seg_ros.engine.effects import make_palette, overlay

    _, peer = running
    person = cv2.resize(photos['astronaut'], (720, 720))
    frames = []
    for left in (0, 560):
        frame = np.full((720, 1280, 3), 90, np.uint8)
        frame[:, left:left + 720] = person
        frames.append(frame)
    stamps = Stamps()
    sent: dict[tuple[int, int], int] = {}
    peer.received.clear()

    def publish() -> None:
        index = len(sent) % 2
        msg = bgr_image_msg(frames[index], stamps.next(), 'camera_optical')
        sent[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = index
        peer.image_pub.publish(msg)

    def by_stamp(topic: str) -> dict:
        return {(m.header.stamp.sec, m.header.stamp.nanosec): m
                for m in peer.received.get(topic)
                if (m.header.stamp.sec, m.header.stamp.nanosec) in sent}

    def complete() -> set:
        return set(by_stamp('mask')) & set(by_stamp('overlay')) & set(by_stamp('blurred'))

    assert peer.wait_for(lambda: len({sent[k] for k in complete()}) == 2 and len(complete()) >= 12,
                         timeout=30, publish=publish, period=0.01)
    masks, overlays, blurred = by_stamp('mask'), by_stamp('overlay'), by_stamp('blurred')
    palette = make_palette(['background', 'person'])
    for key in complete():
        frame = frames[sent[key]]
        mask = image_array(masks[key])
        assert 0.1 < mask.mean() < 0.6
        expected = overlay(frame, mask, palette, 0.5)
        assert np.array_equal(image_array(overlays[key]), expected), key
        sure = cv2.erode(mask, np.ones((25, 25), np.uint8)) > 0
        other = frames[1 - sent[key]]
        sharp = np.abs(image_array(blurred[key]).astype(int) - frame)[sure].mean()
        assert sharp < np.abs(other.astype(int) - frame)[sure].mean() / 4, key


def test_labels_parameter_is_filled_from_the_model(running):
    _, peer = running
    assert peer.get_parameter('labels') == ['background', 'person']


def test_effect_and_overlay_alpha_change_at_runtime(running, photos):
    _, peer = running
    image = photos['astronaut']
    results = peer.set_parameters(effect='none', overlay_alpha=0.0)
    assert all(r.successful for r in results), results
    peer.received.clear()
    got, _ = publish_until(peer, image, ('overlay', 'blurred'), count=2)
    assert np.array_equal(image_array(got['blurred'][-1]), image)
    assert np.array_equal(image_array(got['overlay'][-1]), image)

    results = peer.set_parameters(effect='blur', overlay_alpha=1.0)
    assert all(r.successful for r in results), results
    peer.received.clear()
    got, _ = publish_until(peer, image, ('mask', 'overlay', 'blurred'), count=2)
    blurred = image_array(got['blurred'][-1])
    overlay = image_array(got['overlay'][-1])
    mask = image_array(got['mask'][-1])
    background = mask == 0
    # The blurred background differs from the photo, the person stays sharp.
    assert np.abs(blurred.astype(int) - image)[background].mean() > 3
    assert np.abs(blurred.astype(int) - image)[FACE_BOX_512].mean() < 3
    # alpha 1: the overlay is made of palette colours only (one per class).
    assert len(np.unique(overlay[FACE_BOX_512].reshape(-1, 3), axis=0)) <= 2

    results = peer.set_parameters(effect='replace', background_color=[255, 0, 0])
    assert all(r.successful for r in results), results
    peer.received.clear()
    got, _ = publish_until(peer, image, ('blurred', 'mask'), count=2)
    replaced = image_array(got['blurred'][-1]).astype(int)
    far_background = cv2.erode((image_array(got['mask'][-1]) == 0).astype(np.uint8),
                               np.ones((15, 15), np.uint8)) > 0
    assert np.abs(replaced[far_background] - [0, 0, 255]).mean() < 10  # red in BGR
    assert all(r.successful for r in peer.set_parameters(effect='blur', overlay_alpha=0.5))


def test_invalid_values_are_rejected_with_a_reason(running):
    _, peer = running
    (result,) = peer.set_parameters(device='TPU')
    assert not result.successful
    assert 'TPU' in result.reason and 'CPU' in result.reason
    (result,) = peer.set_parameters(effect='sparkle')
    assert not result.successful and 'blur' in result.reason
    (result,) = peer.set_parameters(model='no_such_model')
    assert not result.successful and 'selfie_segmentation' in result.reason
    (result,) = peer.set_parameters(overlay_alpha=2.0)
    assert not result.successful
    (result,) = peer.set_parameters(foreground_classes=['wings'])
    assert not result.successful and 'person' in result.reason
    assert peer.get_parameter('effect') == 'blur'


def _malformed_messages(image):
    good = bgr_image_msg(image, 1, 'bad')
    variants = {}
    msg = bgr_image_msg(image, 1, 'bad')
    msg.encoding = 'bgr99'
    variants['unknown encoding'] = msg
    msg = bgr_image_msg(image, 1, 'bad')
    msg.step = good.step - 3
    variants['step/size mismatch'] = msg
    msg = bgr_image_msg(image, 1, 'bad')
    msg.data = bytes(good.data)[: len(good.data) // 2]
    variants['truncated data'] = msg
    msg = Image(encoding='bgr8', height=0, width=0, step=0)
    variants['zero size'] = msg
    return variants


def test_malformed_frames_are_skipped_and_node_keeps_serving(running, photos):
    node, peer = running
    image = photos['astronaut']
    for _kind, msg in _malformed_messages(image).items():
        peer.image_pub.publish(msg)
        time.sleep(0.15)
    peer.received.clear()
    publish_until(peer, image, ('mask', 'overlay', 'blurred'), count=1)
    assert node.alive()
    log = node.output()
    assert 'malformed' in log
    assert 'Traceback' not in log


def test_device_and_model_reload_at_runtime(running, photos):
    _, peer = running
    (result,) = peer.set_parameters(model='selfie_segmentation_landscape')
    assert result.successful, result.reason
    peer.received.clear()
    got, _ = publish_until(peer, photos['720p'], ('mask',), count=2)
    assert image_array(got['mask'][-1]).shape == (720, 1280)
    results = peer.set_parameters(model=MODEL, device='AUTO')
    assert all(r.successful for r in results), results
    (result,) = peer.set_parameters(device='CPU')
    assert result.successful, result.reason


def _totals(peer):
    msgs = peer.received.get('diagnostics')
    if not msgs:
        return None
    status = msgs[-1].status[0]
    return {kv.key: kv.value for kv in status.values}


def _fresh_totals(peer):
    """Diagnostics totals from a message the node published after this call."""
    peer.received.clear()
    assert peer.wait_for(lambda: _totals(peer) is not None, timeout=5)
    return _totals(peer)


def test_outputs_are_lazy(running, photos):
    _, peer = running
    image = photos['astronaut']
    peer.unsubscribe('overlay')
    peer.unsubscribe('blurred')
    try:
        # The node sees the unsubscription after DDS discovery: measure in windows until one
        # shows the mask growing while overlay and blurred stay put (normally the first).
        for _ in range(5):
            before = _fresh_totals(peer)
            publish_until(peer, image, ('mask',), count=5)
            after = _fresh_totals(peer)
            grew = int(after['total mask']) >= int(before['total mask']) + 5
            if grew and all(after[f'total {t}'] == before[f'total {t}']
                            for t in ('overlay', 'blurred', 'mask_color')):
                break
        else:
            pytest.fail(f'overlay/blurred kept being computed: {before} -> {after}')
        # No subscriber at all: frames are not even inferred.
        peer.unsubscribe('mask')
        assert peer.wait_for(lambda: peer.image_pub.get_subscription_count() > 0, 5)
        time.sleep(1.0)
        peer.received.clear()
        assert peer.wait_for(lambda: _totals(peer) is not None, timeout=5)
        idle_before = _totals(peer)
        stamps = Stamps()

        def idle_grew():
            totals = _totals(peer)
            return totals is not None and int(totals['total idle']) > int(
                idle_before['total idle'])

        assert peer.wait_for(idle_grew, timeout=15, period=0.1, publish=lambda: (
            peer.image_pub.publish(bgr_image_msg(image, stamps.next(), 'idle'))))
        assert _totals(peer)['total processed'] == idle_before['total processed']
    finally:
        for name in ('mask', 'overlay', 'blurred'):
            if name not in peer._subscriptions:
                peer.subscribe(name)
        peer.wait_for_node()


def test_compressed_input_and_corrupt_compressed_data(photos):
    domain = unique_domain_id()
    node = NodeProcess(domain, {'model': MODEL, 'compressed_input': 'true'},
                       {'image/compressed': '/camera/image/compressed'})
    peer = Peer(domain)
    try:
        peer.subscribe('mask')
        assert peer.wait_for(lambda: peer.compressed_pub.get_subscription_count() > 0, 60), \
            node.output()
        corrupt = CompressedImage(format='jpeg', data=b'\xff\xd8 not really a jpeg')
        peer.compressed_pub.publish(corrupt)
        ok, jpeg = cv2.imencode('.jpg', photos['astronaut'])
        assert ok
        stamps = Stamps()

        def publish():
            msg = CompressedImage(format='jpeg', data=jpeg.tobytes())
            msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamps.next(), 10**9)
            msg.header.frame_id = 'compressed'
            peer.compressed_pub.publish(msg)

        assert peer.wait_for(lambda: len(peer.received.get('mask')) >= 2, 30, publish=publish)
        mask_msg = peer.received.get('mask')[-1]
        assert mask_msg.header.frame_id == 'compressed'
        assert image_array(mask_msg)[FACE_BOX_512].mean() > 0.9
        assert node.alive()
    finally:
        peer.close()
        assert node.stop() == 0


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM])
def test_clean_exit_on_signal(photos, sig):
    domain = unique_domain_id()
    node = NodeProcess(domain, {'model': MODEL}, {'image': '/camera/image'})
    peer = Peer(domain)
    try:
        peer.subscribe('blurred')
        assert peer.wait_for_node(60), node.output()
        publish_until(peer, photos['720p'], ('blurred',), count=2)
        # Keep frames flowing while the signal arrives: the worker may be mid-inference.
        stamps = Stamps()
        for _ in range(5):
            peer.image_pub.publish(bgr_image_msg(photos['720p'], stamps.next(), 'x'))
        code = node.stop(sig)
    finally:
        peer.close()
    output = node.output()
    assert code == 0, output
    assert 'Traceback' not in output


def test_missing_model_fails_startup_with_a_clear_message(tmp_path):
    node = NodeProcess(unique_domain_id(), {'model': str(tmp_path / 'missing.tflite')})
    code = node.process.wait(timeout=60)
    node.stop()
    assert code != 0
    assert 'missing.tflite' in node.output()
    assert 'Traceback' not in node.output()


def test_camera_info_is_republished_with_each_output_header(running, photos):
    _, peer = running
    from sensor_msgs.msg import CameraInfo

    info_pub = peer.node.create_publisher(CameraInfo, '/camera/camera_info', peer._qos())
    peer.subscribe('camera_info', CameraInfo)
    try:
        info = CameraInfo(width=512, height=512, distortion_model='plumb_bob')
        info.k = [500.0, 0.0, 256.0, 0.0, 500.0, 256.0, 0.0, 0.0, 1.0]
        info.header.frame_id = 'camera_optical'
        assert peer.wait_for(lambda: info_pub.get_subscription_count() > 0, 10)
        # The node takes camera_info best effort, as cameras send it: one message can be lost,
        # so it is repeated (as a camera does with every frame) until the outputs have come.
        stop = threading.Event()

        def repeat() -> None:
            while not stop.wait(0.05):
                info_pub.publish(info)

        repeater = threading.Thread(target=repeat, daemon=True)
        repeater.start()
        try:
            got, sent = publish_until(
                peer, photos['astronaut'], ('mask', 'camera_info'), count=2)
        finally:
            stop.set()
            repeater.join(timeout=5)
        mask_stamps = {(m.header.stamp.sec, m.header.stamp.nanosec) for m in got['mask']}
        for msg in got['camera_info']:
            assert (msg.header.stamp.sec, msg.header.stamp.nanosec) in mask_stamps | set(sent)
            assert msg.header.frame_id == 'camera_optical'
            assert msg.width == 512 and list(msg.k) == list(info.k)
            assert msg.distortion_model == 'plumb_bob'
    finally:
        peer.unsubscribe('camera_info')
        peer.node.destroy_publisher(info_pub)


def test_local_model_file_with_labels_from_a_parameter(running, photos, selfie_model_path):
    _, peer = running
    try:
        results = peer.set_parameters(model=str(selfie_model_path), model_labels=['bg', 'human'])
        assert all(r.successful for r in results), results
        # The new model is built in the background; labels follow once it serves.
        assert peer.wait_for(lambda: peer.get_parameter('labels') == ['bg', 'human'], 30)
        peer.received.clear()
        got, _ = publish_until(peer, photos['astronaut'], ('mask',), count=1)
        assert image_array(got['mask'][-1])[FACE_BOX_512].mean() > 0.9
        (result,) = peer.set_parameters(model_labels=['a', 'b', 'c'])
        assert not result.successful and '2 classes' in result.reason
        assert peer.get_parameter('labels') == ['bg', 'human']
    finally:
        results = peer.set_parameters(model=MODEL, model_labels=[])
        assert all(r.successful for r in results), results
    assert peer.wait_for(lambda: peer.get_parameter('labels') == ['background', 'person'], 30)
