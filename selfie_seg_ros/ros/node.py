# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""``selfie_seg_node``: camera image in; class mask, colourised overlay and blurred image out.

A managed (lifecycle) node. ``configure`` fetches, converts and compiles the model and creates the
publishers; ``activate`` subscribes and starts the worker thread; ``deactivate`` stops both (no
inference, no callbacks beyond the executor's services); ``cleanup`` releases the model;
``shutdown`` works from every state. Started on its own with ``autostart`` true (the default) it
configures and activates itself.

The node only translates messages and parameters; the Segmenter and the effects module do the work,
exactly as in the CLI. Frames are processed off the executor thread with a latest-frame
policy: a new frame replaces one that is still waiting, so latency stays bounded when the camera is
faster than the model. Two threads share each frame's work: the first segments it and publishes
the mask (and the confidence and instances), the second makes and publishes the pictures (mask
colours, overlay, blurred) while the first segments the next frame. They meet at a rendezvous
(``engine.handoff``), so at most two frames are in flight and a frame's outputs are all published.

Parameter changes are judged as a whole before anything is applied (on-set callback). A change of
``model``, ``model_labels``, ``device`` or ``precision`` then builds the new model on a background
thread while the old one keeps serving; the new one is swapped in between two frames, and the old
one is closed once no frame uses it. The parameters name the requested model from the moment the
change is accepted; should the build fail, they are set back to the model that still serves and
the reason is logged.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rclpy.qos_overriding_options import QoSOverridingOptions
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from selfie_seg_ros.engine.compositor import Compositor
from selfie_seg_ros.engine.effects import (
    EffectOptions,
    Scratch,
    apply_background_effect,
    colorize,
    make_palette,
    overlay,
    parse_rgb,
)
from selfie_seg_ros.engine.errors import ImageTooLargeError
from selfie_seg_ros.engine.handoff import Handoff
from selfie_seg_ros.engine.hot_swap import BackgroundBuilder, BuildResult, HotSwap
from selfie_seg_ros.engine.limits import read_image_file
from selfie_seg_ros.engine.model_pool import ModelPool, one_thread_core
from selfie_seg_ros.engine.segmenter import Segmentation, Segmenter, SegmenterOptions
from selfie_seg_ros.ros import image_io, params, process
from selfie_seg_ros.ros.diagnostics import build_status
from selfie_seg_ros.ros.image_io import (
    ImageBuffer,
    ImageDecodeError,
    decode_compressed,
    decode_image,
    encode_compressed,
    encode_image,
    encode_probability,
)
from selfie_seg_ros.ros.lost_frames import create_counted_subscription
from selfie_seg_ros.ros.reconfigure import (
    EFFECT_PARAMETERS,
    LIVE_SEGMENTER_OPTIONS,
    ModelConfig,
    Running,
    check_change,
)
from selfie_seg_ros.ros.stats import FrameStats

OUTPUTS = ('mask', 'mask_color', 'overlay', 'blurred')
"""The node's output pictures, published raw on ``~/<name>``."""
PAINTED = frozenset(OUTPUTS[1:])
"""The pictures the second worker thread makes from a segmented frame."""
COMPRESSED_OUTPUTS = tuple(f'{name}/compressed' for name in OUTPUTS)
ALL_OUTPUTS = (*OUTPUTS, *COMPRESSED_OUTPUTS, 'confidence', 'instances', 'instances/compressed')
"""Every output topic (relative to ``~/``): the pictures raw and compressed, the confidence,
the person instances raw and compressed (multi-person models only)."""
OUTPUT_QOS = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
ERROR_LOG_PERIOD_S = 2.0
BUILD_STOP_TIMEOUT_S = 10.0
"""How long the final shutdown waits for a model build in progress."""
BUILDER_NICENESS = 19
"""The model builder thread runs at a lower priority than the frames (Linux)."""


class StartupError(RuntimeError):
    """The node cannot start (model, device or parameter problem); the message says why."""


SUCCESS = TransitionCallbackReturn.SUCCESS
FAILURE = TransitionCallbackReturn.FAILURE


@dataclass
class LoadedModel:
    """A compiled segmenter and what belongs to it; frames borrow it as a whole."""

    segmenter: Segmenter
    config: ModelConfig
    palette: np.ndarray

    def close(self) -> None:
        self.segmenter.close()


@dataclass(frozen=True)
class BuildRequest:
    """What the builder thread needs: the config and the full options, read on the executor."""

    config: ModelConfig
    options: SegmenterOptions


@dataclass
class _FrameBuffers:
    """What a frame keeps from segmentation until its pictures are made; two sets alternate."""

    mask: ImageBuffer = field(default_factory=ImageBuffer)
    scratch: Scratch = field(default_factory=Scratch)


@dataclass
class _Segmented:
    """A segmented frame on its way to the second thread, with the settings it was read with."""

    msg: Image | CompressedImage
    image: np.ndarray
    result: Segmentation
    palette: np.ndarray
    effects: EffectOptions
    alpha: float
    quality: int
    wanted: frozenset[str]
    started: float


def _lower_thread_priority() -> None:
    # Linux: a thread id is a valid target of setpriority; elsewhere the thread keeps its priority.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BUILDER_NICENESS)


class SelfieSegNode(LifecycleNode):
    """ROS 2 face of the segmentation engine, as a managed node.

    Parameters are declared at construction, so a lifecycle manager or a params file can set them
    before ``configure``; everything that costs memory or CPU is created by the transitions.
    """

    def __init__(self, *, pool: ModelPool | None = None, **kwargs: Any) -> None:
        """Declare the parameters; ``pool`` shares compiled models with other nodes of the
        process (one per camera), ``kwargs`` go to ``LifecycleNode`` (e.g. ``namespace``)."""
        super().__init__('selfie_seg', **kwargs)
        # One Core for the node's life, whatever its models: Cores made and dropped per model
        # on several threads crashed the process at exit (OpenVINO wheels).
        self._pool = pool if pool is not None else ModelPool()
        params.declare_all(self)
        # On-set callbacks only judge; a post-set callback applies (rclpy >= Iron). Humble has
        # no post-set callback: there the on-set callback applies after judging the whole change.
        self._apply_after_set = hasattr(self, 'add_post_set_parameters_callback')
        self.add_on_set_parameters_callback(self._on_set_parameters)
        if self._apply_after_set:
            self.add_post_set_parameters_callback(self._on_parameters_set)
        self._stats = FrameStats(ALL_OUTPUTS)
        # The painter's effect buffers, reused from frame to frame; it blends in one OpenVINO
        # pass (a single thread, like the rest of its frame work).
        self._compositor = Compositor(self._pool.core)
        self._scratch = Scratch(compositor=self._compositor)
        self._compositor_warned = False
        self._buffers = {name: ImageBuffer() for name in PAINTED}
        """The painter's output images, one per topic, reused from frame to frame."""
        self._frame_buffers = (_FrameBuffers(), _FrameBuffers())
        self._next_buffers = 0
        # Builds models, and closes swapped-out ones (closing takes milliseconds): never on the
        # executor or the worker. One thread for the node's life (see BackgroundBuilder).
        self._builder: BackgroundBuilder[BuildRequest, LoadedModel] = BackgroundBuilder(
            self._build_in_background, self._on_build_finished)
        self._model: HotSwap[LoadedModel] = HotSwap(retire=self._builder.dispose)
        self._running: Running | None = None
        """The model that serves (None while unconfigured)."""
        self._requested: ModelConfig | None = None
        """The model the parameters ask for; differs from the running one while it builds."""
        self._running_classes: list[str] = []
        """``foreground_classes`` in force with the running model."""
        self._build_done = self.create_guard_condition(self._on_build_done)
        self._reverting = False
        self._effects: EffectOptions | None = None
        self._alpha = float(self._param('overlay_alpha'))
        self._jpeg_quality = int(self._param('jpeg_quality'))
        self._max_pixels = int(self._param('max_pixels'))
        self._compressed = bool(self._param('compressed_input'))
        self.configure_error = ''
        """Why the last ``configure`` failed ('' when it did not)."""

        self._pending: Image | CompressedImage | None = None
        self._frame_ready = threading.Condition()
        self._stopping = False
        self._worker: threading.Thread | None = None
        self._painter: threading.Thread | None = None
        self._handoff: Handoff[_Segmented] = Handoff()
        self._camera_info: CameraInfo | None = None
        self._outputs: dict[str, Any] = {}
        self._info_pub: Any = None
        self._diag_pub: Any = None
        self._diag_timer: Any = None
        self._image_sub: Any = None
        self._info_sub: Any = None

    @property
    def autostart(self) -> bool:
        """True when the node brings itself to active (no lifecycle manager)."""
        return bool(self._param('autostart'))

    @property
    def state_label(self) -> str:
        """The current lifecycle state: unconfigured, inactive, active, finalized, ..."""
        return str(self._state_machine.current_state[1])

    # -- lifecycle ------------------------------------------------------------------------------

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Fetch, convert and compile the model; create the publishers."""
        values = self._values()
        config = ModelConfig.from_values(values)
        try:
            segmenter = self._build_segmenter(self._segmenter_options(config, values))
            self._install(LoadedModel(segmenter, config, make_palette(segmenter.labels)), values)
            self._effects = self._effect_options(values)
        except (StartupError, ValueError) as error:
            self.configure_error = str(error)
            self.get_logger().error(f'cannot configure: {error}')
            self._release_model()
            return FAILURE
        self.configure_error = ''
        self._requested = config
        self._alpha = float(values['overlay_alpha'])
        self._jpeg_quality = int(values['jpeg_quality'])
        self._max_pixels = int(values['max_pixels'])
        overrides = QoSOverridingOptions.with_default_policies()
        self._outputs = {
            name: self.create_lifecycle_publisher(
                CompressedImage if name.endswith('/compressed') else Image, f'~/{name}',
                OUTPUT_QOS, qos_overriding_options=overrides)
            for name in ALL_OUTPUTS
        }
        self._info_pub = self.create_lifecycle_publisher(CameraInfo, '~/camera_info', OUTPUT_QOS)
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.get_logger().info(
            f'{segmenter!r} ready in {segmenter.startup_s:.2f} s; labels: '
            f'{", ".join(segmenter.labels)}')
        return super().on_configure(state)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Subscribe to the input, start the worker and the diagnostics."""
        overrides = QoSOverridingOptions.with_default_policies()
        self._image_sub, counts_lost = create_counted_subscription(
            self,
            lambda count: self._stats.count('lost', count),
            CompressedImage if self._compressed else Image,
            'image/compressed' if self._compressed else 'image',
            self._on_image,
            qos_profile_sensor_data,
            qos_overriding_options=overrides,
        )
        if not counts_lost:
            self.get_logger().info(
                'this middleware does not report lost messages: frames lost before the node '
                'are not counted in diagnostics')
        self._info_sub = self.create_subscription(
            CameraInfo, 'camera_info', self._on_camera_info, qos_profile_sensor_data)
        self._start_worker()
        self._diag_timer = self.create_timer(1.0, self._publish_diagnostics)
        self.get_logger().info(
            f'active: input {self._image_sub.topic_name} '
            f'({"CompressedImage" if self._compressed else "Image"}, '
            f'decoded with {image_io.BACKEND})')
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop all work: no subscription, no worker, no timer."""
        self._stop_intake()
        self.get_logger().info('inactive: input unsubscribed, no frame is processed')
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Destroy the publishers and release the model."""
        self._destroy_publishers()
        self._release_model()
        self.get_logger().info('unconfigured: model released')
        return super().on_cleanup(state)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release everything, whatever the state was."""
        self._release_all()
        return super().on_shutdown(state)

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        """A transition raised: release everything and go back to unconfigured."""
        self.get_logger().error(f'error in a transition from {state.label}: releasing all')
        self._release_all()
        return super().on_error(state)

    def _start_worker(self) -> None:
        with self._frame_ready:
            self._stopping = False
            self._pending = None
        self._handoff = Handoff()
        self._worker = threading.Thread(target=self._work, name='selfie_seg_worker', daemon=True)
        self._painter = threading.Thread(target=self._paint_all, name='selfie_seg_painter',
                                         daemon=True)
        self._worker.start()
        self._painter.start()

    def _stop_intake(self) -> None:
        """Destroy the subscriptions and the timer, then stop the worker after its frame."""
        for attribute in ('_image_sub', '_info_sub'):
            subscription = getattr(self, attribute)
            if subscription is not None:
                self.destroy_subscription(subscription)
                setattr(self, attribute, None)
        if self._diag_timer is not None:
            self.destroy_timer(self._diag_timer)
            self._diag_timer = None
        with self._frame_ready:
            self._stopping = True
            self._pending = None
            self._frame_ready.notify_all()
        self._handoff.close()
        for attribute in ('_worker', '_painter'):
            thread = getattr(self, attribute)
            if thread is not None:
                thread.join(timeout=5.0)
                setattr(self, attribute, None)

    def _destroy_publishers(self) -> None:
        for publisher in [*self._outputs.values(), self._info_pub]:
            if publisher is not None:
                self.destroy_lifecycle_publisher(publisher)
        self._outputs, self._info_pub = {}, None
        if self._diag_pub is not None:
            self.destroy_publisher(self._diag_pub)
            self._diag_pub = None

    def _release_model(self) -> None:
        """Drop pending builds (one in progress is closed when done) and release the model."""
        self._builder.cancel()
        current = self._model.current
        self._model.swap(None)  # retired: closed on the builder thread
        if current is not None:
            current.close()  # closed here and now; Segmenter.close() is idempotent
        self._running = self._requested = None

    def _release_all(self) -> None:
        self._stop_intake()
        self._destroy_publishers()
        self._release_model()

    # -- parameters -----------------------------------------------------------------------------

    def _param(self, name: str) -> Any:
        return self.get_parameter(name).value

    def _values(self, changed: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Every node parameter's value, with ``changed`` laid over them."""
        values = {spec.name: self._param(spec.name) for spec in params.PARAMS}
        values.update(changed or {})
        return values

    def _segmenter_options(self, config: ModelConfig,
                           values: Mapping[str, Any]) -> SegmenterOptions:
        cache_dir = str(values['model_cache_dir'])
        return SegmenterOptions(
            model=config.model,
            labels=config.labels or None,
            device=config.device,
            performance_hint=str(values['performance_hint']),  # type: ignore[arg-type]
            precision=config.precision,  # type: ignore[arg-type]
            resize_mode=str(values['resize_mode']),  # type: ignore[arg-type]
            threshold=float(values['threshold']),
            smoothing=float(values['smoothing']),
            max_people=int(values['max_people']),
            redetect_interval=int(values['redetect_interval']),
            detection_levels=int(values['detection_levels']),
            detection_threshold=float(values['detection_threshold']),
            max_pixels=int(values['max_pixels']),
            cache_dir=Path(cache_dir) if cache_dir else None,
            allow_download=bool(values['allow_download']),
            progress=False,
        )

    def _build_segmenter(self, options: SegmenterOptions) -> Segmenter:
        try:
            return Segmenter(options=options, pool=self._pool)
        except Exception as error:  # every engine error carries an actionable message
            raise StartupError(str(error)) from error

    def _set_labels(self, labels: Sequence[str]) -> None:
        params.update_read_only(self, 'labels', list(labels))

    def _effect_options(self, values: Mapping[str, Any]) -> EffectOptions:
        image_path = str(values['background_image'])
        background = None
        if image_path:
            background = read_image_file(
                image_path, int(values['max_pixels']), f'background_image {image_path!r}')
        return EffectOptions(
            effect=str(values['effect']),  # type: ignore[arg-type]
            blur_strength=int(values['blur_strength']),
            background_color=parse_rgb(values['background_color']),
            background_image=background,
        )

    def _on_set_parameters(self, changed: list[Parameter]) -> SetParametersResult:
        """Judge the whole change (pure); apply nothing, except on Humble (no post-set)."""
        values = {p.name: p.value for p in changed}
        if self._reverting:
            return SetParametersResult(successful=True)
        model = self._model.current
        reason = check_change(
            values, self._values(), running=self._running,
            available_devices=model.segmenter.available_devices if model else ())
        if reason:
            return SetParametersResult(successful=False, reason=reason)
        if not self._apply_after_set:
            self._apply(values)
        return SetParametersResult(successful=True)

    def _on_parameters_set(self, changed: list[Parameter]) -> None:
        """Post-set callback: the whole change was accepted; apply it."""
        if not self._reverting:
            self._apply({p.name: p.value for p in changed})

    def _apply(self, changed: Mapping[str, Any]) -> None:
        """Apply an accepted change: live options now, a new model in the background."""
        if self._running is None:
            return  # unconfigured: configure reads the parameters
        values = self._values(changed)
        target = ModelConfig.from_values(values)
        if target == self._running.config:
            self._requested = target  # back to what serves: a pending build is dropped
        elif target != self._requested:
            self._requested = target
            self._builder.request(BuildRequest(target, self._segmenter_options(target, values)))
            self.get_logger().info(f'loading {target}; {self._running.config} keeps serving')
        model = self._model.current
        live = {name: changed[name] for name in LIVE_SEGMENTER_OPTIONS if name in changed}
        if 'foreground_classes' in changed and self._requested == self._running.config:
            names = list(changed['foreground_classes'])
            live['foreground_classes'] = tuple(names) or None
            self._running_classes = names
        if model is not None and live:
            model.segmenter.configure(**live)
        if any(name in changed for name in EFFECT_PARAMETERS):
            self._effects = self._effect_options(values)
        if 'overlay_alpha' in changed:
            self._alpha = float(changed['overlay_alpha'])
        if 'jpeg_quality' in changed:
            self._jpeg_quality = int(changed['jpeg_quality'])
        if 'max_pixels' in changed:
            self._max_pixels = int(changed['max_pixels'])

    def _build_in_background(self, request: BuildRequest) -> LoadedModel:
        _lower_thread_priority()
        segmenter = Segmenter(options=request.options, pool=self._pool)
        try:
            segmenter.warm_up()  # the first inference is slow: not on a live frame
        except Exception:
            segmenter.close()
            raise
        return LoadedModel(segmenter, request.config, make_palette(segmenter.labels))

    def _on_build_finished(self) -> None:
        """Builder thread: wake the executor, which takes the result."""
        with contextlib.suppress(Exception):  # the node may be going away
            self._build_done.trigger()

    def _on_build_done(self) -> None:
        """Executor thread: swap in a finished model, or set the parameters back."""
        for result in self._builder.take():
            self._finish_build(result)

    def _finish_build(self, result: BuildResult[BuildRequest, LoadedModel]) -> None:
        config = result.request.config
        if self._running is None or config != self._requested:
            if result.built is not None:
                self._builder.dispose(result.built)  # superseded by a later change
            return
        if result.error is not None or result.built is None:
            self._revert(config, str(result.error))
            return
        try:
            self._install(result.built, self._values())
        except ValueError as error:
            self._builder.dispose(result.built)
            self._revert(config, str(error))

    def _install(self, model: LoadedModel, values: Mapping[str, Any]) -> None:
        """Give a new model the live options in force and make it the one frames use.

        Raises:
            ValueError: ``foreground_classes`` do not fit the new model.
        """
        segmenter, config = model.segmenter, model.config
        names = list(values['foreground_classes'])
        segmenter.configure(
            foreground_classes=tuple(names) or None,
            **{name: values[name] for name in LIVE_SEGMENTER_OPTIONS})
        previous = self._running
        self._model.swap(model)
        self._running = Running(config, tuple(segmenter.labels))
        self._running_classes = names
        if previous is None or previous.labels != self._running.labels:
            self._set_labels(segmenter.labels)
        if previous is not None:
            self.get_logger().info(f'switched to {segmenter!r} in {segmenter.startup_s:.2f} s')

    def _revert(self, failed: ModelConfig, reason: str) -> None:
        """A requested model cannot serve: set the parameters back to the one that does."""
        assert self._running is not None
        running = self._running.config
        self._requested = running
        restore = {**running.parameter_values(), 'foreground_classes': self._running_classes}
        self.get_logger().error(
            f'cannot switch to {failed}: {reason}. Parameters set back to {running} '
            f'(foreground_classes {self._running_classes}), which keeps serving.')
        types = {'model_labels': Parameter.Type.STRING_ARRAY,
                 'foreground_classes': Parameter.Type.STRING_ARRAY}
        self._reverting = True
        try:
            self.set_parameters([
                Parameter(name, types.get(name, Parameter.Type.STRING), value)
                for name, value in restore.items()])
        finally:
            self._reverting = False

    def _on_image(self, msg: Image | CompressedImage) -> None:
        """Never blocks: keep only the newest frame for the worker."""
        with self._frame_ready:
            if self._pending is not None:
                self._stats.count('dropped')
            self._pending = msg
            self._stats.count('received')
            self._frame_ready.notify()

    def _on_camera_info(self, msg: CameraInfo) -> None:
        self._camera_info = msg

    # -- worker ---------------------------------------------------------------------------------

    def _work(self) -> None:
        """First thread: take the newest frame, segment it, publish what needs no pictures."""
        process.name_native_thread('seg_worker')
        while True:
            with self._frame_ready:
                while self._pending is None and not self._stopping:
                    self._frame_ready.wait()
                if self._stopping:
                    return
                msg, self._pending = self._pending, None
            if not self._guarded(self._segment, msg):
                return

    def _paint_all(self) -> None:
        """Second thread: make and publish the pictures of each segmented frame."""
        process.name_native_thread('seg_painter')
        while True:
            segmented = self._handoff.take()
            if segmented is None or not self._guarded(self._paint, segmented):
                return

    def _guarded(self, step: Callable[[Any], None], item: Any) -> bool:
        """Run one frame's step; a bad frame is counted and logged, never ends the thread.

        Returns:
            False when the node is shutting down (the thread should end).
        """
        try:
            step(item)
        except ImageTooLargeError as error:
            self._stats.count('oversized')
            self.get_logger().error(
                f'skipping oversized frame: {error}', throttle_duration_sec=ERROR_LOG_PERIOD_S
            )
        except ImageDecodeError as error:
            self._stats.count('malformed')
            self.get_logger().error(
                f'skipping malformed frame: {error}', throttle_duration_sec=ERROR_LOG_PERIOD_S
            )
        except Exception as error:  # the worker must survive any single bad frame
            if not rclpy.ok():
                return False  # shutting down: publishers are gone with the context
            self._stats.count('failed')
            self.get_logger().error(
                f'frame failed: {type(error).__name__}: {error}',
                throttle_duration_sec=ERROR_LOG_PERIOD_S,
            )
        return True

    def _segment(self, msg: Image | CompressedImage) -> None:
        """Decode and segment a frame, publish its mask (and confidence, instances), hand on."""
        wanted = frozenset(
            name for name, pub in self._outputs.items() if pub.get_subscription_count())
        if not wanted:
            self._stats.count('idle')
            return
        started = time.perf_counter()
        limit = self._max_pixels
        # The frame is only read: a view of the message's pixels, no copy.
        image = (decode_compressed(msg, limit) if self._compressed
                 else decode_image(msg, copy=False, max_pixels=limit))
        effects, alpha, quality = self._effects, self._alpha, self._jpeg_quality
        pictures = {name.partition('/')[0] for name in wanted}
        header = msg.header
        height, width = image.shape[:2]
        # This frame's mask and foreground stay untouched while the painter reads them: the
        # next frame is segmented into the other set.
        buffers = self._frame_buffers[self._next_buffers]
        self._next_buffers ^= 1
        with self._model.use() as model:
            if model is None or effects is None:
                return
            result = model.segmenter.segment(
                image, foreground=bool(pictures & {'blurred', 'confidence'}),
                mask_out=buffers.mask.pixels_for(height, width, 'mono8'),
                foreground_out=buffers.scratch.buffer('foreground', (height, width), np.float32),
                timestamp=self._stream_time(header.stamp))
        for name in ('mask', 'mask/compressed', 'confidence', 'instances', 'instances/compressed'):
            if name not in wanted:
                continue
            if name == 'mask':
                out: Image | CompressedImage = buffers.mask.message_of(result.mask, 'mono8',
                                                                        header)
            elif name == 'mask/compressed':
                out = encode_compressed(result.mask, 'png', header, quality=quality)
            elif name == 'confidence':
                out = encode_probability(result.foreground, header)
            elif result.instances is None:  # a model without person instances
                continue
            elif name == 'instances':
                out = encode_image(result.instances, 'mono8', header)
            else:  # lossless PNG: the ids survive
                out = encode_compressed(result.instances, 'png', header)
            self._outputs[name].publish(out)
            self._stats.count(name)
        self._publish_camera_info(header)
        segmented = _Segmented(msg, image, result, model.palette, effects, alpha, quality,
                               wanted, started)
        if not pictures & PAINTED:
            self._finish(segmented)
        else:
            self._handoff.put(segmented)

    def _paint(self, segmented: _Segmented) -> None:
        """Make and publish a segmented frame's pictures, raw and compressed as watched."""
        image, result, wanted = segmented.image, segmented.result, segmented.wanted
        pictures = {name.partition('/')[0] for name in wanted}
        header = segmented.msg.header
        height, width = image.shape[:2]
        scratch, palette = self._scratch, segmented.palette

        def target(name: str) -> np.ndarray | None:
            """Where a picture is made: its Image message's buffer when that is wanted."""
            if name not in wanted:
                return None
            return self._buffers[name].pixels_for(height, width, 'bgr8')

        colored = None
        if pictures & {'mask_color', 'overlay'}:
            colored_out = target('mask_color')
            if colored_out is None:
                colored_out = scratch.buffer('colored', (height, width, 3), np.uint8)
            colored = colorize(result.mask, palette, scratch=scratch, out=colored_out)
        makers = {
            'mask_color': lambda: colored,
            'overlay': lambda: overlay(image, result.mask, palette, segmented.alpha,
                                       colored=colored, scratch=scratch, out=target('overlay')),
            'blurred': lambda: apply_background_effect(image, result.foreground,
                                                       segmented.effects, scratch=scratch,
                                                       out=target('blurred')),
        }
        made = {name: makers[name]() for name in OUTPUTS if name in pictures & PAINTED}
        for name in ALL_OUTPUTS:
            picture, _, compressed = name.partition('/')
            if name not in wanted or picture not in PAINTED:
                continue
            if compressed:
                out: Image | CompressedImage = encode_compressed(
                    made[picture], 'jpeg', header, quality=segmented.quality)
            else:
                out = self._buffers[picture].message_of(made[picture], 'bgr8', header)
            self._outputs[name].publish(out)
            self._stats.count(name)
        if self._compositor.unavailable and not self._compositor_warned:
            self._compositor_warned = True
            self.get_logger().warning(f'{self._compositor.unavailable}; blending with OpenCV')
        self._finish(segmented)

    def _finish(self, segmented: _Segmented) -> None:
        """Count a frame whose outputs are all published."""
        self._stats.processed(
            inference_ms=segmented.result.inference_ms,
            work_ms=(time.perf_counter() - segmented.started) * 1e3,
            latency_ms=self._latency_ms(segmented.msg.header.stamp),
        )

    def _publish_camera_info(self, header: Any) -> None:
        info = self._camera_info
        if info is None or self._info_pub.get_subscription_count() == 0:
            return
        info_out = CameraInfo()
        info_out.header = header
        for field_name in ('height', 'width', 'distortion_model', 'd', 'k', 'r', 'p',
                           'binning_x', 'binning_y', 'roi'):
            setattr(info_out, field_name, getattr(info, field_name))
        self._info_pub.publish(info_out)

    def _stream_time(self, stamp: Any) -> float:
        """A frame's time in its stream: its stamp, or the arrival time when it has none."""
        if stamp.sec == 0 and stamp.nanosec == 0:
            return self.get_clock().now().nanoseconds / 1e9
        return stamp.sec + stamp.nanosec / 1e9

    def _latency_ms(self, stamp: Any) -> float | None:
        if stamp.sec == 0 and stamp.nanosec == 0:
            return None
        now_ns = self.get_clock().now().nanoseconds
        return (now_ns - (stamp.sec * 1_000_000_000 + stamp.nanosec)) / 1e6

    # -- diagnostics ----------------------------------------------------------------------------

    def _publish_diagnostics(self) -> None:
        model, publisher = self._model.current, self._diag_pub
        if model is None or publisher is None:
            return
        array = DiagnosticArray()
        array.header.stamp = self.get_clock().now().to_msg()
        array.status.append(
            build_status(
                name=f'{self.get_fully_qualified_name()}: segmentation',
                hardware_id=f'{model.segmenter.device}',
                snapshot=self._stats.snapshot(),
                model=model.config.model,
                max_latency_ms=float(self._param('max_latency_ms')),
                max_drop_rate=float(self._param('max_drop_rate')),
            )
        )
        publisher.publish(array)

    # -- shutdown -------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Take the ``shutdown`` transition from any state; release everything in any case.

        A stop signal can land in the middle of a transition (e.g. while the model compiles),
        where the state machine cannot take ``shutdown``: the resources are released directly.
        """
        if self.state_label in ('unconfigured', 'inactive', 'active'):
            self.trigger_shutdown()
        self._release_all()
        # A build still inside OpenVINO when the interpreter exits aborts the process: wait
        # for it (it is discarded), then end the builder thread.
        self._builder.close(timeout=BUILD_STOP_TIMEOUT_S)

    def bring_up(self) -> None:
        """Configure and activate, as a lifecycle manager would (``autostart``).

        Raises:
            StartupError: ``configure`` or ``activate`` failed; the message says why.
        """
        if self.trigger_configure() != SUCCESS:
            raise StartupError(self.configure_error or 'configure failed (see the log)')
        if self.trigger_activate() != SUCCESS:
            raise StartupError('activate failed (see the log)')


def main(args: Sequence[str] | None = None) -> int:
    """Entry point of ``selfie_seg_node``; SIGINT or SIGTERM at any moment exits 0."""
    node: SelfieSegNode | None = None
    code = 0
    # One OpenCV thread: each effect on a frame is a few milliseconds, and OpenCV's worker
    # threads spin between such calls, costing more CPU per frame than they save in latency.
    cv2.setNumThreads(1)
    with process.StopSignal() as stop:
        try:
            process.init(args)
            node = SelfieSegNode(pool=ModelPool(one_thread_core()))
            if node.autostart:
                node.bring_up()
            else:
                node.get_logger().info(
                    'autostart is false: unconfigured, waiting for a lifecycle manager '
                    f'({node.get_fully_qualified_name()}/change_state)')
            # One executor thread: callbacks only queue frames (the worker thread infers), and
            # rclpy's multi-threaded executor costs far more CPU per message at camera rates.
            executor = SingleThreadedExecutor()
            executor.add_node(node)
            process.spin_until_stopped(executor, stop)
        except (process.StopRequested, KeyboardInterrupt, ExternalShutdownException):
            pass
        except StartupError as error:
            rclpy.logging.get_logger('selfie_seg').fatal(f'cannot start: {error}')
            code = 1
        finally:
            if node is not None:
                node.shutdown()
                node.destroy_node()
            rclpy.try_shutdown()
    return code


if __name__ == '__main__':
    sys.exit(main())
