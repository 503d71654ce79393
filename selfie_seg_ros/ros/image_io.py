# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""``sensor_msgs/Image`` and ``CompressedImage`` to and from numpy: the only place that does it.

Decoding always yields a C-contiguous HxWx3 uint8 BGR array that owns its memory. Every message is
checked here first, so malformed input raises :class:`ImageDecodeError` and nothing else.

The conversion library is chosen once, at import: the distro's ``cv_bridge`` when it imports and
converts a probe image correctly, else ``rosbags-image``. Both are only handed what they get right:

* rows padded beyond ``width * bytes_per_pixel`` (``rosbags-image`` ignores ``step``;
  ``cv_bridge`` shears rows whose ``step`` is not a multiple of the pixel size) are converted here;
* 16-bit grey (``mono16``, ``16UC1``) is converted here, to its high byte (``value >> 8``), the
  same fixed mapping on every frame; ``cv_bridge`` refuses ``16UC1`` -> ``bgr8``, ``rosbags-image``
  too, and the two scale ``mono16`` differently;
* an encoding the library fails on (e.g. ``uyvy`` on a ``cv_bridge`` that predates the name) is
  converted here from then on.

YUV 4:2:2 names: ``yuv422`` and ``uyvy`` are U Y0 V Y1; ``yuv422_yuy2`` and ``yuyv`` are Y0 U Y1 V
(ROS 2 ``sensor_msgs/image_encodings``), converted with OpenCV's BT.601 video-range tables.
"""

from __future__ import annotations

import array as pyarray
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from selfie_seg_ros.engine.compression import (
    DEFAULT_JPEG_QUALITY,
    Codec,
    compress_image,
    decode_encoded,
)
from selfie_seg_ros.engine.errors import ImageTooLargeError
from selfie_seg_ros.engine.limits import (
    DEFAULT_MAX_PIXELS,
    check_pixels,
    header_size,
)


class ImageDecodeError(ValueError):
    """An image message cannot be decoded; the message names the problem."""


class OversizedImageError(ImageDecodeError, ImageTooLargeError):
    """An image message declares more pixels than the limit; nothing was decoded."""


class _Encoding(NamedTuple):
    bytes_per_pixel: int
    to_bgr: int | None
    """cv2.cvtColor code to BGR; None for bgr8 (copy) and 16-bit grey (high byte)."""
    sixteen_bit: bool = False
    chroma_pairs: bool = False


_ENCODINGS: dict[str, _Encoding] = {
    'bgr8': _Encoding(3, None),
    'rgb8': _Encoding(3, cv2.COLOR_RGB2BGR),
    'bgra8': _Encoding(4, cv2.COLOR_BGRA2BGR),
    'rgba8': _Encoding(4, cv2.COLOR_RGBA2BGR),
    'mono8': _Encoding(1, cv2.COLOR_GRAY2BGR),
    'mono16': _Encoding(2, None, sixteen_bit=True),
    '16UC1': _Encoding(2, None, sixteen_bit=True),
    'yuv422': _Encoding(2, cv2.COLOR_YUV2BGR_UYVY, chroma_pairs=True),
    'uyvy': _Encoding(2, cv2.COLOR_YUV2BGR_UYVY, chroma_pairs=True),
    'yuv422_yuy2': _Encoding(2, cv2.COLOR_YUV2BGR_YUYV, chroma_pairs=True),
    'yuyv': _Encoding(2, cv2.COLOR_YUV2BGR_YUYV, chroma_pairs=True),
}

SUPPORTED_ENCODINGS: tuple[str, ...] = tuple(_ENCODINGS)
_NATIVE_ALIASES = {'8UC1': 'mono8', '8UC3': 'bgr8'}
"""OpenCV type names that :func:`decode_native` reads as the encodings they stand for."""
ENCODE_CHANNELS: dict[str, int] = {'bgr8': 3, 'mono8': 1}
"""Encodings :func:`encode_image` writes, with their channel count."""

COMPRESSED_CODECS: tuple[str, ...] = ('jpeg', 'jpg', 'png', 'webp', 'tiff', 'tif', 'bmp')
_WORD = re.compile(r'[a-z0-9_]+')


@dataclass(frozen=True)
class _Checked:
    """A validated raw image: its encoding and a zero-copy HxW(xC) uint8 view of its pixels."""

    encoding: str
    fmt: _Encoding
    pixels: np.ndarray
    """Rows trimmed to ``width * bytes_per_pixel`` bytes; may be strided; aliases ``msg.data``."""
    buffer: np.ndarray
    packed: bool
    """True when ``step == width * bytes_per_pixel`` (no row padding)."""


def _as_bytes(data: Any, what: str) -> np.ndarray:
    try:
        return np.frombuffer(data, dtype=np.uint8)
    except (TypeError, ValueError, BufferError) as err:
        kind = type(data).__name__
        raise ImageDecodeError(f'{what} data is not a byte buffer ({kind})') from err


def _dimension(msg: Any, field: str) -> int:
    value = getattr(msg, field, None)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ImageDecodeError(f'image {field} must be a non-negative integer, got {value!r}')
    return int(value)


def _check_image(msg: Image, *, native: bool = False,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> _Checked:
    encoding = getattr(msg, 'encoding', None)
    if native and isinstance(encoding, str):
        encoding = _NATIVE_ALIASES.get(encoding, encoding)
    fmt = _ENCODINGS.get(encoding) if isinstance(encoding, str) else None
    if fmt is None:
        raise ImageDecodeError(
            f'unsupported encoding {encoding!r}; supported: {", ".join(SUPPORTED_ENCODINGS)}')
    width, height, step = (_dimension(msg, field) for field in ('width', 'height', 'step'))
    if width == 0 or height == 0:
        raise ImageDecodeError(f'image has zero size: width {width}, height {height}')
    try:
        check_pixels(width, height, max_pixels, f'{encoding} image')
    except ImageTooLargeError as error:
        raise OversizedImageError(str(error)) from None
    if fmt.chroma_pairs and width % 2:
        raise ImageDecodeError(
            f'{encoding} needs an even width (two pixels share one U/V pair), got width {width}')
    bigendian = getattr(msg, 'is_bigendian', 0)
    if fmt.sixteen_bit and bigendian and not native:
        raise ImageDecodeError(
            f'big-endian 16-bit data ({encoding}, is_bigendian={bigendian}) is not supported')
    row_bytes = width * fmt.bytes_per_pixel
    if step < row_bytes:
        raise ImageDecodeError(
            f'step {step} is smaller than width {width} x {fmt.bytes_per_pixel} bytes per pixel '
            f'= {row_bytes} for {encoding}')
    raw = _as_bytes(getattr(msg, 'data', None), 'image')
    if raw.size < step * height:
        raise ImageDecodeError(
            f'image data is truncated: {raw.size} bytes, expected step {step} x height {height} '
            f'= {step * height} for a {width}x{height} {encoding} image')
    # Extra bytes after step * height are allowed and ignored.
    rows = raw[:step * height].reshape(height, step)[:, :row_bytes]
    bpp = fmt.bytes_per_pixel
    pixels = rows.reshape((height, width) if bpp == 1 else (height, width, bpp))
    return _Checked(encoding, fmt, pixels, raw, step == row_bytes)


def _convert(checked: _Checked) -> np.ndarray:
    """Convert a checked image to BGR with numpy and OpenCV only; the result owns its memory."""
    fmt, pixels = checked.fmt, checked.pixels
    if fmt.sixteen_bit:
        # Little-endian samples: byte 1 of each pair is the high byte, i.e. value >> 8.
        return cv2.cvtColor(np.ascontiguousarray(pixels[:, :, 1]), cv2.COLOR_GRAY2BGR)
    if fmt.to_bgr is None:
        return np.array(pixels, dtype=np.uint8, order='C', copy=True)
    return cv2.cvtColor(pixels, fmt.to_bgr)


def _owned_bgr(result: Any, checked: _Checked) -> np.ndarray | None:
    """The library's result as an owned C-contiguous HxWx3 uint8 array; None if it is wrong."""
    if not isinstance(result, np.ndarray) or result.dtype != np.uint8:
        return None
    if result.shape != (*checked.pixels.shape[:2], 3):
        return None
    # Libraries return views of msg.data for bgr8; the caller must get memory of its own.
    if not result.flags.c_contiguous or np.may_share_memory(result, checked.buffer):
        return np.array(result, order='C', copy=True)
    return result


