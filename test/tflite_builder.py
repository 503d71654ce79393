# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Write tiny but real .tflite flatbuffers for tests, with the ``tflite`` schema builders.

``transpose_conv_model`` builds a graph with MediaPipe's ``Convolution2DTransposeBias`` custom op
(its options as the raw 12-byte ``TfLiteTransposeConvParams`` struct, as MediaPipe writes them);
``add_model`` builds one with a builtin ADD, which OpenVINO converts without any extension.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import flatbuffers
import numpy as np
import tflite

CUSTOM_OP = 'Convolution2DTransposeBias'
PADDING_SAME = 1
PADDING_VALID = 2
_BUFFER_ALIGNMENT = 16
_TENSOR_TYPES = {
    np.dtype(np.float32): tflite.TensorType.FLOAT32,
    np.dtype(np.int32): tflite.TensorType.INT32,
}


@dataclass(frozen=True)
class TensorSpec:
    """A tensor of the graph; ``data`` makes it a constant stored in its own buffer."""

    name: str
    shape: tuple[int, ...]
    data: np.ndarray | None = None
    dtype: np.dtype = np.dtype(np.float32)


@dataclass(frozen=True)
class OperatorSpec:
    """An operator: a builtin code (``tflite.BuiltinOperator``) or a custom op name."""

    opcode: int | str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    custom_options: bytes | None = None


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
) -> bytes:
    """Serialise one subgraph into a TFLite model (schema version 3, identifier ``TFL3``)."""
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
        if op.opcode == tflite.BuiltinOperator.ADD:
            tflite.AddOptionsStart(builder)
            tflite.AddOptionsAddFusedActivationFunction(
                builder, tflite.ActivationFunctionType.NONE
            )
            options = tflite.AddOptionsEnd(builder)
        tflite.OperatorStart(builder)
        tflite.OperatorAddOpcodeIndex(builder, opcodes.index(op.opcode))
        tflite.OperatorAddInputs(builder, op_inputs)
        tflite.OperatorAddOutputs(builder, op_outputs)
        if options is not None:
            tflite.OperatorAddBuiltinOptionsType(builder, tflite.BuiltinOptions.AddOptions)
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

    code_vector = _table_vector(builder, code_offsets)
    subgraph_vector = _table_vector(builder, [subgraph])
    buffer_vector = _table_vector(builder, buffers)
    description = builder.CreateString('selfie_seg_ros test model')
    tflite.ModelStart(builder)
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
