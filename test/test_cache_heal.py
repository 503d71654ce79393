# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""The model cache heals: damaged IR reconverted, damaged downloads fetched again, leftovers of
killed fetches and conversions removed, headers checked before hashing, shareable permissions.

Models are small synthetic .tflite files (one ADD) written by ``tflite_builder``; conversions are
real OpenVINO conversions, kills are real SIGKILLs.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import openvino as ov
import pytest
from http_fixtures import LoopbackServer, Route
from tflite_builder import OperatorSpec, TensorSpec, add_model, build_tflite

from selfie_seg_ros.engine import catalog, convert, fetch, staging
from selfie_seg_ros.engine.convert import ModelLoadError
from selfie_seg_ros.engine.segmenter import Segmenter

SHAPE = (1, 8, 8, 3)
TEST_DIR = Path(__file__).resolve().parent


@pytest.fixture
def source(tmp_path) -> Path:
    path = tmp_path / 'add.tflite'
    path.write_bytes(add_model(SHAPE, np.full(SHAPE, 0.25, np.float32)))
    return path


def _readable(target: Path) -> bool:
    try:
        ov.Core().read_model(target)
    except Exception:
        return False
    return True


def test_truncated_bin_is_reconverted_with_a_warning(source, tmp_path, caplog):
    cache = tmp_path / 'cache'
    target = convert.load_ir(source, cache)
    weights = target.with_suffix('.bin')
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with caplog.at_level(logging.WARNING):
        assert convert.load_ir(source, cache) == target
    assert 'damaged or incomplete' in caplog.text and str(source) in caplog.text
    assert convert.ir_is_complete(target) and _readable(target)


def test_missing_xml_is_reconverted_not_a_directory_error(source, tmp_path, caplog):
    cache = tmp_path / 'cache'
    target = convert.load_ir(source, cache)
    target.unlink()
    with caplog.at_level(logging.WARNING):
        assert convert.load_ir(source, cache) == target
    assert 'damaged or incomplete' in caplog.text
    assert _readable(target)
    assert [p.name for p in (cache / 'ir').iterdir()] == [target.parent.name]


def test_segmenter_heals_a_cached_ir_it_cannot_read(source, tmp_path, caplog):
    """A folder from before sizes were recorded (no manifest) with a damaged .bin."""
    cache = tmp_path / 'cache'
    target = convert.load_ir(source, cache)
    (target.parent / convert.MANIFEST).unlink()
    target.with_suffix('.bin').write_bytes(b'\x00' * 3)
    with caplog.at_level(logging.WARNING):
        segmenter = Segmenter(model=str(source), cache_dir=cache, progress=False)
    with segmenter:
        result = segmenter.segment(np.zeros((8, 8, 3), np.uint8))
    assert result.mask.shape == (8, 8)
    assert 'cannot be read' in caplog.text and 'converting' in caplog.text


def test_a_users_own_files_are_never_to_be_deleted(tmp_path):
    garbage = tmp_path / 'mine.tflite'
    garbage.write_bytes(b'\x18\x00\x00\x00TFL3' + b'\x00' * 200)
    with pytest.raises(ModelLoadError) as caught:
        Segmenter(model=str(garbage), cache_dir=tmp_path / 'cache', progress=False)
    assert 'mine.tflite' in str(caught.value) and 'delete' not in str(caught.value).lower()
    assert garbage.exists()
    xml = tmp_path / 'notir.xml'
    xml.write_text('<?xml version="1.0"?><net name="x" version="11"><layers>')
    (tmp_path / 'notir.bin').write_bytes(b'')
    with pytest.raises(ModelLoadError) as caught:
        Segmenter(model=str(xml), cache_dir=tmp_path / 'cache', progress=False)
    assert 'notir.xml' in str(caught.value) and 'delete' not in str(caught.value).lower()
    assert xml.exists()