class _Adapter:
    """The conversion library in use, behind one interface."""

    name: str
    image_encodings: frozenset[str] = frozenset(
        {'bgr8', 'rgb8', 'bgra8', 'rgba8', 'mono8', 'yuv422', 'uyvy', 'yuv422_yuy2', 'yuyv'})
    """Encodings handed to the library when rows are unpadded; the rest are converted here."""

    def __init__(self) -> None:
        self._refused: set[str] = set()

    def library_image(self, msg: Image) -> Any:
        """Convert with the library to bgr8."""
        raise NotImplementedError

    def library_compressed(self, msg: CompressedImage) -> Any:
        """Decode with the library; returns what the library returns (may be None)."""
        raise NotImplementedError

    def decode_image(self, msg: Image, checked: _Checked) -> np.ndarray:
        """Decode a checked message, through the library where it is right, else here."""
        if (checked.packed and checked.encoding in self.image_encodings
                and checked.encoding not in self._refused):
            try:
                result = _owned_bgr(self.library_image(msg), checked)
            except Exception:
                # The input passed the checks, so the library lacks this case: convert it here.
                result = None
            if result is not None:
                return result
            self._refused.add(checked.encoding)
        return _convert(checked)


class _CvBridgeAdapter(_Adapter):
    name = 'cv_bridge'

    def __init__(self, bridge: Any) -> None:
        super().__init__()
        self._bridge = bridge

    def library_image(self, msg: Image) -> Any:
        return self._bridge.imgmsg_to_cv2(msg, desired_encoding='bgr8')

    def library_compressed(self, msg: CompressedImage) -> Any:
        return self._bridge.compressed_imgmsg_to_cv2(msg, desired_encoding='passthrough')


