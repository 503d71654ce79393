# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Labels and normalisation from a .tflite's TFLite metadata (as Model Maker writes them).

The models and their metadata are generated: ``metadata_builder`` lays the metadata flatbuffer
out by tflite_support's metadata_schema.fbs and appends the label file as a zip archive.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from metadata_builder import DESCRIPTIONS, append_files, metadata_flatbuffer
from tflite_builder import ConvOptions, GraphBuilder

from selfie_seg_ros.engine.convert import ModelLoadError
from selfie_seg_ros.engine.metadata import MetadataError, parse_metadata, read_metadata
from selfie_seg_ros.engine.segmenter import Segmenter

SIZE = 8
WEIGHTS = np.array(
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], np.float32
).reshape(3, 1, 1, 3)  # class c's logit = channel c of the (normalised) RGB input
LABELS = ('backdrop', 'strand', 'face')


def model_with_metadata(
    path: Path,
    labels: tuple[str, ...] | None = LABELS,
    mean: float | None = 127.5,
    std: float | None = 127.5,
    label_text: str | None = None,
) -> Path:
    graph = GraphBuilder((1, SIZE, SIZE, 3))
    out = graph.conv(0, WEIGHTS, np.zeros(3, np.float32), ConvOptions())
    metadata = metadata_flatbuffer(
        'labels.txt' if labels is not None else None,
        None if mean is None else [mean],
        None if std is None else [std],
        extra_files=[('readme.txt', DESCRIPTIONS)],
    )
    data = graph.build([out], {'TFLITE_METADATA': metadata})
    files = {'readme.txt': b'not labels'}
    if labels is not None:
        files['labels.txt'] = (label_text or '\n'.join(labels) + '\n').encode()
    path.write_bytes(append_files(data, files))
    return path


def open_segmenter(path: Path, **options) -> Segmenter:
    return Segmenter(model=str(path), cache_dir=path.parent / 'cache', progress=False, **options)


def test_metadata_is_read(tmp_path):
    metadata = read_metadata(model_with_metadata(tmp_path / 'm.tflite'))
    assert metadata.labels == LABELS
    assert (metadata.normalization.mean, metadata.normalization.scale) == (127.5, 127.5)


def test_segmenter_uses_metadata_labels_and_normalisation(tmp_path):
    path = model_with_metadata(tmp_path / 'm.tflite')
    with open_segmenter(path) as segmenter:
        assert segmenter.labels == LABELS
        image = np.random.default_rng(0).integers(0, 256, (SIZE, SIZE, 3), np.uint8)
        raw = segmenter.infer_raw(image)
    rgb = image[..., ::-1].astype(np.float32)
    np.testing.assert_allclose(raw, (rgb - 127.5) / 127.5, atol=1e-5)


def test_explicit_labels_win_over_metadata(tmp_path):
    path = model_with_metadata(tmp_path / 'm.tflite')
    with open_segmenter(path, labels=('a', 'b', 'c')) as segmenter:
        assert segmenter.labels == ('a', 'b', 'c')


def test_without_metadata_the_defaults_hold(tmp_path):
    graph = GraphBuilder((1, SIZE, SIZE, 3))
    out = graph.conv(0, WEIGHTS, np.zeros(3, np.float32), ConvOptions())
    path = tmp_path / 'plain.tflite'
    path.write_bytes(graph.build([out]))
    assert read_metadata(path).labels == () and read_metadata(path).normalization is None
    with open_segmenter(path) as segmenter:
        assert segmenter.labels == ('class_0', 'class_1', 'class_2')
        image = np.full((SIZE, SIZE, 3), 51, np.uint8)
        np.testing.assert_allclose(segmenter.infer_raw(image), 0.2, atol=1e-6)  # [0, 1] input


def test_labels_without_normalisation_and_the_reverse(tmp_path):
    only_labels = read_metadata(model_with_metadata(tmp_path / 'a.tflite', mean=None, std=None))
    assert only_labels.labels == LABELS and only_labels.normalization is None
    only_norm = read_metadata(model_with_metadata(tmp_path / 'b.tflite', labels=None))
    assert only_norm.labels == () and only_norm.normalization.mean == 127.5


def test_metadata_labels_that_do_not_fit_are_passed_over(tmp_path):
    path = model_with_metadata(tmp_path / 'm.tflite', labels=('one', 'two'))
    with open_segmenter(path) as segmenter:
        assert segmenter.labels == ('class_0', 'class_1', 'class_2')


def test_label_file_missing_from_the_archive_fails_naming_the_model(tmp_path):
    graph = GraphBuilder((1, SIZE, SIZE, 3))
    out = graph.conv(0, WEIGHTS, np.zeros(3, np.float32), ConvOptions())
    metadata = metadata_flatbuffer('labels.txt', [0.0], [255.0])
    path = tmp_path / 'broken.tflite'
    path.write_bytes(graph.build([out], {'TFLITE_METADATA': metadata}))  # no zip appended
    with pytest.raises(MetadataError, match='labels.txt'):
        read_metadata(path)
    with pytest.raises(ModelLoadError, match=r'broken\.tflite.*labels\.txt'):
        open_segmenter(path)


@pytest.mark.parametrize('blob', [b'\x00' * 3, b'\x08\x00\x00\x00XXXX' + bytes(8), bytes(64)])
def test_garbage_metadata_raises_metadata_error(tmp_path, blob):
    graph = GraphBuilder((1, SIZE, SIZE, 3))
    out = graph.conv(0, WEIGHTS, np.zeros(3, np.float32), ConvOptions())
    with pytest.raises(MetadataError):
        parse_metadata(graph.build([out], {'TFLITE_METADATA': blob}))


def test_zero_std_is_rejected(tmp_path):
    path = model_with_metadata(tmp_path / 'm.tflite', std=0.0)
    with pytest.raises(MetadataError, match='normalisation'):
        read_metadata(path)


def test_catalogue_labels_stay_and_metadata_normalisation_applies(tmp_path):
    # A binary model with metadata, in the cache where the selfie_segmenter weights would be.
    from selfie_seg_ros.engine import catalog
    from selfie_seg_ros.engine.fetch import cached_model_path

    graph = GraphBuilder((1, SIZE, SIZE, 3))
    out = graph.conv(0, WEIGHTS[:1], np.zeros(1, np.float32), ConvOptions())
    metadata = metadata_flatbuffer('labels.txt', [127.5], [127.5])
    path = cached_model_path(catalog.CATALOG['selfie_segmenter'], tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(append_files(graph.build([out], {'TFLITE_METADATA': metadata}),
                                  {'labels.txt': b'bg\nfg\n'}))
    with Segmenter(model='selfie_segmenter', cache_dir=tmp_path, allow_download=False) as seg:
        assert seg.labels == ('background', 'person')
        image = np.full((SIZE, SIZE, 3), 255, np.uint8)
        np.testing.assert_allclose(seg.infer_raw(image), 1.0, atol=1e-6)  # (255 - 127.5) / 127.5
