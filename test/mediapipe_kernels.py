# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Numpy references of the TFLite kernels MediaPipe's segmenters run (float32, NHWC, batch 1..n).

Written from the kernels' loops (mediapipe/util/tflite/operations and TFLite's reference ops), not
from OpenVINO's operations, so that a wrong translation disagrees with them.
"""

from __future__ import annotations

import numpy as np
from tflite_builder import (
    ACTIVATION_RELU,
    ACTIVATION_RELU6,
    ACTIVATION_RELU_N1_TO_1,
    PADDING_SAME,
    HairWeights,
    conv_output_size,
    transpose_conv_output_size,
)


def activation(x: np.ndarray, kind: int) -> np.ndarray:
    """TFLite's fused activation clamp (CalculateActivationRange)."""
    if kind == ACTIVATION_RELU:
        return np.maximum(x, 0.0)
    if kind == ACTIVATION_RELU6:
        return np.clip(x, 0.0, 6.0)
    if kind == ACTIVATION_RELU_N1_TO_1:
        return np.clip(x, -1.0, 1.0)
    return x


def compute_padding(stride: int, in_size: int, kernel: int, out_size: int) -> int:
    """TFLite's ComputePadding with dilation 1: ((out - 1) * s + k - in) / 2, at least 0."""
    total = (out_size - 1) * stride + kernel - in_size
    return max(0, int(total / 2))  # C++ division truncates toward zero


