# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Engine: a segmentation model compiled with OpenVINO: frame in, class mask and foreground out."""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import openvino as ov
from openvino.preprocess import ColorFormat, PrePostProcessor

from selfie_seg_ros.engine.catalog import (
    CATALOG,
    DEFAULT_MODEL,
    UNIT_RANGE,
    Activation,
    ModelEntry,
    Normalization,
    default_labels,
    is_model_path,
    resolve_classes,
)
from selfie_seg_ros.engine.convert import discard_ir, load_ir, source_damage
from selfie_seg_ros.engine.devices import valid_device
from selfie_seg_ros.engine.errors import (
    DeviceError,
    ModelLoadError,
    SegmenterClosedError,
    UnknownModelError,
)
from selfie_seg_ros.engine.fetch import default_cache_dir, fetch_model
from selfie_seg_ros.engine.limits import DEFAULT_MAX_PIXELS, check_max_pixels, check_pixels
from selfie_seg_ros.engine.metadata import MetadataError, ModelMetadata, read_metadata
from selfie_seg_ros.engine.model_pool import ModelPool
from selfie_seg_ros.engine.options import (
    PerformanceHint,
    Precision,
    require,
)
from selfie_seg_ros.engine.processing import (
    ResizeMode,
    TemporalSmoother,
    class_mask,
    foreground_probability,
    resize_to_model,
    restore_size,
    to_probabilities,
)
from selfie_seg_ros.engine.recurrence import PreviousMask

_COMPILED_CACHE_DEVICES = ('GPU', 'NPU')
_LOG = logging.getLogger(__name__)
# OpenVINO's converter sets the root logger to ERROR; cache repairs must still be reported.
_LOG.setLevel(logging.INFO)


@dataclass(frozen=True)
class SegmenterOptions:
    """How a Segmenter is built (model, device) and how it post-processes (the rest).

    Attributes:
        model: catalogue id (see ``selfie-seg models``) or a path to .tflite, .onnx or .xml.
        device: OpenVINO device string: CPU, GPU, GPU.1, NPU, AUTO, HETERO:GPU,CPU, MULTI:...
        performance_hint: LATENCY (one frame at a time) or THROUGHPUT.
        precision: inference precision hint. 'auto' = f32 on CPU (the same masks as MediaPipe's
            own runtime, on every CPU: OpenVINO would pick bf16 on CPUs that have it), the
            device's own default elsewhere (f16 on GPU and NPU).
        resize_mode: 'auto' (the catalogue entry's default), 'letterbox' or 'stretch'.
        threshold: foreground threshold of single-channel (binary) models.
        foreground_classes: classes that count as foreground, as ids or as label names
            (``'hair'``, ``'face-skin'``; resolved against the model's labels when it is
            built); None = the catalogue's choice, else every class but 0.
        labels: class names for models outside the catalogue; None = from the catalogue or
            ``class_<i>``.
        smoothing: temporal smoothing weight of earlier frames in [0, 1); 0 = off.
        max_pixels: largest image (width x height) ``segment`` accepts; larger ones are refused
            with ImageTooLargeError before any work.
        cache_dir: model and IR cache; None = ``default_cache_dir()``.
        allow_download: fetch missing catalogue weights.
        progress: show download progress bars.
        max_people: most people segmented per frame by multi-person pipelines
            (pose_segmentation); single-frame models ignore it.
        redetect_interval: multi-person pipelines on video follow people from frame to frame
            and search the frame for people once every this many frames (1 = every frame),
            spread over those frames; the first frame after a reset is searched at once, and
            the detector also runs on the whole frame when a person is lost or nobody is
            followed.
        detection_levels: where a search runs the person detector: 1 = the whole frame only
            (as MediaPipe), 2 = also tiles of the frame's short side, 3 = also tiles of two
            thirds of it (finds people down to about a seventh of the frame height).
        detection_threshold: the person detector's score a person needs to be found by
            multi-person pipelines (0.5 = MediaPipe Pose's min_detection_confidence).
    """

    model: str = DEFAULT_MODEL
    device: str = 'CPU'
    performance_hint: PerformanceHint = 'LATENCY'
    precision: Precision = 'auto'
    resize_mode: Literal['auto', 'letterbox', 'stretch'] = 'auto'
    threshold: float = 0.5
    foreground_classes: tuple[int, ...] | tuple[str, ...] | None = None
    labels: tuple[str, ...] | None = None
    smoothing: float = 0.0
    max_pixels: int = DEFAULT_MAX_PIXELS
    cache_dir: Path | None = None
    allow_download: bool = True
    progress: bool = True

    def __post_init__(self) -> None:
        """Check the options that have a range or choices (``engine/options.py``).

        Raises:
            ValueError: naming the option and its limits.
        """
        for name in ('performance_hint', 'precision', 'resize_mode', 'threshold', 'smoothing',
                     'max_people', 'redetect_interval', 'detection_levels',
                     'detection_threshold'):
            require(name, getattr(self, name))
    max_people: int = 6
    redetect_interval: int = 10
    detection_levels: int = 3
    detection_threshold: float = 0.5


