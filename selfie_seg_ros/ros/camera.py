# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Demo camera: publishes a webcam, a video file, a still image or a built-in photo as bgr8 Images.

For the demo and for machines without a camera driver. Publishes ``image`` (sensor_msgs/Image,
bgr8) and ``camera_info`` (sensor_msgs/CameraInfo, uncalibrated) with the same header, both
remappable, at a fixed rate and size.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass

import cv2
import numpy as np
import rclpy
from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)
from rclpy.clock import Clock, ClockType
from rclpy.exceptions import InvalidParameterTypeException, ParameterException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.logging import get_logger
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rclpy.qos_overriding_options import QoSOverridingOptions
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from selfie_seg_ros.engine.errors import ImageTooLargeError
from selfie_seg_ros.engine.limits import DEFAULT_MAX_PIXELS, read_image_file
from selfie_seg_ros.engine.processing import cover_crop
from selfie_seg_ros.ros import process
from selfie_seg_ros.ros.image_io import encode_image

NODE_NAME = 'selfie_seg_camera'
BUILTIN_PHOTOS = ('astronaut',)
MAX_SIZE = 8192

# Slow, incommensurate periods (seconds) so the motion does not visibly repeat.
_PAN_PERIOD_S = 9.0
_ZOOM_PERIOD_S = 7.0
_SWAY_PERIOD_S = 5.0


class SourceError(RuntimeError):
    """The camera source cannot be opened or read."""


def output_size(src_width: int, src_height: int, width: int, height: int) -> tuple[int, int]:
    """Size of the published frames.

    Args:
        src_width: Width of the source frames.
        src_height: Height of the source frames.
        width: Requested width; 0 derives it from ``height`` and the source aspect ratio.
        height: Requested height; 0 derives it from ``width`` and the source aspect ratio.

    Returns:
        ``(width, height)``; the source size when both requests are 0.

    Raises:
        SourceError: the size comes to more than the default pixel limit.
    """
    if width <= 0 and height <= 0:
        size = src_width, src_height
    elif width <= 0:
        size = max(1, round(src_width * height / src_height)), height
    elif height <= 0:
        size = width, max(1, round(src_height * width / src_width))
    else:
        size = width, height
    if size[0] * size[1] > DEFAULT_MAX_PIXELS:
        # A thin source with one side given derives a huge other side.
        raise SourceError(
            f'output size {size[0]}x{size[1]} from a {src_width}x{src_height} source is more '
            f'than {DEFAULT_MAX_PIXELS} pixels; set both width and height')
    return size


