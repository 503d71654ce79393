# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""TFLite / ONNX -> OpenVINO IR, with MediaPipe's custom operators (see ``custom_ops``).

A .tflite file's custom operators are listed before conversion: those translated in
``custom_ops`` become conversion extensions; any other fails with a message naming it.

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
import tempfile
from pathlib import Path

import openvino as ov
from openvino.frontend import ConversionExtension

from selfie_seg_ros.engine import custom_ops
from selfie_seg_ros.engine.catalog import MODEL_SUFFIXES
from selfie_seg_ros.engine.errors import ModelLoadError, UnsupportedOperatorError
from selfie_seg_ros.engine.staging import remove_stale, staging_prefix

MANIFEST = 'files.json'
"""Written last into a converted IR folder: the size of each file, so damage is seen by stat."""
_LOG = logging.getLogger(__name__)
# OpenVINO's converter sets the root logger to ERROR; cache repairs must still be reported.
_LOG.setLevel(logging.INFO)


def tflite_extensions(source: Path) -> list[ConversionExtension]:
    """Conversion extensions for the custom operators a .tflite file uses.

    Raises:
        UnsupportedOperatorError: an operator has no translation; the message names it.
        ModelLoadError: the file is not a TFLite model or its operator options are malformed.
    """
    operators = read_operators(source)
    unknown = custom_ops.unsupported_operators(operators)
    if unknown:
        plural = 's' if len(unknown) > 1 else ''
        raise UnsupportedOperatorError(
            f'{source} uses the custom TFLite operator{plural} {", ".join(unknown)}, which '
            f'OpenVINO cannot run and selfie_seg_ros has no translation for (it translates '
            f'{", ".join(custom_ops.SUPPORTED_CUSTOM_OPS)}). Export the model without '
            f'{"them" if plural else "it"} (builtin TFLite operators, ONNX or OpenVINO IR), or '
            'pick a catalogue model (selfie-seg models).'
        )
    try:
        return custom_ops.conversion_extensions(operators)
    except custom_ops.CustomOpError as error:
        raise ModelLoadError(f'{source}: {error}') from error


def read_operators(source: Path) -> list[custom_ops.CustomOperator]:
    """The custom operators of a .tflite file.

    Raises:
        ModelLoadError: the file is not a TFLite flatbuffer or is corrupt.
    """
    try:
        return custom_ops.read_custom_operators(Path(source).read_bytes())
    except custom_ops.CustomOpError as error:
        raise ModelLoadError(f'{source}: {error}') from error


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
    extensions = tflite_extensions(source) if source.suffix == '.tflite' else []
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
        read_operators(source)
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