LIVE_OPTIONS = frozenset(
    {'threshold', 'foreground_classes', 'resize_mode', 'smoothing', 'max_people',
     'redetect_interval', 'detection_levels', 'detection_threshold', 'max_pixels'}
)
"""Options ``Segmenter.configure`` changes between frames; the rest need a new Segmenter."""


@dataclass
class Segmentation:
    """One frame's result, at the input image's size."""

    mask: np.ndarray
    """uint8 HxW class ids (0 = background)."""
    foreground: np.ndarray | None
    """float32 HxW probability of the foreground classes, in [0, 1] (None when not requested)."""
    inference_ms: float = 0.0
    """Time spent in the compiled model."""
    timings: dict[str, float] = field(default_factory=dict)
    instances: np.ndarray | None = None
    """uint8 HxW person ids (0 = background, k = k-th person) from multi-person pipelines."""


def _local_entry(path: Path, labels: tuple[str, ...] | None) -> ModelEntry:
    return ModelEntry(
        model_id=path.stem,
        description=f'local model {path}',
        source=None,
        labels=labels or (),
        normalization=UNIT_RANGE,
        activation='auto',
        resize_mode='letterbox',
        foreground_classes=(),
        verified=False,
    )


def resolve_model(options: SegmenterOptions) -> tuple[ModelEntry, Path]:
    """Find the catalogue entry (or a local stand-in) and the model file for ``options.model``.

    Raises:
        UnknownModelError: unknown catalogue id. FetchError: weights cannot be fetched.
        ModelLoadError: a local path that does not exist.
    """
    if is_model_path(options.model):
        path = Path(options.model.strip()).expanduser()
        if not path.is_file():
            raise ModelLoadError(
                f'model file not found: {path}. Pass a catalogue id (selfie-seg models) or an '
                'existing .tflite, .onnx or .xml file.'
            )
        return _local_entry(path, options.labels), path
    if options.model not in CATALOG:
        known = ', '.join(CATALOG)
        raise UnknownModelError(
            f'unknown model {options.model!r}: not a file and not a catalogue id ({known})'
        )
    entry = CATALOG[options.model]
    path = fetch_model(
        entry, options.cache_dir, allow_download=options.allow_download, progress=options.progress
    )
    return entry, path


_SOURCE_LOCATION = re.compile(r'^(Exception from|Check .* failed at) .*:\d+:?$')


def openvino_reason(error: BaseException) -> str:
    """The reason in an OpenVINO exception, without its source-file location lines."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    reasons = [line for line in lines if not _SOURCE_LOCATION.match(line)]
    return reasons[-1] if reasons else (lines[-1] if lines else type(error).__name__)


def model_metadata(path: Path) -> ModelMetadata:
    """Labels and normalisation from a .tflite file's metadata (empty for other files).

    Raises:
        ModelLoadError: the metadata is malformed.
    """
    try:
        return read_metadata(path)
    except MetadataError as error:
        raise ModelLoadError(
            f'{path}: {error}. Pass the labels explicitly, or fix the model metadata.'
        ) from error


def with_metadata(entry: ModelEntry, metadata: ModelMetadata) -> ModelEntry:
    """The entry with the normalisation the model file declares, if it declares one."""
    if metadata.normalization is None:
        return entry
    return replace(entry, normalization=metadata.normalization)


def choose_labels(
    explicit: Sequence[str] | None,
    metadata: Sequence[str],
    catalogue: Sequence[str],
    num_classes: int,
    channels_out: int,
) -> tuple[str, ...]:
    """Class names: explicit ones win, then the catalogue's (the names its documentation and
    users' ``foreground_classes`` use), the model's metadata, ``class_<i>``.

    Metadata labels that do not fit the model's class count are passed over.
    """
    if explicit:
        return tuple(explicit)
    if catalogue:
        return tuple(catalogue)
    if metadata and len(metadata) == num_classes:
        return tuple(metadata)
    return default_labels(channels_out)


def check_device(device: str, available: Sequence[str]) -> None:
    """Raise DeviceError unless every device that ``device`` names is available."""
    reason = valid_device(device, available)
    if reason:
        raise DeviceError(reason)


def precision_hint(device: str, precision: str) -> str | None:
    """The INFERENCE_PRECISION_HINT to compile with, or None for the device's default."""
    require('precision', precision)
    if precision != 'auto':
        return precision
    return 'f32' if device.split('.')[0] == 'CPU' else None


