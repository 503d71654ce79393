# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Image messages <-> numpy: every encoding, padded rows, malformed input, compressed, encoding."""

from __future__ import annotations

import array
import statistics
import sys
import time
import types

import cv2
import numpy as np
import pytest
from bombs import jpeg_bomb, png_bomb
from builtin_interfaces.msg import Time
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from selfie_seg_ros.engine.errors import ImageTooLargeError
from selfie_seg_ros.engine.limits import DEFAULT_MAX_PIXELS
from selfie_seg_ros.ros import image_io
from selfie_seg_ros.ros.image_io import (
    SUPPORTED_ENCODINGS,
    ImageDecodeError,
    OversizedImageError,
    decode_compressed,
    decode_image,
    encode_image,
)

BYTES_PER_PIXEL = {
    'bgr8': 3, 'rgb8': 3, 'bgra8': 4, 'rgba8': 4, 'mono8': 1, 'mono16': 2, '16UC1': 2,
    'yuv422': 2, 'uyvy': 2, 'yuv422_yuy2': 2, 'yuyv': 2,
}
YUV_ENCODINGS = ('yuv422', 'uyvy', 'yuv422_yuy2', 'yuyv')
UYVY_NAMES = ('yuv422', 'uyvy')


def make_image(encoding, data, width, height, step=None, is_bigendian=0):
    msg = Image()
    msg.encoding = encoding
    msg.width = width
    msg.height = height
    msg.step = width * BYTES_PER_PIXEL.get(encoding, 1) if step is None else step
    msg.is_bigendian = is_bigendian
    msg.data = array.array('B', bytes(data))
    return msg


def pad_rows(rows: np.ndarray, extra: int, fill: int = 0xEE) -> bytes:
    """Rows (HxN bytes) with ``extra`` garbage bytes appended to each."""
    padded = np.full((rows.shape[0], rows.shape[1] + extra), fill, dtype=np.uint8)
    padded[:, :rows.shape[1]] = rows
    return padded.tobytes()


