# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""TFLite metadata for generated models, as MediaPipe's metadata writers lay it out.

A ``ModelMetadata`` flatbuffer (tflite_support metadata_schema.fbs, identifier ``M001``) with one
subgraph: the input tensor's ``NormalizationOptions`` process unit and the output tensor's
``TENSOR_AXIS_LABELS`` associated file; the label file itself goes into a zip archive appended
to the .tflite, as tflite_support's MetadataPopulator does.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

import flatbuffers
import numpy as np

TENSOR_AXIS_LABELS = 2
DESCRIPTIONS = 1
NORMALIZATION_OPTIONS = 1


def _table(builder: flatbuffers.Builder, fields: dict[int, int], bytes_: dict[int, int]) -> int:
    """A table from offset fields and int8 fields, by slot."""
    slots = max([*fields, *bytes_, -1]) + 1
    builder.StartObject(slots)
    for slot, value in bytes_.items():
        builder.PrependInt8Slot(slot, value, 0)
    for slot, offset in fields.items():
        builder.PrependUOffsetTRelativeSlot(slot, offset, 0)
    return builder.EndObject()


def _vector(builder: flatbuffers.Builder, offsets: Sequence[int]) -> int:
    builder.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        builder.PrependUOffsetTRelative(offset)
    return builder.EndVector()


def metadata_flatbuffer(
    label_file: str | None,
    mean: Sequence[float] | None,
    std: Sequence[float] | None,
    extra_files: Sequence[tuple[str, int]] = (),
) -> bytes:
    """``ModelMetadata`` naming a label file for the output and normalisation for the input.

    ``extra_files`` are (name, type) associated files listed before the label file.
    """
    builder = flatbuffers.Builder(256)
    input_fields: dict[int, int] = {}
    if mean is not None and std is not None:
        mean_vector = builder.CreateNumpyVector(np.asarray(mean, np.float32))
        std_vector = builder.CreateNumpyVector(np.asarray(std, np.float32))
        options = _table(builder, {0: mean_vector, 1: std_vector}, {})
        unit = _table(builder, {1: options}, {0: NORMALIZATION_OPTIONS})
        input_fields[4] = _vector(builder, [unit])
    input_fields[0] = builder.CreateString('image')
    input_tensor = _table(builder, input_fields, {})

    files = []
    for name, kind in [*extra_files, *([(label_file, TENSOR_AXIS_LABELS)] if label_file else [])]:
        name_offset = builder.CreateString(name)
        files.append(_table(builder, {0: name_offset}, {2: kind}))
    output_fields = {0: builder.CreateString('segmentation_masks')}
    if files:
        output_fields[6] = _vector(builder, files)
    output_tensor = _table(builder, output_fields, {})

    subgraph = _table(
        builder,
        {2: _vector(builder, [input_tensor]), 3: _vector(builder, [output_tensor])},
        {},
    )
    name = builder.CreateString('generated segmenter')
    root = _table(builder, {0: name, 3: _vector(builder, [subgraph])}, {})
    builder.Finish(root, file_identifier=b'M001')
    return bytes(builder.Output())


def append_files(model: bytes, files: dict[str, bytes]) -> bytes:
    """The model with ``files`` in a zip archive appended to it (MetadataPopulator's layout)."""
    stream = io.BytesIO(model)
    stream.seek(0, io.SEEK_END)
    with zipfile.ZipFile(stream, 'a') as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return stream.getvalue()
