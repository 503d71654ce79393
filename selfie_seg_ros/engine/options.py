# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""The one definition of every engine option: name, type, default, limits, description.

The ROS parameter descriptors (``ros/params.py``), the ``selfie-seg`` command-line options
(``cli/app.py``), the README's parameter table and the engine's own checks
(:class:`~selfie_seg_ros.engine.segmenter.SegmenterOptions`,
:class:`~selfie_seg_ros.engine.effects.EffectOptions`) are all derived from :data:`OPTIONS`, so a
range or a choice is written once. Pure: no ROS, no OpenVINO.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from selfie_seg_ros.engine.catalog import CATALOG, DEFAULT_MODEL
from selfie_seg_ros.engine.compression import (
    DEFAULT_JPEG_QUALITY,
    MAX_JPEG_QUALITY,
    MIN_JPEG_QUALITY,
)
from selfie_seg_ros.engine.devices import DEVICE_FORMS
from selfie_seg_ros.engine.effects import (
    EFFECTS,
    MAX_BLUR_STRENGTH,
    MIN_ANONYMISING_STRENGTH,
    MIN_BLUR_STRENGTH,
)
from selfie_seg_ros.engine.limits import DEFAULT_MAX_PIXELS, MAX_PIXELS_CEILING
from selfie_seg_ros.engine.processing import ResizeMode

Kind = Literal['bool', 'integer', 'double', 'string', 'integer_array', 'string_array']
Value = bool | int | float | str | tuple[int, ...] | tuple[str, ...]
PerformanceHint = Literal['LATENCY', 'THROUGHPUT']
Precision = Literal['auto', 'f32', 'f16', 'bf16']

MAX_PEOPLE_LIMIT = 32
MAX_REDETECT_INTERVAL = 1000
MIN_DETECTION_THRESHOLD = 0.1

RESIZE_MODES: tuple[str, ...] = ('auto', *get_args(ResizeMode))
PERFORMANCE_HINTS: tuple[str, ...] = get_args(PerformanceHint)
PRECISIONS: tuple[str, ...] = get_args(Precision)


