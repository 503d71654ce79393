# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Pixel limits: sizes from headers before decoding, bombs refused cheaply, OpenCV's range guarded.

Bombs are generated here (test/bombs.py): a 629-byte JPEG and a 429-byte PNG declaring
30000x30000 pixels, which OpenCV alone would decode into 2.7 GB.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
from bombs import jpeg_bomb, png_bomb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selfie_seg_ros.engine.errors import ImageTooLargeError, SegmentationError
from selfie_seg_ros.engine.limits import (
    DEFAULT_MAX_PIXELS,
    MAX_PIXELS_CEILING,
    check_max_pixels,
    check_opencv_span,
    decode_bytes,
    header_size,
    read_image_file,
)
from selfie_seg_ros.engine.processing import resize_to_model, restore_size

TEST_DIR = Path(__file__).resolve().parent


def _image(height: int = 40, width: int = 60) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    return np.stack([xx * 4 % 256, yy * 5 % 256, (xx + yy) % 256], axis=2).astype(np.uint8)


@pytest.mark.parametrize('ext,fmt', [('.jpg', 'JPEG'), ('.png', 'PNG'), ('.webp', 'WEBP'),
                                     ('.bmp', 'BMP'), ('.tiff', 'TIFF')])
def test_header_size_reads_every_supported_format(ext, fmt):
    data = cv2.imencode(ext, _image(40, 60))[1].tobytes()
    assert header_size(data) == (fmt, 60, 40)
    assert decode_bytes(data).shape == (40, 60, 3)


def test_default_limit_admits_8k_and_refuses_more():
    assert DEFAULT_MAX_PIXELS >= 7680 * 4320
    assert DEFAULT_MAX_PIXELS >= 8192 * 8192
    with pytest.raises(ImageTooLargeError, match='8193x8192') as refused:
        decode_bytes(jpeg_bomb(8193, 8192))
    # One of the engine's errors for callers that catch those, a ValueError for the rest.
    assert isinstance(refused.value, SegmentationError) and isinstance(refused.value, ValueError)


@pytest.mark.parametrize('bomb', [jpeg_bomb(30000, 30000), png_bomb(30000, 30000),
                                  png_bomb(1 << 20, 1 << 20)], ids=['jpeg', 'png', 'png-2^40'])
def test_bombs_are_refused_from_their_header(bomb):
    assert len(bomb) < 1000
    with pytest.raises(ImageTooLargeError, match='pixels'):
        decode_bytes(bomb)


def test_a_lower_limit_refuses_what_the_default_admits():
    data = cv2.imencode('.png', _image(40, 60))[1].tobytes()
    with pytest.raises(ImageTooLargeError, match='60x40 = 2400 pixels, more than the limit of '
                       '2399'):
        decode_bytes(data, max_pixels=2399)
    assert decode_bytes(data, max_pixels=2400).shape == (40, 60, 3)


def test_truncated_and_corrupt_data_never_reach_the_decoder():
    jpeg = cv2.imencode('.jpg', _image())[1].tobytes()
    png = bytearray(cv2.imencode('.png', _image())[1].tobytes())
    with pytest.raises(ValueError, match='truncated JPEG'):
        header_size(jpeg[:-20])
    png[60] ^= 0xFF  # inside IDAT: the chunk checksum no longer matches
    with pytest.raises(ValueError, match='could not be decoded'):
        header_size(bytes(png))
    with pytest.raises(ValueError, match='not an image in a known format'):
        header_size(b'<html>captive portal</html>')
    with pytest.raises(ValueError, match='could not be decoded'):
        header_size(b'')


def test_check_max_pixels_bounds():
    assert check_max_pixels(DEFAULT_MAX_PIXELS) == DEFAULT_MAX_PIXELS
    for bad in (0, -1, MAX_PIXELS_CEILING + 1, 2.5, True, '100'):
        with pytest.raises(ValueError, match='max_pixels'):
            check_max_pixels(bad)


def test_read_image_file(tmp_path):
    good = tmp_path / 'good.png'
    good.write_bytes(cv2.imencode('.png', _image())[1].tobytes())
    assert read_image_file(good).shape == (40, 60, 3)
    bomb = tmp_path / 'bomb.jpg'
    bomb.write_bytes(jpeg_bomb(12000, 12000))
    with pytest.raises(ImageTooLargeError, match=r'image .*bomb\.jpg is 12000x12000'):
        read_image_file(bomb)
    bomb.write_bytes(jpeg_bomb(30000, 30000))
    with pytest.raises(ImageTooLargeError, match='declares 900000000 pixels'):
        read_image_file(bomb)
    with pytest.raises(ValueError, match='does not exist'):
        read_image_file(tmp_path / 'missing.png')
    text = tmp_path / 'notes.png'
    text.write_text('not an image')
    with pytest.raises(ValueError, match='not an image in a known format'):
        read_image_file(text)


def test_opencv_span_guard():
    check_opencv_span((26000, 26000, 3), 1)
    with pytest.raises(ImageTooLargeError, match='2\\*\\*31'):
        check_opencv_span((27000, 27000, 3), 1)
    with pytest.raises(ImageTooLargeError):
        restore_size(np.zeros((8, 8), np.float32), (8, 8), (24000, 24000))


