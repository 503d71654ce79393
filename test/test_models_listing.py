# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""``selfie-seg models``: source, cached, verified and custom operators per model, aligned."""

from __future__ import annotations

import dataclasses

import pytest
from tflite_builder import hair_model, random_hair_weights

from selfie_seg_ros import cli
from selfie_seg_ros.engine import catalog
from selfie_seg_ros.engine.errors import ModelLoadError
from selfie_seg_ros.engine.fetch import cached_model_path
from selfie_seg_ros.engine.segmenter import Segmenter


def listing(tmp_path, capsys) -> list[str]:
    assert cli.main(['models', '--cache-dir', str(tmp_path)]) == 0
    return capsys.readouterr().out.splitlines()


def test_catalogue_urls_are_pinned_to_a_version():
    for entry in catalog.CATALOG.values():
        if isinstance(entry.source, catalog.UrlSource):
            assert '/latest/' not in entry.source.url
            assert f'/{catalog.MEDIAPIPE_MODEL_VERSION}/' in entry.source.url


def test_columns_stay_aligned_with_a_long_id(monkeypatch, tmp_path, capsys):
    long_id = 'a_model_id_much_longer_than_any_column_width_in_the_catalogue'
    entry = dataclasses.replace(catalog.CATALOG['deeplab_v3'], model_id=long_id)
    monkeypatch.setitem(catalog.CATALOG, long_id, entry)
    lines = listing(tmp_path, capsys)
    header = next(i for i, line in enumerate(lines) if line.startswith('model '))
    rows = lines[header : header + 1 + len(catalog.CATALOG)]
    titles = ['classes', 'verified', 'cached', 'custom operators', 'source']
    offsets = [rows[0].index(title) for title in titles]
    for row in rows[1:]:
        for offset in offsets:
            assert row[offset - 2 : offset] == '  ' and row[offset] != ' ', (row, offset)
    assert any(row.startswith(long_id) for row in rows)


def test_listing_reads_custom_operators_from_a_cached_file(tmp_path, capsys):
    path = cached_model_path(catalog.CATALOG['hair_segmenter'], tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(hair_model(16, random_hair_weights(0)))
    lines = listing(tmp_path, capsys)
    row = next(line for line in lines if line.startswith('hair_segmenter'))
    assert row.split()[2:4] == ['no', 'yes']  # not verified here, cached
    assert 'Convolution2DTransposeBias,MaxPoolingWithArgmax2D,MaxUnpooling2D' in row
    assert 'float32/1/hair_segmenter.tflite' in row
    row = next(line for line in lines if line.startswith('deeplab_v3'))
    assert row.split()[2:5] == ['no', 'no', '-']


def test_api_names_an_unsupported_operator(tmp_path):
    from tflite_builder import OperatorSpec, TensorSpec, build_tflite

    tensors = [TensorSpec('input', (1, 8, 8, 3)), TensorSpec('output', (1, 8, 8, 1))]
    path = tmp_path / 'exotic.tflite'
    path.write_bytes(build_tflite(tensors, [OperatorSpec('FancyCustomOp', (0,), (1,))], [0], [1]))
    with pytest.raises(ModelLoadError, match=r'exotic\.tflite.*FancyCustomOp.*selfie-seg models'):
        Segmenter(model=str(path), cache_dir=tmp_path / 'cache', progress=False)
