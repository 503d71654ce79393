# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Model fetching: cache layout, atomic downloads over loopback HTTP and wheel extraction."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import socket
import sys
import time
import zipfile
from pathlib import Path

import pytest
from http_fixtures import LoopbackServer, Route, closed_port

from selfie_seg_ros.engine import fetch
from selfie_seg_ros.engine.catalog import ModelEntry, UrlSource, WheelSource, get_entry
from selfie_seg_ros.engine.fetch import FetchError

# A body that passes the TFLite header check: root offset, then the file identifier.
TFLITE_BODY = b'\x1c\x00\x00\x00TFL3' + bytes(range(256)) * 40
BIG_BODY = bytes(range(251)) * (4 * fetch.CHUNK_SIZE // 251 + 1)
MEMBER = 'mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite'


@pytest.fixture
def server():
    routes = {
        '/good.bin': Route(BIG_BODY),
        '/model.tflite': Route(TFLITE_BODY),
        '/portal.tflite': Route(b'<html><body>Please log in</body></html>'),
        '/truncated.bin': Route(BIG_BODY[:1000], declared_length=len(BIG_BODY)),
        '/missing.bin': Route(status=404),
        '/stall.bin': Route(BIG_BODY[:1000], declared_length=len(BIG_BODY), stall=True),
    }
    with LoopbackServer(routes) as srv:
        yield srv


def url_entry(url: str) -> ModelEntry:
    return dataclasses.replace(get_entry('selfie_segmenter'), source=UrlSource(url))


def wheel_entry() -> ModelEntry:
    return get_entry('selfie_segmentation')


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


# --- cache location ---------------------------------------------------------------------------


def test_default_cache_dir_prefers_selfie_seg_cache(monkeypatch, tmp_path):
    monkeypatch.setenv(fetch.CACHE_ENV, str(tmp_path / 'mine'))
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    assert fetch.default_cache_dir() == tmp_path / 'mine'


def test_default_cache_dir_uses_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.delenv(fetch.CACHE_ENV, raising=False)
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    assert fetch.default_cache_dir() == tmp_path / 'xdg' / 'selfie_seg_ros'


def test_default_cache_dir_falls_back_to_home(monkeypatch, tmp_path):
    monkeypatch.delenv(fetch.CACHE_ENV, raising=False)
    monkeypatch.setenv('HOME', str(tmp_path))
    monkeypatch.delenv('XDG_CACHE_HOME', raising=False)
    assert fetch.default_cache_dir() == tmp_path / '.cache' / 'selfie_seg_ros'
    # A relative XDG_CACHE_HOME is invalid per the XDG spec and ignored.
    monkeypatch.setenv('XDG_CACHE_HOME', 'relative/cache')
    assert fetch.default_cache_dir() == tmp_path / '.cache' / 'selfie_seg_ros'


def test_cached_model_path_layout(monkeypatch, tmp_path):
    assert fetch.cached_model_path(get_entry('selfie_segmenter'), tmp_path) == (
        tmp_path / 'models' / 'selfie_segmenter' / 'selfie_segmenter.tflite'
    )
    assert fetch.cached_model_path(wheel_entry(), tmp_path) == (
        tmp_path / 'models' / 'selfie_segmentation' / 'selfie_segmentation.tflite'
    )
    monkeypatch.setenv(fetch.CACHE_ENV, str(tmp_path / 'env'))
    assert fetch.cached_model_path(wheel_entry()).parents[2] == tmp_path / 'env'


# --- download -----------------------------------------------------------------------------------


@pytest.mark.parametrize('progress', [False, True])
def test_download_good_file(server, tmp_path, capsys, progress):
    dest = tmp_path / 'deep' / 'er' / 'good.bin'
    assert fetch.download(server.url('/good.bin'), dest, progress=progress) == dest
    assert dest.read_bytes() == BIG_BODY
    assert listing(dest.parent) == ['good.bin']
    err = capsys.readouterr().err
    if progress:
        assert 'good.bin' in err
    else:
        assert err == ''


def test_download_truncated_body_leaves_nothing(server, tmp_path):
    dest = tmp_path / 'truncated.bin'
    with pytest.raises(FetchError, match=f'received 1000 of {len(BIG_BODY)} bytes'):
        fetch.download(server.url('/truncated.bin'), dest, progress=False)
    assert listing(tmp_path) == []


def test_download_failure_keeps_earlier_good_file(server, tmp_path):
    dest = tmp_path / 'model.bin'
    dest.write_bytes(b'earlier good file')
    with pytest.raises(FetchError):
        fetch.download(server.url('/truncated.bin'), dest, progress=False)
    assert dest.read_bytes() == b'earlier good file'
    assert listing(tmp_path) == ['model.bin']


def test_download_checksum_mismatch_then_success(server, tmp_path):
    dest = tmp_path / 'good.bin'
    wrong = hashlib.sha256(b'something else').hexdigest()
    with pytest.raises(FetchError, match='SHA-256 mismatch') as info:
        fetch.download(server.url('/good.bin'), dest, sha256=wrong, progress=False)
    assert wrong in str(info.value)
    assert listing(tmp_path) == []
    right = hashlib.sha256(BIG_BODY).hexdigest().upper()
    fetch.download(server.url('/good.bin'), dest, sha256=right, progress=False)
    assert dest.read_bytes() == BIG_BODY


def test_download_http_error(server, tmp_path):
    url = server.url('/missing.bin')
    with pytest.raises(FetchError, match='HTTP 404') as info:
        fetch.download(url, tmp_path / 'missing.bin', progress=False)
    assert url in str(info.value)
    assert listing(tmp_path) == []


def test_download_timeout_on_stalled_body(server, tmp_path):
    start = time.monotonic()
    with pytest.raises(FetchError, match='timed out after 0.3 s'):
        fetch.download(server.url('/stall.bin'), tmp_path / 'stall.bin', timeout=0.3,
                       progress=False)
    assert time.monotonic() - start < 5.0
    assert listing(tmp_path) == []


def test_download_connection_refused_message(tmp_path):
    url = f'http://127.0.0.1:{closed_port()}/model.tflite'
    dest = tmp_path / 'models' / 'x' / 'model.tflite'
    with pytest.raises(FetchError) as info:
        fetch.download(url, dest, progress=False)
    message = str(info.value)
    assert 'connection refused' in message
    assert url in message
    assert str(dest) in message
    assert '--model /path/to/model.tflite' in message
    assert 'ROS parameter `model`' in message
    assert not dest.exists()


def test_download_unresolvable_host(tmp_path, monkeypatch):
    def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, 'Name or service not known')

    # Resolution is answered here so that the test never asks a real DNS server.
    monkeypatch.setattr(socket, 'getaddrinfo', no_such_host)
    url = 'http://selfie-seg-ros.invalid/model.tflite'
    with pytest.raises(FetchError, match='could not be resolved') as info:
        fetch.download(url, tmp_path / 'model.tflite', progress=False, timeout=5.0)
    assert url in str(info.value)


