# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Write tiny but real .tflite flatbuffers for tests, with the ``tflite`` schema builders.

``transpose_conv_model`` builds a graph with MediaPipe's ``Convolution2DTransposeBias`` custom op
(its options as the raw 12-byte ``TfLiteTransposeConvParams`` struct, as MediaPipe writes them);
``pool_unpool_model`` one with ``MaxPoolingWithArgmax2D`` and ``MaxUnpooling2D`` (options as the
raw ``TfLitePoolParams`` struct); ``hair_model`` the hair segmenter's shape (4-channel input,
conv -> argmax pool -> ... -> unpool -> transposed conv with bias, 2 output channels);
``add_model`` one with a builtin ADD, which OpenVINO converts without any extension.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import flatbuffers
import numpy as np
import tflite

CUSTOM_OP = 'Convolution2DTransposeBias'
MAX_POOL_ARGMAX = 'MaxPoolingWithArgmax2D'
MAX_UNPOOLING = 'MaxUnpooling2D'
PADDING_SAME = 1
PADDING_VALID = 2
ACTIVATION_NONE = 0
ACTIVATION_RELU = 1
ACTIVATION_RELU_N1_TO_1 = 2
ACTIVATION_RELU6 = 3
_BUFFER_ALIGNMENT = 16
_TENSOR_TYPES = {
    np.dtype(np.float32): tflite.TensorType.FLOAT32,
    np.dtype(np.float16): tflite.TensorType.FLOAT16,
    np.dtype(np.int32): tflite.TensorType.INT32,
}
_BUILTIN_PADDING = {PADDING_SAME: tflite.Padding.SAME, PADDING_VALID: tflite.Padding.VALID}


@dataclass(frozen=True)
class TensorSpec:
    """A tensor of the graph; ``data`` makes it a constant stored in its own buffer."""

    name: str
    shape: tuple[int, ...]
    data: np.ndarray | None = None
    dtype: np.dtype = np.dtype(np.float32)


@dataclass(frozen=True)
class ConvOptions:
    """Builtin CONV_2D options (padding as PADDING_SAME / PADDING_VALID)."""

    stride: tuple[int, int] = (1, 1)
    padding: int = PADDING_SAME
    activation: int = ACTIVATION_NONE


@dataclass(frozen=True)
class OperatorSpec:
    """An operator: a builtin code (``tflite.BuiltinOperator``) or a custom op name."""

    opcode: int | str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    custom_options: bytes | None = None
    conv: ConvOptions | None = None


def pool_options(
    padding: int,
    stride: tuple[int, int],
    kernel: tuple[int, int],
    activation: int = ACTIVATION_NONE,
) -> bytes:
    """``TfLitePoolParams`` (40 bytes, computed padding zeroed); stride and kernel as (h, w)."""
    return struct.pack(
        '<6i4i', padding, stride[1], stride[0], kernel[1], kernel[0], activation, 0, 0, 0, 0
    )


def transpose_conv_options(padding: int, stride_w: int, stride_h: int) -> bytes:
    """The ``TfLiteTransposeConvParams`` struct MediaPipe stores as custom options."""
    return struct.pack('<3i', padding, stride_w, stride_h)


def transpose_conv_output_size(size: int, stride: int, kernel: int, padding: int) -> int:
    """Output extent of the custom op along one axis, as MediaPipe's kernel computes it."""
    full = (size - 1) * stride + kernel
    if padding == PADDING_VALID:
        return full
    return full - max(0, kernel - (size - 1) % stride - 1)


def _byte_vector(builder: flatbuffers.Builder, data: bytes, alignment: int) -> int:
    builder.StartVector(1, len(data), alignment)
    builder.head -= len(data)
    builder.Bytes[builder.head : builder.head + len(data)] = data
    return builder.EndVector()


def _table_vector(builder: flatbuffers.Builder, offsets: Sequence[int]) -> int:
    builder.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        builder.PrependUOffsetTRelative(offset)
    return builder.EndVector()