def fit_frame(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale ``image`` to cover ``width`` x ``height``, crop the excess; keeps the aspect ratio.

    The crop is centred horizontally and keeps the top of the picture, where heads are in portraits
    and selfies.

    Args:
        image: HxWx3 uint8 frame.
        width: Output width.
        height: Output height.

    Returns:
        A C-contiguous ``height`` x ``width`` x 3 frame (``image`` itself if it already fits).
    """
    return cover_crop(image, height, width, keep_top=True)


def motion_matrix(t: float, motion: float, width: int, height: int) -> np.ndarray:
    """Affine warp for a gentle pan, zoom and sway of a still frame at time ``t``.

    The zoom always exceeds what the pan and sway uncover, so no border enters the frame.

    Args:
        t: Seconds since the start.
        motion: Strength, 0 (still) to 1.
        width: Frame width.
        height: Frame height.

    Returns:
        A 2x3 float64 matrix for ``cv2.warpAffine``.
    """
    zoom = 1.0 + motion * (0.16 + 0.04 * math.sin(2.0 * math.pi * t / _ZOOM_PERIOD_S))
    angle = 1.5 * motion * math.sin(2.0 * math.pi * t / _SWAY_PERIOD_S)
    matrix = cv2.getRotationMatrix2D((width / 2.0, height / 2.0), angle, zoom)
    matrix[0, 2] += 0.03 * motion * width * math.sin(2.0 * math.pi * t / _PAN_PERIOD_S)
    matrix[1, 2] += 0.02 * motion * height * math.cos(2.0 * math.pi * t / _PAN_PERIOD_S)
    return matrix


def load_builtin(name: str) -> np.ndarray:
    """Load a built-in photo as BGR.

    Args:
        name: One of ``BUILTIN_PHOTOS``.

    Returns:
        The photo, HxWx3 uint8 BGR.

    Raises:
        SourceError: if scikit-image, which ships the photos, is not installed.
    """
    try:
        from skimage import data
    except ImportError:
        raise SourceError(
            f'source {name!r} is a photo shipped with scikit-image, which is not installed: '
            'pip install scikit-image (or set source to a webcam index, a video or an image file)'
        ) from None
    rgb = getattr(data, name)()
    return np.ascontiguousarray(rgb[:, :, ::-1])


class StillSource:
    """A still image, fitted to the output size once, optionally in gentle motion."""

    def __init__(self, image: np.ndarray, width: int, height: int, motion: float,
                 description: str) -> None:
        """Fit ``image`` to the output size (0 keeps the source size) for ``motion`` 0..1."""
        src_h, src_w = image.shape[:2]
        self.width, self.height = output_size(src_w, src_h, width, height)
        self.frame = fit_frame(image, self.width, self.height)
        self.motion = motion
        self.description = f'{description} ({src_w}x{src_h} still image)'

    def read(self, t: float) -> np.ndarray:
        """Return the frame at ``t`` seconds since the start."""
        if self.motion <= 0.0:
            return self.frame
        matrix = motion_matrix(t, self.motion, self.width, self.height)
        return cv2.warpAffine(self.frame, matrix, (self.width, self.height),
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)

    def close(self) -> None:
        """Nothing to release."""


class CaptureSource:
    """A webcam or a video file (looped) read with OpenCV."""

    def __init__(self, capture: cv2.VideoCapture, width: int, height: int, loop: bool,
                 description: str) -> None:
        """Wrap an opened ``capture``; frames are fitted to ``width`` x ``height`` (0: source)."""
        self._capture = capture
        self._loop = loop
        first = self._grab()
        if first is None:
            capture.release()
            raise SourceError(f'{description}: no frame could be read')
        src_h, src_w = first.shape[:2]
        self.width, self.height = output_size(src_w, src_h, width, height)
        self._pending: np.ndarray | None = first
        kind = 'video file, looped' if loop else 'webcam'
        self.description = f'{description} ({src_w}x{src_h} {kind})'
        self.motion = 0.0

    def _grab(self) -> np.ndarray | None:
        ok, frame = self._capture.read()
        if not ok and self._loop:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._capture.read()
        if not ok or frame is None:
            return None
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        return frame

    def read(self, t: float) -> np.ndarray | None:
        """Return the next frame (``t`` is unused), or None when the device delivered none."""
        frame = self._pending if self._pending is not None else self._grab()
        self._pending = None
        if frame is None:
            return None
        return fit_frame(frame, self.width, self.height)

    def close(self) -> None:
        """Release the capture device or file."""
        self._capture.release()


FrameSource = StillSource | CaptureSource


def open_source(source: str, width: int, height: int, motion: float) -> FrameSource:
    """Open a camera source.

    Args:
        source: A webcam index (``'0'``), a video or image file, a device path, or a built-in
            photo name (``'astronaut'``).
        width: Output width (0: source width, or derived from ``height``).
        height: Output height (0: source height, or derived from ``width``).
        motion: Motion strength 0..1 for still images.

    Returns:
        The opened source.

    Raises:
        SourceError: with the reason when the source cannot be opened.
    """
    if source in BUILTIN_PHOTOS:
        return StillSource(load_builtin(source), width, height, motion, f'built-in {source!r}')
    if source.isdigit():
        capture = cv2.VideoCapture(int(source))
        if width > 0 and height > 0:
            # A hint: drivers pick the nearest mode they support, fit_frame does the rest.
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        if not capture.isOpened():
            raise SourceError(f'webcam {source} cannot be opened')
        return CaptureSource(capture, width, height, loop=False, description=f'webcam {source}')
    if not os.path.exists(source):
        raise SourceError(
            f'source {source!r} is neither a built-in photo ({", ".join(BUILTIN_PHOTOS)}), '
            'a webcam index nor an existing file'
        )
    if os.path.isfile(source) and cv2.haveImageReader(source):
        try:
            image = read_image_file(source, DEFAULT_MAX_PIXELS, f'source {source!r}')
        except ImageTooLargeError as error:
            raise SourceError(str(error)) from None
        except ValueError:
            image = None  # perhaps a video whose name OpenCV also reads as an image
        if image is not None:
            return StillSource(image, width, height, motion, repr(source))
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        raise SourceError(f'{source!r} is neither a readable image nor a readable video')
    is_device = source.startswith('/dev/')
    return CaptureSource(capture, width, height, loop=not is_device, description=repr(source))


@dataclass(frozen=True)
class _Settings:
    source: str
    rate: float
    width: int
    height: int
    frame_id: str
    motion: float
    reliable: bool


def _descriptor(description: str, *, read_only: bool = False,
                float_range: tuple[float, float] | None = None,
                int_range: tuple[int, int] | None = None) -> ParameterDescriptor:
    descriptor = ParameterDescriptor(description=description, read_only=read_only)
    if float_range is not None:
        descriptor.floating_point_range = [
            FloatingPointRange(from_value=float_range[0], to_value=float_range[1], step=0.0)]
    if int_range is not None:
        descriptor.integer_range = [
            IntegerRange(from_value=int_range[0], to_value=int_range[1], step=1)]
    return descriptor


class CameraNode(Node):
    """Publishes frames of a source on ``image`` and a matching ``camera_info`` at a fixed rate."""

    def __init__(self, **kwargs: object) -> None:
        """Declare the parameters, open the source and start the wall timer.

        Raises:
            SourceError: when the source cannot be opened (the node is destroyed first).
        """
        super().__init__(NODE_NAME, **kwargs)
        settings = self._declare_parameters()
        try:
            self._source = open_source(settings.source, settings.width, settings.height,
                                       settings.motion)
        except SourceError:
            self.destroy_node()
            raise
        self._frame_id = settings.frame_id
        self._info = CameraInfo(width=self._source.width, height=self._source.height)

        qos = qos_profile_sensor_data
        if settings.reliable:
            qos = QoSProfile(depth=qos_profile_sensor_data.depth,
                             reliability=ReliabilityPolicy.RELIABLE)
        overrides = QoSOverridingOptions.with_default_policies()
        self._image_pub = self.create_publisher(Image, 'image', qos,
                                                qos_overriding_options=overrides)
        self._info_pub = self.create_publisher(CameraInfo, 'camera_info', qos,
                                               qos_overriding_options=overrides)

        self._start = time.monotonic()
        self._timer = self.create_timer(1.0 / settings.rate, self._tick,
                                        clock=Clock(clock_type=ClockType.STEADY_TIME))
        if hasattr(self, 'add_post_set_parameters_callback'):
            self.add_post_set_parameters_callback(self._apply_parameters)
        else:  # Humble: no post-set callbacks; ranges are already checked by the descriptors.
            self.add_on_set_parameters_callback(self._apply_parameters_on_set)
        reliability = 'reliable' if settings.reliable else 'best effort'
        self.get_logger().info(
            f'publishing {self._source.description} as {self._source.width}x'
            f'{self._source.height} bgr8 at {settings.rate:g} Hz on {self._image_pub.topic_name} '
            f'and {self._info_pub.topic_name} ({reliability}, frame_id {self._frame_id!r}, '
            f'motion {self._source.motion:g})'
        )

    def _declare_parameters(self) -> _Settings:
        values = self.declare_parameters('', [
            ('source', 'astronaut', _descriptor(
                "Webcam index ('0'), video file (looped), image file (looped) or built-in photo "
                f"({', '.join(BUILTIN_PHOTOS)}; needs scikit-image)", read_only=True)),
            ('rate', 30.0, _descriptor('Publishing rate in Hz', float_range=(0.1, 240.0))),
            ('width', 1280, _descriptor(
                'Output width in pixels; 0 = source width (or from height keeping the aspect)',
                read_only=True, int_range=(0, MAX_SIZE))),
            ('height', 720, _descriptor(
                'Output height in pixels; 0 = source height (or from width keeping the aspect)',
                read_only=True, int_range=(0, MAX_SIZE))),
            ('frame_id', 'camera', _descriptor('frame_id of the published headers')),
            ('motion', 0.3, _descriptor(
                'Gentle pan/zoom/sway of still images so outputs change: 0 = none, 1 = most',
                float_range=(0.0, 1.0))),
            ('reliable', False, _descriptor(
                'Reliable QoS instead of best effort (sensor data)', read_only=True)),
        ])
        by_name = {parameter.name: parameter.value for parameter in values}
        return _Settings(**by_name)

    def _apply_parameters(self, parameters: list[Parameter]) -> None:
        for parameter in parameters:
            if parameter.name == 'rate':
                self._timer.timer_period_ns = int(1e9 / parameter.value)
            elif parameter.name == 'frame_id':
                self._frame_id = parameter.value
            elif parameter.name == 'motion' and isinstance(self._source, StillSource):
                self._source.motion = parameter.value

    def _apply_parameters_on_set(self, parameters: list[Parameter]) -> SetParametersResult:
        self._apply_parameters(parameters)
        return SetParametersResult(successful=True)

    def _tick(self) -> None:
        frame = self._source.read(time.monotonic() - self._start)
        if frame is None:
            self.get_logger().warning('the source delivered no frame', throttle_duration_sec=5.0)
            return
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self._frame_id)
        image = encode_image(frame, 'bgr8', header)
        self._info.header = image.header
        self._image_pub.publish(image)
        self._info_pub.publish(self._info)

    def destroy_node(self) -> None:
        """Release the source, then destroy the node."""
        source = getattr(self, '_source', None)
        if source is not None:
            source.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    """Run the camera node until SIGINT or SIGTERM (either exits 0)."""
    node: CameraNode | None = None
    failed = False
    with process.StopSignal() as stop:
        try:
            process.init(args)
            node = CameraNode()
            executor = SingleThreadedExecutor()
            executor.add_node(node)
            process.spin_until_stopped(executor, stop)
        except (process.StopRequested, KeyboardInterrupt, ExternalShutdownException):
            pass
        except (SourceError, ParameterException) as error:
            hint = ''
            if isinstance(error, InvalidParameterTypeException):
                hint = ' (floating-point parameters need a decimal point, e.g. rate:=15.0)'
            get_logger(NODE_NAME).fatal(f'{error}{hint}')
            failed = True
        finally:
            if node is not None:
                node.destroy_node()
            rclpy.try_shutdown()
    if failed:
        sys.exit(1)

if __name__ == '__main__':
    main()
