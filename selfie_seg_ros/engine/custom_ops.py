# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""MediaPipe's custom TFLite operators, translated into OpenVINO opset operations.

MediaPipe's segmenters use three operators that OpenVINO's TFLite frontend does not know:

- ``Convolution2DTransposeBias``: a transposed convolution with a bias (every selfie segmenter).
- ``MaxPoolingWithArgmax2D``: max pooling that also returns, per output element, where in its
  window the maximum was (hair segmenter).
- ``MaxUnpooling2D``: puts each value back where those indices say (hair segmenter).

Their options live in each operator's ``custom_options`` bytes, raw C structs that MediaPipe's
kernels (mediapipe/util/tflite/operations) cast from: ``TfLiteTransposeConvParams`` (padding,
stride_width, stride_height) and ``TfLitePoolParams`` (padding, stride_width, stride_height,
filter_width, filter_height, activation). The frontend does not expose them, so they are read
from the flatbuffer here and matched to frontend nodes by their input tensor names.

The index both pooling operators agree on is window-local: ``max_y * filter_width + max_x`` with
(max_y, max_x) counted from the window's top-left corner (padding included), stored as a float
(plus 0.1, so that truncation gives the integer back).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import openvino as ov
import openvino.opset8 as ops8
import openvino.opset12 as ops12
import openvino.opset13 as ops
from openvino.frontend import ConversionExtension, NodeContext

TRANSPOSE_CONV_BIAS = 'Convolution2DTransposeBias'
MAX_POOL_ARGMAX = 'MaxPoolingWithArgmax2D'
MAX_UNPOOLING = 'MaxUnpooling2D'
SUPPORTED_CUSTOM_OPS = (TRANSPOSE_CONV_BIAS, MAX_POOL_ARGMAX, MAX_UNPOOLING)

# TfLitePadding and TfLiteFusedActivation enum values.
PADDING_SAME = 1
PADDING_VALID = 2
_ACTIVATION_RANGES: dict[int, tuple[float, float] | None] = {
    0: None,  # none
    1: (0.0, float(np.finfo(np.float32).max)),  # relu
    2: (-1.0, 1.0),  # relu_n1_to_1
    3: (0.0, 6.0),  # relu6
    # tanh, sign bit, sigmoid: TFLite's CalculateActivationRange does not clamp for them.
    4: None,
    5: None,
    6: None,
}
_INDEX_OFFSET = 0.1  # MediaPipe stores indices as float(index) + 0.1


class CustomOpError(ValueError):
    """A custom operator is unsupported or has malformed options (the caller names the file)."""


@dataclass(frozen=True)
class CustomOperator:
    """One custom operator of a .tflite graph, as stored in the flatbuffer."""

    name: str
    index: int
    """Position in the subgraph's operator list."""
    options: bytes
    input_names: tuple[str, ...]
    input_shapes: tuple[tuple[int, ...], ...]
    output_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class TransposeConvParams:
    """``TfLiteTransposeConvParams``: the options of ``Convolution2DTransposeBias``."""

    padding: int
    stride_width: int
    stride_height: int


@dataclass(frozen=True)
class PoolParams:
    """``TfLitePoolParams``: the options of both pooling operators."""

    padding: int
    stride_width: int
    stride_height: int
    filter_width: int
    filter_height: int
    activation: int


@dataclass(frozen=True)
class UnpoolParams:
    """``MaxUnpooling2D``'s options, and whether its indices stay inside their windows."""

    pool: PoolParams
    indices_in_window: bool
    """The indices come from a ``MaxPoolingWithArgmax2D`` with the same window size, so each
    is below filter_height * filter_width."""


