# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""``selfie_seg_cameras``: several camera nodes in one process, each as a separate node would be.

The argument handling is unit-tested; the process runs the real general selfie model over DDS
with two cameras that get different parameters from one params file.
"""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from ros_harness import BIN, Peer, bgr_image_msg, image_array, ros_env, unique_domain_id
from sensor_msgs.msg import Image

from selfie_seg_ros.ros import harness
from selfie_seg_ros.ros.camera_list import Camera, parse_cameras, parse_namespaces
from selfie_seg_ros.ros.cameras import split_arguments

MODEL = 'selfie_segmentation'


@pytest.mark.parametrize(('values', 'expected'), [
    (['front', 'rear'], ['/front', '/rear']),
    (['front,rear;left right'], ['/front', '/rear', '/left', '/right']),
    (['/robot/front/', 'robot/rear'], ['/robot/front', '/robot/rear']),
    (['_cam1'], ['/_cam1']),
])
def test_namespaces_are_parsed_to_absolute_names(values, expected):
    assert parse_namespaces(values) == expected


@pytest.mark.parametrize(('values', 'message'), [
    ([], 'at least one'),
    ([' , '], 'at least one'),
    (['1front'], 'not a ROS namespace'),
    (['front-left'], 'not a ROS namespace'),
    (['front', '/front'], 'given twice'),
    (['a//b'], 'not a ROS namespace'),
])
def test_bad_namespaces_are_rejected_with_a_reason(values, message):
    with pytest.raises(ValueError, match=message):
        parse_namespaces(values)


def test_launch_camera_list_is_parsed_and_checked():
    assert parse_cameras('{namespace: front};{namespace: rear, camera_source: /v/rear.mp4};') == [
        Camera('/front', ''), Camera('/rear', '/v/rear.mp4')]
    assert parse_cameras('{namespace: cam, camera_source: 0}') == [Camera('/cam', '0')]
    for text, message in (('', 'at least one'), ('front', 'mapping'),
                          ('{namespace: a, source: x}', 'unknown key'),
                          ('{namespace: a};{namespace: /a}', 'twice'),
                          ('{namespace: 2a}', 'not a ROS namespace'), ('{namespace: [}', 'YAML')):
        with pytest.raises(ValueError, match=message):
            parse_cameras(text)


def test_ros_arguments_are_split_off():
    assert split_arguments(['--namespaces', 'a', '--ros-args', '-p', 'x:=1']) == (
        ['--namespaces', 'a'], ['--ros-args', '-p', 'x:=1'])
    assert split_arguments(['--namespaces', 'a']) == (['--namespaces', 'a'], [])


def test_bad_namespace_fails_before_ros_starts(tmp_path):
    process = harness.ChildProcess(
        [str(BIN / 'selfie_seg_cameras'), '--namespaces', '9lives'],
        ros_env(unique_domain_id()), log_path=tmp_path / 'bad_namespace.log')
    assert process.process.wait(timeout=60) == 2
    assert 'not a ROS namespace' in process.output()
    process.stop()


@pytest.fixture(scope='module')
def frame():
    from skimage import data

    astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    image = np.full((360, 640, 3), 90, np.uint8)
    image[:, 140:500] = cv2.resize(astronaut, (360, 360))
    return image


def test_two_cameras_in_one_process_have_own_topics_and_parameters(tmp_path, frame):
    params = tmp_path / 'cameras.yaml'
    params.write_text(
        '/**:\n  ros__parameters:\n    model: selfie_segmentation\n'
        '/right/selfie_seg:\n  ros__parameters:\n    effect: none\n')
    domain = unique_domain_id()
    command = [str(BIN / 'selfie_seg_cameras'), '--namespaces', 'left,right', '--ros-args',
               '--params-file', str(params)]
    process = harness.ChildProcess(command, ros_env(domain), log_path=tmp_path / 'cameras.log')
    peer = Peer(domain)
    try:
        publishers = {name: peer.node.create_publisher(Image, f'/{name}/image', peer._qos())
                      for name in ('left', 'right')}
        for name in ('left', 'right'):
            for output in ('mask', 'blurred'):
                peer.subscribe(f'{name}_{output}', topic=f'/{name}/selfie_seg/{output}')
        stamps = iter(range(time.time_ns(), time.time_ns() + 10**15, 1_000_000))

        def publish() -> None:
            for name, publisher in publishers.items():
                publisher.publish(bgr_image_msg(frame, next(stamps), f'{name}_camera'))

        def all_in() -> bool:
            return all(peer.received.get(f'{name}_{output}') for name in ('left', 'right')
                       for output in ('mask', 'blurred'))

        assert peer.wait_for(all_in, timeout=90, publish=publish, period=0.1), process.output()
        for name in ('left', 'right'):
            mask = peer.received.get(f'{name}_mask')[-1]
            assert mask.header.frame_id == f'{name}_camera'  # each camera's own frames
            assert 0.05 < image_array(mask).mean() < 0.95
        # Own parameters: only the right camera's params file entry turns the effect off.
        right = image_array(peer.received.get('right_blurred')[-1])
        left = image_array(peer.received.get('left_blurred')[-1])
        np.testing.assert_array_equal(right, frame)
        assert np.abs(left.astype(int) - frame).mean() > 1.0
        assert peer.get_parameter('effect', '/right/selfie_seg') == 'none'
        assert peer.get_parameter('effect', '/left/selfie_seg') == 'blur'
        assert '2 cameras in one process' in process.output()
        assert '1 compiled model(s) shared' in process.output()
    finally:
        peer.close()
        code = process.stop()
    assert code == 0, process.output()
