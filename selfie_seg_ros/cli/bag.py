# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""``selfie-seg bag``: the engine on image topics of a recorded rosbag2, without ROS.

Reads mcap and sqlite3 bags with ``rosbags`` and writes a new bag next to them: every original
topic plus mask / overlay / processed-image topics stamped like their input frames, or, when
anonymising, the same bag with those topics' images replaced by their anonymised versions.

The output is written into a hidden ``.<name>.partial-<pid>`` directory and renamed to its final
name only once the bag is complete: an interrupted or crashed run never leaves a bag under the
requested name. ``rosbags`` is imported lazily so that importing the CLI loads no ROS library.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from selfie_seg_ros.engine.compositor import Compositor
from selfie_seg_ros.engine.compression import DEFAULT_JPEG_QUALITY, compress_image, decode_encoded
from selfie_seg_ros.engine.effects import (
    ANONYMISING_EFFECTS,
    EffectOptions,
    Scratch,
    apply_background_effect,
    colorize,
    make_palette,
    overlay,
)
from selfie_seg_ros.engine.limits import DEFAULT_MAX_PIXELS, check_pixels, header_size

if TYPE_CHECKING:
    from selfie_seg_ros.engine.segmenter import Segmenter

IMAGE_TYPE = 'sensor_msgs/msg/Image'
COMPRESSED_TYPE = 'sensor_msgs/msg/CompressedImage'
BAG_OUTPUTS: tuple[str, ...] = (
    'mask', 'instances', 'mask_color', 'overlay', 'blurred', 'confidence')
"""Topics written next to the original ones: the node's output names. ``instances`` is written
by multi-person models only (pose_segmentation), as the node publishes ``~/instances``."""
DEFAULT_BAG_OUTPUTS: tuple[str, ...] = ('mask', 'instances', 'overlay', 'blurred')
LOSSLESS_OUTPUTS = frozenset({'mask', 'instances'})
"""Pictures of ids: PNG when compressed (the others JPEG)."""
STORAGES: tuple[str, ...] = ('mcap', 'sqlite3')
BAG_VERSION = 8
"""rosbag2 metadata version written (Iron and newer write 8 or 9)."""

_RAW_ENCODINGS: dict[str, tuple[int, int | None]] = {
    'bgr8': (3, None),
    'rgb8': (3, cv2.COLOR_RGB2BGR),
    'bgra8': (4, cv2.COLOR_BGRA2BGR),
    'rgba8': (4, cv2.COLOR_RGBA2BGR),
    'mono8': (1, cv2.COLOR_GRAY2BGR),
}


class BagError(ValueError):
    """The bag job cannot run (bad paths, topic, option); the message says what to do."""


class FrameError(ValueError):
    """One recorded image cannot be decoded; the frame is skipped."""


@dataclass(frozen=True)
class BagJob:
    """What to do with a bag.

    Attributes:
        source: rosbag2 directory (or a single .mcap / .db3 file) to read; never modified.
        target: Directory of the new bag; must not exist.
        topics: Image topics to segment (sensor_msgs/Image or CompressedImage); exactly one
            unless anonymising.
        anonymise: Replace those topics' images by the effect's output instead of adding
            topics.
        outputs: Topics to add (``BAG_OUTPUTS``), as ``<prefix>/<name>``; unused when anonymising.
            ``instances`` is skipped for models without person instances.
        prefix: Namespace of the added topics.
        storage: 'mcap', 'sqlite3', or None for the source bag's own storage.
        jpeg_quality: JPEG quality of re-encoded compressed images.
        overlay_alpha: Opacity of the class colours in the overlay.
        compressed_outputs: Write the added picture topics as ``<prefix>/<name>/compressed``
            (``sensor_msgs/CompressedImage``: PNG for mask and instances, JPEG for the rest;
            confidence stays a 32FC1 Image): a fraction of the disk space and write time.
    """

    source: Path
    target: Path
    topics: tuple[str, ...]
    anonymise: bool = False
    outputs: tuple[str, ...] = DEFAULT_BAG_OUTPUTS
    prefix: str = '/selfie_seg'
    storage: str | None = None
    jpeg_quality: int = DEFAULT_JPEG_QUALITY
    overlay_alpha: float = 0.5
    compressed_outputs: bool = False


