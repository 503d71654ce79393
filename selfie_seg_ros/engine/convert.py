# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""TFLite / ONNX -> OpenVINO IR, with MediaPipe's ``Convolution2DTransposeBias`` custom op.

MediaPipe's selfie segmenters end in a custom operator, ``Convolution2DTransposeBias`` (a
transposed convolution with a bias), that OpenVINO's TFLite frontend has no translator for. This
module adds one as a conversion extension. Its stride and padding live in the operator's
``custom_options`` bytes (a ``TfLiteTransposeConvParams`` struct), which the frontend does not
expose, so they are read from the .tflite flatbuffer itself.

Converted models are cached as IR, keyed by the source file's hash and the OpenVINO version.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov
import openvino.opset13 as ops
from openvino.frontend import ConversionExtension, NodeContext

from selfie_seg_ros.engine.catalog import MODEL_SUFFIXES
from selfie_seg_ros.engine.errors import ModelLoadError

CUSTOM_OP = 'Convolution2DTransposeBias'
# TfLitePadding enum values.
_PADDING_SAME = 1
_PADDING_VALID = 2


@dataclass(frozen=True)
class TransposeConvParams:
    """Options and tensor shapes of one ``Convolution2DTransposeBias`` operator in a .tflite."""

    padding: int
    stride_width: int
    stride_height: int
    input_shape: tuple[int, ...]
    weights_shape: tuple[int, ...]

    @property
    def same_padding(self) -> bool:
        """True for TFLite SAME padding, False for VALID."""
        return self.padding == _PADDING_SAME


def read_transpose_conv_params(tflite_path: Path) -> list[TransposeConvParams]:
    """Read every ``Convolution2DTransposeBias`` operator's options from a .tflite file.

    Raises:
        ModelLoadError: the file is not a TFLite flatbuffer or an option block is malformed.
    """
    import tflite  # schema bindings; only needed for TFLite sources

    data = Path(tflite_path).read_bytes()
    if data[4:8] != b'TFL3':
        raise ModelLoadError(f'{tflite_path}: not a TFLite model (no TFL3 identifier)')
    try:
        return _walk_operators(tflite_path, tflite.Model.GetRootAsModel(data, 0))
    except (struct.error, IndexError, ValueError, TypeError) as error:
        raise ModelLoadError(
            f'{tflite_path}: corrupt or truncated TFLite model ({error}); delete it so it is '
            'fetched again, or pass another model file'
        ) from error


def _walk_operators(tflite_path: Path, model: Any) -> list[TransposeConvParams]:
    custom_codes = {
        index
        for index in range(model.OperatorCodesLength())
        if model.OperatorCodes(index).CustomCode() == CUSTOM_OP.encode()
    }
    found: list[TransposeConvParams] = []
    for graph_index in range(model.SubgraphsLength()):
        graph = model.Subgraphs(graph_index)
        for op_index in range(graph.OperatorsLength()):
            op = graph.Operators(op_index)
            if op.OpcodeIndex() not in custom_codes:
                continue
            options = op.CustomOptionsAsNumpy()
            if isinstance(options, int) or options.size < 12:
                raise ModelLoadError(
                    f'{tflite_path}: {CUSTOM_OP} operator {op_index} has no 12-byte options block'
                )
            padding, stride_w, stride_h = struct.unpack('<3i', options[:12].tobytes())
            if padding not in (_PADDING_SAME, _PADDING_VALID) or stride_w < 1 or stride_h < 1:
                raise ModelLoadError(
                    f'{tflite_path}: {CUSTOM_OP} operator {op_index} has invalid options '
                    f'(padding={padding}, stride={stride_w}x{stride_h})'
                )
            found.append(
                TransposeConvParams(
                    padding,
                    stride_w,
                    stride_h,
                    tuple(int(v) for v in graph.Tensors(op.Inputs(0)).ShapeAsNumpy()),
                    tuple(int(v) for v in graph.Tensors(op.Inputs(1)).ShapeAsNumpy()),
                )
            )
    return found


def _static_shape(output: ov.Output) -> tuple[int, ...] | None:
    shape = output.get_partial_shape()
    return tuple(d.get_length() for d in shape) if shape.is_static else None


def _pick_params(
    candidates: list[TransposeConvParams],
    x_shape: tuple[int, ...] | None,
    w_shape: tuple[int, ...] | None,
) -> TransposeConvParams:
    """Match a frontend node to its operator options by tensor shapes."""
    matching = [
        p
        for p in candidates
        if (x_shape is None or p.input_shape == x_shape)
        and (w_shape is None or p.weights_shape == w_shape)
    ]
    options = {(p.padding, p.stride_width, p.stride_height) for p in matching}
    if len(options) != 1:
        raise ModelLoadError(
            f'cannot tell which {CUSTOM_OP} operator has input {x_shape} and weights {w_shape} '
            f'({len(matching)} candidates with {len(options)} distinct option sets)'
        )
    return matching[0]


