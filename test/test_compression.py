# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""JPEG/PNG compression of output frames and image_transport's format strings."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from bombs import png_with_corrupt_stream
from PIL import Image as PILImage

from selfie_seg_ros.engine.compression import compress_image, compressed_format


def test_format_strings_are_image_transports():
    assert compressed_format('bgr8', 'jpeg') == 'bgr8; jpeg compressed bgr8'
    assert compressed_format('bgr8', 'png') == 'bgr8; png compressed bgr8'
    assert compressed_format('mono8', 'png') == 'mono8; png compressed '
    assert compressed_format('mono8', 'jpeg') == 'mono8; jpeg compressed '


def test_png_mask_is_lossless():
    ids = np.random.default_rng(0).integers(0, 6, (37, 53), dtype=np.uint8)
    fmt, data = compress_image(ids, 'png')
    assert fmt == 'mono8; png compressed '
    decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(decoded, ids)


def test_jpeg_quality_trades_size_for_fidelity():
    rng = np.random.default_rng(1)
    image = cv2.GaussianBlur(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8), (0, 0), 2)
    low_fmt, low = compress_image(image, 'jpeg', quality=20)
    high_fmt, high = compress_image(image, 'jpeg', quality=95)
    assert low_fmt == high_fmt == 'bgr8; jpeg compressed bgr8'
    assert low.size < high.size
    errors = [np.abs(cv2.imdecode(d, cv2.IMREAD_COLOR).astype(int) - image).mean()
              for d in (low, high)]
    assert errors[1] < errors[0] and errors[1] < 3


@pytest.mark.parametrize('args, message', [
    ((np.zeros((4, 4, 2), np.uint8), 'png'), 'HxW or HxWx3'),
    ((np.zeros((4, 4), np.float32), 'png'), 'uint8'),
    ((np.zeros((0, 4), np.uint8), 'png'), 'HxW or HxWx3'),
    ((np.zeros((4, 4), np.uint8), 'webp'), 'unknown codec'),
])
def test_bad_input_is_refused(args, message):
    with pytest.raises(ValueError, match=message):
        compress_image(*args)


@pytest.mark.parametrize('quality', [0, 101, 2.5, True])
def test_bad_quality_is_refused(quality):
    with pytest.raises(ValueError, match='JPEG quality'):
        compress_image(np.zeros((4, 4, 3), np.uint8), 'jpeg', quality=quality)


def _damaged_jpeg() -> bytes:
    """A complete 640x480 JPEG whose entropy-coded data has a zeroed run in the middle."""
    image = np.random.default_rng(3).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    data = bytearray(cv2.imencode('.jpg', image)[1].tobytes())
    data[2000:2400] = bytes(400)
    return bytes(data)


def test_damaged_jpeg_decodes_like_opencv_and_prints_nothing(capfd):
    from selfie_seg_ros.engine.compression import decode_jpeg

    data = _damaged_jpeg()
    reference = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert 'Corrupt JPEG data' in capfd.readouterr().err  # what OpenCV's libjpeg prints
    decoded = decode_jpeg(data)
    assert np.array_equal(decoded, reference)
    assert capfd.readouterr().err == ''


def test_damaged_jpeg_messages_decode_without_stderr(capfd):
    from sensor_msgs.msg import CompressedImage

    from selfie_seg_ros.cli.bag import decode_compressed as decode_recorded
    from selfie_seg_ros.ros.image_io import decode_compressed

    data = _damaged_jpeg()
    msg = CompressedImage(format='jpeg', data=data)
    assert decode_compressed(msg).shape == (480, 640, 3)
    assert decode_recorded(msg).shape == (480, 640, 3)
    assert capfd.readouterr().err == ''
    with pytest.raises(ValueError):
        from selfie_seg_ros.engine.compression import decode_jpeg

        decode_jpeg(data[:2] + bytes(len(data) - 2))


def _pngs() -> dict[str, bytes]:
    """PNGs of every colour type and bit depth a camera or a user might send."""
    rng = np.random.default_rng(5)
    colour = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    grey = colour[:, :, 0].copy()
    pngs = {
        'bgr8': cv2.imencode('.png', colour)[1].tobytes(),
        'bgra8': cv2.imencode('.png', np.dstack([colour, grey]))[1].tobytes(),
        'mono8': cv2.imencode('.png', grey)[1].tobytes(),
        'bgr16': cv2.imencode('.png', colour.astype(np.uint16) * 257 + 3)[1].tobytes(),
        'mono16': cv2.imencode('.png', grey.astype(np.uint16) * 251)[1].tobytes(),
    }

    def pillow(image: PILImage.Image, **options: object) -> bytes:
        out = io.BytesIO()
        image.save(out, format='PNG', **options)
        return out.getvalue()

    palette = PILImage.fromarray(colour[:, :, ::-1].copy()).quantize(16)
    pngs['palette'] = pillow(palette)
    pngs['palette+tRNS'] = pillow(palette, transparency=3)
    pngs['palette 4-bit'] = pillow(palette, bits=4)
    pngs['grey+alpha'] = pillow(PILImage.fromarray(np.dstack([grey, 255 - grey]), 'LA'))
    pngs['1-bit'] = pillow(PILImage.fromarray(grey > 127))
    return pngs


@pytest.mark.parametrize('kind', list(_pngs()))
def test_png_decodes_as_opencv_decodes_it(kind):
    from selfie_seg_ros.engine.compression import decode_png

    data = _pngs()[kind]
    reference = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    decoded = decode_png(data)
    assert decoded.dtype == np.uint8 and decoded.flags['C_CONTIGUOUS']
    assert np.array_equal(decoded, reference)


def test_png_with_a_corrupt_stream_is_refused_and_prints_nothing(capfd):
    from sensor_msgs.msg import CompressedImage

    from selfie_seg_ros.cli.bag import FrameError
    from selfie_seg_ros.cli.bag import decode_compressed as decode_recorded
    from selfie_seg_ros.engine.compression import decode_png
    from selfie_seg_ros.engine.limits import decode_bytes
    from selfie_seg_ros.ros.image_io import ImageDecodeError, decode_compressed

    data = png_with_corrupt_stream()
    assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is None
    assert 'libpng error' in capfd.readouterr().err  # what OpenCV's libpng prints
    with pytest.raises(ValueError, match='PNG data could not be decoded'):
        decode_png(data)
    with pytest.raises(ValueError, match='could not be decoded'):
        decode_bytes(data)
    with pytest.raises(ImageDecodeError):
        decode_compressed(CompressedImage(format='png', data=data))
    with pytest.raises(FrameError):
        decode_recorded(CompressedImage(format='png', data=data))
    assert capfd.readouterr().err == ''
