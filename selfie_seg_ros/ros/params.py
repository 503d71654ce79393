# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Parameters of the ``selfie_seg`` node: specs, ROS descriptors and pure validation.

The pure checks (:func:`validate`; colours in ``effects.py``, device strings in ``devices.py``,
class names and model references in ``catalog.py``) import no ROS package, so the CLI can share
them; rclpy is imported only by the functions that take a node.
"""

from __future__ import annotations

import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import cv2
import numpy as np

from selfie_seg_ros.engine.catalog import (
    CATALOG,
    DEFAULT_MODEL,
    check_model_reference,
    resolve_classes,
)
from selfie_seg_ros.engine.compression import (
    DEFAULT_JPEG_QUALITY,
    MAX_JPEG_QUALITY,
    MIN_JPEG_QUALITY,
)
from selfie_seg_ros.engine.devices import DEVICE_FORMS, device_names, valid_device
from selfie_seg_ros.engine.effects import EFFECTS, MIN_ANONYMISING_STRENGTH, parse_rgb

if TYPE_CHECKING:
    from rcl_interfaces.msg import ParameterDescriptor
    from rclpy.node import Node
    from rclpy.parameter import Parameter

ParamKind = Literal['bool', 'integer', 'double', 'string', 'integer_array', 'string_array']
ParamValue = bool | int | float | str | tuple[int, ...] | tuple[str, ...]

RESIZE_MODES = ('auto', 'letterbox', 'stretch')
PERFORMANCE_HINTS = ('LATENCY', 'THROUGHPUT')
PRECISIONS = ('auto', 'f32', 'f16', 'bf16')



@dataclass(frozen=True)
class ParamSpec:
    """One node parameter: name, ROS type, default, and the limits that validation enforces."""

    name: str
    kind: ParamKind
    default: ParamValue
    description: str
    read_only: bool = False
    """True when a change cannot be applied while running (set at start-up only)."""
    range: tuple[int, int] | tuple[float, float] | None = None
    """Inclusive bounds for integer and double parameters."""
    choices: tuple[str, ...] = ()
    constraints: str = ''
    """Extra text for the descriptor's ``additional_constraints``."""

    @property
    def constraints_text(self) -> str:
        """``additional_constraints`` of the descriptor: the choices, else ``constraints``."""
        if self.choices:
            return f'One of: {", ".join(self.choices)}.'
        return self.constraints


PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec(
        'model', 'string', DEFAULT_MODEL,
        'Segmentation model: a catalogue id or a path to a .tflite, .xml (OpenVINO IR) or .onnx '
        'file. A change reloads the model.',
        constraints=f'Catalogue ids: {", ".join(CATALOG)}; or a model file path.'),
    ParamSpec(
        'model_labels', 'string_array', (),
        'Class names in id order for a model file outside the catalogue; empty = the catalogue '
        'labels, or class_<i>. A change reloads the model.',
        constraints='One name per output class of the model.'),
    ParamSpec(
        'device', 'string', 'CPU',
        'OpenVINO device that runs the model. A change recompiles the model.',
        constraints=f'Forms: {DEVICE_FORMS}; every named device must be available.'),
    ParamSpec(
        'performance_hint', 'string', 'LATENCY',
        'OpenVINO performance hint: LATENCY (one frame at a time) or THROUGHPUT.',
        read_only=True, choices=PERFORMANCE_HINTS),
    ParamSpec(
        'precision', 'string', 'auto',
        'OpenVINO inference precision: auto (f32 on CPU, which gives the same masks as '
        "MediaPipe's own runtime; the device's default elsewhere), f32, f16 or bf16. A change "
        'recompiles the model.',
        choices=PRECISIONS),
    ParamSpec(
        'effect', 'string', 'blur',
        'Effect on the output image: blur the background, replace it (background_color or '
        'background_image), or none; blur_people / pixelate_people hide the people instead '
        '(anonymising).',
        choices=EFFECTS),
    ParamSpec(
        'blur_strength', 'integer', 55,
        'Blur: kernel size in pixels of the equivalent full-resolution Gaussian; tile size in '
        f'pixels for pixelate_people. Anonymising effects need at least '
        f'{MIN_ANONYMISING_STRENGTH}.',
        range=(1, 301)),
    ParamSpec(
        'background_color', 'integer_array', (0, 177, 64),
        'Background colour for effect replace, as [R, G, B].',
        constraints='3 integers [R, G, B], each 0..255.'),
    ParamSpec(
        'background_image', 'string', '',
        'Image file for effect replace; empty uses background_color.',
        constraints='Empty, or a path to an image file OpenCV can read.'),
    ParamSpec(
        'overlay_alpha', 'double', 0.5,
        'Opacity of the class colours in the overlay image (0 = input only, 1 = colours only).',
        range=(0.0, 1.0)),
    ParamSpec(
        'jpeg_quality', 'integer', DEFAULT_JPEG_QUALITY,
        'JPEG quality of the ~/overlay, ~/blurred and ~/mask_color /compressed topics '
        '(~/mask/compressed is lossless PNG).',
        range=(MIN_JPEG_QUALITY, MAX_JPEG_QUALITY)),
    ParamSpec(
        'foreground_classes', 'string_array', (),
        'Classes kept as foreground, by name or id, e.g. [hair, face-skin] or ["1"]; empty = '
        'every class but background.',
        constraints='Names from the labels parameter, or class ids as strings.'),
    ParamSpec(
        'threshold', 'double', 0.5,
        'Foreground probability threshold of binary (person vs background) models.',
        range=(0.0, 1.0)),
    ParamSpec(
        'resize_mode', 'string', 'auto',
        'How frames are fitted to the model input: auto (the model default), letterbox (keep '
        'the aspect ratio, pad) or stretch.',
        choices=RESIZE_MODES),
    ParamSpec(
        'smoothing', 'double', 0.0,
        "Temporal smoothing: weight of the previous frame's mask (0 = none).",
        range=(0.0, 0.95)),
    ParamSpec(
        'max_people', 'integer', 6,
        'Most people segmented per frame by multi-person models (pose_segmentation).',
        range=(1, 32)),
    ParamSpec(
        'redetect_interval', 'integer', 10,
        'Multi-person models follow people between frames and search the whole frame for new '
        'people every this many frames (sooner when a person is lost).',
        range=(1, 1000)),
    ParamSpec(
        'detection_levels', 'integer', 3,
        'Where a search for people runs the person detector: 1 = whole frame only, 2 = also '
        'tiles of the short side, 3 = also smaller tiles (people far away).',
        range=(1, 3)),
    ParamSpec(
        'compressed_input', 'bool', False,
        'Subscribe to image/compressed (sensor_msgs/CompressedImage) instead of image.',
        read_only=True),
    ParamSpec(
        'model_cache_dir', 'string', '',
        'Directory for downloaded and converted models; empty = the default cache directory.',
        read_only=True),
    ParamSpec(
        'allow_download', 'bool', True,
        'Allow downloading model weights; when false only cached or local files are used.'),
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


def _check_range(spec: ParamSpec, value: float) -> str | None:
    if spec.range is None:
        return None
    low, high = spec.range
    if not low <= value <= high:  # also false for NaN
        return f'{spec.name} must be in {low}..{high}, got {value!r}'
    return None


def _check_background_image(value: str) -> str | None:
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        return f'background_image {value!r} does not exist or is not a file'
    if cv2.imread(str(path), cv2.IMREAD_COLOR) is None:
        return f'background_image {value!r} is not an image OpenCV can read'
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
             labels: Sequence[str] = ()) -> str | None:
    """Check a value for a node parameter; pure (reads files only to check paths).

    Args:
        name: Parameter name; names not in :data:`PARAMS` (e.g. ``use_sim_time``) are not
            judged here and pass.
        value: The value, as rclpy hands it over (lists, ``array.array``) or plain Python.
        available_devices: OpenVINO's available devices; empty = unknown, so ``device`` is only
            checked for its form.
        labels: The model's class names; empty = unknown, so ``foreground_classes`` names are
            not checked (ids still are well-formed).

    Returns:
        None if the value is acceptable, else the reason.
    """
    spec = _SPECS.get(name)
    if spec is None:
        return None
    reason = _check_type(spec, value)
    if reason is not None:
        return reason
    if spec.kind in ('integer', 'double'):
        return _check_range(spec, float(value))
    if spec.choices and value not in spec.choices:
        return f'{name} must be one of {", ".join(spec.choices)}; got {value!r}'
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
        'background_image': _check_background_image,
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