def max_pool_argmax(
    x: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: int,
    fused: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe's MaxPoolingWithArgmax2D: (values, window-local indices + 0.1), both float32.

    The window is clamped to the input; the first maximum in row-major order wins (strict >).
    """
    n, height, width, channels = x.shape
    out_h = conv_output_size(height, kernel[0], stride[0], padding)
    out_w = conv_output_size(width, kernel[1], stride[1], padding)
    pad_y = compute_padding(stride[0], height, kernel[0], out_h)
    pad_x = compute_padding(stride[1], width, kernel[1], out_w)
    values = np.empty((n, out_h, out_w, channels), np.float32)
    indices = np.empty((n, out_h, out_w, channels), np.float32)
    for b in range(n):
        for oy in range(out_h):
            for ox in range(out_w):
                y0, x0 = oy * stride[0] - pad_y, ox * stride[1] - pad_x
                best = np.full(channels, np.finfo(np.float32).min, np.float32)
                where = np.zeros(channels, np.int64)
                for fy in range(max(0, -y0), min(kernel[0], height - y0)):
                    for fx in range(max(0, -x0), min(kernel[1], width - x0)):
                        current = x[b, y0 + fy, x0 + fx]
                        better = current > best
                        best = np.where(better, current, best)
                        where = np.where(better, fy * kernel[1] + fx, where)
                values[b, oy, ox] = activation(best, fused)
                indices[b, oy, ox] = where + 0.1
    return values, indices


def max_unpool(
    x: np.ndarray, indices: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int]
) -> np.ndarray:
    """MediaPipe's MaxUnpooling2D: output ``kernel`` times the input size; later writes win."""
    n, height, width, channels = x.shape
    out_h, out_w = height * kernel[0], width * kernel[1]
    pad_y = compute_padding(stride[0], out_h, kernel[0], height)
    pad_x = compute_padding(stride[1], out_w, kernel[1], width)
    out = np.zeros((n, out_h, out_w, channels), np.float32)
    for b in range(n):
        for iy in range(height):
            for ix in range(width):
                for c in range(channels):
                    index = int(indices[b, iy, ix, c])  # truncation, as the C++ cast
                    max_x = int(np.fmod(index, kernel[1]))
                    max_y = int((index - max_x) / kernel[1])
                    oy = iy * stride[0] - pad_y + max_y
                    ox = ix * stride[1] - pad_x + max_x
                    if 0 <= oy < out_h and 0 <= ox < out_w:
                        out[b, oy, ox, c] = x[b, iy, ix, c]
    return out


def conv2d(
    x: np.ndarray,
    weights: np.ndarray,
    bias: np.ndarray,
    stride: tuple[int, int],
    padding: int,
    fused: int = 0,
) -> np.ndarray:
    """TFLite CONV_2D (weights OHWI), TensorFlow's SAME/VALID padding, fused activation."""
    n, height, width, _ = x.shape
    c_out, k_h, k_w, _ = weights.shape
    out_h = conv_output_size(height, k_h, stride[0], padding)
    out_w = conv_output_size(width, k_w, stride[1], padding)
    pad_y = compute_padding(stride[0], height, k_h, out_h) if padding == PADDING_SAME else 0
    pad_x = compute_padding(stride[1], width, k_w, out_w) if padding == PADDING_SAME else 0
    span_h = (out_h - 1) * stride[0] + k_h
    span_w = (out_w - 1) * stride[1] + k_w
    padded = np.zeros(
        (n, max(height + pad_y, span_h), max(width + pad_x, span_w), x.shape[3]), np.float64
    )
    padded[:, pad_y : pad_y + height, pad_x : pad_x + width] = x
    out = np.zeros((n, out_h, out_w, c_out), np.float64)
    for ky in range(k_h):
        for kx in range(k_w):
            rows = slice(ky, ky + (out_h - 1) * stride[0] + 1, stride[0])
            cols = slice(kx, kx + (out_w - 1) * stride[1] + 1, stride[1])
            tap = weights[:, ky, kx].astype(np.float64)
            out += np.einsum('nhwi,oi->nhwo', padded[:, rows, cols], tap)
    return activation((out + bias).astype(np.float32), fused)


def scatter_transpose_conv(
    x: np.ndarray, weights: np.ndarray, stride: tuple[int, int], canvas: tuple[int, int]
) -> np.ndarray:
    """Un-cropped transposed convolution of x[0]: every input pixel adds its weighted kernel."""
    _, height, width, _ = x.shape
    _, k_h, k_w, _ = weights.shape
    full = np.zeros((canvas[0], canvas[1], weights.shape[0]), np.float64)
    for ky in range(k_h):
        for kx in range(k_w):
            contribution = np.einsum('hwi,oi->hwo', x[0].astype(np.float64), weights[:, ky, kx])
            rows = slice(ky, ky + (height - 1) * stride[0] + 1, stride[0])
            cols = slice(kx, kx + (width - 1) * stride[1] + 1, stride[1])
            full[rows, cols] += contribution
    return full


def transpose_conv(
    x: np.ndarray, weights: np.ndarray, bias: np.ndarray, stride: tuple[int, int], padding: int
) -> np.ndarray:
    """MediaPipe's ``Convolution2DTransposeBias`` kernel (float32 NHWC, batch 1).

    out[y*s + ky - pad_top, x*s + kx - pad_left, co] += x[y, x, ci] * w[co, ky, kx, ci], plus bias.
    SAME padding totals ``max(0, k - (size - 1) % s - 1)`` (MediaPipe's transpose_conv_bias.cc),
    pad_top = total // 2; the output is the full result minus that total.
    """
    _, height, width, _ = x.shape
    _, k_h, k_w, _ = weights.shape
    full_h, full_w = (height - 1) * stride[0] + k_h, (width - 1) * stride[1] + k_w
    full = scatter_transpose_conv(x, weights, stride, (full_h, full_w))
    out_h = transpose_conv_output_size(height, stride[0], k_h, padding)
    out_w = transpose_conv_output_size(width, stride[1], k_w, padding)
    top, left = (full_h - out_h) // 2, (full_w - out_w) // 2
    return (full[top : top + out_h, left : left + out_w] + bias)[None].astype(np.float32)


def hair_forward(x: np.ndarray, weights: HairWeights) -> np.ndarray:
    """Forward pass of ``tflite_builder.hair_model``: 4-channel NHWC input -> 2 logits."""
    relu = ACTIVATION_RELU
    y = conv2d(x, *weights.conv1, (2, 2), PADDING_SAME, relu)
    y, indices1 = max_pool_argmax(y, (2, 2), (2, 2), PADDING_SAME)
    y = conv2d(y, *weights.conv2, (1, 1), PADDING_SAME, relu)
    y, indices2 = max_pool_argmax(y, (2, 2), (2, 2), PADDING_SAME)
    y = conv2d(y, *weights.conv3, (1, 1), PADDING_SAME, relu)
    y = max_unpool(y, indices2, (2, 2), (2, 2))
    y = conv2d(y, *weights.conv4, (1, 1), PADDING_SAME, relu)
    y = max_unpool(y, indices1, (2, 2), (2, 2))
    return transpose_conv(y, *weights.tconv, (2, 2), PADDING_SAME)

