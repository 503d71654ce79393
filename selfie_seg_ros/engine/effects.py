# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Effects on segmentation results: class palettes, colour overlays, background blur/replace,
and anonymising effects that blur or pixelate the people instead.

Pure numpy + OpenCV. Images are HxWx3 uint8 BGR; class masks are HxW integer ids; the foreground
(person probability) is HxW float32 in [0, 1] at image size and is used as a soft alpha matte.
"""

from __future__ import annotations

import math
from array import array as int_array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, get_args

import cv2
import numpy as np

from selfie_seg_ros.engine.catalog import label_key
from selfie_seg_ros.engine.processing import cover_crop

Effect = Literal['blur', 'replace', 'none', 'blur_people', 'pixelate_people']
Color = tuple[int, int, int]

EFFECTS: tuple[str, ...] = get_args(Effect)
ANONYMISING_EFFECTS: tuple[str, ...] = ('blur_people', 'pixelate_people')
MIN_BLUR_STRENGTH = 1
MAX_BLUR_STRENGTH = 301
MIN_ANONYMISING_STRENGTH = 9
"""Below this a blur or pixel block leaves faces recognisable: anonymising effects refuse it."""

# RGB colours of the OpenVINO selfie-segmentation tutorial for the multiclass model.
_MULTICLASS_COLORS_RGB: dict[str, Color] = {
    'background': (192, 192, 192),
    'hair': (128, 0, 0),
    'body-skin': (255, 229, 204),
    'face-skin': (255, 204, 204),
    'clothes': (0, 0, 128),
    'others': (128, 0, 128),
}
# Two-class sets (background + one object): black background, a saturated azure that stands out
# against skin tones in an overlay and against black in rviz.
_BINARY_COLORS_RGB: tuple[Color, Color] = ((0, 0, 0), (0, 160, 255))

# Reduced-resolution blur: the residual Gaussian at the small scale must keep at least this
# sigma (in small pixels), otherwise bilinear upscaling shows its piecewise-linear facets.
_MIN_REDUCED_SIGMA = 1.5
_MIN_REDUCED_SIDE = 8
_NOISE_ALPHA = 1.0 / 32.0


def _voc_color(index: int) -> Color:
    """Pascal VOC colour map entry: the bits of ``index`` interleaved into R, G and B."""
    r = g = b = 0
    c = index
    for shift in range(7, -1, -1):
        r |= (c & 1) << shift
        g |= ((c >> 1) & 1) << shift
        b |= ((c >> 2) & 1) << shift
        c >>= 3
    return r, g, b


def make_palette(labels: Sequence[str]) -> np.ndarray:
    """Build a colour table with one BGR row per class id.

    The multiclass selfie label set gets the tutorial's colours; a two-class set whose class 0 is
    background gets black and azure; any other set gets the Pascal VOC colour map (deterministic,
    distinct for every id below 2**24).

    Args:
        labels: Class names, indexed by class id.

    Returns:
        (N, 3) uint8 array in BGR order.

    Raises:
        ValueError: if ``labels`` is empty.
    """
    names = [label_key(str(label)) for label in labels]
    if not names:
        raise ValueError('labels must name at least one class')
    if names == list(_MULTICLASS_COLORS_RGB):
        rgb = [_MULTICLASS_COLORS_RGB[name] for name in names]
    elif len(names) == 2 and names[0] == 'background':
        rgb = list(_BINARY_COLORS_RGB)
    else:
        rgb = [_voc_color(i) for i in range(len(names))]
    return np.ascontiguousarray(np.array(rgb, dtype=np.uint8)[:, ::-1])


def _check_image(image: np.ndarray, name: str = 'image') -> None:
    if not isinstance(image, np.ndarray):
        raise ValueError(f'{name} must be a numpy array, got {type(image).__name__}')
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f'{name} must be an HxWx3 uint8 BGR image, got shape {image.shape} {image.dtype}'
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f'{name} is empty: shape {image.shape}')


def _check_alpha(alpha: np.ndarray, size: tuple[int, ...], name: str) -> None:
    if not isinstance(alpha, np.ndarray):
        raise ValueError(f'{name} must be a numpy array, got {type(alpha).__name__}')
    if alpha.dtype != np.float32:
        raise ValueError(f'{name} must be float32 in [0, 1], got {alpha.dtype}')
    if alpha.shape != size:
        raise ValueError(f'{name} must have shape {size} (the image size), got {alpha.shape}')


def _check_palette(palette: np.ndarray) -> None:
    if not isinstance(palette, np.ndarray):
        raise ValueError(f'palette must be a numpy array, got {type(palette).__name__}')
    if palette.dtype != np.uint8 or palette.ndim != 2 or palette.shape[1] != 3:
        raise ValueError(
            f'palette must be an (N, 3) uint8 BGR table, got shape {palette.shape} {palette.dtype}'
        )


def _check_mask(mask: np.ndarray) -> None:
    if not isinstance(mask, np.ndarray):
        raise ValueError(f'mask must be a numpy array, got {type(mask).__name__}')
    if mask.ndim != 2 or not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(f'mask must be an HxW integer class-id array, got shape {mask.shape} '
                         f'{mask.dtype}')


def _check_strength(strength: int) -> None:
    if isinstance(strength, bool) or not isinstance(strength, (int, np.integer)):
        raise ValueError(f'blur strength must be an int, got {type(strength).__name__}')
    if not MIN_BLUR_STRENGTH <= strength <= MAX_BLUR_STRENGTH:
        raise ValueError(f'blur strength must be in [{MIN_BLUR_STRENGTH}, {MAX_BLUR_STRENGTH}], '
                         f'got {strength}')


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def parse_rgb(value: Sequence[int] | str) -> Color:
    """Read an ``[R, G, B]`` colour: a sequence of 3 integers, or text ``'R,G,B'``.

    Args:
        value: A list, tuple, ``array.array`` or 1-D array of integers (as rclpy hands over an
            integer-array parameter), or a comma-separated string (as typed on a command line).

    Returns:
        ``(r, g, b)`` as Python ints.

    Raises:
        ValueError: not exactly 3 integers, or a value outside 0..255.
    """
    if isinstance(value, np.ndarray):
        shown = repr(value.tolist())
    else:
        shown = repr(list(value)) if _sequence(value) else repr(value)
    values: Sequence[object]
    if isinstance(value, str):
        try:
            values = [int(part) for part in value.replace(' ', '').split(',')]
        except ValueError:
            values = ()
    else:
        values = value if _sequence(value) else ()
    if len(values) != 3 or not all(_is_int(v) for v in values):
        raise ValueError(f'an RGB colour needs 3 integers [R, G, B], got {shown}')
    if not all(0 <= v <= 255 for v in values):  # type: ignore[operator]
        raise ValueError(f'RGB values must be in 0..255, got {shown}')
    r, g, b = (int(v) for v in values)  # type: ignore[call-overload]
    return r, g, b


def _sequence(value: object) -> bool:
    return isinstance(value, (list, tuple, int_array)) or (
        isinstance(value, np.ndarray) and value.ndim == 1)


class CompositeFunction(Protocol):
    """Writes ``alpha * front + (1 - alpha) * back``, rounded, into ``out`` and returns it."""

    def __call__(self, front: np.ndarray, back: np.ndarray, alpha: np.ndarray,
                 out: np.ndarray) -> np.ndarray:
        """Blend checked inputs (same-shape uint8 images, HxW float32 alpha) into ``out``."""


class Scratch:
    """Work buffers that one caller reuses from frame to frame.

    Fresh full-frame buffers cost page faults on every frame, so a caller that processes a
    stream (the node's painter thread, the CLI's video loop) keeps one ``Scratch`` and passes it
    to the effect functions. A ``Scratch`` serves one thread at a time; without one, every call
    allocates its own buffers. Results returned to the caller never live in these buffers.

    A ``compositor`` (e.g. :class:`selfie_seg_ros.engine.compositor.Compositor`, one fused
    OpenVINO pass) takes over :func:`composite`'s blend from ``cv2.blendLinear``.
    """

    def __init__(self, compositor: CompositeFunction | None = None) -> None:
        """Start empty: buffers are made on first use and remade when the frame size changes."""
        self._buffers: dict[str, np.ndarray] = {}
        self._solid_color: Color | None = None
        self.compositor = compositor

    def buffer(self, key: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
        """The buffer named ``key``, reused while its shape and dtype stay the same."""
        buffer = self._buffers.get(key)
        if buffer is None or buffer.shape != shape or buffer.dtype != dtype:
            buffer = np.empty(shape, dtype)
            self._buffers[key] = buffer
        return buffer

    def solid(self, shape: tuple[int, ...], color_rgb: Color) -> np.ndarray:
        """A frame of one colour (BGR order inside), kept while size and colour stay the same."""
        buffer = self._buffers.get('solid')
        if buffer is None or buffer.shape != shape or self._solid_color != color_rgb:
            buffer = self.buffer('solid', shape, np.uint8)
            _fill(buffer, color_rgb)
            self._solid_color = color_rgb
        return buffer


def _fill(frame: np.ndarray, color_rgb: Color) -> None:
    row = np.empty((frame.shape[1], 3), np.uint8)
    row[:] = color_rgb[::-1]
    frame[:] = row  # row by row: much faster than broadcasting a 3-vector


def _buffer(scratch: Scratch | None, key: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    return np.empty(shape, dtype) if scratch is None else scratch.buffer(key, shape, dtype)


def _check_out(out: np.ndarray | None, shape: tuple[int, ...]) -> None:
    if out is not None and (not isinstance(out, np.ndarray) or out.shape != shape
                            or out.dtype != np.uint8):
        raise ValueError(f'out must be {shape} uint8, got {getattr(out, "shape", out)}')


def _copy(image: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    if out is None:
        return image.copy()
    _check_out(out, image.shape)
    np.copyto(out, image)
    return out


def _channel_luts(palette: np.ndarray) -> list[np.ndarray]:
    """One 256-entry table per BGR channel; ids beyond the palette stay black."""
    table = np.zeros((256, 3), np.uint8)
    rows = min(len(palette), 256)
    table[:rows] = palette[:rows]
    return [np.ascontiguousarray(table[:, channel]) for channel in range(3)]


def colorize(
    mask: np.ndarray,
    palette: np.ndarray,
    out: np.ndarray | None = None,
    *,
    scratch: Scratch | None = None,
) -> np.ndarray:
    """Paint a class-id mask with a palette.

    Args:
        mask: HxW integer class ids (uint8 is the fast path).
        palette: (N, 3) uint8 BGR table from :func:`make_palette`.
        out: Optional HxWx3 uint8 array to write into.
        scratch: Work buffers to reuse (see :class:`Scratch`).

    Returns:
        HxWx3 uint8 BGR image; ids outside [0, N) are black.

    Raises:
        ValueError: on a malformed mask, palette or ``out``.
    """
    _check_mask(mask)
    _check_palette(palette)
    shape = (*mask.shape, 3)
    if out is not None and (out.shape != shape or out.dtype != np.uint8):
        raise ValueError(f'out must be {shape} uint8, got {out.shape} {out.dtype}')
    if mask.dtype != np.uint8:
        # Rare path: wide ids; anything out of range points at an extra black row.
        table = np.zeros((len(palette) + 1, 3), np.uint8)
        table[:-1] = palette
        ids = np.where((mask >= 0) & (mask < len(palette)), mask, len(palette))
        result = table[ids]
        if out is None:
            return result
        out[...] = result
        return out
    # Three single-channel LUTs and a merge beat a 3-channel LUT on a GRAY2BGR copy.
    planes = [
        cv2.LUT(mask, lut, dst=_buffer(scratch, f'colorize{channel}', mask.shape, np.uint8))
        for channel, lut in enumerate(_channel_luts(palette))
    ]
    if out is None:
        return cv2.merge(planes)
    return cv2.merge(planes, dst=out)


def overlay(
    image: np.ndarray,
    mask: np.ndarray,
    palette: np.ndarray,
    alpha: float,
    colored: np.ndarray | None = None,
    *,
    scratch: Scratch | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Blend the colourised mask over the image.

    Args:
        image: HxWx3 uint8 BGR image.
        mask: HxW integer class ids, same size as ``image``.
        palette: (N, 3) uint8 BGR table.
        alpha: Weight of the palette colours in [0, 1]; 0 gives the image, 1 the colour mask.
        colored: ``colorize(mask, palette)`` when the caller already has it (saves a pass).
        scratch: Work buffers to reuse (see :class:`Scratch`).
        out: Optional HxWx3 uint8 array to write the result into (e.g. a message buffer).

    Returns:
        HxWx3 uint8 BGR image.

    Raises:
        ValueError: on mismatched shapes or dtypes, or ``alpha`` outside [0, 1].
    """
    _check_image(image)
    _check_mask(mask)
    if mask.shape != image.shape[:2]:
        raise ValueError(f'mask shape {mask.shape} does not match image size {image.shape[:2]}')
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f'alpha must be in [0, 1], got {alpha}')
    if colored is None:
        colored = colorize(mask, palette, out=_buffer(scratch, 'overlay', image.shape, np.uint8),
                           scratch=scratch)
    else:
        _check_palette(palette)
        _check_image(colored, 'colored')
        if colored.shape != image.shape:
            raise ValueError(f'colored shape {colored.shape} does not match image {image.shape}')
    _check_out(out, image.shape)
    if out is None:
        return cv2.addWeighted(image, 1.0 - alpha, colored, alpha, 0.0)
    return cv2.addWeighted(image, 1.0 - alpha, colored, alpha, 0.0, dst=out)


