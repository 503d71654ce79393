# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Decompression bombs for tests: tiny encoded images whose headers declare huge sizes."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack('>I', len(payload)) + kind + payload + struct.pack('>I', crc)


def png_bomb(width: int, height: int, rows: int = 4) -> bytes:
    """A valid-looking RGB PNG declaring ``width`` x ``height``: zero bytes for at most ``rows``
    rows (and 64 KiB), deflated; the checksums are right, only the pixel data runs short."""
    header = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b'\x00' * min(rows * (1 + 3 * width), 1 << 16), 9)
    return (b'\x89PNG\r\n\x1a\n' + _png_chunk(b'IHDR', header) + _png_chunk(b'IDAT', body)
            + _png_chunk(b'IEND', b''))


def png_with_corrupt_stream() -> bytes:
    """A 64x48 PNG whose deflate stream is damaged under correct chunk checksums, so that only
    the decoder can tell (libpng prints 'IDAT: incorrect data check')."""
    image = np.random.default_rng(9).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    data = bytearray(cv2.imencode('.png', image)[1].tobytes())
    start = data.index(b'IDAT')
    length = struct.unpack('>I', data[start - 4:start])[0]
    data[start + 4 + length - 2] ^= 0x55  # inside the stream's Adler-32
    crc = zlib.crc32(bytes(data[start:start + 4 + length])) & 0xFFFFFFFF
    data[start + 4 + length:start + 8 + length] = struct.pack('>I', crc)
    return bytes(data)


def jpeg_bomb(width: int, height: int) -> bytes:
    """An 8x8 baseline JPEG whose frame header (SOF0) is rewritten to ``width`` x ``height``.

    The scan data ends properly (EOI), so only the declared size is a lie: a decoder that trusts
    it fills the missing blocks in and allocates the whole image.
    """
    if not (0 < width < 1 << 16 and 0 < height < 1 << 16):
        raise ValueError('JPEG sizes are 16-bit')
    data = bytearray(cv2.imencode('.jpg', np.full((8, 8, 3), 128, np.uint8))[1].tobytes())
    index = 2
    while index < len(data):
        marker = data[index + 1]
        length = struct.unpack('>H', data[index + 2:index + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            struct.pack_into('>HH', data, index + 5, height, width)
            return bytes(data)
        index += 2 + length
    raise AssertionError('no SOF marker in the encoded JPEG')