@dataclass(frozen=True)
class OptionSpec:
    """One option: the same name on the node (parameter) and in the engine (field)."""

    name: str
    kind: Kind
    default: Value
    description: str
    read_only: bool = False
    """True when a change cannot be applied while running (set at start-up only)."""
    range: tuple[int, int] | tuple[float, float] | None = None
    """Inclusive bounds for integer and double options."""
    choices: tuple[str, ...] = ()
    constraints: str = ''
    """Extra text for the ROS descriptor's ``additional_constraints``."""
    cli_flag: str | None = None
    """The ``selfie-seg`` option, e.g. ``--hint``; None when the command line has none."""
    cli_default: Value | None = None
    """The command line's default where it differs (None = ``default``)."""

    @property
    def constraints_text(self) -> str:
        """``additional_constraints`` of the descriptor: the choices, else ``constraints``."""
        if self.choices:
            return f'One of: {", ".join(self.choices)}.'
        return self.constraints

    @property
    def limits_text(self) -> str:
        """The range or the choices in words ('' when there are none)."""
        if self.range is not None:
            return f'Range {self.range[0]}..{self.range[1]}.'
        if self.choices:
            return f'One of {", ".join(f"`{c}`" for c in self.choices)}.'
        return ''


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        'model', 'string', DEFAULT_MODEL,
        'Segmentation model: a catalogue id or a path to a .tflite, .xml (OpenVINO IR) or .onnx '
        'file. A change reloads the model.',
        constraints=f'Catalogue ids: {", ".join(CATALOG)}; or a model file path.',
        cli_flag='--model'),
    OptionSpec(
        'model_labels', 'string_array', (),
        'Class names in id order for a model file outside the catalogue; empty = the catalogue '
        'labels, or class_<i>. A change reloads the model.',
        constraints='One name per output class of the model.', cli_flag='--labels'),
    OptionSpec(
        'device', 'string', 'CPU',
        'OpenVINO device that runs the model. A change recompiles the model.',
        constraints=f'Forms: {DEVICE_FORMS}; every named device must be available.',
        cli_flag='--device'),
    OptionSpec(
        'performance_hint', 'string', 'LATENCY',
        'OpenVINO performance hint: LATENCY (one frame at a time) or THROUGHPUT.',
        read_only=True, choices=PERFORMANCE_HINTS, cli_flag='--hint'),
    OptionSpec(
        'precision', 'string', 'auto',
        'OpenVINO inference precision: auto (f32 on CPU, which gives the same masks as '
        "MediaPipe's own runtime; the device's default elsewhere), f32, f16 or bf16. A change "
        'recompiles the model.',
        choices=PRECISIONS, cli_flag='--precision'),
    OptionSpec(
        'effect', 'string', 'blur',
        'Effect on the output image: blur the background, replace it (background_color or '
        'background_image), or none; blur_people / pixelate_people hide the people instead '
        '(anonymising).',
        choices=EFFECTS, cli_flag='--effect'),
    OptionSpec(
        'blur_strength', 'integer', 55,
        'Blur: kernel size in pixels of the equivalent full-resolution Gaussian; tile size in '
        f'pixels for pixelate_people. Anonymising effects need at least '
        f'{MIN_ANONYMISING_STRENGTH}.',
        range=(MIN_BLUR_STRENGTH, MAX_BLUR_STRENGTH), cli_flag='--blur-strength'),
    OptionSpec(
        'background_color', 'integer_array', (0, 177, 64),
        'Background colour for effect replace, as [R, G, B].',
        constraints='3 integers [R, G, B], each 0..255.', cli_flag='--background-color'),
    OptionSpec(
        'background_image', 'string', '',
        'Image file for effect replace; empty uses background_color.',
        constraints='Empty, or a path to an image file OpenCV can read.',
        cli_flag='--background-image'),
    OptionSpec(
        'max_pixels', 'integer', DEFAULT_MAX_PIXELS,
        'Largest image accepted, in pixels (width x height): larger input images and frames '
        'and background images are refused from their header, before decoding (counted as '
        'oversized by the node). The default admits 8192x8192.',
        range=(1, MAX_PIXELS_CEILING), cli_flag='--max-pixels'),
    OptionSpec(
        'overlay_alpha', 'double', 0.5,
        'Opacity of the class colours in the overlay image (0 = input only, 1 = colours only).',
        range=(0.0, 1.0), cli_flag='--overlay-alpha'),
    OptionSpec(
        'jpeg_quality', 'integer', DEFAULT_JPEG_QUALITY,
        'JPEG quality of the ~/overlay, ~/blurred and ~/mask_color /compressed topics '
        '(~/mask/compressed and ~/instances/compressed are lossless PNG).',
        range=(MIN_JPEG_QUALITY, MAX_JPEG_QUALITY), cli_flag='--jpeg-quality'),
    OptionSpec(
        'foreground_classes', 'string_array', (),
        'Classes kept as foreground, by name or id, e.g. [hair, face-skin] or ["1"]; empty = '
        'every class but background.',
        constraints='Names from the labels parameter, or class ids as strings.',
        cli_flag='--classes'),
    OptionSpec(
        'threshold', 'double', 0.5,
        'Foreground probability threshold of binary (person vs background) models.',
        range=(0.0, 1.0), cli_flag='--threshold'),
    OptionSpec(
        'resize_mode', 'string', 'auto',
        'How frames are fitted to the model input: auto (the model default), letterbox (keep '
        'the aspect ratio, pad) or stretch.',
        choices=RESIZE_MODES, cli_flag='--resize-mode'),
    OptionSpec(
        'smoothing', 'double', 0.0,
        "Temporal smoothing: weight of the previous frame's mask (0 = none).",
        range=(0.0, 0.95), cli_flag='--smoothing'),
    OptionSpec(
        'max_people', 'integer', 6,
        'Most people segmented per frame by multi-person models (pose_segmentation).',
        range=(1, MAX_PEOPLE_LIMIT), cli_flag='--max-people'),
    OptionSpec(
        'redetect_interval', 'integer', 10,
        'Multi-person models follow people between frames and search the whole frame and its '
        'tiles for new people once every this many frames, spread over those frames (the whole '
        'frame sooner when a person is lost).',
        range=(1, MAX_REDETECT_INTERVAL)),
    OptionSpec(
        'detection_levels', 'integer', 3,
        'Where a search for people runs the person detector: 1 = whole frame only, 2 = also '
        'tiles of the short side, 3 = also smaller tiles (people far away).',
        range=(1, 3)),
    OptionSpec(
        'detection_threshold', 'double', 0.5,
        "Multi-person models: the person detector's score a person needs to be found (0.5 is "
        "MediaPipe Pose's min_detection_confidence). Lower finds people the detector is less "
        'sure of (partly hidden, far away) at the risk of false detections. On tiles '
        '(detection_levels 2-3) a score of at least 0.7 is needed in any case.',
        range=(MIN_DETECTION_THRESHOLD, 1.0), cli_flag='--detection-threshold'),
    OptionSpec(
        'model_cache_dir', 'string', '',
        'Directory for downloaded and converted models; empty = the default cache directory.',
        read_only=True, cli_flag='--cache-dir'),
    OptionSpec(
        'allow_download', 'bool', True,
        'Allow downloading model weights; when false only cached or local files are used.',
        cli_flag='--no-download'),
)

_BY_NAME = {spec.name: spec for spec in OPTIONS}


def get_option(name: str) -> OptionSpec:
    """The definition of option ``name``.

    Raises:
        KeyError: no such option.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f'unknown option {name!r}; known: {", ".join(_BY_NAME)}') from None


def check_limits(spec: OptionSpec, value: Any) -> str | None:
    """Check a value of the right type against the spec's range or choices.

    Returns:
        None when it is within them, else the reason (naming the option).
    """
    if spec.range is not None:
        low, high = spec.range
        if not low <= float(value) <= high:  # also false for NaN
            return f'{spec.name} must be in {low}..{high}, got {value!r}'
    elif spec.choices and value not in spec.choices:
        return f'{spec.name} must be one of {", ".join(spec.choices)}; got {value!r}'
    return None


def require(name: str, value: Any) -> None:
    """Raise ValueError unless ``value`` is within option ``name``'s range or choices."""
    reason = check_limits(get_option(name), value)
    if reason:
        raise ValueError(reason)