class _RosbagsAdapter(_Adapter):
    name = 'rosbags-image'

    def __init__(self, image: Callable[..., Any], compressed: Callable[..., Any]) -> None:
        super().__init__()
        self._image = image
        self._compressed = compressed

    def library_image(self, msg: Image) -> Any:
        return self._image(msg, 'bgr8')

    def library_compressed(self, msg: CompressedImage) -> Any:
        return self._compressed(msg)


def _probe_message() -> tuple[Image, np.ndarray]:
    msg = Image(height=1, width=2, encoding='rgb8', is_bigendian=0, step=6)
    msg.data = pyarray.array('B', [10, 20, 30, 40, 50, 60])
    return msg, np.array([[[30, 20, 10], [60, 50, 40]]], dtype=np.uint8)


def _load_cv_bridge() -> _Adapter | None:
    """The distro's cv_bridge if it imports and converts a probe correctly (PyPI's does not)."""
    try:
        from cv_bridge import CvBridge

        bridge = CvBridge()
        msg, expected = _probe_message()
        result = bridge.imgmsg_to_cv2(msg, desired_encoding='bgr8')
        if not np.array_equal(np.asarray(result), expected):
            return None
    except Exception:
        # ImportError, a numpy ABI mismatch, an error on first use: all mean no usable cv_bridge.
        return None
    return _CvBridgeAdapter(bridge)


def _load_adapter() -> _Adapter:
    adapter = _load_cv_bridge()
    if adapter is not None:
        return adapter
    from rosbags.image import compressed_image_to_cvimage, message_to_cvimage

    return _RosbagsAdapter(message_to_cvimage, compressed_image_to_cvimage)


_ADAPTER = _load_adapter()
BACKEND: str = _ADAPTER.name
"""Which library decodes images: 'cv_bridge' or 'rosbags-image'."""


