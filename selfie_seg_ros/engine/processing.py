# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Pre- and post-processing around a segmentation model: resize, un-pad, activations, masks.

Also the one cover-and-crop resize (backgrounds for 'replace', camera frames of a fixed size).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import cv2
import numpy as np

from selfie_seg_ros.engine.limits import check_opencv_span

ResizeMode = Literal['letterbox', 'stretch']
Size = tuple[int, int]
"""(width, height), OpenCV order."""


def content_size(image_size: Size, model_size: Size, mode: ResizeMode) -> Size:
    """Size of the image inside the model input: all of it (stretch) or aspect kept (letterbox)."""
    if mode == 'stretch':
        return model_size
    if mode != 'letterbox':
        raise ValueError(f"unknown resize mode {mode!r}; expected 'letterbox' or 'stretch'")
    (width, height), (model_w, model_h) = image_size, model_size
    scale = min(model_w / width, model_h / height)
    return (
        min(model_w, max(1, round(width * scale))),
        min(model_h, max(1, round(height * scale))),
    )


def resize_to_model(
    image: np.ndarray, model_size: Size, mode: ResizeMode
) -> tuple[np.ndarray, Size]:
    """Resize an image to the model input size.

    Letterbox keeps the aspect ratio and pads with zeros at the bottom/right, as MediaPipe's
    multiclass tutorial does; stretch fills the input, as MediaPipe does for its selfie models.
    Sampling follows MediaPipe's ImageToTensorCalculator: model pixel ``j`` reads the image at
    ``j * width / content_width`` (bilinear, no half-pixel offset), so the converted models
    reproduce MediaPipe's masks.

    Returns:
        The model-sized image and the (width, height) of the image content inside it.

    Raises:
        ValueError: zero size. ImageTooLargeError: rows beyond OpenCV's 2**31-byte range.
    """
    height, width = image.shape[:2]
    if width < 1 or height < 1:
        raise ValueError(f'image has zero size ({width}x{height})')
    # Rows of a view may be strided: what OpenCV addresses is the span of the rows.
    check_opencv_span((height, abs(image.strides[0])), 1)
    content = content_size((width, height), model_size, mode)
    scale = np.float32([[content[0] / width, 0.0, 0.0], [0.0, content[1] / height, 0.0]])
    resized = cv2.warpAffine(
        image, scale, model_size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    if resized.ndim < image.ndim:  # OpenCV drops a trailing single channel
        resized = resized[..., None]
    if content != model_size:
        # Only the content area is the image: the rest is zero padding (bottom/right).
        resized[content[1]:] = 0
        resized[:, content[0]:] = 0
    return resized, content


def restore_size(
    plane: np.ndarray,
    content: Size,
    image_size: Size,
    *,
    nearest: bool = False,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Crop the padding off a model-sized plane and resize it back to the image size.

    ``out``, when given, must be an array of the result's shape and dtype; it is written and
    returned.

    Raises:
        ImageTooLargeError: the result would exceed OpenCV's 2**31-byte range.
    """
    check_opencv_span((image_size[1], image_size[0], *plane.shape[2:]), plane.itemsize)
    cropped = plane[: content[1], : content[0]]
    interpolation = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    if cropped.shape[1::-1] == tuple(image_size):
        if out is None:
            return np.ascontiguousarray(cropped)
        np.copyto(out, cropped)
        return out
    if out is None:
        return cv2.resize(cropped, image_size, interpolation=interpolation)
    return cv2.resize(cropped, image_size, dst=out, interpolation=interpolation)


def _looks_like_probabilities(raw: np.ndarray) -> bool:
    if raw.min() < 0.0 or raw.max() > 1.0:
        return False
    if raw.shape[-1] == 1:
        return True
    return bool(np.allclose(raw.sum(axis=-1), 1.0, atol=1e-2))


def to_probabilities(raw: np.ndarray, activation: str) -> np.ndarray:
    """Turn raw model output (HxWxC) into probabilities.

    Args:
        raw: float32 HxWxC model output.
        activation: 'none' (already probabilities), 'sigmoid', 'softmax', or 'auto' (apply sigmoid
            to one channel or softmax to several, unless the output already is probabilities).
    """
    if activation == 'auto':
        if _looks_like_probabilities(raw):
            return raw
        activation = 'sigmoid' if raw.shape[-1] == 1 else 'softmax'
    if activation == 'none':
        return raw
    if activation == 'sigmoid':
        return (1.0 / (1.0 + np.exp(-raw))).astype(np.float32)
    if activation == 'softmax':
        shifted = np.exp(raw - raw.max(axis=-1, keepdims=True))
        return (shifted / shifted.sum(axis=-1, keepdims=True)).astype(np.float32)
    raise ValueError(f'unknown activation {activation!r}')


def num_classes(probabilities: np.ndarray) -> int:
    """Classes of a probability map: a single channel means background/foreground."""
    return max(2, probabilities.shape[-1])


def class_mask(probabilities: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Per-pixel class ids (uint8): argmax, or ``p >= threshold`` for a single-channel output."""
    if probabilities.shape[-1] == 1:
        return (probabilities[..., 0] >= threshold).astype(np.uint8)
    return probabilities.argmax(axis=-1).astype(np.uint8)


def foreground_probability(probabilities: np.ndarray, classes: Sequence[int]) -> np.ndarray:
    """Probability that a pixel belongs to any of ``classes`` (float32 HxW in [0, 1]).

    For a single-channel output class 1 is the channel and class 0 its complement.
    """
    channels = probabilities.shape[-1]
    wanted = sorted(set(classes))
    limit = num_classes(probabilities)
    if any(c < 0 or c >= limit for c in wanted):
        raise ValueError(f'foreground classes {wanted} out of range for {limit} classes')
    if channels == 1:
        person = probabilities[..., 0]
        if wanted == [1]:
            return np.ascontiguousarray(person, dtype=np.float32)
        if wanted == [0]:
            return (1.0 - person).astype(np.float32)
        return np.ones(person.shape, np.float32) if wanted else np.zeros(person.shape, np.float32)
    if not wanted:
        return np.zeros(probabilities.shape[:-1], np.float32)
    if len(wanted) == 1:
        result = probabilities[..., wanted[0]].astype(np.float32)
    else:
        result = probabilities[..., wanted].sum(axis=-1, dtype=np.float32)
    return np.clip(result, 0.0, 1.0, out=result)


class TemporalSmoother:
    """Exponential moving average of probability maps across video frames (reduces flicker)."""

    def __init__(self, weight: float = 0.0) -> None:
        self._state: np.ndarray | None = None
        self.weight = weight

    @property
    def weight(self) -> float:
        """Weight of the previous frames, 0 (off) to < 1."""
        return self._weight

    @weight.setter
    def weight(self, value: float) -> None:
        if not 0.0 <= value < 1.0:
            raise ValueError(f'smoothing weight must be in [0, 1), got {value}')
        self._weight = float(value)
        if self._weight == 0.0:
            self._state = None

    def reset(self) -> None:
        """Forget earlier frames (e.g. after a scene or size change)."""
        self._state = None

    def update(self, probabilities: np.ndarray) -> np.ndarray:
        """Blend this frame's probabilities with the earlier ones and return the result."""
        if self._weight == 0.0:
            return probabilities
        if self._state is None or self._state.shape != probabilities.shape:
            self._state = probabilities.astype(np.float32, copy=True)
        else:
            cv2.addWeighted(
                self._state,
                self._weight,
                probabilities.astype(np.float32, copy=False),
                1.0 - self._weight,
                0.0,
                dst=self._state,
            )
        return self._state


def cover_crop(
    image: np.ndarray, height: int, width: int, *, keep_top: bool = False
) -> np.ndarray:
    """Scale an image to cover ``height`` x ``width`` (aspect kept) and centre-crop it.

    Args:
        image: HxW or HxWxC image of any size.
        height: Target height in pixels.
        width: Target width in pixels.
        keep_top: Crop keeps the top of the picture instead of its vertical centre.

    Returns:
        ``height`` x ``width`` image; ``image`` itself if it already has that size.

    Raises:
        ValueError: on an empty image or target size.
    """
    src_height, src_width = image.shape[:2]
    if min(src_height, src_width, height, width) < 1:
        raise ValueError(f'cannot crop {src_width}x{src_height} to {width}x{height}')
    if (src_height, src_width) == (height, width):
        return image
    scale = max(width / src_width, height / src_height)
    new_width = max(width, round(src_width * scale))
    new_height = max(height, round(src_height * scale))
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_width, new_height), interpolation=interpolation)
    top = 0 if keep_top else (new_height - height) // 2
    left = (new_width - width) // 2
    return np.ascontiguousarray(resized[top:top + height, left:left + width])