def check_people_options(options: SegmenterOptions) -> None:
    """Raise ValueError unless the multi-person options are in range."""
    for name in ('max_people', 'redetect_interval', 'detection_levels', 'detection_threshold'):
        require(name, getattr(options, name))


def merged_options(options: SegmenterOptions | None, model: str | None, device: str | None,
                   changes: dict[str, Any]) -> SegmenterOptions:
    """A constructor's options: ``options`` (defaults when None) with ``model``, ``device`` and
    the other keyword ``changes`` applied, checked.

    Raises:
        ValueError: an option out of range.
    """
    if model is not None:
        changes['model'] = model
    if device is not None:
        changes['device'] = device
    merged = replace(options or SegmenterOptions(), **changes)
    check_people_options(merged)
    check_max_pixels(merged.max_pixels)
    return merged


def _layout(shape: Sequence[int]) -> str:
    """Guess NHWC (TFLite) or NCHW (ONNX) from a 4-D shape."""
    if len(shape) == 4 and shape[1] in (1, 2, 3, 4) and shape[3] not in (1, 2, 3, 4):
        return 'NCHW'
    return 'NHWC'


def _fitting(buffer: np.ndarray | None, shape: tuple[int, int], dtype: type) -> np.ndarray | None:
    """``buffer`` when it is a C-contiguous array of ``shape`` and ``dtype``, else None."""
    if (isinstance(buffer, np.ndarray) and buffer.shape == shape and buffer.dtype == dtype
            and buffer.flags.c_contiguous and buffer.flags.writeable):
        return buffer
    return None