@dataclass
class BagReport:
    """What a run did, and how fast."""

    target: Path
    messages: int = 0
    frames: int = 0
    skipped: list[str] = field(default_factory=list)
    recording_s: float = 0.0
    elapsed_s: float = 0.0
    inference_ms: float = 0.0

    @property
    def speed(self) -> float:
        """Seconds of recording processed per second of wall time (> 1: faster than real time)."""
        return self.recording_s / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def summary(self) -> str:
        """One line for the terminal."""
        per_frame = self.inference_ms / self.frames if self.frames else 0.0
        fps = self.frames / self.elapsed_s if self.elapsed_s > 0 else 0.0
        text = (f'{self.frames} frames ({self.messages} messages) of a {self.recording_s:.1f} s '
                f'recording in {self.elapsed_s:.1f} s: {self.speed:.2f}x real time, '
                f'{fps:.1f} fps, inference {per_frame:.1f} ms per frame')
        if self.skipped:
            text += f'; {len(self.skipped)} undecodable frames skipped (first: {self.skipped[0]})'
        return text


def source_storage(source: Path) -> str:
    """'mcap' or 'sqlite3': how the source bag stores its messages."""
    if source.is_file():
        return 'mcap' if source.suffix == '.mcap' else 'sqlite3'
    return 'mcap' if any(source.glob('*.mcap')) else 'sqlite3'


def check_paths(source: Path, target: Path) -> None:
    """Refuse a missing source, an existing target, or a target inside the source.

    Raises:
        BagError: naming the problem.
    """
    if not source.exists():
        raise BagError(f'input bag not found: {source}')
    if target.exists():
        raise BagError(f'output {target} exists already; choose a new name (nothing is '
                       'overwritten)')
    resolved_source, resolved_target = source.resolve(), target.resolve()
    if resolved_target == resolved_source or resolved_source in resolved_target.parents:
        raise BagError(f'output {target} must not be inside the input bag {source}')


# -- decoding ---------------------------------------------------------------------------------


def _dimension(msg: Any, name: str) -> int:
    value = getattr(msg, name, None)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise FrameError(f'{name} must be a non-negative integer, got {value!r}')
    return int(value)