def bgr_image(height=4, width=6, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def yuv_bytes(bgr: np.ndarray, order: str) -> np.ndarray:
    """BT.601 video-range 4:2:2 packing, written from the formulas (not with OpenCV).

    Pixel pairs must share a colour so that chroma subsampling loses nothing.
    """
    b, g, r = (bgr[..., i].astype(np.float64) for i in range(3))
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    y, u, v = (np.clip(np.rint(c), 0, 255).astype(np.uint8) for c in (y, u, v))
    height, width = y.shape
    out = np.empty((height, width // 2, 4), dtype=np.uint8)
    y0, y1, uu, vv = y[:, 0::2], y[:, 1::2], u[:, 0::2], v[:, 0::2]
    planes = (uu, y0, vv, y1) if order == 'uyvy' else (y0, uu, y1, vv)
    for i, plane in enumerate(planes):
        out[..., i] = plane
    return out.reshape(height, width * 2)


def paired_colour_image(height=4, width=8, seed=1) -> np.ndarray:
    """Colours that survive 4:2:2 subsampling: each horizontal pixel pair is one colour."""
    half = np.random.default_rng(seed).integers(20, 236, (height, width // 2, 3), dtype=np.uint8)
    return np.repeat(half, 2, axis=1)


def encoded(encoding: str, bgr: np.ndarray, seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(message rows as HxN bytes, BGR the decoder must return) for an encoding."""
    height, width = bgr.shape[:2]
    rng = np.random.default_rng(seed)
    alpha = rng.integers(0, 256, (height, width, 1), dtype=np.uint8)
    if encoding == 'bgr8':
        rows, expected = bgr, bgr
    elif encoding == 'rgb8':
        rows, expected = bgr[..., ::-1], bgr
    elif encoding == 'bgra8':
        rows, expected = np.concatenate([bgr, alpha], axis=2), bgr
    elif encoding == 'rgba8':
        rows, expected = np.concatenate([bgr[..., ::-1], alpha], axis=2), bgr
    elif encoding == 'mono8':
        grey = bgr[..., 1]
        rows, expected = grey, np.repeat(grey[..., None], 3, axis=2)
    elif encoding in ('mono16', '16UC1'):
        values = rng.integers(0, 65536, (height, width), dtype=np.uint16)
        high = (values >> 8).astype(np.uint8)
        rows, expected = values.astype('<u2').view(np.uint8), np.repeat(high[..., None], 3, axis=2)
    else:
        order = 'uyvy' if encoding in UYVY_NAMES else 'yuyv'
        rows, expected = yuv_bytes(bgr, order), bgr
    rows = np.ascontiguousarray(rows).reshape(height, -1)
    return rows, expected


def check_bgr(result: np.ndarray, height: int, width: int) -> None:
    assert isinstance(result, np.ndarray)
    assert result.shape == (height, width, 3)
    assert result.dtype == np.uint8
    assert result.flags.c_contiguous


def assert_decodes_to(result: np.ndarray, expected: np.ndarray, encoding: str) -> None:
    check_bgr(result, *expected.shape[:2])
    if encoding in YUV_ENCODINGS:
        diff = np.abs(result.astype(int) - expected.astype(int))
        assert diff.max() <= 3, f'{encoding}: max deviation {diff.max()}'
    else:
        np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize('encoding', SUPPORTED_ENCODINGS)
def test_every_encoding_decodes_to_expected_bgr(encoding):
    bgr = paired_colour_image() if encoding in YUV_ENCODINGS else bgr_image(4, 5)
    rows, expected = encoded(encoding, bgr)
    msg = make_image(encoding, rows.tobytes(), bgr.shape[1], bgr.shape[0])
    assert_decodes_to(decode_image(msg), expected, encoding)


def test_sixteen_bit_takes_the_high_byte():
    values = np.array([[0, 255, 256, 4095], [32768, 65280, 65535, 1]], dtype='<u2')
    for encoding in ('mono16', '16UC1'):
        msg = make_image(encoding, values.tobytes(), 4, 2)
        result = decode_image(msg)
        np.testing.assert_array_equal(result[..., 0], [[0, 0, 1, 15], [128, 255, 255, 0]])
        np.testing.assert_array_equal(result[..., 0], result[..., 2])


def test_yuv_names_old_and_new_mean_the_same_byte_order():
    # Pure red, green and blue pairs: a U/V or Y/chroma mix-up turns them into other colours.
    bgr = np.repeat(np.array([[[0, 0, 255], [0, 255, 0], [255, 0, 0]]], np.uint8), 2, axis=1)
    for order, names in (('uyvy', ('yuv422', 'uyvy')), ('yuyv', ('yuv422_yuy2', 'yuyv'))):
        data = yuv_bytes(bgr, order).tobytes()
        results = [decode_image(make_image(name, data, 6, 1)) for name in names]
        np.testing.assert_array_equal(results[0], results[1])
        assert np.abs(results[0].astype(int) - bgr).max() <= 3
    uyvy = yuv_bytes(bgr, 'uyvy').tobytes()
    as_yuyv = decode_image(make_image('yuyv', uyvy, 6, 1))
    assert np.abs(as_yuyv.astype(int) - bgr).max() > 50


@pytest.mark.parametrize('encoding', SUPPORTED_ENCODINGS)
@pytest.mark.parametrize('extra', [1, 3, 8])
def test_padded_rows_decode_like_packed_rows(encoding, extra):
    bgr = paired_colour_image(5, 8) if encoding in YUV_ENCODINGS else bgr_image(5, 7)
    rows, expected = encoded(encoding, bgr)
    height, row_bytes = rows.shape
    padded = make_image(encoding, pad_rows(rows, extra), bgr.shape[1], height,
                        step=row_bytes + extra)
    packed = make_image(encoding, rows.tobytes(), bgr.shape[1], height)
    result = decode_image(padded)
    assert_decodes_to(result, expected, encoding)
    np.testing.assert_array_equal(result, decode_image(packed))


@pytest.mark.parametrize('encoding', ['bgr8', 'mono8', 'rgb8', 'yuv422'])
def test_bytes_after_the_last_row_are_ignored(encoding):
    bgr = paired_colour_image() if encoding in YUV_ENCODINGS else bgr_image()
    rows, expected = encoded(encoding, bgr)
    msg = make_image(encoding, rows.tobytes() + b'\x01' * 37, bgr.shape[1], bgr.shape[0])
    assert_decodes_to(decode_image(msg), expected, encoding)


@pytest.mark.parametrize('encoding', ['bgr8', 'rgb8', 'mono8', 'mono16', 'yuyv'])
def test_result_owns_its_memory(encoding):
    bgr = paired_colour_image() if encoding in YUV_ENCODINGS else bgr_image()
    rows, _ = encoded(encoding, bgr)
    msg = make_image(encoding, rows.tobytes(), bgr.shape[1], bgr.shape[0])
    result = decode_image(msg)
    before = result.copy()
    assert not np.shares_memory(result, np.frombuffer(msg.data, np.uint8))
    for i in range(len(msg.data)):
        msg.data[i] = 255 - msg.data[i]
    np.testing.assert_array_equal(result, before)
    result[0, 0] = 7  # writable


def test_the_library_sees_only_what_it_gets_right():
    # rosbags-image ignores step, cv_bridge shears a step that is not a multiple of 3: this one.
    bgr = bgr_image(3, 5)
    msg = make_image('bgr8', pad_rows(bgr.reshape(3, -1), 1), 5, 3, step=16)
    np.testing.assert_array_equal(decode_image(msg), bgr)
    assert image_io.BACKEND in ('cv_bridge', 'rosbags-image')


MALFORMED = [
    (dict(encoding='bgr9'), r"unsupported encoding 'bgr9'; supported: bgr8, rgb8"),
    (dict(encoding=''), r"unsupported encoding ''"),
    (dict(width=0, step=0, data=b''), r'zero size: width 0, height 2'),
    (dict(height=0, data=b''), r'zero size: width 4, height 0'),
    (dict(step=11), r'step 11 is smaller than width 4 x 3 bytes per pixel = 12 for bgr8'),
    (dict(data=bytes(23)), r'truncated: 23 bytes, expected step 12 x height 2 = 24'),
    (dict(data=b''), r'truncated: 0 bytes'),
    (dict(encoding='yuv422', width=3, step=6, data=bytes(12)), r'even width.*got width 3'),
    (dict(encoding='yuyv', width=5, step=10, data=bytes(20)), r'even width.*got width 5'),
    (dict(encoding='mono16', step=8, data=bytes(16), is_bigendian=1),
     r'big-endian 16-bit data \(mono16, is_bigendian=1\) is not supported'),
    (dict(encoding='16UC1', step=8, data=bytes(16), is_bigendian=1), r'big-endian 16-bit'),
    (dict(step=24, data=bytes(40)), r'truncated: 40 bytes, expected step 24 x height 2 = 48'),
]


@pytest.mark.parametrize(('fields', 'reason'), MALFORMED)
def test_malformed_images_raise_with_the_reason(fields, reason):
    values = dict(encoding='bgr8', width=4, height=2, step=12, data=bytes(24), is_bigendian=0)
    values.update(fields)
    msg = make_image(values['encoding'], values['data'], values['width'], values['height'],
                     values['step'], values['is_bigendian'])
    with pytest.raises(ImageDecodeError, match=reason):
        decode_image(msg)


def test_decode_error_is_a_value_error_and_big_endian_8_bit_is_fine():
    assert issubclass(ImageDecodeError, ValueError)
    bgr = bgr_image(2, 3)
    msg = make_image('bgr8', bgr.tobytes(), 3, 2, is_bigendian=1)
    np.testing.assert_array_equal(decode_image(msg), bgr)


def test_fields_of_the_wrong_type_raise_decode_error():
    msg = types.SimpleNamespace(encoding='bgr8', width=2, height=1, step=6, is_bigendian=0,
                                data=[1, 2, 3, 4, 5, 6])
    with pytest.raises(ImageDecodeError, match='not a byte buffer'):
        decode_image(msg)
    msg = types.SimpleNamespace(encoding='bgr8', width=-2, height=1, step=6, is_bigendian=0,
                                data=bytes(6))
    with pytest.raises(ImageDecodeError, match='width must be a non-negative integer'):
        decode_image(msg)


UNKNOWN_ENCODINGS = ('', 'BGR8', 'rgb16', '8UC3', 'nv12', 'bayer_rggb8', 'jpeg', 'mono 8')


@st.composite
def image_messages(draw):
    encoding = draw(st.sampled_from(SUPPORTED_ENCODINGS + UNKNOWN_ENCODINGS))
    width = draw(st.integers(0, 9))
    height = draw(st.integers(0, 6))
    bpp = BYTES_PER_PIXEL.get(encoding) or draw(st.integers(1, 4))
    row = width * bpp
    step = draw(st.one_of(
        st.just(row), st.integers(max(row - 3, 0), row), st.integers(row, row + 9),
        st.integers(0, 48)))
    size = step * height
    length = draw(st.one_of(
        st.just(size), st.integers(max(size - 5, 0), size), st.integers(size, size + 20),
        st.integers(0, 300)))
    data = draw(st.binary(min_size=length, max_size=length))
    is_bigendian = draw(st.one_of(st.sampled_from([0, 1]), st.integers(0, 255)))
    return make_image(encoding, data, width, height, step, is_bigendian)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image_messages())
def test_any_message_decodes_or_raises_decode_error(msg):
    bpp = BYTES_PER_PIXEL.get(msg.encoding)
    valid = (
        bpp is not None and msg.width > 0 and msg.height > 0
        and msg.step >= msg.width * bpp and len(msg.data) >= msg.step * msg.height
        and not (msg.encoding in YUV_ENCODINGS and msg.width % 2)
        and not (bpp == 2 and msg.encoding not in YUV_ENCODINGS and msg.is_bigendian)
    )
    try:
        result = decode_image(msg)
    except ImageDecodeError:
        assert not valid, 'a valid message was rejected'
        return
    assert valid, 'an invalid message was accepted'
    check_bgr(result, msg.height, msg.width)
    assert not np.shares_memory(result, np.frombuffer(msg.data, np.uint8))


def make_compressed(data: bytes, fmt: str) -> CompressedImage:
    msg = CompressedImage()
    msg.format = fmt
    msg.data = array.array('B', data)
    return msg


def smooth_image(height=48, width=64) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    return np.stack([xx * 4 % 256, yy * 5 % 256, (xx + yy) * 2 % 256], axis=2).astype(np.uint8)


def encode(ext: str, image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(ext, image)
    assert ok
    return buf.tobytes()


@pytest.mark.parametrize('fmt', ['png', 'rgb8; png compressed bgr8', 'PNG', ''])
def test_compressed_png_is_exact(fmt):
    image = smooth_image()
    result = decode_compressed(make_compressed(encode('.png', image), fmt))
    check_bgr(result, 48, 64)
    np.testing.assert_array_equal(result, image)


@pytest.mark.parametrize('fmt', ['jpeg', 'bgr8; jpeg compressed bgr8', 'jpg'])
def test_compressed_jpeg_is_close(fmt):
    image = smooth_image()
    result = decode_compressed(make_compressed(encode('.jpg', image), fmt))
    check_bgr(result, 48, 64)
    assert np.abs(result.astype(int) - image.astype(int)).mean() < 4


def test_compressed_grey_alpha_and_16_bit_become_bgr8():
    grey = smooth_image()[..., 0]
    result = decode_compressed(make_compressed(encode('.png', grey), 'mono8; png compressed '))
    np.testing.assert_array_equal(result, np.repeat(grey[..., None], 3, axis=2))
    bgra = np.dstack([smooth_image(), np.full((48, 64), 9, np.uint8)])
    result = decode_compressed(make_compressed(encode('.png', bgra), 'png'))
    np.testing.assert_array_equal(result, bgra[..., :3])
    deep = np.array([[0, 255, 256, 65535]], dtype=np.uint16)
    result = decode_compressed(make_compressed(encode('.png', deep), 'png'))
    np.testing.assert_array_equal(result[..., 1], [[0, 0, 1, 255]])


@pytest.mark.parametrize(('data', 'fmt', 'reason'), [
    (b'', 'jpeg', 'compressed image data is empty'),
    (b'\x00\x01garbage' * 10, 'jpeg', r'jpeg data \(90 bytes\) could not be decoded'),
    (b'\xff\xd8\xff\xe0' + bytes(50), 'jpeg', 'could not be decoded'),
    ('half-png', 'png', r'png data \(\d+ bytes\) could not be decoded'),
    (b'\x00' * 40, 'h264', r"unknown compressed format 'h264'; supported codecs: jpeg"),
    (b'\x00' * 40, '16UC1; compressedDepth png', 'compressedDepth'),
])
def test_bad_compressed_images_raise_with_the_reason(data, fmt, reason):
    if data == 'half-png':
        full = encode('.png', smooth_image())
        data = full[:len(full) // 2]
    with pytest.raises(ImageDecodeError, match=reason):
        decode_compressed(make_compressed(data, fmt))


def make_header(sec=1712345678, nanosec=123456789, frame_id='camera_optical_frame') -> Header:
    return Header(stamp=Time(sec=sec, nanosec=nanosec), frame_id=frame_id)


def test_encode_bgr8_keeps_header_and_sizes():
    header = make_header()
    bgr = bgr_image(5, 7)
    msg = encode_image(bgr, 'bgr8', header)
    assert msg.header is header
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (1712345678, 123456789)
    assert msg.header.frame_id == 'camera_optical_frame'
    assert (msg.height, msg.width, msg.step) == (5, 7, 21)
    assert (msg.encoding, msg.is_bigendian) == ('bgr8', 0)
    assert bytes(msg.data) == bgr.tobytes()
    np.testing.assert_array_equal(decode_image(msg), bgr)


def test_encode_mono8_and_non_contiguous_input():
    header = make_header(frame_id='mask')
    grey = np.arange(6 * 10, dtype=np.uint8).reshape(6, 10)[:, ::2]
    msg = encode_image(grey, 'mono8', header)
    assert (msg.height, msg.width, msg.step, msg.encoding) == (6, 5, 5, 'mono8')
    assert bytes(msg.data) == np.ascontiguousarray(grey).tobytes()
    assert msg.header.frame_id == 'mask'
    column = encode_image(grey[..., None], 'mono8', header)
    assert bytes(column.data) == bytes(msg.data)
    bgr = bgr_image(4, 12)[:, 1::2]
    np.testing.assert_array_equal(decode_image(encode_image(bgr, 'bgr8', header)), bgr)


@pytest.mark.parametrize(('array_', 'encoding', 'reason'), [
    (np.zeros((2, 2, 3), np.uint8), 'rgb8', "cannot encode 'rgb8'; supported: bgr8, mono8"),
    (np.zeros((2, 2, 3), np.float32), 'bgr8', 'needs a uint8 array'),
    (np.zeros((2, 2), np.uint8), 'bgr8', r'needs an HxWx3 array, got shape \(2, 2\)'),
    (np.zeros((2, 2, 4), np.uint8), 'bgr8', r'needs an HxWx3 array'),
    (np.zeros((2, 2, 3), np.uint8), 'mono8', r'needs an HxW array'),
    (np.zeros((0, 2, 3), np.uint8), 'bgr8', 'empty image'),
])
def test_encode_rejects_what_does_not_fit(array_, encoding, reason):
    with pytest.raises(ValueError, match=reason):
        encode_image(array_, encoding, make_header())


def test_encode_720p_takes_about_a_millisecond_or_less():
    frame = bgr_image(720, 1280)
    header = make_header()
    times = []
    for _ in range(30):
        start = time.perf_counter()
        encode_image(frame, 'bgr8', header)
        times.append(time.perf_counter() - start)
    assert statistics.median(times) < 1e-3, f'median {statistics.median(times) * 1e3:.2f} ms'


# cv_bridge is not installed here; these stand-ins check how image_io picks and guards it.
class _ReferenceBridge:
    """Behaves like ROS 2 cv_bridge for unpadded rows: returns a view of msg.data for bgr8."""

    CODES = {'rgb8': cv2.COLOR_RGB2BGR, 'mono8': cv2.COLOR_GRAY2BGR,
             'yuv422': cv2.COLOR_YUV2BGR_UYVY}
    CHANNELS = {'bgr8': 3, 'rgb8': 3, 'mono8': 1, 'yuv422': 2}

    def __init__(self):
        self.calls = []

    def imgmsg_to_cv2(self, msg, desired_encoding='passthrough'):
        self.calls.append(msg.encoding)
        channels = self.CHANNELS[msg.encoding]  # KeyError for names it does not know
        shape = (msg.height, msg.width, channels) if channels > 1 else (msg.height, msg.width)
        view = np.ndarray(shape, np.uint8, buffer=msg.data)
        return view if msg.encoding == desired_encoding else cv2.cvtColor(
            view, self.CODES[msg.encoding])

    def compressed_imgmsg_to_cv2(self, msg, desired_encoding='passthrough'):
        return cv2.imdecode(np.frombuffer(msg.data, np.uint8), cv2.IMREAD_UNCHANGED)


class _BrokenBridge:
    def imgmsg_to_cv2(self, msg, desired_encoding='passthrough'):
        raise AttributeError("'numpy.ndarray' object has no attribute 'tostring'")


class _ChannelOrderBridge(_ReferenceBridge):
    """Converts without error but ignores desired_encoding (leaves RGB as RGB)."""

    def imgmsg_to_cv2(self, msg, desired_encoding='passthrough'):
        return super().imgmsg_to_cv2(msg, msg.encoding)


def _fake_cv_bridge(monkeypatch, bridge_class):
    module = types.ModuleType('cv_bridge')
    module.CvBridge = bridge_class
    monkeypatch.setitem(sys.modules, 'cv_bridge', module)


def test_cv_bridge_that_fails_to_import_or_to_convert_counts_as_absent(monkeypatch):
    monkeypatch.setitem(sys.modules, 'cv_bridge', None)  # import raises ImportError
    assert image_io._load_cv_bridge() is None
    _fake_cv_bridge(monkeypatch, _BrokenBridge)
    assert image_io._load_cv_bridge() is None
    _fake_cv_bridge(monkeypatch, _ChannelOrderBridge)
    assert image_io._load_cv_bridge() is None


def test_working_cv_bridge_is_used_and_guarded(monkeypatch):
    _fake_cv_bridge(monkeypatch, _ReferenceBridge)
    adapter = image_io._load_cv_bridge()
    assert adapter is not None and adapter.name == 'cv_bridge'
    monkeypatch.setattr(image_io, '_ADAPTER', adapter)
    bridge = adapter._bridge
    bridge.calls.clear()

    bgr = bgr_image(3, 4)
    msg = make_image('bgr8', bgr.tobytes(), 4, 3)
    result = decode_image(msg)
    np.testing.assert_array_equal(result, bgr)
    assert not np.shares_memory(result, np.frombuffer(msg.data, np.uint8))
    assert bridge.calls == ['bgr8']

    padded = make_image('bgr8', pad_rows(bgr.reshape(3, -1), 1), 4, 3, step=13)
    np.testing.assert_array_equal(decode_image(padded), bgr)
    assert bridge.calls == ['bgr8']  # padded rows never reach the library

    # 'uyvy' is unknown to this bridge: converted here, and not offered to it again.
    colours = paired_colour_image()
    data = yuv_bytes(colours, 'uyvy').tobytes()
    for _ in range(2):
        assert_decodes_to(decode_image(make_image('uyvy', data, 8, 4)), colours, 'uyvy')
    assert bridge.calls == ['bgr8', 'uyvy']
    np.testing.assert_array_equal(decode_image(make_image('yuv422', data, 8, 4)),
                                  decode_image(make_image('uyvy', data, 8, 4)))

    grey = smooth_image()[..., 0]
    result = decode_compressed(make_compressed(encode('.png', grey), 'png'))
    np.testing.assert_array_equal(result, np.repeat(grey[..., None], 3, axis=2))
    with pytest.raises(ImageDecodeError, match='could not be decoded'):
        decode_compressed(make_compressed(b'\x00garbage' * 5, 'jpeg'))


def test_decode_without_copy_is_a_read_only_view_of_packed_bgr8():
    bgr = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    msg = make_image('bgr8', bgr.tobytes(), 5, 4)
    view = decode_image(msg, copy=False)
    np.testing.assert_array_equal(view, bgr)
    assert np.shares_memory(view, np.frombuffer(msg.data, np.uint8))
    assert not view.flags.writeable
    copied = decode_image(msg)
    assert copied.flags.writeable and not np.shares_memory(copied, np.frombuffer(msg.data,
                                                                                   np.uint8))


def test_decode_without_copy_still_converts_other_encodings_and_padded_rows():
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    np.testing.assert_array_equal(
        decode_image(make_image('rgb8', rgb.tobytes(), 3, 2), copy=False), rgb[..., ::-1])
    padded = np.zeros((2, 12), np.uint8)
    padded[:, :9] = rgb.reshape(2, 9)
    result = decode_image(make_image('bgr8', padded.tobytes(), 3, 2, step=12), copy=False)
    np.testing.assert_array_equal(result, rgb)


def test_image_buffer_message_carries_the_pixels_written_in_place():
    buffer = image_io.ImageBuffer()
    header = Header(frame_id='cam')
    pixels = buffer.pixels_for(3, 4, 'bgr8')
    pixels[:] = 200
    msg = buffer.message_of(pixels, 'bgr8', header)
    assert (msg.height, msg.width, msg.step, msg.encoding) == (3, 4, 12, 'bgr8')
    assert msg.header.frame_id == 'cam'
    assert bytes(msg.data) == bytes([200]) * 36
    if image_io._KEEP_ARRAY:  # the message holds the buffer itself: no copy per frame
        pixels[0, 0, 0] = 1
        assert msg.data[0] == 1
    # A foreign array is copied in; a new size gets a new buffer.
    mask = np.arange(6, dtype=np.uint8).reshape(2, 3)
    msg = image_io.ImageBuffer().message_of(mask, 'mono8', header)
    assert (msg.height, msg.width, msg.step) == (2, 3, 3)
    assert list(msg.data) == list(range(6))
    assert buffer.pixels_for(2, 2, 'bgr8').shape == (2, 2, 3)
    with pytest.raises(ValueError, match='cannot encode'):
        buffer.pixels_for(2, 2, 'rgb8')


# -- pixel limits -------------------------------------------------------------------------------


def test_raw_frame_declaring_too_many_pixels_is_refused_before_its_data_is_read():
    msg = make_image('bgr8', b'\x00' * 16, 50000, 40000, step=150000)
    with pytest.raises(OversizedImageError, match='50000x40000 = 2000000000 pixels'):
        decode_image(msg)
    small = make_image('bgr8', bytes(range(24)), 4, 2)
    with pytest.raises(OversizedImageError, match='limit of 7'):
        decode_image(small, max_pixels=7)
    assert decode_image(small, max_pixels=8).shape == (2, 4, 3)


@pytest.mark.parametrize('bomb', [jpeg_bomb(30000, 30000), png_bomb(30000, 30000),
                                  jpeg_bomb(9000, 9000)], ids=['jpeg', 'png', 'jpeg-81mpx'])
def test_compressed_bombs_are_refused_from_their_header(bomb):
    with pytest.raises(OversizedImageError, match='pixels'):
        decode_compressed(make_compressed(bomb, ''))


def test_oversized_is_a_decode_error_and_a_too_large_error():
    assert issubclass(OversizedImageError, ImageDecodeError)
    assert issubclass(OversizedImageError, ImageTooLargeError)


def test_compressed_limit_applies_to_the_declared_size():
    data = encode('.png', smooth_image(48, 64))
    with pytest.raises(OversizedImageError, match='64x48'):
        decode_compressed(make_compressed(data, 'png'), max_pixels=64 * 48 - 1)
    assert decode_compressed(make_compressed(data, 'png'), max_pixels=64 * 48).shape == (48, 64, 3)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=st.integers(1, 1 << 31), height=st.integers(1, 1 << 31),
       encoding=st.sampled_from(SUPPORTED_ENCODINGS), length=st.integers(0, 64),
       max_pixels=st.sampled_from([1 << 10, DEFAULT_MAX_PIXELS]))
def test_fuzz_raw_declared_sizes_up_to_2_31_pixels(width, height, encoding, length, max_pixels):
    """Any declared size with a few bytes of data: refused, never allocated."""
    assume(width * height <= 1 << 31)
    bpp = BYTES_PER_PIXEL[encoding]
    msg = make_image(encoding, b'\x01' * length, width, height,
                     step=min(width * bpp, (1 << 32) - 1))
    try:
        result = decode_image(msg, max_pixels=max_pixels)
    except OversizedImageError:
        assert width * height > max_pixels
        return
    except ImageDecodeError:
        return
    assert width * height <= max_pixels and result.nbytes <= 3 * length


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(['png', 'jpeg']), width=st.integers(1, (1 << 16) - 1),
       height=st.integers(1, (1 << 16) - 1), cut=st.integers(0, 2000),
       fmt=st.sampled_from(['', 'jpeg', 'png', 'bgr8; jpeg compressed bgr8']))
def test_fuzz_compressed_declared_sizes(kind, width, height, cut, fmt):
    data = png_bomb(width, height, rows=1) if kind == 'png' else jpeg_bomb(width, height)
    msg = make_compressed(data[:cut] if cut < len(data) else data, fmt)
    try:
        result = decode_compressed(msg, max_pixels=1 << 12)
    except OversizedImageError:
        assert width * height > 1 << 12
        return
    except ImageDecodeError:
        return
    assert result.shape[0] * result.shape[1] <= 1 << 12
