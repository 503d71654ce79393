# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Launch arguments that override the params file only when the user gives them.

``selfie_seg.launch.py`` declares ``device``, ``effect``, ``model`` and ``autostart`` with the
default ``''`` = not given. Only the given ones are written to a small params file that follows the
user's params file on the node's command line, so a key in the user's YAML keeps its value unless
the same setting is given as a launch argument. Pure Python (no launch import), so it is tested
without the launch packages.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path

from selfie_seg_ros.ros.params import ParamValue, get_spec

LAUNCH_PARAMETERS = ('model', 'device', 'effect', 'autostart')
"""Node parameters the launch file also offers as launch arguments."""
NOT_GIVEN = ''
"""Default of those launch arguments: leave the params file's value (or the node default)."""

_TRUE, _FALSE = ('true', 'yes', 'on', '1'), ('false', 'no', 'off', '0')


def parse_argument(name: str, text: str) -> ParamValue:
    """Turn a launch argument's text into the node parameter's type.

    Raises:
        ValueError: the text does not fit the parameter's type (e.g. ``autostart:=maybe``).
    """
    kind = get_spec(name).kind
    if kind == 'bool':
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f'launch argument {name}:={text!r}: expected true or false')
    if kind == 'integer':
        return int(text)
    if kind == 'double':
        return float(text)
    if kind == 'string':
        return text  # '0' stays the string '0', e.g. a model file named 0
    raise ValueError(f'launch argument {name}: {kind} parameters are set in the params file')


def given_overrides(arguments: Mapping[str, str]) -> dict[str, ParamValue]:
    """The launch arguments the user gave, as typed parameter values.

    Args:
        arguments: launch argument name -> text, as launch performs them; :data:`NOT_GIVEN`
            (``''``) means the user did not give it.

    Returns:
        Only the given arguments, typed for the node; an empty dict when none was given.

    Raises:
        ValueError: a given value does not fit its parameter.
    """
    return {name: parse_argument(name, text) for name, text in arguments.items()
            if text != NOT_GIVEN}


def overrides_yaml(overrides: Mapping[str, ParamValue]) -> str:
    """A ROS 2 params file that sets ``overrides`` on every node (``/**``).

    Written as JSON, which is YAML too: strings stay quoted (a model named ``0`` stays a string)
    and no YAML library is needed.
    """
    return json.dumps({'/**': {'ros__parameters': dict(overrides)}}, sort_keys=True)


def write_overrides_file(arguments: Mapping[str, str], directory: Path | None = None) -> str:
    """Write the params file of the given launch arguments; returns its path.

    The file is written even when nothing was given (then it sets nothing), so the node's command
    line has the same shape either way. Like launch_ros's own files for parameter dicts, it is
    left in the temporary directory.
    """
    text = overrides_yaml(given_overrides(arguments))
    with tempfile.NamedTemporaryFile(
            'w', prefix='selfie_seg_launch_', suffix='.yaml', dir=directory,
            delete=False) as handle:
        handle.write(text)
    return handle.name