def test_download_malformed_url(tmp_path):
    with pytest.raises(FetchError, match='Could not download not-a-url: unknown url type'):
        fetch.download('not-a-url', tmp_path / 'model.tflite', progress=False)
    assert listing(tmp_path) == []


def test_download_interrupt_removes_partial_file(server, tmp_path, monkeypatch):
    dest = tmp_path / 'good.bin'
    dest.write_bytes(b'earlier good file')
    seen_during_download: list[list[str]] = []
    received = [0]

    class InterruptingBar(fetch.tqdm):
        def update(self, n=1):
            super().update(n)
            received[0] += n
            if received[0] > fetch.CHUNK_SIZE:
                seen_during_download.append(listing(tmp_path))
                raise KeyboardInterrupt

    monkeypatch.setattr(fetch, 'tqdm', InterruptingBar)
    with pytest.raises(KeyboardInterrupt):
        fetch.download(server.url('/good.bin'), dest, progress=False)
    # A partial temporary file existed mid-stream, and is gone afterwards.
    assert len(seen_during_download) == 1
    partial = [name for name in seen_during_download[0] if name.endswith('.part')]
    assert len(partial) == 1
    assert listing(tmp_path) == ['good.bin']
    assert dest.read_bytes() == b'earlier good file'


def test_download_validate_rejects_without_writing(server, tmp_path):
    dest = tmp_path / 'portal.tflite'
    with pytest.raises(FetchError, match='not a TFLite model'):
        fetch.download(server.url('/portal.tflite'), dest, progress=False,
                       validate=fetch.check_tflite)
    assert listing(tmp_path) == []


