# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Pixel limits: image sizes read from headers before any decoding, and checked against a limit.

A compressed image of a few hundred bytes can declare 30000x30000 pixels; decoding it allocates
gigabytes, and OpenCV's samplers crash on images whose rows start beyond 2**31 bytes. Every face
of the engine (files, messages, frames handed to the API) checks the declared size first, here.

Headers are read with Pillow (``Image.open`` parses only the header); pixels are then decoded with
OpenCV, which is faster.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from selfie_seg_ros.engine.compression import decode_encoded
from selfie_seg_ros.engine.errors import ImageTooLargeError

DEFAULT_MAX_PIXELS = 8192 * 8192
"""67,108,864 pixels: admits 8K UHD (7680x4320) and 8192x8192."""
MAX_PIXELS_CEILING = 1 << 28
"""The highest limit a user may set (16384x16384): every full-size buffer of the pipeline
(at most 4 bytes per pixel) then stays below OpenCV's 2**31-byte offset limit."""
MAX_BYTES_PER_PIXEL = 16
"""Uncompressed 16-bit RGBA (TIFF, PNG) takes 8 bytes a pixel: twice that bounds any file."""
FILE_SLACK_BYTES = 16 << 20
"""Room for metadata (EXIF, ICC profiles, thumbnails) in an image file."""
OPENCV_MAX_OFFSET = (1 << 31) - 1
"""OpenCV computes row offsets in 32-bit ints: rows that start beyond this crash its samplers."""

# Pillow warns (or raises) about decompression bombs by its own limit; ours is checked here.
warnings.filterwarnings('ignore', category=PILImage.DecompressionBombWarning)


def check_max_pixels(value: object) -> int:
    """Check a pixel limit option.

    Returns:
        The limit as an int.

    Raises:
        ValueError: not an integer in ``1..MAX_PIXELS_CEILING``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f'max_pixels must be an integer, got {value!r}')
    if not 1 <= value <= MAX_PIXELS_CEILING:
        raise ValueError(
            f'max_pixels must be in 1..{MAX_PIXELS_CEILING} ({_side(MAX_PIXELS_CEILING)}), '
            f'got {value}')
    return int(value)


def _side(pixels: int) -> str:
    side = int(pixels ** 0.5)
    return f'{side}x{side}' if side * side == pixels else f'{pixels} pixels'


def check_pixels(width: int, height: int, max_pixels: int, what: str = 'image') -> None:
    """Raise ImageTooLargeError when ``width * height`` exceeds ``max_pixels``."""
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f'{what} is {width}x{height} = {width * height} pixels, more than the limit of '
            f'{max_pixels} ({_side(max_pixels)}); raise max_pixels to accept it')


def check_opencv_span(shape: tuple[int, ...], itemsize: int, what: str = 'image') -> None:
    """Raise ImageTooLargeError when an array of ``shape`` would exceed OpenCV's offset range."""
    size = itemsize
    for dim in shape:
        size *= int(dim)
    if size > OPENCV_MAX_OFFSET:
        raise ImageTooLargeError(
            f'{what} of shape {tuple(shape)} spans {size} bytes, beyond the 2**31 bytes OpenCV '
            'can address; reduce it first')


def _jpeg_complete(data: bytes) -> bool:
    # Entropy-coded data escapes 0xFF, so an end-of-image marker after the last start-of-scan
    # marker means the scan data is all there.
    return data.rfind(b'\xff\xd9') > data.rfind(b'\xff\xda') > 0


_ZLIB_MAX_RATIO = 1032
"""Deflate expands at most about 1032-fold (a run of one byte): less compressed data cannot hold
the pixels a PNG declares."""
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_HUFFMAN_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7}