def _int_vector(builder: flatbuffers.Builder, values: Sequence[int]) -> int:
    return builder.CreateNumpyVector(np.asarray(values, dtype=np.int32))


def build_tflite(
    tensors: Sequence[TensorSpec],
    operators: Sequence[OperatorSpec],
    inputs: Sequence[int],
    outputs: Sequence[int],
    metadata: dict[str, bytes] | None = None,
) -> bytes:
    """Serialise one subgraph into a TFLite model (schema version 3, identifier ``TFL3``).

    ``metadata`` entries (e.g. ``TFLITE_METADATA``) are stored in buffers of their own and listed
    in the model's metadata table.
    """
    builder = flatbuffers.Builder(1024)

    # Buffer 0 is the conventional empty buffer that non-constant tensors point at.
    buffer_index: dict[int, int] = {}
    buffers = []
    tflite.BufferStart(builder)
    buffers.append(tflite.BufferEnd(builder))
    for index, tensor in enumerate(tensors):
        if tensor.data is None:
            continue
        payload = np.asarray(tensor.data, dtype=np.dtype(tensor.dtype).newbyteorder('<'))
        data = _byte_vector(builder, payload.tobytes(order='C'), _BUFFER_ALIGNMENT)
        tflite.BufferStart(builder)
        tflite.BufferAddData(builder, data)
        buffer_index[index] = len(buffers)
        buffers.append(tflite.BufferEnd(builder))
    metadata_buffers: dict[str, int] = {}
    for name, blob in (metadata or {}).items():
        data = _byte_vector(builder, blob, _BUFFER_ALIGNMENT)
        tflite.BufferStart(builder)
        tflite.BufferAddData(builder, data)
        metadata_buffers[name] = len(buffers)
        buffers.append(tflite.BufferEnd(builder))

    tensor_offsets = []
    for index, tensor in enumerate(tensors):
        name = builder.CreateString(tensor.name)
        shape = _int_vector(builder, tensor.shape)
        tflite.TensorStart(builder)
        tflite.TensorAddShape(builder, shape)
        tflite.TensorAddType(builder, _TENSOR_TYPES[np.dtype(tensor.dtype)])
        tflite.TensorAddBuffer(builder, buffer_index.get(index, 0))
        tflite.TensorAddName(builder, name)
        tensor_offsets.append(tflite.TensorEnd(builder))

    opcodes: list[int | str] = []
    for op in operators:
        if op.opcode not in opcodes:
            opcodes.append(op.opcode)

    operator_offsets = []
    for op in operators:
        op_inputs = _int_vector(builder, op.inputs)
        op_outputs = _int_vector(builder, op.outputs)
        custom = (
            _byte_vector(builder, op.custom_options, 1) if op.custom_options is not None else None
        )
        options = None
        options_type = tflite.BuiltinOptions.NONE
        if op.opcode == tflite.BuiltinOperator.ADD:
            tflite.AddOptionsStart(builder)
            tflite.AddOptionsAddFusedActivationFunction(
                builder, tflite.ActivationFunctionType.NONE
            )
            options = tflite.AddOptionsEnd(builder)
            options_type = tflite.BuiltinOptions.AddOptions
        elif op.opcode == tflite.BuiltinOperator.CONV_2D:
            conv = op.conv or ConvOptions()
            tflite.Conv2DOptionsStart(builder)
            tflite.Conv2DOptionsAddPadding(builder, _BUILTIN_PADDING[conv.padding])
            tflite.Conv2DOptionsAddStrideH(builder, conv.stride[0])
            tflite.Conv2DOptionsAddStrideW(builder, conv.stride[1])
            tflite.Conv2DOptionsAddFusedActivationFunction(builder, conv.activation)
            tflite.Conv2DOptionsAddDilationHFactor(builder, 1)
            tflite.Conv2DOptionsAddDilationWFactor(builder, 1)
            options = tflite.Conv2DOptionsEnd(builder)
            options_type = tflite.BuiltinOptions.Conv2DOptions
        tflite.OperatorStart(builder)
        tflite.OperatorAddOpcodeIndex(builder, opcodes.index(op.opcode))
        tflite.OperatorAddInputs(builder, op_inputs)
        tflite.OperatorAddOutputs(builder, op_outputs)
        if options is not None:
            tflite.OperatorAddBuiltinOptionsType(builder, options_type)
            tflite.OperatorAddBuiltinOptions(builder, options)
        if custom is not None:
            tflite.OperatorAddCustomOptions(builder, custom)
            tflite.OperatorAddCustomOptionsFormat(builder, tflite.CustomOptionsFormat.FLEXBUFFERS)
        operator_offsets.append(tflite.OperatorEnd(builder))

    tensor_vector = _table_vector(builder, tensor_offsets)
    operator_vector = _table_vector(builder, operator_offsets)
    graph_inputs = _int_vector(builder, inputs)
    graph_outputs = _int_vector(builder, outputs)
    graph_name = builder.CreateString('main')
    tflite.SubGraphStart(builder)
    tflite.SubGraphAddTensors(builder, tensor_vector)
    tflite.SubGraphAddInputs(builder, graph_inputs)
    tflite.SubGraphAddOutputs(builder, graph_outputs)
    tflite.SubGraphAddOperators(builder, operator_vector)
    tflite.SubGraphAddName(builder, graph_name)
    subgraph = tflite.SubGraphEnd(builder)

    code_offsets = []
    for opcode in opcodes:
        custom_name = builder.CreateString(opcode) if isinstance(opcode, str) else None
        builtin = tflite.BuiltinOperator.CUSTOM if isinstance(opcode, str) else opcode
        tflite.OperatorCodeStart(builder)
        # Codes below 127 are also written to the deprecated int8 field, as TFLite's writer does.
        tflite.OperatorCodeAddDeprecatedBuiltinCode(builder, min(builtin, 127))
        if custom_name is not None:
            tflite.OperatorCodeAddCustomCode(builder, custom_name)
        tflite.OperatorCodeAddVersion(builder, 1)
        tflite.OperatorCodeAddBuiltinCode(builder, builtin)
        code_offsets.append(tflite.OperatorCodeEnd(builder))

    metadata_offsets = []
    for name, buffer in metadata_buffers.items():
        name_offset = builder.CreateString(name)
        tflite.MetadataStart(builder)
        tflite.MetadataAddName(builder, name_offset)
        tflite.MetadataAddBuffer(builder, buffer)
        metadata_offsets.append(tflite.MetadataEnd(builder))
    metadata_vector = _table_vector(builder, metadata_offsets) if metadata_offsets else None

    code_vector = _table_vector(builder, code_offsets)
    subgraph_vector = _table_vector(builder, [subgraph])
    buffer_vector = _table_vector(builder, buffers)
    description = builder.CreateString('selfie_seg_ros test model')
    tflite.ModelStart(builder)
    if metadata_vector is not None:
        tflite.ModelAddMetadata(builder, metadata_vector)
    tflite.ModelAddVersion(builder, 3)
    tflite.ModelAddOperatorCodes(builder, code_vector)
    tflite.ModelAddSubgraphs(builder, subgraph_vector)
    tflite.ModelAddDescription(builder, description)
    tflite.ModelAddBuffers(builder, buffer_vector)
    builder.Finish(tflite.ModelEnd(builder), file_identifier=b'TFL3')
    return bytes(builder.Output())