def decode_raw(msg: Any, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode a recorded ``sensor_msgs/Image`` to an owned HxWx3 uint8 BGR array.

    bgr8, rgb8, bgra8, rgba8 and mono8 are decoded here (padded rows allowed); other encodings
    go through ``rosbags-image``, which needs unpadded rows.

    Raises:
        FrameError: zero size, more than ``max_pixels`` pixels, ``step`` too small, truncated
            data, unsupported encoding.
    """
    width, height, step = (_dimension(msg, name) for name in ('width', 'height', 'step'))
    if width == 0 or height == 0:
        raise FrameError(f'image has zero size {width}x{height}')
    try:
        check_pixels(width, height, max_pixels)
    except ValueError as error:
        raise FrameError(str(error)) from None
    data = np.asarray(msg.data, dtype=np.uint8).reshape(-1)
    if data.size < step * height:
        raise FrameError(f'image data is truncated: {data.size} bytes < step {step} x height '
                         f'{height}')
    known = _RAW_ENCODINGS.get(msg.encoding)
    if known is None:
        from rosbags.image import message_to_cvimage

        try:
            image = message_to_cvimage(msg, 'bgr8')
        except Exception as error:  # the library's own error types and numpy's
            raise FrameError(f'cannot convert encoding {msg.encoding!r}: {error}') from error
        return np.array(image, dtype=np.uint8, order='C', copy=True)
    channels, conversion = known
    if step < width * channels:
        raise FrameError(f'step {step} < width {width} x {channels} bytes for {msg.encoding}')
    rows = data[:step * height].reshape(height, step)[:, :width * channels]
    pixels = rows.reshape((height, width) if channels == 1 else (height, width, channels))
    if conversion is None:
        return np.array(pixels, order='C', copy=True)
    return cv2.cvtColor(np.ascontiguousarray(pixels), conversion)


def decode_compressed(msg: Any, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode a recorded ``sensor_msgs/CompressedImage`` to HxWx3 uint8 BGR.

    The size is read from the header first: larger than ``max_pixels`` is refused undecoded.

    Raises:
        FrameError: empty, corrupt, too large or compressedDepth data.
    """
    if 'compresseddepth' in str(msg.format).lower():
        raise FrameError(f'compressedDepth images ({msg.format!r}) are not supported')
    data = np.asarray(msg.data, dtype=np.uint8).reshape(-1)
    if data.size == 0:
        raise FrameError('compressed image data is empty')
    try:
        kind, _, _ = header_size(data.data, f'compressed data ({data.size} bytes)', max_pixels)
    except ValueError as error:
        raise FrameError(str(error)) from None
    try:
        image = decode_encoded(data, kind)
    except ValueError:
        image = None
    if image is None or image.size == 0:
        raise FrameError(f'compressed data ({data.size} bytes) could not be decoded')
    return image


# -- messages ---------------------------------------------------------------------------------


class _Messages:
    """Builds and serialises the output messages with a rosbags typestore."""

    def __init__(self, typestore: Any) -> None:
        self.typestore = typestore
        self._image = typestore.types[IMAGE_TYPE]
        self._compressed = typestore.types[COMPRESSED_TYPE]
        self._header = typestore.types['std_msgs/msg/Header']
        self._time = typestore.types['builtin_interfaces/msg/Time']

    def header(self, recorded: Any) -> Any:
        """A copy of a recorded header: same stamp and frame_id."""
        stamp = self._time(sec=int(recorded.stamp.sec), nanosec=int(recorded.stamp.nanosec))
        return self._header(stamp=stamp, frame_id=str(recorded.frame_id))

    def image(self, array: np.ndarray, encoding: str, header: Any) -> bytes:
        """A serialised ``sensor_msgs/Image`` (bgr8, mono8 or 32FC1)."""
        height, width = array.shape[:2]
        data = np.ascontiguousarray(array).view(np.uint8).reshape(-1)
        msg = self._image(header=header, height=height, width=width, encoding=encoding,
                          is_bigendian=int(sys.byteorder == 'big'), step=data.size // height,
                          data=data)
        return bytes(self.typestore.serialize_cdr(msg, IMAGE_TYPE))

    def compressed(self, array: np.ndarray, codec: str, quality: int, header: Any) -> bytes:
        """A serialised ``sensor_msgs/CompressedImage`` in image_transport's format."""
        fmt, data = compress_image(array, codec, quality=quality)  # type: ignore[arg-type]
        msg = self._compressed(header=header, format=fmt, data=data)
        return bytes(self.typestore.serialize_cdr(msg, COMPRESSED_TYPE))


# -- the run ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _staging(target: Path) -> Iterator[Path]:
    """A hidden directory next to ``target``, renamed to it on success, removed otherwise."""
    staging = target.parent / f'.{target.name}.partial-{os.getpid()}'
    shutil.rmtree(staging, ignore_errors=True)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if target.exists():
        shutil.rmtree(staging, ignore_errors=True)
        raise BagError(f'output {target} appeared while writing; the result was discarded')
    staging.rename(target)


def _copy_connection(writer: Any, connection: Any, typestore: Any) -> Any:
    ext = connection.ext
    msgdef, digest = connection.msgdef.data, connection.digest
    if not msgdef or not digest:
        msgdef, digest = None, None  # an old bag without definitions: the typestore has them
    return writer.add_connection(
        connection.topic, connection.msgtype, typestore=typestore, msgdef=msgdef, rihs01=digest,
        serialization_format=getattr(ext, 'serialization_format', 'cdr'),
        offered_qos_profiles=getattr(ext, 'offered_qos_profiles', ()),
    )


def run_bag_job(
    job: BagJob,
    segmenter: Segmenter,
    effects: EffectOptions,
    *,
    progress: bool = True,
    on_frame: Callable[[int], None] | None = None,
) -> BagReport:
    """Segment image topics of a bag and write the new bag.

    Args:
        job: Paths, topic and what to write.
        segmenter: The engine; used for every frame, in recording order.
        effects: The effect for the processed image (an anonymising one when anonymising).
        progress: Show a progress bar on stderr.
        on_frame: Called with the frame count after each processed frame (tests use it to
            interrupt a run).

    Returns:
        The report; the new bag is at ``job.target``.

    Raises:
        BagError: bad paths, a topic that is not in the bag or is not an image topic, an
            effect that does not anonymise while anonymising, several topics when adding
            topics or with temporal smoothing.
    """
    from rosbags.highlevel import AnyReader
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore
    from tqdm import tqdm

    check_paths(job.source, job.target)
    if job.anonymise and effects.effect not in ANONYMISING_EFFECTS:
        raise BagError(f'anonymising needs effect {" or ".join(ANONYMISING_EFFECTS)}, '
                       f'not {effects.effect!r}')
    if not job.topics or (len(job.topics) > 1 and not job.anonymise):
        raise BagError('adding topics works on exactly one --topic; --anonymise takes several')
    if len(job.topics) > 1 and segmenter.options.smoothing > 0:
        raise BagError('temporal smoothing would mix frames of different topics: use '
                       '--smoothing 0 with several --topic')
    unknown = sorted(set(job.outputs) - set(BAG_OUTPUTS))
    if unknown:
        raise BagError(f'unknown outputs {unknown}; choose from {", ".join(BAG_OUTPUTS)}')
    latest = get_typestore(Stores.LATEST)
    messages = _Messages(latest)
    palette = make_palette(segmenter.labels)
    storage = job.storage or source_storage(job.source)
    plugin = StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3
    report = BagReport(target=job.target)
    started = time.perf_counter()
    with AnyReader([job.source], default_typestore=latest) as reader:
        image_connections = [c for c in reader.connections if c.topic in job.topics]
        for topic in job.topics:
            types = {c.msgtype for c in image_connections if c.topic == topic}
            if not types:
                topics = ', '.join(sorted({c.topic for c in reader.connections})) or 'none'
                raise BagError(f'topic {topic} is not in {job.source} (topics: {topics})')
            if not types <= {IMAGE_TYPE, COMPRESSED_TYPE}:
                raise BagError(f'topic {topic} carries {", ".join(sorted(types))}, not '
                               f'{IMAGE_TYPE} or {COMPRESSED_TYPE}')
        frame_total = sum(c.msgcount for c in image_connections)
        report.recording_s = reader.duration / 1e9 if reader.message_count > 1 else 0.0
        with _staging(job.target) as staging, Writer(
                staging, version=BAG_VERSION, storage_plugin=plugin) as writer:
            copies: dict[int, Any] = {}
            for connection in reader.connections:
                key = (connection.topic, connection.msgtype)
                match = next((w for w in writer.connections
                              if (w.topic, w.msgtype) == key), None)
                copies[connection.id] = match or _copy_connection(
                    writer, connection, reader.typestore)
            added: dict[str, Any] = {}
            if not job.anonymise:
                for name in job.outputs:
                    if name == 'instances' and not segmenter.gives_instances:
                        continue
                    topic, msgtype = f'{job.prefix.rstrip("/")}/{name}', IMAGE_TYPE
                    if job.compressed_outputs and name != 'confidence':
                        topic, msgtype = f'{topic}/compressed', COMPRESSED_TYPE
                    added[name] = writer.add_connection(topic, msgtype, typestore=latest)
            bar = tqdm(total=frame_total, unit='frame', disable=not progress)
            # Effect buffers reused from frame to frame; blends in one OpenVINO pass.
            scratch = Scratch(compositor=Compositor(segmenter.core))
            try:
                for connection, timestamp, raw in reader.messages():
                    report.messages += 1
                    target = copies[connection.id]
                    if connection.topic not in job.topics:
                        writer.write(target, timestamp, raw)
                        continue
                    msg = reader.deserialize(raw, connection.msgtype)
                    compressed = connection.msgtype == COMPRESSED_TYPE
                    if not job.anonymise:
                        writer.write(target, timestamp, raw)
                    try:
                        limit = segmenter.options.max_pixels
                        image = (decode_compressed(msg, limit) if compressed
                                 else decode_raw(msg, limit))
                    except FrameError as error:
                        # Anonymising drops the frame: it must never pass through unchanged.
                        report.skipped.append(f'{timestamp} ns: {error}')
                        bar.update(1)
                        continue
                    header = messages.header(msg.header)
                    wants_soft = job.anonymise or bool({'blurred', 'confidence'} & added.keys())
                    # One topic is one stream: recurrent models get the previous frame's mask.
                    # Several topics share the segmenter: each frame then stands alone.
                    result = segmenter.segment(
                        image, foreground=wants_soft,
                        timestamp=timestamp / 1e9 if len(job.topics) == 1 else None)
                    report.inference_ms += result.inference_ms
                    if job.anonymise:
                        hidden = apply_background_effect(
                            image, result.foreground, effects, scratch=scratch)
                        if compressed:
                            codec = 'png' if 'png' in str(msg.format).lower() else 'jpeg'
                            data = messages.compressed(hidden, codec, job.jpeg_quality, header)
                        else:
                            data = messages.image(hidden, 'bgr8', header)
                        writer.write(target, timestamp, data)
                    else:
                        for name, array, encoding in _outputs(added, image, result, palette,
                                                              effects, job.overlay_alpha, scratch):
                            if added[name].msgtype == COMPRESSED_TYPE:
                                codec = 'png' if name in LOSSLESS_OUTPUTS else 'jpeg'
                                data = messages.compressed(array, codec, job.jpeg_quality, header)
                            else:
                                data = messages.image(array, encoding, header)
                            writer.write(added[name], timestamp, data)
                    report.frames += 1
                    bar.update(1)
                    if on_frame is not None:
                        on_frame(report.frames)
            finally:
                bar.close()
    report.elapsed_s = time.perf_counter() - started
    return report


def _outputs(
    wanted: dict[str, Any],
    image: np.ndarray,
    result: Any,
    palette: np.ndarray,
    effects: EffectOptions,
    alpha: float,
    scratch: Scratch,
) -> Iterator[tuple[str, np.ndarray, str]]:
    """(name, array, encoding) of each wanted output, computed only when wanted."""
    colored = (colorize(result.mask, palette, scratch=scratch)
               if {'mask_color', 'overlay'} & wanted.keys() else None)
    if 'mask' in wanted:
        yield 'mask', result.mask, 'mono8'
    if 'instances' in wanted and result.instances is not None:
        yield 'instances', result.instances, 'mono8'
    if 'mask_color' in wanted:
        yield 'mask_color', colored, 'bgr8'
    if 'overlay' in wanted:
        yield 'overlay', overlay(image, result.mask, palette, alpha, colored=colored,
                                 scratch=scratch), 'bgr8'
    if 'blurred' in wanted:
        yield 'blurred', apply_background_effect(
            image, result.foreground, effects, scratch=scratch), 'bgr8'
    if 'confidence' in wanted:
        yield 'confidence', result.foreground, '32FC1'