def transpose_conv_extension(params: list[TransposeConvParams]) -> ConversionExtension:
    """Conversion extension translating ``Convolution2DTransposeBias`` into opset operations.

    TFLite: x NHWC, weights OHWI, bias [C_out]. OpenVINO's ConvolutionBackpropData wants NCHW input
    and [C_in, C_out, kH, kW] weights; it has the same (unflipped) kernel convention as TFLite.
    """

    def translate(context: NodeContext) -> list[ov.Output]:
        x, weights, bias = (context.get_input(i) for i in range(3))
        x_shape = _static_shape(x)
        w_shape = _static_shape(weights)
        chosen = _pick_params(params, x_shape, w_shape)
        if x_shape is None or w_shape is None:
            raise ModelLoadError(f'{CUSTOM_OP} needs static input and weight shapes')
        strides = [chosen.stride_height, chosen.stride_width]
        kernel = [w_shape[1], w_shape[2]]
        pads_begin, pads_end = [], []
        for size, stride, k in zip(x_shape[1:3], strides, kernel, strict=True):
            # MediaPipe's kernel (transpose_conv_bias.cc) pads SAME by k - (size - 1) % stride - 1.
            total = max(0, k - (size - 1) % stride - 1) if chosen.same_padding else 0
            pads_begin.append(total // 2)
            pads_end.append(total - total // 2)
        x_nchw = ops.transpose(x, ops.constant(np.array([0, 3, 1, 2], dtype=np.int64)))
        w_iohw = ops.transpose(weights, ops.constant(np.array([3, 0, 1, 2], dtype=np.int64)))
        y = ops.convolution_backprop_data(
            x_nchw, w_iohw, strides=strides, pads_begin=pads_begin, pads_end=pads_end
        )
        y = ops.transpose(y, ops.constant(np.array([0, 2, 3, 1], dtype=np.int64)))
        return [ops.add(y, bias).output(0)]

    return ConversionExtension(CUSTOM_OP, translate)


def file_digest(path: Path) -> str:
    """SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with open(path, 'rb') as stream:
        for block in iter(lambda: stream.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def convert_model(source: Path) -> ov.Model:
    """Convert a .tflite or .onnx file to an in-memory OpenVINO model.

    Raises:
        ModelLoadError: naming the file, when it is missing, corrupt or unsupported.
    """
    source = Path(source)
    if not source.is_file():
        raise ModelLoadError(f'model file not found: {source}')
    extensions = []
    if source.suffix == '.tflite':
        params = read_transpose_conv_params(source)
        if params:
            extensions.append(transpose_conv_extension(params))
    try:
        return ov.convert_model(source, extension=extensions or None)
    except ModelLoadError:
        raise
    except Exception as error:  # OpenVINO raises plain RuntimeError/Exception subclasses
        first_line = str(error).strip().splitlines()[-1] if str(error).strip() else repr(error)
        raise ModelLoadError(
            f'cannot convert {source}: {first_line}. The file may be corrupt or truncated: '
            'delete it so it is fetched again, or pass another model file.'
        ) from error


def ir_cache_path(source: Path, cache_dir: Path) -> Path:
    """Where the IR of ``source`` is cached: keyed by the file's hash and the OpenVINO version."""
    version = ov.get_version().split('-')[0]
    key = f'{file_digest(source)[:16]}-ov{version}'
    return Path(cache_dir) / 'ir' / f'{Path(source).stem}-{key}' / 'model.xml'


def load_ir(source: Path, cache_dir: Path) -> Path:
    """Return the path of an IR for ``source``, converting and caching it on first use.

    An .xml source is returned as is (after checking its .bin exists). The IR is written into a
    temporary folder and renamed into place, so an interrupted conversion leaves nothing behind.

    Raises:
        ModelLoadError: naming the file, when it is missing, corrupt or unsupported.
    """
    source = Path(source)
    if not source.is_file():
        raise ModelLoadError(
            f'model file not found: {source}. Pass an existing .tflite, .onnx or .xml file.'
        )
    if source.suffix not in MODEL_SUFFIXES:
        raise ModelLoadError(
            f'unsupported model file {source}: expected one of {", ".join(MODEL_SUFFIXES)}'
        )
    if source.suffix == '.xml':
        if not source.with_suffix('.bin').is_file():
            raise ModelLoadError(
                f'OpenVINO IR {source} has no weights file {source.with_suffix(".bin")}'
            )
        return source
    target = ir_cache_path(source, cache_dir)
    if target.is_file() and target.with_suffix('.bin').is_file():
        return target
    model = convert_model(source)
    target.parent.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix='.convert-', dir=target.parent.parent))
    try:
        ov.save_model(model, staging / target.name)
        try:
            os.replace(staging, target.parent)
        except OSError:
            # Another process finished the same conversion first: keep theirs.
            if not target.is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