def composite(
    front: np.ndarray,
    back: np.ndarray,
    alpha: np.ndarray,
    out: np.ndarray | None = None,
    *,
    scratch: Scratch | None = None,
) -> np.ndarray:
    """Alpha-composite two images: ``alpha * front + (1 - alpha) * back``, rounded to uint8.

    Args:
        front: HxW or HxWxC uint8 image shown where ``alpha`` is 1.
        back: uint8 image of the same shape, shown where ``alpha`` is 0.
        alpha: HxW float32 weights in [0, 1] (values are not range-checked).
        out: Optional array of the same shape and dtype as ``front`` to write into.
        scratch: Work buffers to reuse (see :class:`Scratch`).

    Returns:
        uint8 image of ``front``'s shape.

    Raises:
        ValueError: on mismatched shapes or dtypes.
    """
    for name, array in (('front', front), ('back', back)):
        valid = isinstance(array, np.ndarray) and array.dtype == np.uint8 and array.ndim in (2, 3)
        if not valid:
            raise ValueError(f'{name} must be an HxW or HxWxC uint8 image')
    if front.shape != back.shape:
        raise ValueError(f'front shape {front.shape} does not match back shape {back.shape}')
    _check_alpha(alpha, front.shape[:2], 'alpha')
    if out is not None and (out.shape != front.shape or out.dtype != np.uint8):
        raise ValueError(f'out must be {front.shape} uint8, got {out.shape} {out.dtype}')
    compositor = scratch.compositor if scratch is not None else None
    if compositor is not None and (out is None or out.flags['C_CONTIGUOUS']):
        return compositor(front, back, alpha, np.empty_like(front) if out is None else out)
    inverse = np.subtract(1.0, alpha, out=_buffer(scratch, 'composite', alpha.shape, np.float32))
    if out is None:
        return cv2.blendLinear(front, back, alpha, inverse)
    return cv2.blendLinear(front, back, alpha, inverse, dst=out)


