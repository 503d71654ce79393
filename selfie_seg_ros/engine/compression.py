# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""JPEG/PNG compression of output frames, labelled the way image_transport's plugin labels them.

``compressed_image_transport`` writes ``CompressedImage.format`` as
``'<encoding>; <codec> compressed <target>'`` where ``<target>`` is ``bgr8`` (or ``bgr16``) for
colour images and empty for grey ones: ``'bgr8; jpeg compressed bgr8'``,
``'mono8; png compressed '`` (with the trailing space). Its subscriber, rqt_image_view, rviz2
and Foxglove read that string, so the same one is written here. Decoding is silent: no
library's own error lines on stderr, whatever the data. No ROS.
"""

from __future__ import annotations

import io
import warnings
from typing import Literal, get_args

import cv2
import numpy as np
import simplejpeg
from PIL import Image as PILImage

Codec = Literal['jpeg', 'png']
CODECS: tuple[str, ...] = get_args(Codec)
DEFAULT_JPEG_QUALITY = 90
MIN_JPEG_QUALITY = 1
MAX_JPEG_QUALITY = 100
PNG_LEVEL = 1
"""zlib level for PNG: masks are mostly flat, so level 1 is already small and costs least CPU."""
# Row filters cost more CPU than zlib itself on flat class-id masks and barely shrink them
# (720p mask: 1.2 ms without, 6 ms with the default adaptive filters). Older OpenCV has no flag.
_PNG_NO_FILTER = ([cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE]
                  if hasattr(cv2, 'IMWRITE_PNG_FILTER') else [])

_CHANNELS_ENCODING = {1: 'mono8', 3: 'bgr8'}


def compressed_format(encoding: str, codec: Codec) -> str:
    """The ``CompressedImage.format`` image_transport writes for an image of ``encoding``.

    Args:
        encoding: ``'bgr8'`` or ``'mono8'``.
        codec: ``'jpeg'`` or ``'png'``.

    Returns:
        E.g. ``'bgr8; jpeg compressed bgr8'`` or ``'mono8; png compressed '``.

    Raises:
        ValueError: on an unsupported encoding or codec.
    """
    if encoding not in _CHANNELS_ENCODING.values():
        raise ValueError(f'cannot compress {encoding!r}; supported: bgr8, mono8')
    if codec not in CODECS:
        raise ValueError(f'unknown codec {codec!r}; supported: {", ".join(CODECS)}')
    target = 'bgr8' if encoding == 'bgr8' else ''
    return f'{encoding}; {codec} compressed {target}'


def check_jpeg_quality(quality: int) -> None:
    """Raise ValueError unless ``quality`` is an int in 1..100."""
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)):
        raise ValueError(f'JPEG quality must be an int, got {type(quality).__name__}')
    if not MIN_JPEG_QUALITY <= quality <= MAX_JPEG_QUALITY:
        raise ValueError(
            f'JPEG quality must be in [{MIN_JPEG_QUALITY}, {MAX_JPEG_QUALITY}], got {quality}')


def compress_image(
    array: np.ndarray, codec: Codec, *, quality: int = DEFAULT_JPEG_QUALITY
) -> tuple[str, np.ndarray]:
    """Compress a bgr8 or mono8 frame.

    Args:
        array: HxWx3 (bgr8) or HxW / HxWx1 (mono8) uint8 array.
        codec: ``'jpeg'`` (lossy, for pictures) or ``'png'`` (lossless, for class ids).
        quality: JPEG quality 1..100 (ignored for PNG).

    Returns:
        The image_transport format string and the compressed bytes (1-D uint8 array).

    Raises:
        ValueError: on an unsupported array, codec or quality, or when OpenCV fails.
    """
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8:
        raise ValueError(f'can only compress uint8 arrays, got {getattr(array, "dtype", array)}')
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    channels = 1 if array.ndim == 2 else array.shape[2] if array.ndim == 3 else 0
    encoding = _CHANNELS_ENCODING.get(channels)
    if encoding is None or 0 in array.shape[:2]:
        raise ValueError(f'can only compress HxW or HxWx3 images, got shape {array.shape}')
    fmt = compressed_format(encoding, codec)
    if codec == 'jpeg':
        check_jpeg_quality(quality)
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    else:
        params = [cv2.IMWRITE_PNG_COMPRESSION, PNG_LEVEL, *_PNG_NO_FILTER]
    ok, data = cv2.imencode('.jpg' if codec == 'jpeg' else '.png', array, params)
    if not ok:
        raise ValueError(f'OpenCV could not {codec}-encode a {array.shape} image')
    return fmt, data.reshape(-1)


def decode_jpeg(data: bytes | bytearray | memoryview | np.ndarray) -> np.ndarray:
    """Decode JPEG data to HxWx3 uint8 BGR, silently.

    ``cv2.imdecode`` lets libjpeg print one "Corrupt JPEG data ..." line on stderr per damaged
    frame, outside any log throttle; simplejpeg (the same libjpeg-turbo, as fast) keeps its
    warnings to itself. Damaged data decodes as far as it goes, as OpenCV does (some MJPEG
    cameras send such frames all the time).

    Raises:
        ValueError: data that cannot be decoded at all.
    """
    buffer = data.tobytes() if isinstance(data, np.ndarray) else bytes(data)
    return simplejpeg.decode_jpeg(buffer, colorspace='BGR', strict=False)


def decode_png(data: bytes | bytearray | memoryview | np.ndarray) -> np.ndarray:
    """Decode PNG data to HxWx3 uint8 BGR, silently, with ``cv2.imdecode(..., IMREAD_COLOR)``'s
    result: grey is expanded, alpha dropped, palettes applied, 16-bit samples keep their high
    byte.

    ``cv2.imdecode`` lets libpng print one "libpng error: ..." line on stderr per damaged frame
    (a corrupt zlib stream under valid chunk checksums), outside any log throttle; Pillow
    reports the damage as an exception only.

    Raises:
        ValueError: data that is not a complete, intact PNG.
    """
    buffer = data.tobytes() if isinstance(data, np.ndarray) else bytes(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # bomb and palette-transparency notes: not errors
            with PILImage.open(io.BytesIO(buffer), formats=['PNG']) as image:
                image.load()
                return _png_to_bgr8(image)
    except Exception as error:  # Pillow raises many types for damaged data: all mean unreadable
        reason = error or type(error).__name__
        raise ValueError(f'PNG data could not be decoded: {reason}') from None


def _png_to_bgr8(image: PILImage.Image) -> np.ndarray:
    mode = image.mode
    if mode == '1':
        image, mode = image.convert('L'), 'L'
    elif mode in ('P', 'PA'):
        image, mode = image.convert('RGBA'), 'RGBA'
    pixels = np.asarray(image)
    if mode.startswith('I'):  # 16-bit grey ('I;16', 'I;16B' or 'I' in older Pillow)
        return cv2.cvtColor((pixels.astype(np.uint32) >> 8).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    if mode == 'L':
        return cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR)
    if mode == 'LA':
        return cv2.cvtColor(np.ascontiguousarray(pixels[:, :, 0]), cv2.COLOR_GRAY2BGR)
    if mode == 'RGB':
        return cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    if mode == 'RGBA':
        return cv2.cvtColor(pixels, cv2.COLOR_RGBA2BGR)
    raise ValueError(f'PNG data decoded to unsupported mode {mode}')


def decode_encoded(data: bytes | bytearray | memoryview | np.ndarray,
                   kind: str) -> np.ndarray | None:
    """Decode encoded image data of a known kind (Pillow's format name) to BGR, silently where
    the kind is one a camera streams: JPEG and PNG.

    Returns:
        HxWx3 uint8 BGR; None where OpenCV could not decode another kind.

    Raises:
        ValueError: JPEG or PNG data that cannot be decoded.
    """
    if kind == 'JPEG':
        return decode_jpeg(data)
    if kind == 'PNG':
        return decode_png(data)
    array = data if isinstance(data, np.ndarray) else np.frombuffer(data, np.uint8)
    return cv2.imdecode(array, cv2.IMREAD_COLOR)