def read_custom_operators(data: bytes) -> list[CustomOperator]:
    """Every custom operator of every subgraph of a TFLite flatbuffer, in graph order.

    Raises:
        CustomOpError: the flatbuffer is not a TFLite model or is malformed.
    """
    import tflite  # schema bindings; only needed for TFLite sources

    if data[4:8] != b'TFL3':
        raise CustomOpError('not a TFLite model (no TFL3 identifier)')
    try:
        model = tflite.Model.GetRootAsModel(data, 0)
        names = {}
        for index in range(model.OperatorCodesLength()):
            code = model.OperatorCodes(index)
            custom = code.CustomCode()
            if custom is not None and code.BuiltinCode() == tflite.BuiltinOperator.CUSTOM:
                names[index] = custom.decode('utf-8', errors='replace')
        found = []
        for graph_index in range(model.SubgraphsLength()):
            graph = model.Subgraphs(graph_index)
            for op_index in range(graph.OperatorsLength()):
                op = graph.Operators(op_index)
                if op.OpcodeIndex() not in names:
                    continue
                options = op.CustomOptionsAsNumpy()
                tensors = [graph.Tensors(i) for i in op.InputsAsNumpy() if i >= 0]
                outputs = [graph.Tensors(i) for i in op.OutputsAsNumpy() if i >= 0]
                found.append(
                    CustomOperator(
                        name=names[op.OpcodeIndex()],
                        index=op_index,
                        options=b'' if isinstance(options, int) else options.tobytes(),
                        input_names=tuple(
                            (t.Name() or b'').decode('utf-8', errors='replace') for t in tensors
                        ),
                        input_shapes=tuple(
                            tuple(int(v) for v in np.atleast_1d(t.ShapeAsNumpy()))
                            if not isinstance(t.ShapeAsNumpy(), int)
                            else ()
                            for t in tensors
                        ),
                        output_names=tuple(
                            (t.Name() or b'').decode('utf-8', errors='replace') for t in outputs
                        ),
                    )
                )
        return found
    except (struct.error, IndexError, ValueError, TypeError, AttributeError) as error:
        raise CustomOpError(f'corrupt or truncated TFLite model ({error})') from error


def unsupported_operators(operators: Sequence[CustomOperator]) -> list[str]:
    """Names of the custom operators that no translation here covers, sorted, distinct."""
    return sorted({op.name for op in operators if op.name not in SUPPORTED_CUSTOM_OPS})


def transpose_conv_params(op: CustomOperator) -> TransposeConvParams:
    """Parse a ``Convolution2DTransposeBias`` operator's 12-byte options block."""
    if len(op.options) < 12:
        raise CustomOpError(f'{op.name} operator {op.index} has no 12-byte options block')
    params = TransposeConvParams(*struct.unpack('<3i', op.options[:12]))
    if (
        params.padding not in (PADDING_SAME, PADDING_VALID)
        or params.stride_width < 1
        or params.stride_height < 1
    ):
        raise CustomOpError(f'{op.name} operator {op.index} has invalid options {params}')
    return params


def pool_params(op: CustomOperator) -> PoolParams:
    """Parse a pooling operator's ``TfLitePoolParams`` block (the first 24 bytes are used)."""
    if len(op.options) < 24:
        raise CustomOpError(f'{op.name} operator {op.index} has no 24-byte options block')
    params = PoolParams(*struct.unpack('<6i', op.options[:24]))
    if (
        params.padding not in (PADDING_SAME, PADDING_VALID)
        or min(params.stride_width, params.stride_height) < 1
        or min(params.filter_width, params.filter_height) < 1
        or params.activation not in _ACTIVATION_RANGES
    ):
        raise CustomOpError(f'{op.name} operator {op.index} has invalid options {params}')
    return params


# -- sizes, as MediaPipe's kernels compute them ---------------------------------------------------