class Segmenter:
    """A segmentation model compiled on an OpenVINO device.

    Use as a context manager, or call ``close()``. ``segment()`` is meant for one thread at a time;
    ``configure()`` may be called from another thread between frames, and ``close()`` from
    another thread at any time: it waits for a frame in progress, and later frames raise
    :class:`SegmenterClosedError`.

    Example:
        >>> with Segmenter(model='selfie_segmentation', device='CPU') as segmenter:
        ...     result = segmenter.segment(image_bgr)
    """

    gives_instances = False
    """True for multi-person pipelines, whose results carry ``instances``."""

    def __new__(
        cls,
        model: str | None = None,
        device: str | None = None,
        *,
        options: SegmenterOptions | None = None,
        **changes: Any,
    ) -> Segmenter:
        """Build the segmenter class the model needs: a multi-person pipeline or one model."""
        chosen = model if model is not None else changes.get(
            'model', (options or SegmenterOptions()).model)
        entry = CATALOG.get(chosen) if isinstance(chosen, str) else None
        if cls is Segmenter and entry is not None and entry.pipeline == 'pose':
            from selfie_seg_ros.engine.pose.pose_segmenter import PoseSegmenter

            return super().__new__(PoseSegmenter)
        return super().__new__(cls)

    def __init__(
        self,
        model: str | None = None,
        device: str | None = None,
        *,
        options: SegmenterOptions | None = None,
        core: ov.Core | None = None,
        pool: ModelPool | None = None,
        **changes: Any,
    ) -> None:
        """Fetch, convert (cached), and compile the model.

        Args:
            model: overrides ``options.model``.
            device: overrides ``options.device``.
            options: everything else; keyword arguments override single fields.
            core: an OpenVINO Core to share between segmenters.
            pool: share the compiled model (and the pool's Core) with the other Segmenters of
                the pool that load the same model on the same device with the same settings;
                this Segmenter then owns only its infer request.

        Raises:
            UnknownModelError, FetchError, ModelLoadError, DeviceError: with a message saying
                what to do. ValueError: foreground classes that the model does not have.
        """
        options = merged_options(options, model, device, changes)
        started = time.perf_counter()
        self._use_core(options.device, core, pool)
        entry, self.source_path = resolve_model(options)
        metadata = model_metadata(self.source_path)
        self.entry = with_metadata(entry, metadata)
        cache_dir = Path(options.cache_dir) if options.cache_dir else default_cache_dir()
        model_ir = self._load(options, cache_dir)
        self._describe_io(model_ir)
        labels = choose_labels(
            options.labels, metadata.labels, self.entry.labels, self.num_classes,
            self._channels_out,
        )
        if len(labels) != self.num_classes:
            raise ModelLoadError(
                f'{self.source_path}: model has {self.num_classes} classes but '
                f'{len(labels)} labels were given ({", ".join(labels)})'
            )
        self.labels: tuple[str, ...] = tuple(labels)
        self._compiled = self._compile(model_ir, options, cache_dir)
        try:
            self._request = self._compiled.create_infer_request()
            self._smoother = TemporalSmoother(options.smoothing)
            self._previous_mask = PreviousMask()
            # Reentrant: segment() holds it around infer_raw(), which takes it when called alone.
            self._lock = threading.RLock()
            self._options = replace(
                options, foreground_classes=self._resolve_classes(options.foreground_classes))
        except BaseException:
            self.close()  # gives a pooled model back
            raise
        self.startup_s = time.perf_counter() - started

    # -- construction -------------------------------------------------------------------------

    def _load(self, options: SegmenterOptions, cache_dir: Path) -> ov.Model:
        """Convert (cached) and read the model, healing what lives in the cache.

        A damaged download of a catalogue model is fetched again and a damaged cached IR is
        converted again, each once and with a warning; a user's own file is never touched.
        """
        fetched = not is_model_path(options.model)
        try:
            self.model_path = load_ir(self.source_path, cache_dir)
        except ModelLoadError as error:
            if not fetched:
                raise ModelLoadError(f'{error} Pass another model file.') from error
            damage = source_damage(self.source_path)
            if not damage:
                raise
            _LOG.warning('cached model %s is damaged (%s); fetching it again',
                         self.source_path, damage)
            self.source_path.unlink(missing_ok=True)
            self.source_path = fetch_model(self.entry, options.cache_dir,
                                           allow_download=options.allow_download,
                                           progress=options.progress)
            self.model_path = load_ir(self.source_path, cache_dir)
        try:
            return self._core.read_model(self.model_path)
        except Exception as error:
            if self.model_path == self.source_path:  # the user's own IR
                raise ModelLoadError(
                    f'cannot read OpenVINO model {self.model_path}: {openvino_reason(error)}. '
                    f'Check that it and {self.model_path.with_suffix(".bin").name} are a '
                    'complete IR, or pass another model file.'
                ) from error
            _LOG.warning('cached IR %s cannot be read (%s); converting %s again',
                         self.model_path.parent, openvino_reason(error), self.source_path)
        discard_ir(self.model_path)
        self.model_path = load_ir(self.source_path, cache_dir)
        try:
            return self._core.read_model(self.model_path)
        except Exception as error:
            raise ModelLoadError(
                f'cannot read the OpenVINO model converted from {self.source_path}: '
                f'{openvino_reason(error)}'
            ) from error

    def _describe_io(self, model_ir: ov.Model) -> None:
        if len(model_ir.inputs) != 1:
            raise ModelLoadError(
                f'{self.source_path}: expected one image input, found {len(model_ir.inputs)}'
            )
        in_shape = model_ir.input(0).get_partial_shape()
        out_shape = model_ir.output(0).get_partial_shape()
        if not in_shape.is_static or len(in_shape) != 4:
            raise ModelLoadError(
                f'{self.source_path}: expected a static 4-D input, got {in_shape}'
            )
        dims = [d.get_length() for d in in_shape]
        self._in_layout = _layout(dims)
        if self._in_layout == 'NHWC':
            _, height, width, channels = dims
        else:
            _, channels, height, width = dims
        if channels not in (1, 3, 4):
            raise ModelLoadError(f'{self.source_path}: unsupported input channel count {channels}')
        self.input_size = (width, height)
        self._channels_in = channels
        out_dims = [d.get_length() if d.is_static else -1 for d in out_shape]
        if len(out_dims) == 3:
            out_dims = [*out_dims, 1]
        if len(out_dims) != 4:
            raise ModelLoadError(f'{self.source_path}: expected a 4-D output, got {out_shape}')
        self._out_layout = _layout(out_dims)
        self._channels_out = out_dims[3] if self._out_layout == 'NHWC' else out_dims[1]
        self.num_classes = max(2, self._channels_out)

    def _compile(
        self, model_ir: ov.Model, options: SegmenterOptions, cache_dir: Path
    ) -> ov.CompiledModel:
        norm: Normalization = self.entry.normalization
        ppp = PrePostProcessor(model_ir)
        tensor = ppp.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout('NHWC'))
        ppp.input().model().set_layout(ov.Layout(self._in_layout))
        steps = ppp.input().preprocess().convert_element_type(ov.Type.f32)
        if self._channels_in == 3:
            tensor.set_color_format(ColorFormat.BGR)
            steps.convert_color(ColorFormat.RGB)
        if norm.mean:
            steps.mean(norm.mean)
        if norm.scale != 1.0:
            steps.scale(norm.scale)
        if len(model_ir.output(0).get_partial_shape()) == 4:
            ppp.output().model().set_layout(ov.Layout(self._out_layout))
            ppp.output().tensor().set_layout(ov.Layout('NHWC')).set_element_type(ov.Type.f32)
        model_ir = ppp.build()
        config: dict[str, Any] = {'PERFORMANCE_HINT': options.performance_hint}
        precision = precision_hint(options.device, options.precision)
        if precision:
            config['INFERENCE_PRECISION_HINT'] = precision
        if any(name in options.device for name in _COMPILED_CACHE_DEVICES):
            config['CACHE_DIR'] = str(cache_dir / 'compiled')
        try:
            if self._pool is None:
                return self._core.compile_model(model_ir, options.device, config)
            key = (str(self.model_path), options.device, repr(sorted(config.items())),
                   repr(norm), str(self._channels_in))
            compiled = self._pool.acquire(
                key, lambda: self._core.compile_model(model_ir, options.device, config))
            self._pool_key = key
            return compiled
        except Exception as error:
            listing = ', '.join(self._core.available_devices)
            raise DeviceError(
                f'cannot compile {self.model_path.name} on {options.device!r}: '
                f'{openvino_reason(error)}; available devices: {listing}'
            ) from error

    def _resolve_classes(
        self, classes: Sequence[int] | Sequence[str] | None
    ) -> tuple[int, ...] | None:
        """Class ids for ids or label names (names matched as :func:`resolve_classes` does)."""
        if classes is None:
            return None
        if isinstance(classes, str):
            raise ValueError(f'foreground classes must be a sequence, got {classes!r}')
        if not all(isinstance(c, str) for c in classes):
            ids = tuple(int(c) for c in classes)  # type: ignore[arg-type]
            bad = [c for c in ids if not 0 <= c < self.num_classes]
            if bad:
                raise ValueError(
                    f'foreground classes {bad} out of range: this model has classes 0..'
                    f'{self.num_classes - 1} ({", ".join(self.labels)})'
                )
            return ids
        return resolve_classes(list(classes), self.labels)  # type: ignore[arg-type]

    # -- live options ---------------------------------------------------------------------------

    @property
    def options(self) -> SegmenterOptions:
        """The options in force."""
        return self._options

    @property
    def device(self) -> str:
        """The OpenVINO device the model is compiled on."""
        return self._options.device

    @property
    def core(self) -> ov.Core:
        """The OpenVINO Core the model is compiled on (shared with a pool's other users)."""
        return self._core

    @property
    def inference_precision(self) -> str:
        """The precision the compiled model computes in ('f32', 'bf16', 'f16'; '' if unknown)."""
        compiled = self._compiled
        if compiled is None:
            return ''
        try:
            value = compiled.get_property('INFERENCE_PRECISION_HINT')
        except RuntimeError:  # virtual devices (AUTO, MULTI, ...) do not report it
            return ''
        return value.to_string() if isinstance(value, ov.Type) else str(value)

    @property
    def resize_mode(self) -> ResizeMode:
        """The resize mode in force (the catalogue's default when the option is 'auto')."""
        mode = self._options.resize_mode
        return self.entry.resize_mode if mode == 'auto' else mode

    @property
    def foreground_classes(self) -> tuple[int, ...]:
        """Class ids counted as foreground."""
        chosen = self._options.foreground_classes
        if chosen is not None:
            return chosen
        return self.entry.foreground_classes or tuple(range(1, self.num_classes))

    @property
    def recurrent(self) -> bool:
        """True when the model takes the previous frame's mask as a fourth input channel."""
        return self._channels_in == 4

    @property
    def activation(self) -> Activation:
        """What turns the raw output into probabilities."""
        return self.entry.activation

    def configure(self, **changes: Any) -> None:
        """Change post-processing options for the next frame.

        Accepts threshold, foreground_classes (ids or label names), resize_mode, smoothing,
        max_people, redetect_interval, detection_levels, detection_threshold, max_pixels. A
        model or device change
        needs a new Segmenter.

        Raises:
            ValueError: an option cannot change live or has a bad value.
        """
        fixed = set(changes) - LIVE_OPTIONS
        if fixed:
            raise ValueError(
                f'{", ".join(sorted(fixed))} cannot change live: build a new Segmenter'
            )
        new = replace(self._options, **changes)  # checks the limits (SegmenterOptions)
        check_people_options(new)
        new = replace(new, foreground_classes=self._resolve_classes(new.foreground_classes))
        check_max_pixels(new.max_pixels)
        with self._lock:
            self._smoother.weight = new.smoothing
            if new.resize_mode != self._options.resize_mode:
                self._smoother.reset()
            self._options = new

    def reset(self) -> None:
        """Forget earlier frames (temporal smoothing state): the next frame starts a new video."""
        with self._lock:
            self._smoother.reset()

    # -- inference ------------------------------------------------------------------------------

    def _prepare(self, image: np.ndarray) -> np.ndarray:
        if not isinstance(image, np.ndarray):
            raise ValueError(f'expected a numpy image, got {type(image).__name__}')
        if image.ndim in (2, 3) and 0 in image.shape[:2]:
            raise ValueError(f'image has zero size ({image.shape[1]}x{image.shape[0]})')
        if image.ndim in (2, 3):
            check_pixels(image.shape[1], image.shape[0], self._options.max_pixels)
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(
                f'expected an HxWx3 uint8 BGR image, got shape {image.shape} dtype {image.dtype}'
            )
        return image

    def _model_input(self, resized: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
        if self._channels_in == 3:
            return resized[None]
        if self._channels_in == 1:
            return cv2.cvtColor(resized, cv2.COLOR_BGR2GRAY)[None, :, :, None]
        # Four channels (hair segmentation): RGB plus the previous frame's mask, or empty.
        rgba = np.zeros((*resized.shape[:2], 4), np.uint8)
        rgba[..., :3] = resized[..., ::-1]
        if previous is not None:
            rgba[..., 3] = previous
        return rgba[None]

    def infer_raw(
        self, model_image: np.ndarray, previous_mask: np.ndarray | None = None
    ) -> np.ndarray:
        """Run the compiled model on a model-sized BGR u8 image; returns HxWxC float32 (a copy).

        Args:
            model_image: the resized frame.
            previous_mask: for four-channel models, the model-sized u8 mask of the previous
                frame (None = an empty channel).

        Raises:
            SegmenterClosedError: after ``close()``.
        """
        with self._lock:
            request = self._request  # read once: close() may clear it between two reads
            if request is None:
                raise SegmenterClosedError(f'{self!r} is closed')
            model_input = self._model_input(model_image, previous_mask)
            request.infer({0: ov.Tensor(model_input, shared_memory=True)})
            output = request.get_output_tensor(0).data
            return np.array(output.reshape(output.shape[1], output.shape[2], -1),
                            dtype=np.float32)

    def warm_up(self) -> float:
        """Run the model once on a blank input, so the first real frame is not the slow one.

        The temporal smoothing state and the previous mask are left alone.

        Returns:
            The time the run took, in milliseconds.
        """
        started = time.perf_counter()
        width, height = self.input_size
        self.infer_raw(np.zeros((height, width, 3), np.uint8))
        return (time.perf_counter() - started) * 1e3

    def reset_stream(self) -> None:
        """Start a new stream: the next frame gets no previous mask (and no smoothing history)."""
        with self._lock:
            self._previous_mask.reset()
            self._smoother.reset()

    def segment(
        self,
        image_bgr: np.ndarray,
        *,
        foreground: bool = True,
        mask_out: np.ndarray | None = None,
        foreground_out: np.ndarray | None = None,
        timestamp: float | None = None,
    ) -> Segmentation:
        """Segment one frame.

        Args:
            image_bgr: HxWx3 uint8 BGR (or HxW grey) image of any size.
            foreground: also compute the soft foreground map at image size (for effects).
            mask_out: HxW uint8 array (C-contiguous) to write the class mask into, e.g. an
                output message's buffer; a fresh array when None or of another size.
            foreground_out: HxW float32 array to write the foreground into (same rule); lets
                a stream reuse one buffer instead of a fresh full-frame array per frame.
            timestamp: the frame's time in seconds when it is part of a video stream. Models
                with a previous-mask input (hair segmentation) then get the previous frame's
                mask, as long as frames keep their size and follow within
                ``recurrence.MAX_STREAM_GAP_S``; None = a single image (an empty channel).

        Returns:
            Segmentation with the class mask (and foreground) at the image's size.

        Raises:
            ValueError: the image is not an 8-bit BGR/grey image or has zero size.
            SegmenterClosedError: after ``close()``.
            ImageTooLargeError: (a ValueError) the image has more than ``max_pixels`` pixels.
        """
        image = self._prepare(image_bgr)
        with self._lock:
            options = self._options
            started = time.perf_counter()
            image_size = (image.shape[1], image.shape[0])
            resized, content = resize_to_model(image, self.input_size, self.resize_mode)
            previous = (
                self._previous_mask.take(image_size, timestamp) if self.recurrent else None
            )
            infer_start = time.perf_counter()
            raw = self.infer_raw(resized, previous)
            infer_ms = (time.perf_counter() - infer_start) * 1e3
            probabilities = self._smoother.update(to_probabilities(raw, self.activation))
            if self.recurrent:
                self._previous_mask.keep(
                    foreground_probability(probabilities, self.foreground_classes),
                    image_size,
                    timestamp,
                )
            soft: np.ndarray | None = None
            binary = probabilities.shape[-1] == 1
            mask_shape = (image.shape[0], image.shape[1])
            if foreground or binary:
                low = foreground_probability(probabilities, self.foreground_classes)
                soft = restore_size(low, content, image_size,
                                    out=_fitting(foreground_out, mask_shape, np.float32))
            mask = _fitting(mask_out, mask_shape, np.uint8)
            if binary:
                # Threshold the upsampled probability: smooth edges at no extra cost.
                person = (
                    soft
                    if self.foreground_classes == (1,)
                    else restore_size(probabilities[..., 0], content, image_size)
                )
                if mask is None:
                    mask = np.empty(mask_shape, np.uint8)
                # One pass straight into the uint8 mask (a bool view of it holds 0 or 1).
                np.greater_equal(person, options.threshold, out=mask.view(np.bool_))
            else:
                mask = restore_size(class_mask(probabilities), content, image_size, nearest=True,
                                    out=mask)
            total_ms = (time.perf_counter() - started) * 1e3
        return Segmentation(
            mask=mask,
            foreground=soft if foreground else None,
            inference_ms=infer_ms,
            timings={'inference_ms': infer_ms, 'segment_ms': total_ms},
        )

    # -- resources ------------------------------------------------------------------------------

    def _use_core(self, device: str, core: ov.Core | None, pool: ModelPool | None) -> None:
        """Compile on the pool's Core (else ``core``, else a new one); ``device`` must be there.

        Raises:
            DeviceError: ``device`` is not one of the Core's devices.
        """
        self._pool = pool
        self._pool_key: tuple[str, ...] | None = None
        self._core = pool.core if pool is not None else core or ov.Core()
        self.available_devices: tuple[str, ...] = tuple(self._core.available_devices)
        check_device(device, self.available_devices)

    def close(self) -> None:
        """Release the infer request and the compiled model (or this user's share of it).

        Waits for a frame in progress on another thread; closing twice is harmless.
        """
        lock = getattr(self, '_lock', None)  # absent when the constructor failed early
        with lock if lock is not None else contextlib.nullcontext():
            self._request = None  # type: ignore[assignment]
            self._compiled = None  # type: ignore[assignment]
            if self._pool is not None and self._pool_key is not None:
                self._pool.release(self._pool_key)
                self._pool_key = None

    def __enter__(self) -> Segmenter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f'Segmenter(model={self._options.model!r}, device={self.device!r}, '
            f'input={self.input_size[0]}x{self.input_size[1]}, classes={self.num_classes})'
        )