@pytest.mark.parametrize('name,data,reason', [
    ('page.tflite', b'<!DOCTYPE html><html>portal</html>', 'not a TFLite model.*HTML'),
    ('page.onnx', b'<html>portal</html>', 'not an ONNX model'),
    ('empty.onnx', b'', 'is empty'),
    ('other.xml', b'<?xml version="1.0"?><svg/>', 'not an OpenVINO IR'),
])
def test_model_header_is_checked_first(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    if path.suffix == '.xml':
        path.with_suffix('.bin').write_bytes(b'')
    with pytest.raises(ModelLoadError, match=reason):
        convert.load_ir(path, tmp_path / 'cache')


def test_huge_file_with_a_bad_header_is_not_read_or_hashed(tmp_path, monkeypatch):
    huge = tmp_path / 'huge.tflite'
    with open(huge, 'wb') as stream:
        stream.truncate(3 << 30)  # sparse: 3 GB of zeros, no disk used
    monkeypatch.setattr(convert, 'file_digest', lambda path: pytest.fail('hashed'))
    monkeypatch.setattr(convert, 'convert_model', lambda path: pytest.fail('converted'))
    with pytest.raises(ModelLoadError, match='huge.tflite is not a TFLite model'):
        convert.load_ir(huge, tmp_path / 'cache')


def test_ir_folders_get_the_permissions_of_the_cache(source, tmp_path):
    cache = tmp_path / 'cache'
    target = convert.load_ir(source, cache)
    ir_root_mode = (cache / 'ir').stat().st_mode & 0o777
    assert target.parent.stat().st_mode & 0o777 == ir_root_mode
    assert ir_root_mode & 0o055 == 0o055  # others may enter and read, as the files allow
    assert target.stat().st_mode & 0o044 == 0o044


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, '-c', 'pass'])
    process.wait()
    return process.pid


def test_leftovers_of_dead_processes_are_removed_live_ones_kept(source, tmp_path):
    cache = tmp_path / 'cache'
    ir_root = cache / 'ir'
    ir_root.mkdir(parents=True)
    host = socket.gethostname()
    dead = ir_root / f'.convert-{_dead_pid()}@{host}+abcdefgh'
    live = ir_root / f'.convert-{os.getpid()}@{host}+abcdefgh'
    old_ownerless = ir_root / '.convert-k3j4h5g6'
    fresh_ownerless = ir_root / '.convert-a1b2c3d4'
    for folder in (dead, live, old_ownerless, fresh_ownerless):
        folder.mkdir()
        (folder / 'model.xml').write_text('<net partial')
    day = time.time() - 2 * 3600
    os.utime(old_ownerless, (day, day))
    convert.load_ir(source, cache)
    names = {p.name for p in ir_root.iterdir()}
    assert dead.name not in names and old_ownerless.name not in names
    assert live.name in names and fresh_ownerless.name in names


def test_killed_conversion_leaves_nothing_the_next_start_keeps(source, tmp_path):
    """A child is SIGKILLed while saving the IR; the next load removes its staging folder."""
    cache = tmp_path / 'cache'
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from selfie_seg_ros.engine import convert
        def stuck_save(model, path, *args, **kwargs):
            Path(path).write_text('<net partial')
            print('saving', flush=True)
            time.sleep(600)
        convert.ov.save_model = stuck_save
        convert.load_ir(Path({str(source)!r}), Path({str(cache)!r}))
    """)
    child = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == 'saving'
        leftovers = [p for p in (cache / 'ir').iterdir() if p.name.startswith('.convert-')]
        assert len(leftovers) == 1
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    target = convert.load_ir(source, cache)
    assert [p.name for p in (cache / 'ir').iterdir()] == [target.parent.name]
    assert _readable(target)


def test_killed_wheel_fetch_leaves_nothing_in_tmp_and_is_cleaned(tmp_path):
    """pip is SIGKILLed with its wheel folder half written: the folder is in the cache, not in
    /tmp, and the next fetch removes it."""
    dest = tmp_path / 'cache' / 'models' / 'm' / 'model.tflite'
    script = tmp_path / 'fake_pip.py'
    script.write_text(textwrap.dedent(f"""
        import os, signal, sys
        from pathlib import Path
        args = sys.argv[1:]
        folder = Path(args[args.index('-d') + 1])
        (folder / 'mediapipe-0.10.21-py3-none-any.whl').write_bytes(b'partial')
        Path({str(tmp_path / 'wheel_dir')!r}).write_text(str(folder))
        os.kill(os.getppid(), signal.SIGKILL)
    """))
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from selfie_seg_ros.engine import fetch
        from selfie_seg_ros.engine.catalog import WheelSource
        fetch.extract_wheel_member(WheelSource('mediapipe', '0.10.21', 'x.tflite'),
                                   Path({str(dest)!r}), progress=False,
                                   pip=[sys.executable, {str(script)!r}])
    """)
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == -signal.SIGKILL, result.stderr
    wheel_dir = Path((tmp_path / 'wheel_dir').read_text())
    assert wheel_dir.parent == dest.parent and wheel_dir.exists()
    assert staging.remove_stale(dest.parent) == [wheel_dir]
    assert not wheel_dir.exists()