def transpose_conv_model(
    x_shape: tuple[int, int, int, int],
    weights: np.ndarray,
    bias: np.ndarray,
    stride: tuple[int, int],
    padding: int,
) -> bytes:
    """One ``Convolution2DTransposeBias`` op: x NHWC (graph input), weights OHWI, bias [C_out].

    Args:
        x_shape: [1, H, W, C_in].
        weights: float32 [C_out, kH, kW, C_in].
        bias: float32 [C_out].
        stride: (stride_h, stride_w).
        padding: PADDING_SAME or PADDING_VALID.
    """
    _, height, width, _ = x_shape
    c_out, k_h, k_w, _ = weights.shape
    out_shape = (
        1,
        transpose_conv_output_size(height, stride[0], k_h, padding),
        transpose_conv_output_size(width, stride[1], k_w, padding),
        c_out,
    )
    tensors = [
        TensorSpec('input', tuple(x_shape)),
        TensorSpec('weights', tuple(weights.shape), weights),
        TensorSpec('bias', tuple(bias.shape), bias),
        TensorSpec('output', out_shape),
    ]
    op = OperatorSpec(
        CUSTOM_OP, (0, 1, 2), (3,), transpose_conv_options(padding, stride[1], stride[0])
    )
    return build_tflite(tensors, [op], inputs=[0], outputs=[3])