def decode_image(msg: Image, *, copy: bool = True,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode a ``sensor_msgs/Image`` to BGR.

    Args:
        msg: The message; any of :data:`SUPPORTED_ENCODINGS`, rows may be padded (``step``), data
            beyond ``step * height`` is ignored.
        copy: With False, a packed ``bgr8`` message is returned as a read-only view of
            ``msg.data`` (no full-frame copy); valid as long as the message is kept unchanged.
        max_pixels: Larger images (``width * height``) are refused before any conversion.

    Returns:
        A C-contiguous HxWx3 uint8 BGR array that does not share memory with ``msg.data``
        (unless ``copy`` is False, see there). 16-bit grey becomes its high byte
        (``value >> 8``).

    Raises:
        ImageDecodeError: unsupported encoding, zero size, ``step`` too small, truncated data,
            odd width for YUV 4:2:2, big-endian 16-bit data; OversizedImageError (a subclass)
            for more than ``max_pixels`` pixels.
    """
    checked = _check_image(msg, max_pixels=max_pixels)
    if not copy and checked.packed and checked.encoding == 'bgr8':
        view = checked.pixels.view()
        view.flags.writeable = False
        return view
    return _ADAPTER.decode_image(msg, checked)


def decode_native(msg: Image, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode a ``sensor_msgs/Image`` keeping what a BGR conversion would lose (e.g. to save it).

    Checked like :func:`decode_image`. Grey stays HxW uint8 (a mask keeps its class ids), 16-bit
    grey stays HxW uint16 (either byte order), alpha is kept (HxWx4 BGRA); other colour
    encodings become HxWx3 BGR. ``8UC1`` and ``8UC3`` are read as ``mono8`` and ``bgr8``.

    Returns:
        A C-contiguous array that does not share memory with ``msg.data``.

    Raises:
        ImageDecodeError: as :func:`decode_image` (big-endian 16-bit data is accepted here).
    """
    checked = _check_image(msg, native=True, max_pixels=max_pixels)
    pixels = checked.pixels
    if checked.fmt.sixteen_bit:
        order = '>' if getattr(msg, 'is_bigendian', 0) else '<'
        samples = np.ascontiguousarray(pixels).view(f'{order}u2')[..., 0]
        return samples.astype(np.uint16)
    if checked.encoding in ('mono8', 'bgr8', 'bgra8'):
        return np.array(pixels, dtype=np.uint8, order='C', copy=True)
    if checked.encoding == 'rgba8':
        return cv2.cvtColor(pixels, cv2.COLOR_RGBA2BGRA)
    return _convert(checked)


def _compressed_codec(fmt: Any) -> str:
    """The codec named by a ``CompressedImage.format``, '' when the format is empty."""
    if not isinstance(fmt, str):
        raise ImageDecodeError(f'compressed format must be a string, got {fmt!r}')
    text = fmt.strip().lower()
    if not text:
        return ''  # Many publishers leave it empty; OpenCV identifies the data by its signature.
    if 'compresseddepth' in text:
        raise ImageDecodeError(
            f'compressed format {fmt!r} is a compressedDepth image, which is not supported')
    # 'jpeg', 'png' or image_transport's '<encoding>; <codec> compressed <encoding>'.
    for word in _WORD.findall(text):
        if word in COMPRESSED_CODECS:
            return word
    raise ImageDecodeError(
        f'unknown compressed format {fmt!r}; supported codecs: {", ".join(COMPRESSED_CODECS)}')


def decode_compressed(msg: CompressedImage, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode a ``sensor_msgs/CompressedImage`` (JPEG, PNG, ...) to BGR.

    The size is read from the header first: an image declaring more than ``max_pixels`` is
    refused without being decoded, and data the decoder would complain about on stderr
    (truncated JPEG, PNG with bad checksums) is refused before it reaches the decoder.

    Args:
        msg: The message; ``format`` may be empty, a codec name or image_transport's
            ``'<encoding>; <codec> compressed <encoding>'``.
        max_pixels: Larger images (``width * height`` in the header) are refused.

    Returns:
        A C-contiguous HxWx3 uint8 BGR array. Grey images are expanded, alpha is dropped, 16-bit
        images become their high byte.

    Raises:
        ImageDecodeError: empty or corrupt data, an unknown format or compressedDepth;
            OversizedImageError (a subclass) for more than ``max_pixels`` pixels.
    """
    codec = _compressed_codec(getattr(msg, 'format', None))
    raw = _as_bytes(getattr(msg, 'data', None), 'compressed')
    if raw.size == 0:
        raise ImageDecodeError('compressed image data is empty')
    what = f'{codec or "compressed"} data ({raw.size} bytes)'
    try:
        kind, width, height = header_size(raw.data, what, max_pixels)
    except ImageTooLargeError as error:
        raise OversizedImageError(str(error)) from None
    except ValueError as error:
        raise ImageDecodeError(str(error)) from None
    try:
        # JPEG and PNG decode here: the libraries' libjpeg and libpng print damaged frames on
        # stderr, once per frame and outside any log throttle.
        image = (decode_encoded(raw, kind) if kind in ('JPEG', 'PNG')
                 else _ADAPTER.library_compressed(msg))
    except Exception:
        # rosbags-image asserts on undecodable data; cv2 raises on some; None is checked below.
        image = None
    if not isinstance(image, np.ndarray) or image.size == 0:
        raise ImageDecodeError(f'{what} could not be decoded: corrupt, truncated or not an image')
    if image.ndim >= 2 and image.shape[0] * image.shape[1] > width * height:
        raise ImageDecodeError(f'{what} decoded to {image.shape}, more than its header declares')
    return _to_bgr8(image, what)


def _to_bgr8(image: np.ndarray, what: str) -> np.ndarray:
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ImageDecodeError(f'{what} decoded to unsupported sample type {image.dtype}')
    channels = 1 if image.ndim == 2 else image.shape[2]
    if image.ndim not in (2, 3) or channels not in (1, 3, 4):
        raise ImageDecodeError(f'{what} decoded to unsupported shape {image.shape}')
    if channels == 1:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif channels == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(image)


def _keep_array_kwargs() -> dict[str, bool]:
    """Constructor flags under which ``Image.data = array.array('B')`` keeps the array.

    Since Jazzy, messages skip field checks by default and then copy an assigned array.array;
    with ``check_fields=True`` they keep it (one full-frame copy less per output). Humble's
    messages always check, keep the array, and have no such argument.
    """
    try:
        Image(check_fields=True)
    except (AssertionError, TypeError):
        return {}
    return {'check_fields': True}


_KEEP_ARRAY = _keep_array_kwargs()


def encode_image(array: np.ndarray, encoding: str, header: Header) -> Image:
    """Build a ``sensor_msgs/Image`` from an array.

    Args:
        array: HxWx3 uint8 for ``'bgr8'``, HxW (or HxWx1) uint8 for ``'mono8'``; need not be
            contiguous.
        encoding: ``'bgr8'`` or ``'mono8'``.
        header: Put on the message as is (same object: stamp and frame_id of the input).

    Returns:
        The message, ``step = width * channels``, ``is_bigendian = 0``; its data is one copy of
        the array's bytes.

    Raises:
        ValueError: unknown encoding, or an array whose dtype or shape does not fit it.
    """
    channels = ENCODE_CHANNELS.get(encoding)
    if channels is None:
        raise ValueError(
            f'cannot encode {encoding!r}; supported: {", ".join(ENCODE_CHANNELS)}')
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8:
        raise ValueError(f'{encoding} needs a uint8 array, got {getattr(array, "dtype", array)}')
    if channels == 1 and array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    expected_ndim = 2 if channels == 1 else 3
    if array.ndim != expected_ndim or (channels == 3 and array.shape[2] != 3):
        shape = 'HxW' if channels == 1 else 'HxWx3'
        raise ValueError(f'{encoding} needs an {shape} array, got shape {array.shape}')
    height, width = array.shape[:2]
    if height == 0 or width == 0:
        raise ValueError(f'cannot encode an empty image (shape {array.shape})')
    data = pyarray.array('B')
    # One memcpy; assigning an array.array skips the per-element checks of the field setter.
    data.frombytes(np.ascontiguousarray(array))
    msg = Image(height=height, width=width, encoding=encoding, is_bigendian=0,
                step=width * channels, **_KEEP_ARRAY)
    msg.header = header
    msg.data = data
    return msg


def encode_compressed(
    array: np.ndarray, codec: Codec, header: Header, *, quality: int = DEFAULT_JPEG_QUALITY
) -> CompressedImage:
    """Build a ``sensor_msgs/CompressedImage`` as image_transport's compressed plugin would.

    Args:
        array: HxWx3 uint8 BGR (``format`` ``'bgr8; <codec> compressed bgr8'``) or HxW uint8
            grey / class ids (``'mono8; <codec> compressed '``).
        codec: ``'jpeg'`` (lossy, quality) or ``'png'`` (lossless: class ids survive).
        header: Put on the message as is (stamp and frame_id of the input).
        quality: JPEG quality 1..100.

    Returns:
        The message.

    Raises:
        ValueError: on an unsupported array, codec or quality.
    """
    fmt, data = compress_image(array, codec, quality=quality)
    msg = CompressedImage(format=fmt, **_KEEP_ARRAY)
    msg.header = header
    msg.data = pyarray.array('B', data.tobytes())
    return msg


def encode_probability(array: np.ndarray, header: Header) -> Image:
    """Build a ``32FC1`` ``sensor_msgs/Image`` from an HxW float32 array (e.g. values in [0, 1]).

    Raises:
        ValueError: on anything but a non-empty HxW float32 array.
    """
    if not isinstance(array, np.ndarray) or array.dtype != np.float32 or array.ndim != 2:
        raise ValueError(f'32FC1 needs an HxW float32 array, got {getattr(array, "shape", array)}')
    height, width = array.shape
    if height == 0 or width == 0:
        raise ValueError(f'cannot encode an empty image (shape {array.shape})')
    data = pyarray.array('B')
    data.frombytes(np.ascontiguousarray(array).view(np.uint8))
    msg = Image(height=height, width=width, encoding='32FC1',
                is_bigendian=int(sys.byteorder == 'big'), step=width * 4, **_KEEP_ARRAY)
    msg.header = header
    msg.data = data
    return msg


class ImageBuffer:
    """A reusable output image whose pixels a message can carry without a copy.

    The pixels live in an ``array.array``, which messages keep as their ``data`` (see
    :data:`_KEEP_ARRAY`); :attr:`pixels` is a numpy view to compute the next frame into, in
    place. Publishing serializes the message before it returns, so the buffer may be
    overwritten for the next frame right after ``publish``.
    """

    def __init__(self) -> None:
        """Start empty; :meth:`pixels_for` makes the buffer on first use."""
        self._data: pyarray.array | None = None
        self._pixels: np.ndarray | None = None

    def pixels_for(self, height: int, width: int, encoding: str) -> np.ndarray:
        """The HxW (mono8) or HxWx3 (bgr8) uint8 view to write, remade when the shape changes."""
        channels = ENCODE_CHANNELS.get(encoding)
        if channels is None:
            raise ValueError(
                f'cannot encode {encoding!r}; supported: {", ".join(ENCODE_CHANNELS)}')
        shape = (height, width) if channels == 1 else (height, width, channels)
        if self._pixels is None or self._pixels.shape != shape:
            # A fresh array.array: the old one may still be held by a message somebody kept.
            self._data = pyarray.array('B', bytes(height * width * channels))
            self._pixels = np.frombuffer(self._data, np.uint8).reshape(shape)
        return self._pixels

    def message(self, encoding: str, header: Header) -> Image:
        """A message carrying the buffer's current pixels (kept, not copied, where rclpy can)."""
        if self._pixels is None or self._data is None:
            raise ValueError('the buffer is empty: call pixels_for() first')
        height, width = self._pixels.shape[:2]
        channels = ENCODE_CHANNELS[encoding]
        if self._pixels.size != height * width * channels:
            raise ValueError(f'{encoding} does not fit a buffer of shape {self._pixels.shape}')
        msg = Image(height=height, width=width, encoding=encoding, is_bigendian=0,
                    step=width * channels, **_KEEP_ARRAY)
        msg.header = header
        msg.data = self._data
        return msg

    def message_of(self, array: np.ndarray, encoding: str, header: Header) -> Image:
        """A message of ``array``: computed in this buffer already (no copy) or copied into it."""
        pixels = self.pixels_for(array.shape[0], array.shape[1], encoding)
        if array.ndim == 3 and pixels.ndim == 2 and array.shape[2] == 1:
            array = array[:, :, 0]
        in_place = (array.shape == pixels.shape and array.ctypes.data == pixels.ctypes.data
                    and array.strides == pixels.strides)
        if not in_place:
            np.copyto(pixels, array)
        return self.message(encoding, header)