def test_resize_to_model_refuses_rows_beyond_opencv_range_instead_of_crashing():
    """warpAffine segfaults on rows that start beyond 2**31 bytes: the guard must refuse first.

    The image is a strided view of a small buffer that claims 27000x27000x3: if the guard let
    it through, OpenCV would read far outside the buffer. Run in a child so a crash is a failure
    of this test, not of the whole run.
    """
    code = textwrap.dedent("""
        import numpy as np
        from selfie_seg_ros.engine.errors import ImageTooLargeError
        from selfie_seg_ros.engine.processing import resize_to_model
        buffer = np.zeros(64, np.uint8)
        fake = np.lib.stride_tricks.as_strided(buffer, (27000, 27000, 3), (81000, 3, 1))
        try:
            resize_to_model(fake, (256, 256), 'stretch')
        except ImageTooLargeError as error:
            print('refused:', error)
    """)
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert 'refused:' in result.stdout


def test_resize_to_model_still_samples_a_large_admitted_image():
    image = np.zeros((6000, 8000, 3), np.uint8)
    image[:, 4000:] = 200
    resized, content = resize_to_model(image, (256, 256), 'stretch')
    assert content == (256, 256)
    assert resized[:, :120].max() == 0 and resized[:, 136:].min() == 200


def _peak_rss_mb(code: str) -> tuple[int, float, str]:
    """Run ``code`` in a child Python; its exit code, peak RSS in MB and stdout."""
    process = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, cwd=TEST_DIR)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_maxrss / 1024, output


def test_bombs_cost_almost_no_memory():
    """The child's peak RSS with both 30000x30000 bombs stays that of a bare import."""
    code = textwrap.dedent("""
        from bombs import jpeg_bomb, png_bomb
        from selfie_seg_ros.engine.errors import ImageTooLargeError
        from selfie_seg_ros.engine.limits import decode_bytes
        for bomb in (jpeg_bomb(30000, 30000), png_bomb(30000, 30000)):
            try:
                decode_bytes(bomb)
            except ImageTooLargeError:
                print('refused')
    """)
    baseline_code = 'import bombs, selfie_seg_ros.engine.limits'
    _, baseline, _ = _peak_rss_mb(baseline_code)
    code_, peak, output = _peak_rss_mb(code)
    assert code_ == 0, output
    assert output.split() == ['refused', 'refused']
    # 2.7 GB if decoded; allow a little above the bare import.
    assert peak < baseline + 30, (peak, baseline)


@st.composite
def declared_images(draw):
    """Tiny PNG/JPEG data with a declared size up to 2**31 pixels, optionally mangled."""
    kind = draw(st.sampled_from(['png', 'jpeg']))
    limit = 1 << 16 if kind == 'jpeg' else 1 << 31
    width = draw(st.integers(1, limit - 1))
    height = draw(st.integers(1, max(1, min(limit - 1, (1 << 31) // width))))
    data = bytearray(png_bomb(width, height, rows=1) if kind == 'png'
                     else jpeg_bomb(width, height))
    for _ in range(draw(st.integers(0, 3))):
        index = draw(st.integers(0, len(data) - 1))
        data[index] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut] if draw(st.booleans()) else data), width * height


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(declared_images(), st.sampled_from([4096, 1 << 16]))
def test_fuzz_compressed_decoder_refuses_or_returns_within_the_limit(sample, max_pixels):
    data, _declared = sample
    try:
        image = decode_bytes(data, max_pixels=max_pixels)
    except ImageTooLargeError:
        return
    except ValueError:
        return
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert image.shape[0] * image.shape[1] <= max_pixels


@pytest.mark.parametrize('bomb', [jpeg_bomb(3000, 2000), png_bomb(3000, 2000, rows=2)],
                         ids=['jpeg', 'png'])
def test_bombs_within_the_limit_are_refused_before_the_decoder_fills_them_in(bomb):
    with pytest.raises(ValueError, match='cannot hold 3000x2000 pixels'):
        decode_bytes(bomb)


@pytest.mark.parametrize('ext,params', [('.jpg', []), ('.jpg', [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
                                        ('.png', [cv2.IMWRITE_PNG_COMPRESSION, 9])])
def test_uniform_8k_images_compress_well_and_are_still_accepted(ext, params):
    data = cv2.imencode(ext, np.zeros((4320, 7680, 3), np.uint8), params)[1].tobytes()
    assert header_size(data, max_pixels=DEFAULT_MAX_PIXELS)[1:] == (7680, 4320)


def test_refused_data_makes_the_decoders_print_nothing():
    """libjpeg and libpng write their own warnings to stderr; refused data never reaches them."""
    code = textwrap.dedent("""
        import cv2, numpy as np
        from bombs import jpeg_bomb, png_bomb
        from selfie_seg_ros.engine.limits import decode_bytes
        jpeg = cv2.imencode('.jpg', np.full((64, 64, 3), 90, np.uint8))[1].tobytes()
        png = bytearray(cv2.imencode('.png', np.full((64, 64, 3), 90, np.uint8))[1].tobytes())
        png[-20] ^= 0xFF
        for data in (jpeg_bomb(3000, 2000), png_bomb(3000, 2000), jpeg[:-30], bytes(png),
                     png_bomb(30000, 30000)):
            try:
                decode_bytes(data)
            except ValueError as error:
                print('refused')
    """)
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            cwd=TEST_DIR, timeout=60)
    assert result.stdout.split() == ['refused'] * 5, result.stdout + result.stderr
    assert result.stderr == ''