def transpose_conv_chain_model(
    x_shape: tuple[int, int, int, int],
    layers: Sequence[tuple[np.ndarray, np.ndarray, tuple[int, int], int]],
) -> bytes:
    """Chained ``Convolution2DTransposeBias`` ops, each (weights, bias, stride, padding)."""
    tensors = [TensorSpec('input', tuple(x_shape))]
    operators = []
    shape = tuple(x_shape)
    current = 0
    for index, (weights, bias, stride, padding) in enumerate(layers):
        c_out, k_h, k_w, _ = weights.shape
        shape = (
            1,
            transpose_conv_output_size(shape[1], stride[0], k_h, padding),
            transpose_conv_output_size(shape[2], stride[1], k_w, padding),
            c_out,
        )
        tensors += [
            TensorSpec(f'weights_{index}', tuple(weights.shape), weights),
            TensorSpec(f'bias_{index}', tuple(bias.shape), bias),
            TensorSpec(f'output_{index}', shape),
        ]
        base = len(tensors) - 3
        operators.append(
            OperatorSpec(
                CUSTOM_OP,
                (current, base, base + 1),
                (base + 2,),
                transpose_conv_options(padding, stride[1], stride[0]),
            )
        )
        current = base + 2
    return build_tflite(tensors, operators, inputs=[0], outputs=[current])


def add_model(shape: tuple[int, ...], constant: np.ndarray) -> bytes:
    """One builtin ADD: output = input + constant (broadcast), no custom op."""
    tensors = [
        TensorSpec('input', tuple(shape)),
        TensorSpec('constant', tuple(constant.shape), constant),
        TensorSpec('output', tuple(shape)),
    ]
    op = OperatorSpec(tflite.BuiltinOperator.ADD, (0, 1), (2,))
    return build_tflite(tensors, [op], inputs=[0], outputs=[2])


