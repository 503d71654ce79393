# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""What a .tflite file's TFLite metadata says: class labels and input normalisation.

MediaPipe Tasks models and models trained with MediaPipe Model Maker carry a metadata flatbuffer
(schema ``tflite_support/metadata/metadata_schema.fbs``, file identifier ``M001``) in a model
buffer named ``TFLITE_METADATA``, and their associated files (the label file) in a zip archive
appended to the .tflite. MediaPipe's image segmenter reads the first ``TENSOR_AXIS_LABELS`` file
of the output tensor, and the input tensor's ``NormalizationOptions`` (``(x - mean) / std``).

The few tables needed are read with ``flatbuffers``' generic table reader; slots follow the
schema's field order.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import flatbuffers
import numpy as np
from flatbuffers import number_types
from flatbuffers.table import Table

from selfie_seg_ros.engine.catalog import Normalization

METADATA_NAME = b'TFLITE_METADATA'
METADATA_IDENTIFIER = b'M001'
TENSOR_AXIS_LABELS = 2  # AssociatedFileType
NORMALIZATION_OPTIONS = 1  # ProcessUnitOptions union type

# Field slots (declaration order) of the metadata schema's tables.
_MODEL_SUBGRAPHS = 3
_SUBGRAPH_INPUTS, _SUBGRAPH_OUTPUTS = 2, 3
_TENSOR_PROCESS_UNITS, _TENSOR_ASSOCIATED_FILES = 4, 6
_FILE_NAME, _FILE_TYPE, _FILE_LOCALE = 0, 2, 3
_UNIT_OPTIONS_TYPE, _UNIT_OPTIONS = 0, 1
_NORMALIZATION_MEAN, _NORMALIZATION_STD = 0, 1


class MetadataError(ValueError):
    """The metadata or its packed files are malformed (the caller names the model file)."""


@dataclass(frozen=True)
class ModelMetadata:
    """Labels and normalisation found in a model's metadata (empty / None when absent)."""

    labels: tuple[str, ...] = ()
    normalization: Normalization | None = None


def _field(table: Table, slot: int) -> int:
    return table.Offset(4 + 2 * slot)


def _string(table: Table, slot: int) -> str:
    offset = _field(table, slot)
    return table.String(offset + table.Pos).decode('utf-8') if offset else ''


def _tables(table: Table, slot: int) -> list[Table]:
    offset = _field(table, slot)
    if not offset:
        return []
    start = table.Vector(offset)
    return [
        Table(table.Bytes, table.Indirect(start + 4 * i)) for i in range(table.VectorLen(offset))
    ]


def _byte(table: Table, slot: int) -> int:
    offset = _field(table, slot)
    return int(table.Get(number_types.Int8Flags, offset + table.Pos)) if offset else 0


def _floats(table: Table, slot: int) -> tuple[float, ...]:
    offset = _field(table, slot)
    if not offset:
        return ()
    return tuple(float(v) for v in table.GetVectorAsNumpy(number_types.Float32Flags, offset))


def _metadata_bytes(data: bytes) -> bytes | None:
    import tflite  # schema bindings; only needed for TFLite sources

    model = tflite.Model.GetRootAsModel(data, 0)
    for index in range(model.MetadataLength()):
        entry = model.Metadata(index)
        if entry.Name() != METADATA_NAME:
            continue
        buffer = model.Buffers(entry.Buffer())
        if buffer.Offset() > 1:  # stored after the flatbuffer (models over 2 GB)
            return data[buffer.Offset() : buffer.Offset() + buffer.Size()]
        blob = buffer.DataAsNumpy()
        return None if isinstance(blob, int) else blob.tobytes()
    return None


def _normalization(tensor: Table) -> Normalization | None:
    for unit in _tables(tensor, _TENSOR_PROCESS_UNITS):
        if _byte(unit, _UNIT_OPTIONS_TYPE) != NORMALIZATION_OPTIONS:
            continue
        options = Table(bytearray(), 0)
        offset = _field(unit, _UNIT_OPTIONS)
        if not offset:
            continue
        unit.Union(options, offset)
        mean, std = _floats(options, _NORMALIZATION_MEAN), _floats(options, _NORMALIZATION_STD)
        if not mean or not std:
            raise MetadataError('normalisation options without mean or std')
        if len(set(mean)) > 1 or len(set(std)) > 1:
            raise MetadataError(
                f'per-channel normalisation (mean {mean}, std {std}) is not supported'
            )
        if std[0] == 0 or not np.isfinite([mean[0], std[0]]).all():
            raise MetadataError(f'invalid normalisation (mean {mean[0]}, std {std[0]})')
        return Normalization(mean=mean[0], scale=std[0])
    return None


def _label_file(tensor: Table) -> str:
    for item in _tables(tensor, _TENSOR_ASSOCIATED_FILES):
        if _byte(item, _FILE_TYPE) == TENSOR_AXIS_LABELS:
            return _string(item, _FILE_NAME)
    return ''


def _read_labels(data: bytes, name: str) -> tuple[str, ...]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            text = archive.read(name).decode('utf-8')
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError) as error:
        raise MetadataError(f'label file {name!r} named in the metadata: {error}') from error
    lines = [line.strip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return tuple(lines)


def parse_metadata(data: bytes) -> ModelMetadata:
    """Labels and normalisation from the bytes of a .tflite file.

    Raises:
        MetadataError: the metadata or the label file it names is malformed.
    """
    try:
        blob = _metadata_bytes(data)
        if blob is None:
            return ModelMetadata()
        if blob[4:8] != METADATA_IDENTIFIER:
            raise MetadataError(f'metadata identifier {blob[4:8]!r} is not M001')
        start = flatbuffers.encode.Get(number_types.UOffsetTFlags.packer_type, blob, 0)
        root = Table(bytearray(blob), start)
        subgraphs = _tables(root, _MODEL_SUBGRAPHS)
        if not subgraphs:
            return ModelMetadata()
        inputs = _tables(subgraphs[0], _SUBGRAPH_INPUTS)
        outputs = _tables(subgraphs[0], _SUBGRAPH_OUTPUTS)
        normalization = _normalization(inputs[0]) if inputs else None
        label_file = _label_file(outputs[0]) if outputs else ''
        labels = _read_labels(data, label_file) if label_file else ()
        return ModelMetadata(labels=labels, normalization=normalization)
    except MetadataError:
        raise
    except (IndexError, ValueError, TypeError, AttributeError, UnicodeDecodeError) as error:
        raise MetadataError(f'corrupt TFLite metadata ({error})') from error


def read_metadata(path: Path) -> ModelMetadata:
    """Labels and normalisation from a .tflite file's metadata (empty for other files).

    Raises:
        MetadataError: the metadata or the label file it names is malformed.
    """
    path = Path(path)
    if path.suffix != '.tflite':
        return ModelMetadata()
    data = path.read_bytes()
    if data[4:8] != b'TFL3':
        return ModelMetadata()
    return parse_metadata(data)