def test_download_unwritable_directory(server, tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_bytes(b'')
    with pytest.raises(FetchError, match='Could not write') as info:
        fetch.download(server.url('/good.bin'), blocker / 'good.bin', progress=False)
    assert fetch.CACHE_ENV in str(info.value)


# --- fetch_model (URL sources) -----------------------------------------------------------------


def test_fetch_model_downloads_into_cache_then_uses_it(server, tmp_path):
    entry = url_entry(server.url('/model.tflite'))
    cache = tmp_path / 'a' / 'b'
    path = fetch.fetch_model(entry, cache, progress=False)
    assert path == cache / 'models' / entry.model_id / 'model.tflite'
    assert path.read_bytes() == TFLITE_BODY
    assert server.requests == ['/model.tflite']
    assert fetch.fetch_model(entry, cache, progress=False) == path
    assert server.requests == ['/model.tflite']


def test_fetch_model_cached_file_needs_no_network(server, tmp_path):
    entry = url_entry(server.url('/model.tflite'))
    path = fetch.cached_model_path(entry, tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b'placed by hand')
    assert fetch.fetch_model(entry, tmp_path) == path
    assert fetch.fetch_model(entry, tmp_path, allow_download=False) == path
    assert server.requests == []
    assert path.read_bytes() == b'placed by hand'


def test_fetch_model_without_download_names_path(server, tmp_path):
    entry = url_entry(server.url('/model.tflite'))
    with pytest.raises(FetchError, match='downloads are disabled') as info:
        fetch.fetch_model(entry, tmp_path, allow_download=False)
    assert str(fetch.cached_model_path(entry, tmp_path)) in str(info.value)
    assert server.requests == []
    with pytest.raises(FetchError, match='downloads are disabled') as info:
        fetch.fetch_model(wheel_entry(), tmp_path, allow_download=False)
    assert str(fetch.cached_model_path(wheel_entry(), tmp_path)) in str(info.value)
    assert 'pip download --no-deps' in str(info.value)


def test_fetch_model_connection_refused_message(tmp_path):
    url = f'http://127.0.0.1:{closed_port()}/selfie_segmenter.tflite'
    entry = url_entry(url)
    with pytest.raises(FetchError) as info:
        fetch.fetch_model(entry, tmp_path, progress=False)
    message = str(info.value)
    path = fetch.cached_model_path(entry, tmp_path)
    assert url in message
    assert str(path) in message
    assert '--model /path/to/model.tflite' in message
    assert 'ROS parameter `model`' in message
    assert not path.exists()


def test_fetch_model_rejects_non_tflite_response(server, tmp_path):
    entry = url_entry(server.url('/portal.tflite'))
    with pytest.raises(FetchError, match='not a TFLite model'):
        fetch.fetch_model(entry, tmp_path, progress=False)
    assert listing(fetch.cached_model_path(entry, tmp_path).parent) == []


# --- wheels -----------------------------------------------------------------------------------


def make_wheel(directory: Path, members: dict[str, bytes]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / 'mediapipe-0.10.21-py3-none-any.whl'
    with zipfile.ZipFile(wheel, 'w', zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return wheel


def make_fake_pip(tmp_path: Path, wheel: Path | None, *, fail: str | None = None) -> list[str]:
    """A stand-in for ``python -m pip`` that records its arguments and 'downloads' ``wheel``."""
    script = tmp_path / 'fake_pip.py'
    script.write_text(
        'import json, shutil, sys\n'
        'args = sys.argv[1:]\n'
        f'open({str(tmp_path / "pip_args.json")!r}, "w").write(json.dumps(args))\n'
        f'fail = {fail!r}\n'
        'if fail:\n'
        '    print("Looking in indexes: https://pypi.org/simple", file=sys.stdout)\n'
        '    print(fail, file=sys.stderr)\n'
        '    sys.exit(1)\n'
        f'shutil.copy({str(wheel)!r}, args[args.index("-d") + 1])\n'
    )
    return [sys.executable, str(script)]


def test_extract_wheel_member(tmp_path):
    payload = b'\x1c\x00\x00\x00TFL3 selfie model bytes'
    wheel = make_wheel(tmp_path / 'src', {MEMBER: payload, 'mediapipe/__init__.py': b''})
    pip = make_fake_pip(tmp_path, wheel)
    dest = tmp_path / 'cache' / 'selfie_segmentation.tflite'
    source = WheelSource('mediapipe', '0.10.21', MEMBER)
    assert fetch.extract_wheel_member(source, dest, progress=False, pip=pip) == dest
    assert dest.read_bytes() == payload
    assert listing(dest.parent) == ['selfie_segmentation.tflite']
    args = json.loads((tmp_path / 'pip_args.json').read_text())
    assert args[0] == 'download'
    assert 'install' not in args
    for flag in ('--no-deps', '--only-binary=:all:', 'mediapipe==0.10.21', '-d'):
        assert flag in args


def test_extract_wheel_member_missing_member(tmp_path):
    wheel = make_wheel(tmp_path / 'src', {'mediapipe/__init__.py': b''})
    dest = tmp_path / 'cache' / 'selfie_segmentation.tflite'
    source = WheelSource('mediapipe', '0.10.21', MEMBER)
    with pytest.raises(FetchError, match='has no member') as info:
        fetch.extract_wheel_member(source, dest, progress=False,
                                   pip=make_fake_pip(tmp_path, wheel))
    assert MEMBER in str(info.value)
    assert str(dest) in str(info.value)
    assert listing(dest.parent) == []


def test_extract_wheel_member_pip_failure(tmp_path, capsys):
    error = 'ERROR: No matching distribution found for mediapipe==0.10.21'
    dest = tmp_path / 'cache' / 'selfie_segmentation.tflite'
    source = WheelSource('mediapipe', '0.10.21', MEMBER)
    with pytest.raises(FetchError, match='pip could not download') as info:
        fetch.extract_wheel_member(source, dest, progress=True,
                                   pip=make_fake_pip(tmp_path, None, fail=error))
    message = str(info.value)
    assert error in message
    assert 'Looking in indexes' not in message  # stderr, not stdout, is reported
    assert str(dest) in message
    assert '--model /path/to/model.tflite' in message
    assert not dest.exists()
    assert 'mediapipe==0.10.21' in capsys.readouterr().err


def test_extract_wheel_member_pip_not_runnable(tmp_path):
    source = WheelSource('mediapipe', '0.10.21', MEMBER)
    with pytest.raises(FetchError, match='Could not run pip'):
        fetch.extract_wheel_member(source, tmp_path / 'm.tflite', progress=False,
                                   pip=[str(tmp_path / 'no-such-pip')])


def test_fetch_model_wheel_source_uses_pip_command(tmp_path, monkeypatch):
    payload = b'\x1c\x00\x00\x00TFL3 legacy selfie model'
    wheel = make_wheel(tmp_path / 'src', {MEMBER: payload})
    monkeypatch.setattr(fetch, 'pip_command', lambda: make_fake_pip(tmp_path, wheel))
    entry = wheel_entry()
    path = fetch.fetch_model(entry, tmp_path / 'cache', progress=False)
    assert path == fetch.cached_model_path(entry, tmp_path / 'cache')
    assert path.read_bytes() == payload


@pytest.mark.model
def test_fetch_real_selfie_segmentation_from_wheel(tmp_path):
    path = fetch.fetch_model(wheel_entry(), tmp_path, progress=False)
    assert path == tmp_path / 'models' / 'selfie_segmentation' / 'selfie_segmentation.tflite'
    head = path.read_bytes()[:8]
    assert head[4:8] == b'TFL3'
    assert path.stat().st_size > 200_000


def test_default_model_falls_back_to_the_registry_model_and_says_why(tmp_path, monkeypatch):
    fetched: list[str] = []

    def fake_fetch(entry, cache_dir, *, progress=True):
        fetched.append(entry.model_id)
        if entry.model_id == fetch.DEFAULT_MODEL:
            raise FetchError('no route to host')
        return tmp_path / entry.model_id

    monkeypatch.setattr(fetch, 'fetch_model', fake_fetch)
    model, error = fetch.fetch_default_model(tmp_path, progress=False)
    assert (model, str(error)) == (fetch.FALLBACK_MODEL, 'no route to host')
    assert fetched == [fetch.DEFAULT_MODEL, fetch.FALLBACK_MODEL]
    monkeypatch.setattr(fetch, 'fetch_model', lambda entry, cache_dir, progress: None)
    assert fetch.fetch_default_model(tmp_path) == (fetch.DEFAULT_MODEL, None)