class GraphBuilder:
    """Appends tensors and operators one layer at a time (NHWC float32 activations)."""

    def __init__(self, input_shape: tuple[int, ...]) -> None:
        self.tensors: list[TensorSpec] = [TensorSpec('input', tuple(input_shape))]
        self.operators: list[OperatorSpec] = []
        self.shapes: dict[int, tuple[int, ...]] = {0: tuple(input_shape)}

    def tensor(self, name: str, shape: tuple[int, ...], data: np.ndarray | None = None,
               dtype: type = np.float32) -> int:
        """Add a tensor; returns its index."""
        self.tensors.append(TensorSpec(name, tuple(shape), data, np.dtype(dtype)))
        self.shapes[len(self.tensors) - 1] = tuple(shape)
        return len(self.tensors) - 1

    def weights(self, name: str, data: np.ndarray, float16: bool = False) -> int:
        """A constant; with ``float16`` stored as FLOAT16 behind a DEQUANTIZE, as the Tasks
        float16 models do."""
        if not float16:
            return self.tensor(name, data.shape, data.astype(np.float32))
        half = self.tensor(f'{name}_f16', data.shape, data.astype(np.float16), np.float16)
        full = self.tensor(name, data.shape)
        self.operators.append(OperatorSpec(tflite.BuiltinOperator.DEQUANTIZE, (half,), (full,)))
        return full

    def conv(self, x: int, weights: np.ndarray, bias: np.ndarray, options: ConvOptions,
             float16: bool = False) -> int:
        """Builtin CONV_2D; weights OHWI."""
        n, height, width, _ = self.shapes[x]
        c_out, k_h, k_w, _ = weights.shape
        index = len(self.operators)
        w = self.weights(f'conv{index}_weights', weights, float16)
        b = self.weights(f'conv{index}_bias', bias, float16)
        out_h = conv_output_size(height, k_h, options.stride[0], options.padding)
        out_w = conv_output_size(width, k_w, options.stride[1], options.padding)
        y = self.tensor(f'conv{index}', (n, out_h, out_w, c_out))
        self.operators.append(
            OperatorSpec(tflite.BuiltinOperator.CONV_2D, (x, w, b), (y,), conv=options)
        )
        return y

    def pool(self, x: int, kernel: tuple[int, int], stride: tuple[int, int], padding: int,
             activation: int = ACTIVATION_NONE) -> tuple[int, int]:
        """``MaxPoolingWithArgmax2D``; returns the (values, indices) tensors."""
        n, height, width, channels = self.shapes[x]
        out_h = pool_output_size(height, kernel[0], stride[0], padding)
        out_w = pool_output_size(width, kernel[1], stride[1], padding)
        index = len(self.operators)
        values = self.tensor(f'pool{index}', (n, out_h, out_w, channels))
        indices = self.tensor(f'pool{index}_indices', (n, out_h, out_w, channels))
        self.operators.append(
            OperatorSpec(MAX_POOL_ARGMAX, (x,), (values, indices),
                         pool_options(padding, stride, kernel, activation))
        )
        return values, indices

    def unpool(self, x: int, indices: int, kernel: tuple[int, int], stride: tuple[int, int],
               padding: int = PADDING_SAME) -> int:
        """``MaxUnpooling2D``: output ``kernel`` times the input size."""
        n, height, width, channels = self.shapes[x]
        index = len(self.operators)
        y = self.tensor(f'unpool{index}', (n, height * kernel[0], width * kernel[1], channels))
        self.operators.append(
            OperatorSpec(MAX_UNPOOLING, (x, indices), (y,), pool_options(padding, stride, kernel))
        )
        return y

    def transpose_conv(self, x: int, weights: np.ndarray, bias: np.ndarray,
                       stride: tuple[int, int], padding: int, float16: bool = False) -> int:
        """``Convolution2DTransposeBias``; weights OHWI."""
        n, height, width, _ = self.shapes[x]
        c_out, k_h, k_w, _ = weights.shape
        index = len(self.operators)
        w = self.weights(f'tconv{index}_weights', weights, float16)
        b = self.weights(f'tconv{index}_bias', bias, float16)
        y = self.tensor(f'tconv{index}', (
            n,
            transpose_conv_output_size(height, stride[0], k_h, padding),
            transpose_conv_output_size(width, stride[1], k_w, padding),
            c_out,
        ))
        self.operators.append(OperatorSpec(
            CUSTOM_OP, (x, w, b), (y,), transpose_conv_options(padding, stride[1], stride[0])
        ))
        return y

    def build(self, outputs: Sequence[int], metadata: dict[str, bytes] | None = None) -> bytes:
        """The model with input 0 and the given outputs."""
        return build_tflite(self.tensors, self.operators, [0], list(outputs), metadata)


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """TensorFlow's output extent of a convolution or pooling window (SAME or VALID)."""
    if padding == PADDING_SAME:
        return (size + stride - 1) // stride
    return (size - kernel + stride) // stride


pool_output_size = conv_output_size