def _too_short(fmt: str, data: bytes, width: int, height: int) -> str:
    """Why ``data`` cannot hold the pixels its header declares ('' when it may).

    Such data is a decompression bomb or truncated: decoders fill the missing pixels in (and
    print warnings of their own), so it is refused before decoding.
    """
    if fmt == 'PNG':
        idat, index = 0, 8
        while index + 8 <= len(data):
            length = int.from_bytes(data[index:index + 4], 'big')
            if data[index + 4:index + 8] == b'IDAT':
                idat += length
            index += 12 + length
        bits = data[24] * _PNG_CHANNELS.get(data[25], 4) if len(data) > 25 else 8
        pixel_bytes = width * height * bits // 8
        if 2 * _ZLIB_MAX_RATIO * (idat + 1) < pixel_bytes:  # twice the bound: never judge close
            return f'{idat} bytes of PNG image data cannot hold {width}x{height} pixels'
    elif fmt == 'JPEG' and _jpeg_sof(data) in _HUFFMAN_SOF:
        # Huffman-coded scans spend at least one bit on every 8x8 block of the full-size
        # component (arithmetic coding, SOF9 and up, can spend less and is not judged).
        blocks = -(-width // 8) * -(-height // 8)
        scans = len(data) - data.find(b'\xff\xda')
        if scans * 8 < blocks:
            return f'{scans} bytes of JPEG scan data cannot hold {width}x{height} pixels'
    return ''


def _jpeg_sof(data: bytes) -> int:
    """The frame (SOFn) marker of a JPEG, 0 when none precedes the first scan."""
    index = 2
    while index + 4 <= len(data) and data[index] == 0xFF:
        marker = data[index + 1]
        if marker == 0xDA:
            return 0
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return marker
        index += 2 + int.from_bytes(data[index + 2:index + 4], 'big')
    return 0


def _bomb_message(what: str, error: BaseException) -> str:
    # Pillow refuses twice its own limit, far above ours; its message has the pixel count.
    found = re.search(r'\((\d+) pixels\)', str(error))
    pixels = f'{found.group(1)} pixels' if found else 'too many pixels'
    return f'{what} declares {pixels}, far beyond any pixel limit'


def _reason(error: BaseException) -> str:
    if isinstance(error, PILImage.UnidentifiedImageError):
        return 'not an image in a known format (JPEG, PNG, WebP, BMP, TIFF, ...)'
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return f'corrupt or truncated ({error or type(error).__name__})'


def header_size(data: bytes | bytearray | memoryview, what: str = 'image',
                max_pixels: int | None = None) -> tuple[str, int, int]:
    """Read format, width and height from an encoded image's header, without decoding pixels.

    With ``max_pixels`` the size is checked against it first. PNG chunk checksums are verified,
    JPEG data is checked to be complete, and PNG or JPEG data too short to hold the declared
    pixels is refused, so that the decoder is only handed data it reads without filling pixels
    in or printing errors of its own.

    Returns:
        (Pillow format name, e.g. 'JPEG' or 'PNG', width, height).

    Raises:
        ImageTooLargeError: more than ``max_pixels`` pixels declared (or beyond Pillow's own bomb
            limit, whatever ``max_pixels`` is).
        ValueError: the data is not an image Pillow can identify, or is truncated or corrupt.
    """
    stream = io.BytesIO(data)
    try:
        with PILImage.open(stream) as image:
            fmt, (width, height) = str(image.format), image.size
            if fmt == 'PNG':
                image.verify()
    except PILImage.DecompressionBombError as error:
        raise ImageTooLargeError(_bomb_message(what, error)) from None
    except Exception as error:  # Pillow raises many types for garbage: all mean unreadable
        raise ValueError(f'{what} could not be decoded: {_reason(error)}') from None
    if max_pixels is not None:
        check_pixels(width, height, max_pixels, what)
    if fmt == 'JPEG' and not _jpeg_complete(bytes(data)):
        raise ValueError(f'{what} could not be decoded: truncated JPEG (no end-of-image marker)')
    short = _too_short(fmt, bytes(data), width, height)
    if short:
        raise ValueError(f'{what} could not be decoded: {short}')
    return fmt, width, height


def decode_bytes(data: bytes | bytearray | memoryview, max_pixels: int = DEFAULT_MAX_PIXELS,
                 what: str = 'image') -> np.ndarray:
    """Decode an encoded image (JPEG, PNG, WebP, BMP, TIFF, ...) to BGR after a header check.

    Returns:
        HxWx3 uint8 BGR.

    Raises:
        ImageTooLargeError: the header declares more than ``max_pixels`` pixels.
        ValueError: not an image, truncated or corrupt.
    """
    kind, _, _ = header_size(data, what, max_pixels)
    try:
        image = decode_encoded(np.frombuffer(data, np.uint8), kind)
    except ValueError:
        image = None
    if image is None or image.size == 0:
        raise ValueError(f'{what} could not be decoded: corrupt or unsupported')
    check_pixels(image.shape[1], image.shape[0], max_pixels, what)
    return image


def image_file_size(path: Path, what: str | None = None) -> tuple[int, int]:
    """Width and height of an image file, read from its header.

    Raises:
        ValueError: the file does not exist or is not an image Pillow can identify.
    """
    what = what or f'image {path}'
    try:
        with PILImage.open(path) as image:
            return image.size
    except PILImage.DecompressionBombError as error:
        raise ImageTooLargeError(_bomb_message(what, error)) from None
    except FileNotFoundError:
        raise ValueError(f'{what} does not exist') from None
    except Exception as error:
        raise ValueError(f'{what} could not be read: {_reason(error)}') from None


def read_image_file(path: Path | str, max_pixels: int = DEFAULT_MAX_PIXELS,
                    what: str | None = None) -> np.ndarray:
    """Read an image file to BGR, refusing it before decoding when it declares too many pixels.

    Only the header is read before the size check; a file much larger than any encoding of an
    admitted image is refused without being read.

    Returns:
        HxWx3 uint8 BGR.

    Raises:
        ImageTooLargeError: the header declares more than ``max_pixels`` pixels.
        ValueError: missing, unreadable, truncated or corrupt file.
    """
    path = Path(path).expanduser()
    what = what or f'image {path}'
    if not path.is_file():
        raise ValueError(f'{what} does not exist or is not a file')
    width, height = image_file_size(path, what)
    check_pixels(width, height, max_pixels, what)
    try:
        if path.stat().st_size > MAX_BYTES_PER_PIXEL * width * height + FILE_SLACK_BYTES:
            raise ValueError(f'{what} is far larger than any {width}x{height} image')
        data = path.read_bytes()
    except OSError as error:
        raise ValueError(f'cannot read {what}: {error.strerror or error}') from None
    return decode_bytes(data, max_pixels, what)
