# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Temporary files and folders inside the model cache, named after the process that owns them.

Downloads, wheel extractions and conversions write next to their destination and rename into
place. A process killed meanwhile leaves its staging entry behind; the next process removes it
once its owner is gone (same host, process no longer running) or it is older than a day.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import time
from pathlib import Path

STALE_AFTER_S = 24 * 3600.0
"""Staging entries of another host (or of a process that cannot be checked) older than this are
removed."""
OWNERLESS_STALE_AFTER_S = 3600.0
"""Staging entries named without an owner (older versions of this package) older than this."""
_KINDS = ('convert', 'stale', 'wheel', 'part')
_OWNED = re.compile(r'^\.(?P<kind>[a-z]+)-(?P<pid>\d+)@(?P<host>[^+/]*)\+')
_OWNERLESS = re.compile(r'^\.convert-[a-z0-9_]{8}$')


def _host() -> str:
    return socket.gethostname().replace('+', '_')


def staging_prefix(kind: str) -> str:
    """Name prefix of a staging entry of ``kind`` owned by this process (for ``tempfile``)."""
    if kind not in _KINDS:
        raise ValueError(f'unknown staging kind {kind!r}')
    return f'.{kind}-{os.getpid()}@{_host()}+'


def _process_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except OSError:
        return True
    return True


def is_stale(path: Path, now: float | None = None) -> bool:
    """True when ``path`` is a staging entry whose owner is gone or that is too old."""
    now = time.time() if now is None else now
    try:
        age = now - path.lstat().st_mtime
    except OSError:
        return False
    owned = _OWNED.match(path.name)
    if owned is None:
        return bool(_OWNERLESS.match(path.name)) and age > OWNERLESS_STALE_AFTER_S
    if owned.group('kind') not in _KINDS:
        return False
    if owned.group('host') == _host():
        pid = int(owned.group('pid'))
        return pid != os.getpid() and not _process_running(pid)
    return age > STALE_AFTER_S


def remove_stale(directory: Path) -> list[Path]:
    """Remove stale staging entries directly inside ``directory``; returns what was removed."""
    removed = []
    try:
        entries = list(Path(directory).iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith('.') or not is_stale(entry):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue  # another process removed it first, or it is not ours to remove
        removed.append(entry)
    return removed
