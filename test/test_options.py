# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""One definition per option: ROS descriptors, CLI options, engine checks and README agree."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from selfie_seg_ros.cli.app import EFFECT_OPTIONS, MODEL_OPTIONS, VIDEO_SMOOTHING, build_parser
from selfie_seg_ros.cli.options import PATH_OPTIONS
from selfie_seg_ros.engine.effects import EffectOptions
from selfie_seg_ros.engine.options import OPTIONS, get_option
from selfie_seg_ros.engine.segmenter import SegmenterOptions
from selfie_seg_ros.ros.params import (
    PARAMS,
    README_TABLE_END,
    README_TABLE_START,
    descriptor,
    markdown_table,
)

README = Path(__file__).resolve().parents[1] / 'README.md'
SEGMENTER_FIELDS = set(SegmenterOptions.__dataclass_fields__)


def test_readme_parameter_table_is_the_generated_one():
    text = README.read_text()
    start = text.index(README_TABLE_START) + len(README_TABLE_START)
    table = text[start:text.index(README_TABLE_END)].strip()
    assert table == markdown_table(), (
        'README parameter table is out of date: run scripts/update_readme_params.py')
    assert table.count('\n') == len(PARAMS) + 1


def test_every_engine_option_is_a_node_parameter_with_its_limits():
    by_name = {spec.name: spec for spec in PARAMS}
    for option in OPTIONS:
        assert by_name[option.name] is option
        desc = descriptor(option)
        ranges = list(desc.integer_range) + list(desc.floating_point_range)
        if option.range is not None:
            assert (ranges[0].from_value, ranges[0].to_value) == option.range
        else:
            assert ranges == []
        if option.choices:
            assert desc.additional_constraints == f'One of: {", ".join(option.choices)}.'


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _cli_action(command: str, flag: str) -> argparse.Action:
    sub = _subparsers(build_parser())[command]
    return next(a for a in sub._actions if flag in a.option_strings)


COMMAND_OPTIONS = {
    'image': (*MODEL_OPTIONS, *EFFECT_OPTIONS),
    'video': (*MODEL_OPTIONS, *EFFECT_OPTIONS, 'smoothing'),
    'bag': (*MODEL_OPTIONS, *EFFECT_OPTIONS, 'smoothing', 'jpeg_quality'),
}


@pytest.mark.parametrize('command', list(COMMAND_OPTIONS))
def test_cli_options_come_from_the_definitions(command):
    for name in COMMAND_OPTIONS[command]:
        option = get_option(name)
        action = _cli_action(command, option.cli_flag)
        if option.choices:
            assert tuple(action.choices) == option.choices, name
        if option.range is not None:
            assert option.limits_text in action.help, name
        if (option.kind not in ('bool', 'string_array') and name not in PATH_OPTIONS
                and (command, name) != ('bag', 'effect')):  # bag picks its effect later
            default = option.default if action.default != VIDEO_SMOOTHING else VIDEO_SMOOTHING
            assert action.default == default, name


@pytest.mark.parametrize(('name', 'outside'), [
    ('smoothing', '0.96'), ('threshold', '1.5'), ('blur_strength', '302'),
    ('overlay_alpha', '-0.1'), ('blur_strength', '0')])
def test_a_value_outside_the_range_is_refused_everywhere_alike(name, outside, capsys):
    option = get_option(name)
    low, high = option.range
    value = float(outside)
    assert not low <= value <= high
    # Command line: argparse exits 2 naming the flag.
    command = 'video'
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([command, 'in.mp4', option.cli_flag, outside])
    assert exited.value.code == 2
    assert option.cli_flag in capsys.readouterr().err
    # Engine.
    if name in SEGMENTER_FIELDS:
        with pytest.raises(ValueError, match=name):
            SegmenterOptions(**{name: value})
        SegmenterOptions(**{name: high})
    if name == 'blur_strength':
        with pytest.raises(ValueError):
            EffectOptions(blur_strength=int(value))
        EffectOptions(blur_strength=int(high))


def test_smoothing_is_capped_alike_in_engine_node_and_cli():
    option = get_option('smoothing')
    assert option.range == (0.0, 0.95)
    with pytest.raises(ValueError, match='smoothing'):
        SegmenterOptions(smoothing=0.99)  # the engine accepted up to 1 before
    args = build_parser().parse_args(['video', 'in.mp4', '--smoothing', '0.95'])
    assert args.smoothing == 0.95
    assert build_parser().parse_args(['video', 'in.mp4']).smoothing == 0.3
    assert build_parser().parse_args(['bag', 'a', 'b', '--topic', '/x']).smoothing == 0.0