def compute_padding(stride: int, in_size: int, filter_size: int, out_size: int) -> int:
    """TFLite's ``ComputePadding`` (dilation 1): leading padding, never negative."""
    return max(0, ((out_size - 1) * stride + filter_size - in_size) // 2)


def pool_output_size(size: int, filter_size: int, stride: int, padding: int) -> int:
    """Output extent of ``MaxPoolingWithArgmax2D`` along one axis (TensorFlow's rule)."""
    if padding == PADDING_SAME:
        return (size + stride - 1) // stride
    return (size - filter_size + stride) // stride


def transpose_conv_output_size(size: int, stride: int, kernel: int, padding: int) -> int:
    """Output extent of ``Convolution2DTransposeBias`` along one axis."""
    full = (size - 1) * stride + kernel
    if padding == PADDING_VALID:
        return full
    return full - transpose_conv_padding(size, stride, kernel)


def transpose_conv_padding(size: int, stride: int, kernel: int) -> int:
    """Total SAME padding of MediaPipe's transposed convolution (transpose_conv_bias.cc)."""
    return max(0, kernel - (size - 1) % stride - 1)


# -- translations ---------------------------------------------------------------------------------


def _const(values: Any, dtype: type = np.int64) -> ov.Output:
    return ops.constant(np.asarray(values, dtype=dtype)).output(0)


def _static_shape(output: ov.Output, what: str) -> tuple[int, ...]:
    shape = output.get_partial_shape()
    if not shape.is_static or len(shape) != 4:
        raise CustomOpError(f'{what} needs a static 4-D input, got {shape}')
    return tuple(d.get_length() for d in shape)


def _to_nchw(x: ov.Output) -> ov.Output:
    return ops.transpose(x, _const([0, 3, 1, 2])).output(0)


def _to_nhwc(x: ov.Output) -> ov.Output:
    return ops.transpose(x, _const([0, 2, 3, 1])).output(0)


def translate_transpose_conv(
    params: TransposeConvParams, x: ov.Output, weights: ov.Output, bias: ov.Output
) -> ov.Output:
    """``Convolution2DTransposeBias``: x NHWC, weights OHWI, bias [C_out].

    OpenVINO's ConvolutionBackpropData wants NCHW input and [C_in, C_out, kH, kW] weights; it has
    the same (unflipped) kernel convention as TFLite.
    """
    x_shape = _static_shape(x, TRANSPOSE_CONV_BIAS)
    w_shape = _static_shape(weights, TRANSPOSE_CONV_BIAS)
    strides = [params.stride_height, params.stride_width]
    pads_begin, pads_end = [], []
    for size, stride, kernel in zip(x_shape[1:3], strides, w_shape[1:3], strict=True):
        total = (
            transpose_conv_padding(size, stride, kernel) if params.padding == PADDING_SAME else 0
        )
        pads_begin.append(total // 2)
        pads_end.append(total - total // 2)
    w_iohw = ops.transpose(weights, _const([3, 0, 1, 2]))
    y = ops.convolution_backprop_data(
        _to_nchw(x), w_iohw, strides=strides, pads_begin=pads_begin, pads_end=pads_end
    )
    return ops.add(_to_nhwc(y.output(0)), bias).output(0)


def translate_max_pool_argmax(params: PoolParams, x: ov.Output) -> tuple[ov.Output, ov.Output]:
    """``MaxPoolingWithArgmax2D``: pooled values and window-local float indices, both NHWC.

    Each window position (fy, fx) is a strided slice of the input (padded with -inf, which never
    wins); the maximum is their elementwise maximum and the index the first position, in
    row-major order, that holds it: MediaPipe's kernel keeps the first maximum (strict >).
    OpenVINO's MaxPool with indices runs a reference (slow) kernel on CPU; these ops do not.
    """
    batch, height, width, channels = _static_shape(x, MAX_POOL_ARGMAX)
    out_h = pool_output_size(height, params.filter_height, params.stride_height, params.padding)
    out_w = pool_output_size(width, params.filter_width, params.stride_width, params.padding)
    if out_h < 1 or out_w < 1:
        raise CustomOpError(
            f'{MAX_POOL_ARGMAX}: a {params.filter_height}x{params.filter_width} window does not '
            f'fit a {height}x{width} input'
        )
    pad_top = compute_padding(params.stride_height, height, params.filter_height, out_h)
    pad_left = compute_padding(params.stride_width, width, params.filter_width, out_w)
    span_h = (out_h - 1) * params.stride_height + params.filter_height
    span_w = (out_w - 1) * params.stride_width + params.filter_width
    pad_bottom = max(0, span_h - height - pad_top)
    pad_right = max(0, span_w - width - pad_left)
    if pad_top or pad_left or pad_bottom or pad_right:
        x = ops.pad(
            x,
            _const([0, pad_top, pad_left, 0]),
            _const([0, pad_bottom, pad_right, 0]),
            'constant',
            _const(-np.inf, np.float32),
        ).output(0)
    taps = []
    for fy in range(params.filter_height):
        for fx in range(params.filter_width):
            stop_y = fy + (out_h - 1) * params.stride_height + 1
            stop_x = fx + (out_w - 1) * params.stride_width + 1
            taps.append(
                ops8.slice(
                    x,
                    _const([0, fy, fx, 0]),
                    _const([batch, stop_y, stop_x, channels]),
                    _const([1, params.stride_height, params.stride_width, 1]),
                ).output(0)
            )
    values = taps[0]
    for tap in taps[1:]:
        values = ops.maximum(values, tap).output(0)
    indices = _const(np.float32(0) + np.float32(_INDEX_OFFSET), np.float32)
    for k in reversed(range(len(taps))):
        stored = np.float32(k) + np.float32(_INDEX_OFFSET)
        indices = ops.select(
            ops.equal(taps[k], values), _const(stored, np.float32), indices
        ).output(0)
    limits = _ACTIVATION_RANGES[params.activation]
    if limits is not None:
        values = ops.clamp(values, limits[0], limits[1]).output(0)
    return values, indices


def _truncate_to_int(x: ov.Output) -> ov.Output:
    """float -> int32 rounding toward zero, as C++ does."""
    magnitude = ops.floor(ops.abs(x))
    return ops.convert(ops.multiply(ops.sign(x), magnitude), 'i32').output(0)


def translate_max_unpooling(
    unpool: UnpoolParams, x: ov.Output, indices: ov.Output
) -> ov.Output:
    """``MaxUnpooling2D``: each value goes where its window-local index says; the rest is 0.

    The output is ``filter`` times the input size. When the stride equals the window and the
    indices stay inside their windows (MediaPipe's 2x2/2 pooling), the windows tile the output
    and every value has a place of its own: a per-index select and a reshape. Otherwise windows
    can overlap and two values can land on one output element; MediaPipe's kernel keeps the one
    written last in (row, column) order, which a max-scatter of each element's position in that
    order picks.
    """
    params = unpool.pool
    batch, height, width, channels = _static_shape(x, MAX_UNPOOLING)
    if _static_shape(indices, MAX_UNPOOLING) != (batch, height, width, channels):
        raise CustomOpError(f'{MAX_UNPOOLING}: values and indices differ in shape')
    tiles = (params.stride_height, params.stride_width) == (
        params.filter_height,
        params.filter_width,
    )
    if tiles and unpool.indices_in_window:
        # Indices from the pool are >= 0: floor is truncation.
        index = ops.convert(ops.floor(indices), 'i32').output(0)
        return _unpool_tiles(params, x, index, (batch, height, width, channels))
    index = _truncate_to_int(indices)
    return _unpool_scatter(params, x, index, (batch, height, width, channels))


def _unpool_tiles(
    params: PoolParams, x: ov.Output, index: ov.Output, shape: tuple[int, int, int, int]
) -> ov.Output:
    batch, height, width, channels = shape
    fh, fw = params.filter_height, params.filter_width
    # [N, H, 1, W, 1, C] against each window position's index [1, 1, fh, 1, fw, 1].
    split = _const([batch, height, 1, width, 1, channels])
    position = _const(np.arange(fh * fw, dtype=np.int32).reshape(1, 1, fh, 1, fw, 1), np.int32)
    placed = ops.select(
        ops.equal(ops.reshape(index, split, special_zero=False), position),
        ops.reshape(x, split, special_zero=False),
        _const(0.0, np.float32),
    )
    return ops.reshape(
        placed, _const([batch, height * fh, width * fw, channels]), special_zero=False
    ).output(0)


def _unpool_scatter(
    params: PoolParams, x: ov.Output, index: ov.Output, shape: tuple[int, int, int, int]
) -> ov.Output:
    batch, height, width, channels = shape
    out_h, out_w = height * params.filter_height, width * params.filter_width
    pad_top = compute_padding(params.stride_height, out_h, params.filter_height, height)
    pad_left = compute_padding(params.stride_width, out_w, params.filter_width, width)
    filter_w = _const(params.filter_width, np.int32)
    max_x = ops.mod(index, filter_w)  # C++ semantics: the sign follows the dividend
    max_y = ops.divide(ops.subtract(index, max_x), filter_w)  # exact division
    rows = np.arange(height, dtype=np.int32).reshape(1, height, 1, 1)
    cols = np.arange(width, dtype=np.int32).reshape(1, 1, width, 1)
    out_y = ops.add(max_y, _const(rows * params.stride_height - pad_top, np.int32))
    out_x = ops.add(max_x, _const(cols * params.stride_width - pad_left, np.int32))
    inside = ops.logical_and(
        ops.logical_and(
            ops.greater_equal(out_y, _const(0, np.int32)),
            ops.less(out_y, _const(out_h, np.int32)),
        ),
        ops.logical_and(
            ops.greater_equal(out_x, _const(0, np.int32)),
            ops.less(out_x, _const(out_w, np.int32)),
        ),
    )
    # Flat NHWC target of every input element; elements that land outside go to a spare slot.
    size = batch * out_h * out_w * channels
    batch_base = _const(
        np.arange(batch, dtype=np.int32).reshape(batch, 1, 1, 1) * out_h * out_w * channels,
        np.int32,
    )
    channel = _const(np.arange(channels, dtype=np.int32).reshape(1, 1, 1, channels), np.int32)
    target = ops.add(
        ops.add(
            batch_base,
            ops.multiply(
                ops.add(ops.multiply(out_y, _const(out_w, np.int32)), out_x),
                _const(channels, np.int32),
            ),
        ),
        channel,
    )
    target = ops.select(inside, target, _const(size, np.int32))
    # Position of each input element in write order (rows, then columns), per batch and channel.
    order = ops.broadcast(
        _const(rows * width + cols, np.int32), _const([batch, height, width, channels])
    )
    flat = _const([-1])
    winner = ops12.scatter_elements_update(
        ops.broadcast(_const(-1, np.int32), _const([size + 1])),
        ops.reshape(target, flat, special_zero=False),
        ops.reshape(order, flat, special_zero=False),
        _const(0),
        reduction='max',
        use_init_val=True,
    )
    winner = ops.reshape(
        ops8.slice(winner, _const([0]), _const([size]), _const([1])),
        _const([batch, out_h, out_w, channels]),
        special_zero=False,
    )
    # Gather each winner's value: its flat index in x from (batch, position, channel).
    out_batch = _const(
        np.arange(batch, dtype=np.int32).reshape(batch, 1, 1, 1) * height * width, np.int32
    )
    out_channel = _const(np.arange(channels, dtype=np.int32).reshape(1, 1, 1, channels), np.int32)
    found = ops.greater_equal(winner, _const(0, np.int32))
    source = ops.add(
        ops.multiply(
            ops.add(out_batch, ops.maximum(winner, _const(0, np.int32))),
            _const(channels, np.int32),
        ),
        out_channel,
    )
    gathered = ops8.gather(ops.reshape(x, flat, special_zero=False), source, _const(0))
    return ops.select(found, gathered, _const(0.0, np.float32)).output(0)


# -- conversion extensions ------------------------------------------------------------------------


def _input_names(context: NodeContext) -> tuple[str, ...]:
    names = []
    for i in range(context.get_input_size()):
        tensor_names = context.get_input(i).get_names()
        names.append(next(iter(sorted(tensor_names))) if len(tensor_names) == 1 else '')
    return tuple(names)


def _input_shapes(context: NodeContext) -> tuple[tuple[int, ...] | None, ...]:
    shapes = []
    for i in range(context.get_input_size()):
        shape = context.get_input(i).get_partial_shape()
        shapes.append(tuple(d.get_length() for d in shape) if shape.is_static else None)
    return tuple(shapes)


def _match(candidates: Sequence[CustomOperator], context: NodeContext) -> list[CustomOperator]:
    """The operators a frontend node can be: by input tensor names, else by input shapes."""
    names = _input_names(context)
    if all(names):
        by_name = [op for op in candidates if op.input_names[: len(names)] == names]
        if by_name:
            return by_name
    shapes = _input_shapes(context)
    return [
        op
        for op in candidates
        if all(s is None or s == op.input_shapes[i] for i, s in enumerate(shapes))
        and len(op.input_shapes) >= len(shapes)
    ]


def _extension(
    name: str,
    candidates: Sequence[CustomOperator],
    parse: Callable[[CustomOperator], Any],
    translate: Callable[..., Any],
) -> ConversionExtension:
    parsed = [(op, parse(op)) for op in candidates]  # malformed options fail before conversion

    def convert(context: NodeContext) -> list[ov.Output]:
        matching = {id(op) for op in _match(candidates, context)}
        options = {params for op, params in parsed if id(op) in matching}
        if len(options) != 1:
            raise CustomOpError(
                f'cannot tell which {name} operator has inputs {_input_names(context)} '
                f'{_input_shapes(context)} ({len(matching)} candidates with {len(options)} '
                'distinct option sets)'
            )
        inputs = [context.get_input(i) for i in range(context.get_input_size())]
        result = translate(options.pop(), *inputs)
        return list(result) if isinstance(result, tuple) else [result]

    return ConversionExtension(name, convert)


def conversion_extensions(operators: Sequence[CustomOperator]) -> list[ConversionExtension]:
    """Conversion extensions for the custom operators of a model (none when it has none).

    Raises:
        CustomOpError: an operator has no translation here, or its options are malformed.
    """
    unknown = unsupported_operators(operators)
    if unknown:
        raise CustomOpError(
            f'custom operator{"s" if len(unknown) > 1 else ""} {", ".join(unknown)} '
            f'not supported (supported custom operators: {", ".join(SUPPORTED_CUSTOM_OPS)})'
        )
    # Indices tensors of argmax pools, by window size: always inside a window of that size.
    pool_indices = {
        (op.output_names[1], (params.filter_height, params.filter_width))
        for op in operators
        if op.name == MAX_POOL_ARGMAX and len(op.output_names) == 2
        for params in (pool_params(op),)
    }

    def parse_unpool(op: CustomOperator) -> UnpoolParams:
        params = pool_params(op)
        window = (params.filter_height, params.filter_width)
        return UnpoolParams(params, (op.input_names[1], window) in pool_indices)

    table: dict[str, tuple[Callable[[CustomOperator], Any], Callable[..., Any], int]] = {
        TRANSPOSE_CONV_BIAS: (transpose_conv_params, translate_transpose_conv, 3),
        MAX_POOL_ARGMAX: (pool_params, translate_max_pool_argmax, 1),
        MAX_UNPOOLING: (parse_unpool, translate_max_unpooling, 2),
    }
    extensions = []
    for name, (parse, translate, arity) in table.items():
        candidates = [op for op in operators if op.name == name]
        if not candidates:
            continue
        for op in candidates:
            if len(op.input_names) != arity:
                raise CustomOpError(
                    f'{name} operator {op.index} has {len(op.input_names)} inputs, '
                    f'expected {arity}'
                )
        extensions.append(_extension(name, candidates, parse, translate))
    return extensions