def test_damaged_download_of_a_catalogue_model_is_fetched_again(tmp_path, monkeypatch, caplog):
    good = add_model(SHAPE, np.full(SHAPE, 0.25, np.float32))
    with LoopbackServer({'/m.tflite': Route(good)}) as server:
        entry = dataclasses.replace(
            catalog.CATALOG['selfie_multiclass_256x256'], model_id='synthetic_add',
            source=catalog.UrlSource(server.url('/m.tflite')), labels=('a', 'b', 'c'))
        monkeypatch.setitem(catalog.CATALOG, entry.model_id, entry)
        cache = tmp_path / 'cache'
        cached = fetch.cached_model_path(entry, cache)
        cached.parent.mkdir(parents=True)
        cached.write_bytes(good[: len(good) // 3])  # an interrupted copy by hand
        with caplog.at_level(logging.WARNING):
            segmenter = Segmenter(model='synthetic_add', cache_dir=cache, progress=False)
        segmenter.close()
        assert server.requests == ['/m.tflite']
    assert 'fetching it again' in caplog.text
    assert cached.read_bytes() == good
    manifest = json.loads((segmenter.model_path.parent / convert.MANIFEST).read_text())
    assert set(manifest) == {'model.xml', 'model.bin'}


def test_an_intact_download_that_cannot_convert_is_kept(tmp_path, monkeypatch):
    """Fetching again cannot help an unsupported operator: the file stays, the error names it."""
    tensors = [TensorSpec('input', (1, 2, 2, 1)), TensorSpec('output', (1, 2, 2, 1))]
    unsupported = build_tflite(tensors, [OperatorSpec('NoSuchCustomOp', (0,), (1,))], [0], [1])
    with LoopbackServer({'/m.tflite': Route(unsupported)}) as server:
        entry = dataclasses.replace(
            catalog.CATALOG['selfie_multiclass_256x256'], model_id='synthetic_unsupported',
            source=catalog.UrlSource(server.url('/m.tflite')))
        monkeypatch.setitem(catalog.CATALOG, entry.model_id, entry)
        cache = tmp_path / 'cache'
        cached = fetch.cached_model_path(entry, cache)
        cached.parent.mkdir(parents=True)
        cached.write_bytes(unsupported)
        with pytest.raises(ModelLoadError, match='NoSuchCustomOp'):
            Segmenter(model=entry.model_id, cache_dir=cache, progress=False)
        assert server.requests == []
    assert cached.read_bytes() == unsupported


@pytest.mark.parametrize('keep', [0.3, 0.6, 0.95])
def test_source_damage_tells_truncated_from_intact(source, tmp_path, keep):
    assert convert.source_damage(source) == ''
    cut = tmp_path / 'cut.tflite'
    data = source.read_bytes()
    cut.write_bytes(data[: int(len(data) * keep)])
    assert 'cut.tflite' in convert.source_damage(cut)
