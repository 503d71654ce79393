# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Parameters of the ``selfie_seg`` node: specs, ROS descriptors, pure validation, README table.

The engine's options are defined once in ``engine/options.py`` (also the source of the CLI's
options and of the engine's own checks); this module adds the node's own parameters and turns
every definition into a ROS descriptor and a row of the README's parameter table.

The pure checks (:func:`validate`; colours in ``effects.py``, device strings in ``devices.py``,
class names and model references in ``catalog.py``) import no ROS package, so the CLI can share
them; rclpy is imported only by the functions that take a node.
"""

from __future__ import annotations

import array
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from selfie_seg_ros.engine.catalog import check_model_reference, resolve_classes
from selfie_seg_ros.engine.devices import device_names, valid_device
from selfie_seg_ros.engine.effects import parse_rgb
from selfie_seg_ros.engine.errors import ImageTooLargeError
from selfie_seg_ros.engine.limits import (
    DEFAULT_MAX_PIXELS,
    check_pixels,
    image_file_size,
)
from selfie_seg_ros.engine.options import OPTIONS, Kind, OptionSpec, Value, check_limits

if TYPE_CHECKING:
    from rcl_interfaces.msg import ParameterDescriptor
    from rclpy.node import Node
    from rclpy.parameter import Parameter

ParamSpec = OptionSpec
ParamKind = Kind
ParamValue = Value

NODE_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec(
        'compressed_input', 'bool', False,
        'Subscribe to image/compressed (sensor_msgs/CompressedImage) instead of image.',
        read_only=True),
    ParamSpec(
        'labels', 'string_array', (),
        'Class names in id order, set by the node from the loaded model.',
        read_only=True, constraints='Set by the node; cannot be set from outside.'),
    ParamSpec(
        'autostart', 'bool', True,
        'Configure and activate at start-up, without a lifecycle manager; false leaves the node '
        'unconfigured until a lifecycle manager drives it through ~/change_state.',
        read_only=True),
    ParamSpec(
        'max_latency_ms', 'double', 100.0,
        'Diagnostics warn when the end-to-end latency exceeds this many milliseconds.',
        range=(1.0, 10000.0)),
    ParamSpec(
        'max_drop_rate', 'double', 0.5,
        'Diagnostics warn when the fraction of dropped frames exceeds this.',
        range=(0.0, 1.0)),
)
"""Parameters of the node alone; the engine's options (``engine/options.py``) come first."""

PARAMS: tuple[ParamSpec, ...] = (*OPTIONS, *NODE_PARAMS)
_SPECS: dict[str, ParamSpec] = {spec.name: spec for spec in PARAMS}
FROM_MODEL = frozenset({'labels'})
"""Parameters the node fills from the model: overrides from launch or YAML are ignored."""


def get_spec(name: str) -> ParamSpec:
    """Return the spec of parameter ``name``.

    Raises:
        KeyError: ``name`` is not a parameter of the node.
    """
    try:
        return _SPECS[name]
    except KeyError:
        raise KeyError(f'unknown parameter {name!r}; known: {", ".join(_SPECS)}') from None


# ---------------------------------------------------------------------------------------------
# Pure checks


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_number(value: Any) -> bool:
    return _is_int(value) or isinstance(value, (float, np.floating))


def _is_sequence(value: Any) -> bool:
    # rclpy hands integer arrays over as array.array('q').
    return isinstance(value, (list, tuple, array.array)) or (
        isinstance(value, np.ndarray) and value.ndim == 1)


def _shown(value: Any) -> str:
    return repr(list(value)) if _is_sequence(value) else repr(value)


def _check_type(spec: ParamSpec, value: Any) -> str | None:
    kind = spec.kind
    if kind == 'bool':
        ok = isinstance(value, (bool, np.bool_))
    elif kind == 'integer':
        ok = _is_int(value)
    elif kind == 'double':
        ok = _is_number(value) and not isinstance(value, (bool, np.bool_))
    elif kind == 'string':
        ok = isinstance(value, str)
    elif kind == 'integer_array':
        ok = _is_sequence(value) and all(_is_int(v) for v in value)
    else:
        ok = _is_sequence(value) and all(isinstance(v, str) for v in value)
    if ok:
        return None
    wanted = {'bool': 'a bool', 'integer': 'an integer', 'double': 'a number',
              'string': 'a string', 'integer_array': 'a list of integers',
              'string_array': 'a list of strings'}[kind]
    return f'{spec.name} must be {wanted}, got {_shown(value)}'


def check_type(name: str, value: Any) -> str | None:
    """Check only that ``value`` has the type of parameter ``name`` (None = fine or unknown)."""
    spec = _SPECS.get(name)
    return None if spec is None else _check_type(spec, value)