def pool_unpool_model(
    x_shape: tuple[int, int, int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: int,
    activation: int = ACTIVATION_NONE,
) -> bytes:
    """input -> MaxPoolingWithArgmax2D -> (values, indices) -> MaxUnpooling2D.

    Outputs: the pooled values, the indices and the unpooled tensor, in this order.
    """
    graph = GraphBuilder(x_shape)
    values, indices = graph.pool(0, kernel, stride, padding, activation)
    unpooled = graph.unpool(values, indices, kernel, stride, padding)
    return graph.build([values, indices, unpooled])


@dataclass(frozen=True)
class HairWeights:
    """Weights of the hair-shaped test network (OHWI convolutions)."""

    conv1: tuple[np.ndarray, np.ndarray]
    conv2: tuple[np.ndarray, np.ndarray]
    conv3: tuple[np.ndarray, np.ndarray]
    conv4: tuple[np.ndarray, np.ndarray]
    tconv: tuple[np.ndarray, np.ndarray]


def random_hair_weights(seed: int, channels: int = 4, width: int = 6) -> HairWeights:
    """Random weights for ``hair_model``: 4 input channels (RGB + previous mask), 2 outputs."""
    rng = np.random.default_rng(seed)

    def layer(c_out: int, k: int, c_in: int) -> tuple[np.ndarray, np.ndarray]:
        scale = 2.0 / np.sqrt(k * k * c_in)
        return (
            (rng.standard_normal((c_out, k, k, c_in)) * scale).astype(np.float32),
            (rng.standard_normal(c_out) * 0.1).astype(np.float32),
        )

    return HairWeights(
        conv1=layer(width, 3, channels),
        conv2=layer(width + 2, 3, width),
        conv3=layer(width + 2, 1, width + 2),
        conv4=layer(width, 1, width + 2),
        tconv=layer(2, 2, width),
    )


def hair_model(size: int, weights: HairWeights, metadata: dict[str, bytes] | None = None) -> bytes:
    """The hair segmenter's shape at ``size`` x ``size`` (a multiple of 8), 4 input channels.

    conv 3x3/2 relu -> argmax pool 2x2/2 -> conv 3x3 relu -> argmax pool 2x2/2 -> conv 1x1 relu
    -> unpool -> conv 1x1 relu -> unpool -> Convolution2DTransposeBias 2x2/2 -> 2 logits.
    """
    graph = GraphBuilder((1, size, size, 4))
    relu = ACTIVATION_RELU
    x = graph.conv(0, *weights.conv1, ConvOptions((2, 2), PADDING_SAME, relu))
    x, indices1 = graph.pool(x, (2, 2), (2, 2), PADDING_SAME)
    x = graph.conv(x, *weights.conv2, ConvOptions((1, 1), PADDING_SAME, relu))
    x, indices2 = graph.pool(x, (2, 2), (2, 2), PADDING_SAME)
    x = graph.conv(x, *weights.conv3, ConvOptions((1, 1), PADDING_SAME, relu))
    x = graph.unpool(x, indices2, (2, 2), (2, 2))
    x = graph.conv(x, *weights.conv4, ConvOptions((1, 1), PADDING_SAME, relu))
    x = graph.unpool(x, indices1, (2, 2), (2, 2))
    x = graph.transpose_conv(x, *weights.tconv, (2, 2), PADDING_SAME)
    return graph.build([x], metadata)


def previous_mask_model(size: int) -> bytes:
    """4 channels (RGB + previous mask, in [0, 1]) -> 2 logits, hair = 10 * (red + mask) - 5.

    A frame's mask then remembers the previous frame's: a black frame after a red square still
    shows the square when the previous mask is fed, and nothing when the channel is empty.
    """
    graph = GraphBuilder((1, size, size, 4))
    weights = np.zeros((2, 1, 1, 4), np.float32)
    weights[1, 0, 0, 0] = 10.0  # red (the model sees RGB)
    weights[1, 0, 0, 3] = 10.0  # previous mask
    out = graph.conv(0, weights, np.array([0.0, -5.0], np.float32), ConvOptions())
    return graph.build([out])
