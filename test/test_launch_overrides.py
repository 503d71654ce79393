# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Launch arguments override the params file only when given (the logic selfie_seg.launch.py uses).

launch/launch_ros are not installable here. The launch file passes the node
``--params-file <user YAML> --params-file <file of the given arguments>``, which is what these
tests feed to rcl, with the node's real parameter declarations.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import rclpy
from rclpy.node import Node

from selfie_seg_ros.ros.launch_overrides import (
    LAUNCH_PARAMETERS,
    NOT_GIVEN,
    given_overrides,
    parse_argument,
    write_overrides_file,
)
from selfie_seg_ros.ros.params import declare_all

DOMAIN_ID = 1 + (os.getpid() * 3) % 200
NONE_GIVEN = dict.fromkeys(LAUNCH_PARAMETERS, NOT_GIVEN)
USER_YAML = """
/**:
  ros__parameters:
    device: GPU
    effect: none
    model: selfie_segmentation_landscape
    autostart: false
    blur_strength: 31
"""


def _node_values(tmp_path: Path, arguments: dict[str, str]) -> dict[str, object]:
    """Parameter values of a node started as the launch file starts it."""
    user = tmp_path / 'user.yaml'
    user.write_text(USER_YAML)
    given = write_overrides_file(arguments, directory=tmp_path)
    context = rclpy.Context()
    rclpy.init(args=['--ros-args', '--params-file', str(user), '--params-file', given],
               context=context, domain_id=DOMAIN_ID)
    try:
        node = Node('selfie_seg', namespace='/cam', context=context)
        try:
            declare_all(node)
            return {name: node.get_parameter(name).value
                    for name in (*LAUNCH_PARAMETERS, 'blur_strength')}
        finally:
            node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)


def test_yaml_values_hold_when_no_launch_argument_is_given(tmp_path):
    values = _node_values(tmp_path, NONE_GIVEN)
    assert values == {'device': 'GPU', 'effect': 'none', 'model': 'selfie_segmentation_landscape',
                      'autostart': False, 'blur_strength': 31}


def test_a_given_launch_argument_wins_over_the_yaml(tmp_path):
    values = _node_values(tmp_path, {**NONE_GIVEN, 'device': 'AUTO', 'autostart': 'true'})
    assert values['device'] == 'AUTO' and values['autostart'] is True
    # What was not given still comes from the YAML.
    assert values['effect'] == 'none'
    assert values['model'] == 'selfie_segmentation_landscape'


def test_every_launch_argument_can_override(tmp_path):
    values = _node_values(tmp_path, {'device': 'CPU', 'effect': 'replace',
                                     'model': 'selfie_segmentation', 'autostart': 'false'})
    assert values == {'device': 'CPU', 'effect': 'replace', 'model': 'selfie_segmentation',
                      'autostart': False, 'blur_strength': 31}


def test_only_given_arguments_are_written_and_keep_their_types(tmp_path):
    assert given_overrides(NONE_GIVEN) == {}
    assert given_overrides({**NONE_GIVEN, 'model': '0', 'autostart': 'False'}) == {
        'model': '0', 'autostart': False}
    path = write_overrides_file({**NONE_GIVEN, 'effect': 'blur'}, directory=tmp_path)
    assert json.loads(Path(path).read_text()) == {'/**': {'ros__parameters': {'effect': 'blur'}}}
    empty = write_overrides_file(NONE_GIVEN, directory=tmp_path)
    assert json.loads(Path(empty).read_text()) == {'/**': {'ros__parameters': {}}}


def test_a_string_that_looks_like_a_number_stays_a_string(tmp_path):
    # An unquoted 0 in YAML is an integer; a model file may be named 0.
    values = _node_values(tmp_path, {**NONE_GIVEN, 'model': '0'})
    assert values['model'] == '0'


def test_a_bad_launch_argument_is_refused_with_its_name():
    with pytest.raises(ValueError, match='autostart'):
        parse_argument('autostart', 'maybe')
    with pytest.raises(KeyError, match='unknown parameter'):
        parse_argument('no_such_parameter', 'x')