def _check_background_image(value: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> str | None:
    """Check a background image from its header only: it is decoded when applied."""
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        return f'background_image {value!r} does not exist or is not a file'
    try:
        width, height = image_file_size(path, f'background_image {value!r}')
        check_pixels(width, height, max_pixels, f'background_image {value!r}')
    except ImageTooLargeError as err:
        return f'{err} (parameter max_pixels)'
    except ValueError as err:
        return str(err)
    return None


def _check_cache_dir(value: str) -> str | None:
    if value and Path(value).expanduser().exists() and not Path(value).expanduser().is_dir():
        return f'model_cache_dir {value!r} exists and is not a directory'
    return None


def _wrap(name: str, parse: Callable[[Any], Any]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        try:
            parse(value)
        except ValueError as err:
            return f'{name}: {err}'
        return None
    return check


def validate(name: str, value: Any, *, available_devices: Sequence[str] = (),
             labels: Sequence[str] = (), max_pixels: int = DEFAULT_MAX_PIXELS) -> str | None:
    """Check a value for a node parameter; pure (reads files only to check paths).

    Args:
        name: Parameter name; names not in :data:`PARAMS` (e.g. ``use_sim_time``) are not
            judged here and pass.
        value: The value, as rclpy hands it over (lists, ``array.array``) or plain Python.
        available_devices: OpenVINO's available devices; empty = unknown, so ``device`` is only
            checked for its form.
        labels: The model's class names; empty = unknown, so ``foreground_classes`` names are
            not checked (ids still are well-formed).
        max_pixels: The pixel limit ``background_image`` is checked against.

    Returns:
        None if the value is acceptable, else the reason.
    """
    spec = _SPECS.get(name)
    if spec is None:
        return None
    reason = _check_type(spec, value)
    if reason is not None:
        return reason
    if spec.kind in ('integer', 'double') or spec.choices:
        reason = check_limits(spec, value)
        if reason or spec.kind != 'string':
            return reason
    if name == 'device':
        if available_devices:
            return valid_device(value, available_devices)
        try:
            device_names(value.strip())
        except ValueError as err:
            return str(err)
        return None
    checks: dict[str, Callable[[Any], str | None]] = {
        'model': check_model_reference,
        'background_image': lambda path: _check_background_image(path, max_pixels),
        'model_cache_dir': _check_cache_dir,
        'background_color': _wrap(name, parse_rgb),
        'foreground_classes': _wrap(
            name, lambda values: resolve_classes(values, labels)),
    }
    check = checks.get(name)
    return check(value) if check is not None else None


# ---------------------------------------------------------------------------------------------
# ROS side


def _ros_type(kind: ParamKind) -> Any:
    from rclpy.parameter import Parameter

    return {
        'bool': Parameter.Type.BOOL, 'integer': Parameter.Type.INTEGER,
        'double': Parameter.Type.DOUBLE, 'string': Parameter.Type.STRING,
        'integer_array': Parameter.Type.INTEGER_ARRAY,
        'string_array': Parameter.Type.STRING_ARRAY,
    }[kind]


def descriptor(spec: ParamSpec) -> ParameterDescriptor:
    """Build the ROS descriptor of a parameter.

    Returns:
        Description, ``read_only``, static type, ``IntegerRange`` / ``FloatingPointRange`` for
        numbers (rclpy then rejects out-of-range values itself) and the choices or constraints
        as ``additional_constraints``.
    """
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

    result = ParameterDescriptor(
        name=spec.name, type=_ros_type(spec.kind).value, description=spec.description,
        additional_constraints=spec.constraints_text, read_only=spec.read_only,
        dynamic_typing=False)
    if spec.range is not None and spec.kind == 'integer':
        low, high = (int(v) for v in spec.range)
        result.integer_range = [IntegerRange(from_value=low, to_value=high, step=0)]
    elif spec.range is not None and spec.kind == 'double':
        low, high = (float(v) for v in spec.range)
        result.floating_point_range = [FloatingPointRange(from_value=low, to_value=high, step=0.0)]
    return result


def declare_all(node: Node) -> None:
    """Declare every parameter of :data:`PARAMS` on ``node``, with its descriptor.

    Overrides (launch, YAML) apply, except for :data:`FROM_MODEL` parameters. Empty array
    defaults are declared with their type and then set to a typed empty array, because rclpy
    types a bare ``[]`` as a byte array. Call it before adding on-set callbacks: setting those
    empty arrays goes through them.

    It also adds :func:`retype_values` as a pre-set callback (rclpy >= Jazzy), so that ``[]``
    sent from outside clears a string array and ``1`` sets a double to 1.0. rclpy concatenates
    what every pre-set callback returns: a node that adds another must have it return only the
    parameters it adds.
    """
    from rclpy.parameter import Parameter

    add_pre_set = getattr(node, 'add_pre_set_parameters_callback', None)
    if add_pre_set is not None:
        add_pre_set(retype_values)
    for spec in PARAMS:
        ignore_override = spec.name in FROM_MODEL
        if _is_sequence(spec.default) and not spec.default:
            declared = node.declare_parameter(
                spec.name, _ros_type(spec.kind), descriptor(spec),
                ignore_override=ignore_override)
            if declared.type_ == Parameter.Type.NOT_SET:
                update_read_only(node, spec.name, [])
        else:
            default = list(spec.default) if isinstance(spec.default, tuple) else spec.default
            node.declare_parameter(
                spec.name, default, descriptor(spec), ignore_override=ignore_override)


def retype_values(parameters: list[Parameter]) -> list[Parameter]:
    """Give values without a usable type the type of the parameter they are set on.

    A bare ``[]`` carries no element type (rclpy's ``Parameter(name, value=[])`` makes it a byte
    array, ``ros2 param set`` a bool array) and ``ros2 param set ... 1`` sends an integer; static
    typing would refuse them on our array and double parameters.

    Returns:
        ``parameters``, with empty arrays retyped to the parameter's array type and integers on
        double parameters turned into floats.
    """
    from rclpy.parameter import Parameter

    arrays = (Parameter.Type.BYTE_ARRAY, Parameter.Type.BOOL_ARRAY, Parameter.Type.INTEGER_ARRAY,
              Parameter.Type.DOUBLE_ARRAY, Parameter.Type.STRING_ARRAY)
    result = []
    for parameter in parameters:
        spec = _SPECS.get(parameter.name)
        if spec is None:
            pass
        elif (spec.kind.endswith('_array') and parameter.type_ in arrays
                and len(parameter.value) == 0):
            parameter = Parameter(parameter.name, _ros_type(spec.kind), [])
        elif spec.kind == 'double' and parameter.type_ == Parameter.Type.INTEGER:
            parameter = Parameter(parameter.name, Parameter.Type.DOUBLE, float(parameter.value))
        result.append(parameter)
    return result


def update_read_only(node: Node, name: str, value: Any) -> None:
    """Set a parameter from inside the node, read-only or not (e.g. ``labels`` after a load).

    rclpy has no public call for this: ``set_parameters`` refuses read-only parameters, and
    ``undeclare_parameter`` and ``set_descriptor`` raise for them. ``describe_parameter`` returns
    the node's own descriptor, so read-only is lifted for this one call and restored at once.
    The set goes through the node's on-set callbacks and publishes a parameter event like any
    other. Call it from the node's executor thread, so no outside request lands in between.

    Raises:
        ValueError: rclpy or an on-set callback rejected the value.
    """
    from rclpy.parameter import Parameter

    current = node.describe_parameter(name)
    if isinstance(value, (tuple, array.array)):
        value = list(value)
    try:
        parameter = Parameter(name, Parameter.Type(current.type), value)
    except (TypeError, ValueError) as err:
        raise ValueError(f'cannot set {name} to {value!r}: {err}') from err
    read_only = current.read_only
    current.read_only = False
    try:
        result = node.set_parameters([parameter])[0]
    finally:
        current.read_only = read_only
    if not result.successful:
        raise ValueError(f'cannot set {name} to {value!r}: {result.reason}')


# ---------------------------------------------------------------------------------------------
# Documentation

README_TABLE_START = '<!-- parameter table: generated from selfie_seg_ros/ros/params.py -->'
README_TABLE_END = '<!-- end of parameter table -->'


def _shown_default(value: ParamValue) -> str:
    return repr(list(value)) if isinstance(value, tuple) else repr(value)


def markdown_table(specs: Sequence[ParamSpec] = PARAMS) -> str:
    """The README's parameter table: name, type, default, live or read-only, meaning, limits."""
    rows = ['| name | type | default | live | meaning |', '| --- | --- | --- | --- | --- |']
    for spec in specs:
        meaning = ' '.join(part for part in (spec.description, spec.limits_text) if part)
        rows.append(f'| `{spec.name}` | {spec.kind.replace("_", " ")} | '
                    f'`{_shown_default(spec.default)}` | '
                    f'{"read-only" if spec.read_only else "live"} | {meaning} |')
    return '\n'.join(rows)


def with_markdown_table(readme: str) -> str:
    """``readme`` with the text between the table markers replaced by :func:`markdown_table`.

    Raises:
        ValueError: the markers are missing.
    """
    start, end = readme.find(README_TABLE_START), readme.find(README_TABLE_END)
    if start < 0 or end < start:
        raise ValueError(f'README needs the lines {README_TABLE_START} and {README_TABLE_END}')
    head = readme[:start + len(README_TABLE_START)]
    return f'{head}\n{markdown_table()}\n{readme[end:]}'
