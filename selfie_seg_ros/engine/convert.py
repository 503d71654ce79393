# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""TFLite / ONNX -> OpenVINO IR, with MediaPipe's ``Convolution2DTransposeBias`` custom op.

MediaPipe's selfie segmenters end in a custom operator, ``Convolution2DTransposeBias`` (a
transposed convolution with a bias), that OpenVINO's TFLite frontend has no translator for. This
module adds one as a conversion extension. Its stride and padding live in the operator's
``custom_options`` bytes (a ``TfLiteTransposeConvParams`` struct), which the frontend does not
expose, so they are read from the .tflite flatbuffer itself.

Converted models are cached as IR, keyed by the source file's hash and the OpenVINO version. A
cached IR records the sizes of its files; one that does not match (a truncated ``model.bin``, a
missing ``model.xml``) is converted again, with a warning.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
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
from selfie_seg_ros.engine.staging import remove_stale, staging_prefix

CUSTOM_OP = 'Convolution2DTransposeBias'
MANIFEST = 'files.json'
"""Written last into a converted IR folder: the size of each file, so damage is seen by stat."""
_LOG = logging.getLogger(__name__)
# OpenVINO's converter sets the root logger to ERROR; cache repairs must still be reported.
_LOG.setLevel(logging.INFO)
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
            f'{tflite_path}: corrupt or truncated TFLite model ({error})') from error


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
            f'cannot convert {source}: {first_line}. The file may be corrupt or truncated.'
        ) from error


def ir_cache_path(source: Path, cache_dir: Path) -> Path:
    """Where the IR of ``source`` is cached: keyed by the file's hash and the OpenVINO version."""
    version = ov.get_version().split('-')[0]
    key = f'{file_digest(source)[:16]}-ov{version}'
    return Path(cache_dir) / 'ir' / f'{Path(source).stem}-{key}' / 'model.xml'


def check_model_header(source: Path) -> None:
    """Check that a model file starts like its type, reading only its first bytes.

    Raises:
        ModelLoadError: naming the file and what was found instead.
    """
    try:
        with open(source, 'rb') as stream:
            head = stream.read(512)
    except OSError as error:
        raise ModelLoadError(f'cannot read model file {source}: {error.strerror}') from None
    suffix = source.suffix.lower()
    if not head:
        raise ModelLoadError(f'model file {source} is empty')
    if suffix == '.tflite' and head[4:8] != b'TFL3':
        found = 'an HTML page' if head.lstrip()[:1] == b'<' else f'{head[:16]!r}'
        raise ModelLoadError(
            f'{source} is not a TFLite model (no TFL3 identifier; it starts with {found})')
    if suffix == '.onnx' and not _looks_like_protobuf(head[0]):
        raise ModelLoadError(
            f'{source} is not an ONNX model (it starts with {head[:16]!r}, not a protobuf field)')
    if suffix == '.xml' and b'<net' not in head:
        raise ModelLoadError(f'{source} is not an OpenVINO IR (no <net> element at its start)')


def source_damage(source: Path) -> str:
    """Why a model file is damaged (a bad header, a truncated TFLite flatbuffer), '' if intact.

    A file that is intact but cannot be converted (an unsupported operator) is not damaged:
    fetching it again would not help.
    """
    try:
        check_model_header(source)
    except ModelLoadError as error:
        return str(error)
    if source.suffix.lower() != '.tflite':
        return ''
    import tflite

    try:
        data = source.read_bytes()
        model = tflite.Model.GetRootAsModel(data, 0)
        for index in range(model.BuffersLength()):
            buffer = model.Buffers(index)
            # Large buffers live after the flatbuffer, at an offset: they must lie inside it.
            if buffer.Offset() + buffer.Size() > len(data):
                return f'{source}: truncated (buffer {index} lies beyond the end of the file)'
            buffer.DataLength()
        read_transpose_conv_params(source)
        for graph_index in range(model.SubgraphsLength()):
            graph = model.Subgraphs(graph_index)
            for tensor_index in range(graph.TensorsLength()):
                graph.Tensors(tensor_index).ShapeAsNumpy()
    except ModelLoadError as error:
        return str(error)
    except Exception as error:  # flatbuffers raises what it meets: all mean damaged
        return f'{source}: corrupt or truncated TFLite model ({type(error).__name__})'
    return ''


def _looks_like_protobuf(first: int) -> bool:
    """ONNX files are protobuf: the first byte is a field tag (varint or length-delimited)."""
    if first & 0x80:  # a field number above 15: a multi-byte tag
        return True
    return first >> 3 >= 1 and first & 0x07 in (0, 2)


def _ir_files(target: Path) -> dict[str, int] | None:
    """Sizes of the IR files that exist now, or None when either is missing."""
    try:
        return {path.name: path.stat().st_size for path in (target, target.with_suffix('.bin'))}
    except OSError:
        return None


def ir_is_complete(target: Path) -> bool:
    """True when a cached IR has both files, with the sizes recorded at conversion.

    Folders converted before sizes were recorded count as complete when both files exist; the
    segmenter still converts them again when OpenVINO cannot read them.
    """
    sizes = _ir_files(target)
    if sizes is None:
        return False
    manifest = target.parent / MANIFEST
    if not manifest.exists():
        return True
    try:
        recorded = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return False
    return recorded == sizes


def discard_ir(target: Path) -> None:
    """Move a cached IR folder out of the way (atomically) and delete it."""
    folder = target.parent
    if not folder.exists():
        return
    aside = Path(tempfile.mkdtemp(prefix=staging_prefix('stale'), dir=folder.parent))
    with contextlib.suppress(OSError):  # another process moved or replaced it first
        os.replace(folder, aside / folder.name)
    shutil.rmtree(aside, ignore_errors=True)


def load_ir(source: Path, cache_dir: Path) -> Path:
    """Return the path of an IR for ``source``, converting and caching it on first use.

    An .xml source is returned as is (after checking its .bin exists). The IR is written into a
    staging folder and renamed into place, so an interrupted conversion leaves nothing in place;
    staging folders of processes that died are removed. A cached IR that is damaged or
    incomplete is converted again, with a warning.

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
    check_model_header(source)
    if source.suffix == '.xml':
        if not source.with_suffix('.bin').is_file():
            raise ModelLoadError(
                f'OpenVINO IR {source} has no weights file {source.with_suffix(".bin")}'
            )
        return source
    target = ir_cache_path(source, cache_dir)
    ir_root = target.parent.parent
    remove_stale(ir_root)
    if ir_is_complete(target):
        return target
    if target.parent.exists():
        _LOG.warning('cached IR %s is damaged or incomplete; converting %s again',
                     target.parent, source)
        discard_ir(target)
    model = convert_model(source)
    ir_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=staging_prefix('convert'), dir=ir_root))
    try:
        ov.save_model(model, staging / target.name)
        sizes = _ir_files(staging / target.name)
        (staging / MANIFEST).write_text(json.dumps(sizes))
        # mkdtemp makes 0700 folders: give the IR folder the cache's own permissions.
        os.chmod(staging, ir_root.stat().st_mode & 0o777)
        _publish(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _publish(staging: Path, target: Path) -> None:
    """Rename a complete staging folder into place, unless another process got there first."""
    try:
        os.replace(staging, target.parent)
        return
    except OSError:
        if ir_is_complete(target):
            return  # another process finished the same conversion first: keep theirs
    discard_ir(target)  # an incomplete folder is in the way
    try:
        os.replace(staging, target.parent)
    except OSError:
        if not ir_is_complete(target):
            raise