def blur_sigma(strength: int) -> float:
    """Gaussian sigma that OpenCV derives for a ``strength`` x ``strength`` kernel."""
    return 0.3 * ((strength - 1) * 0.5 - 1.0) + 0.8


def _blur_levels(sigma: float, height: int, width: int) -> int:
    """How many times to halve the image before blurring, keeping the blur visually exact."""
    levels = 0
    while True:
        factor = 2 ** (levels + 1)
        # A 2x box average per halving plus the bilinear upscale add about factor**2 / 4 of
        # variance (full-resolution pixels); the rest is left to the small-scale Gaussian.
        residual = sigma * sigma / (factor * factor) - 0.25
        if residual < _MIN_REDUCED_SIGMA**2 or min(height, width) / factor < _MIN_REDUCED_SIDE:
            return levels
        levels += 1


def blur_image(image: np.ndarray, strength: int, out: np.ndarray | None = None) -> np.ndarray:
    """Blur a whole image like ``cv2.GaussianBlur(image, (k, k), 0)`` with ``k = strength``.

    Large kernels run on a downscaled copy (repeated 2x box halving, Gaussian with the remaining
    sigma, bilinear upscale); the result stays within a few grey levels of the full-size blur at
    a fraction of the cost. Strength 1 returns an unchanged copy. OpenCV's own fast blurs
    (``stackBlur``, repeated box blurs, ``pyrDown``) were measured against it
    (``benchmarks/bench_blur.py``): 2x to 19x slower at equal or worse error.

    Args:
        image: HxWx3 uint8 BGR image.
        strength: Equivalent full-resolution kernel size in pixels, 1..301.
        out: Optional HxWx3 uint8 array to write into.

    Returns:
        Blurred HxWx3 uint8 image.

    Raises:
        ValueError: on a malformed image or a strength out of range.
    """
    _check_image(image)
    _check_strength(strength)
    if out is not None and (out.shape != image.shape or out.dtype != np.uint8):
        raise ValueError(f'out must be {image.shape} uint8, got {out.shape} {out.dtype}')
    if out is None:
        out = np.empty_like(image)
    if strength == 1:
        np.copyto(out, image)
        return out
    height, width = image.shape[:2]
    sigma = blur_sigma(strength)
    levels = _blur_levels(sigma, height, width)
    if levels == 0:
        # sigma 0 lets OpenCV pick the same kernel as the tutorial's GaussianBlur((k, k), 0).
        ksize = strength | 1
        return cv2.GaussianBlur(image, (ksize, ksize), 0 if strength % 2 else sigma, dst=out)
    factor = 2**levels
    small_width = max(1, round(width / factor))
    small_height = max(1, round(height / factor))
    small = image
    while small.shape[0] % 2 == 0 and small.shape[1] % 2 == 0 and small.shape[0] > small_height:
        # INTER_LINEAR at exactly half size averages 2x2 blocks: the same box filter as
        # INTER_AREA at a third of the cost. Odd sizes finish with one INTER_AREA step below.
        small = cv2.resize(small, (small.shape[1] // 2, small.shape[0] // 2),
                           interpolation=cv2.INTER_LINEAR)
    if small.shape[:2] != (small_height, small_width):
        small = cv2.resize(small, (small_width, small_height), interpolation=cv2.INTER_AREA)
    scale_x = width / small_width
    scale_y = height / small_height
    sigma_x = math.sqrt(max(sigma * sigma / (scale_x * scale_x) - 0.25, 0.01))
    sigma_y = math.sqrt(max(sigma * sigma / (scale_y * scale_y) - 0.25, 0.01))
    small = cv2.GaussianBlur(small, (0, 0), sigma_x, sigmaY=sigma_y,
                             borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (width, height), dst=out, interpolation=cv2.INTER_LINEAR)


def blur_background(
    image: np.ndarray,
    foreground: np.ndarray,
    strength: int,
    *,
    scratch: Scratch | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Blur everything but the foreground, with a soft edge from the foreground probability.

    Args:
        image: HxWx3 uint8 BGR image.
        foreground: HxW float32 person probability in [0, 1], at image size.
        strength: Equivalent full-resolution Gaussian kernel size in pixels, 1..301.
        scratch: Work buffers to reuse (see :class:`Scratch`).
        out: Optional HxWx3 uint8 array to write the result into (e.g. a message buffer).

    Returns:
        HxWx3 uint8 BGR image.

    Raises:
        ValueError: on malformed inputs or a strength out of range.
    """
    _check_image(image)
    _check_alpha(foreground, image.shape[:2], 'foreground')
    _check_strength(strength)
    if strength == 1:
        return _copy(image, out)
    blurred = blur_image(image, strength, out=_buffer(scratch, 'blur', image.shape, np.uint8))
    return composite(image, blurred, foreground, out=out, scratch=scratch)


def replace_background(
    image: np.ndarray,
    foreground: np.ndarray,
    background: np.ndarray | tuple[int, int, int],
    *,
    scratch: Scratch | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Put the foreground in front of a new background, soft at the edges.

    Args:
        image: HxWx3 uint8 BGR image.
        foreground: HxW float32 person probability in [0, 1], at image size.
        background: An HxWx3 uint8 BGR image of any size (scaled to cover the frame and
            centre-cropped), or an (R, G, B) colour.
        scratch: Work buffers to reuse (see :class:`Scratch`).
        out: Optional HxWx3 uint8 array to write the result into (e.g. a message buffer).

    Returns:
        HxWx3 uint8 BGR image.

    Raises:
        ValueError: on malformed inputs.
    """
    _check_image(image)
    _check_alpha(foreground, image.shape[:2], 'foreground')
    if isinstance(background, np.ndarray):
        _check_image(background, 'background image')
        back = cover_crop(background, image.shape[0], image.shape[1])
    else:
        color = parse_rgb(background)
        if scratch is None:
            back = np.empty(image.shape, np.uint8)
            _fill(back, color)
        else:
            back = scratch.solid(image.shape, color)
    return composite(image, back, foreground, out=out, scratch=scratch)


def cover_matte(foreground: np.ndarray, *, scratch: Scratch | None = None) -> np.ndarray:
    """Alpha that fully covers every likely-foreground pixel, with a soft edge grown outwards.

    Pixels whose foreground probability is at least 0.5 get exactly 1; outside them the matte
    falls off linearly over ``2 r`` pixels (``r`` = 1 % of the shorter side, at least 2). Lower
    probabilities count proportionally (``alpha = min(1, 2 p)`` before growing), so uncertain
    edges are covered too; below 1/64 they count as background.

    Args:
        foreground: HxW float32 foreground probability in [0, 1].
        scratch: Work buffers to reuse (see :class:`Scratch`).

    Returns:
        HxW float32 alpha in [0, 1].

    Raises:
        ValueError: on a malformed foreground.
    """
    if not isinstance(foreground, np.ndarray) or foreground.ndim != 2:
        raise ValueError('foreground must be an HxW float32 array')
    _check_alpha(foreground, foreground.shape, 'foreground')
    radius = max(2, round(min(foreground.shape) * 0.01))
    size = 2 * radius + 1
    alpha = np.multiply(foreground, 2.0,
                        out=_buffer(scratch, 'cover', foreground.shape, np.float32))
    np.minimum(alpha, 1.0, out=alpha)
    # Probabilities below 1/64 are model noise on background: leave those pixels exactly as
    # they are rather than shift them by a grey level.
    cv2.threshold(alpha, _NOISE_ALPHA, 0.0, cv2.THRESH_TOZERO, dst=alpha)
    # Grow by ``radius`` with a max filter, then a box blur of the same radius: every pixel that
    # was 1 still sees only ones, so the soft ramp lies entirely outside the covered area.
    grown = cv2.dilate(alpha, cv2.getStructuringElement(cv2.MORPH_RECT, (size, size)))
    return cv2.blur(grown, (size, size), borderType=cv2.BORDER_REPLICATE)


def pixelate_image(image: np.ndarray, block: int) -> np.ndarray:
    """Pixelate: split the image into tiles of about ``block`` x ``block`` pixels (an integer
    number of tiles across and down) and paint each with its mean colour.

    Args:
        image: HxWx3 uint8 BGR image.
        block: Tile side in pixels, >= 1 (1 returns a copy).

    Returns:
        HxWx3 uint8 image.

    Raises:
        ValueError: on a malformed image or block size.
    """
    _check_image(image)
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 1:
        raise ValueError(f'pixel block must be a positive int, got {block!r}')
    height, width = image.shape[:2]
    tiles = (max(1, math.ceil(width / block)), max(1, math.ceil(height / block)))
    small = cv2.resize(image, tiles, interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)


def anonymise_people(
    image: np.ndarray,
    foreground: np.ndarray,
    strength: int,
    *,
    pixelate: bool = False,
    scratch: Scratch | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Blur or pixelate the foreground (the people), keep the background sharp.

    The effect covers every pixel with foreground probability >= 0.5 completely and fades out
    over a margin around it (:func:`cover_matte`).

    Args:
        image: HxWx3 uint8 BGR image.
        foreground: HxW float32 person probability in [0, 1], at image size.
        strength: Gaussian kernel size (blur) or tile side (pixelate) in pixels,
            ``MIN_ANONYMISING_STRENGTH``..301.
        pixelate: Pixelate instead of blurring.
        scratch: Work buffers to reuse (see :class:`Scratch`).
        out: Optional HxWx3 uint8 array to write the result into (e.g. a message buffer).

    Returns:
        HxWx3 uint8 BGR image.

    Raises:
        ValueError: on malformed inputs or a strength too weak to anonymise.
    """
    _check_image(image)
    _check_alpha(foreground, image.shape[:2], 'foreground')
    _check_anonymising_strength(strength)
    if pixelate:
        hidden = pixelate_image(image, int(strength))
    else:
        hidden = blur_image(image, int(strength),
                            out=_buffer(scratch, 'blur', image.shape, np.uint8))
    return composite(hidden, image, cover_matte(foreground, scratch=scratch), out=out,
                     scratch=scratch)


def _check_anonymising_strength(strength: int) -> None:
    _check_strength(strength)
    if strength < MIN_ANONYMISING_STRENGTH:
        raise ValueError(
            f'strength {strength} is too weak to anonymise people: use at least '
            f'{MIN_ANONYMISING_STRENGTH}')


@dataclass(frozen=True, eq=False)
class EffectOptions:
    """What to do with the background, or with the people.

    Attributes:
        effect: 'blur', 'replace' or 'none' act on the background; 'blur_people' and
            'pixelate_people' hide the foreground (anonymising).
        blur_strength: Equivalent full-resolution Gaussian kernel size in pixels, 1..301; the
            tile side for 'pixelate_people'. Anonymising effects need at least
            ``MIN_ANONYMISING_STRENGTH``.
        background_color: (R, G, B) used by 'replace' when there is no background image.
        background_image: BGR uint8 image of any size used by 'replace'; scaled to cover the
            frame. Stored as a read-only copy.
    """

    effect: Effect = 'blur'
    blur_strength: int = 55
    background_color: tuple[int, int, int] = (0, 177, 64)
    background_image: np.ndarray | None = field(default=None, repr=False)
    _fitted: dict[tuple[int, int], np.ndarray] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        """Validate every field.

        Raises:
            ValueError: naming the first invalid field.
        """
        if self.effect not in EFFECTS:
            raise ValueError(f'effect must be one of {EFFECTS}, got {self.effect!r}')
        if self.effect in ANONYMISING_EFFECTS:
            _check_anonymising_strength(self.blur_strength)
        else:
            _check_strength(self.blur_strength)
        object.__setattr__(self, 'blur_strength', int(self.blur_strength))
        object.__setattr__(self, 'background_color', parse_rgb(self.background_color))
        if self.background_image is not None:
            _check_image(self.background_image, 'background image')
            frozen = np.array(self.background_image, copy=True)
            frozen.flags.writeable = False
            object.__setattr__(self, 'background_image', frozen)

    def background_for(self, height: int, width: int) -> np.ndarray | Color:
        """The 'replace' background for a frame size: the fitted image (cached) or the colour."""
        if self.background_image is None:
            return self.background_color
        fitted = self._fitted.get((height, width))
        if fitted is None:
            fitted = cover_crop(self.background_image, height, width)
            fitted.flags.writeable = False
            self._fitted.clear()
            self._fitted[(height, width)] = fitted
        return fitted

    def __eq__(self, other: object) -> bool:
        """Equal when every field is, background image compared by content."""
        if not isinstance(other, EffectOptions):
            return NotImplemented
        if self is other:
            return True
        mine, theirs = self.background_image, other.background_image
        if (mine is None) != (theirs is None):
            return False
        if mine is not None and not np.array_equal(mine, theirs):
            return False
        return (self.effect, self.blur_strength, self.background_color) == (
            other.effect, other.blur_strength, other.background_color)

    def __hash__(self) -> int:
        """Hash of the scalar fields and the background image's shape."""
        image = self.background_image
        return hash((self.effect, self.blur_strength, self.background_color,
                     None if image is None else image.shape))


def apply_background_effect(
    image: np.ndarray,
    foreground: np.ndarray,
    options: EffectOptions,
    *,
    scratch: Scratch | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Apply ``options.effect``: to the background of ``image``, or to its people.

    Args:
        image: HxWx3 uint8 BGR image.
        foreground: HxW float32 person probability in [0, 1], at image size.
        options: The effect and its settings.
        scratch: Work buffers to reuse (see :class:`Scratch`).
        out: Optional HxWx3 uint8 array to write the result into (e.g. a message buffer).

    Returns:
        HxWx3 uint8 BGR image (``out`` when given); ``image`` itself for 'none' without
        ``out``.

    Raises:
        ValueError: on malformed inputs.
    """
    _check_image(image)
    _check_alpha(foreground, image.shape[:2], 'foreground')
    if options.effect == 'none':
        return image if out is None else _copy(image, out)
    if options.effect == 'blur':
        return blur_background(image, foreground, options.blur_strength, scratch=scratch,
                               out=out)
    if options.effect in ANONYMISING_EFFECTS:
        return anonymise_people(image, foreground, options.blur_strength,
                                pixelate=options.effect == 'pixelate_people', scratch=scratch,
                                out=out)
    return replace_background(
        image, foreground, options.background_for(*image.shape[:2]), scratch=scratch, out=out)
