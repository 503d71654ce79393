# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""A stop signal during start-up exits 0, even when it lands inside a C extension's import."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from selfie_seg_ros.ros.entry_points import MALLOC_ARENAS

FAKE_MODULE = textwrap.dedent("""
    import os, signal, time
    from selfie_seg_ros.ros.entry_points import StopRequested
    try:
        os.kill(os.getpid(), signal.SIG{signal})
        time.sleep(5)
    except StopRequested as error:
        # What pybind11 does with an exception raised while a module initialises.
        raise ImportError('initialization failed') from error
""")


@pytest.mark.parametrize('signal_name', ['INT', 'TERM'])
def test_signal_inside_an_extension_import_exits_0(tmp_path, signal_name):
    (tmp_path / 'fake_extension.py').write_text(FAKE_MODULE.replace('{signal}', signal_name))
    code = ('import sys; from selfie_seg_ros.ros.entry_points import run; '
            "sys.exit(run('fake_extension'))")
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ''


def test_other_import_errors_still_fail(tmp_path):
    (tmp_path / 'broken.py').write_text("raise ImportError('a real problem')\n")
    code = "import sys; from selfie_seg_ros.ros.entry_points import run; sys.exit(run('broken'))"
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            cwd=tmp_path, timeout=60)
    assert result.returncode != 0 and 'a real problem' in result.stderr


_ARENAS_CHILD = """
import ctypes, sys, threading
from selfie_seg_ros.ros import entry_points
if sys.argv[1] == 'limited':
    assert entry_points.limit_malloc_arenas()
together = threading.Barrier(8)
def work():
    blocks = [bytearray(4096) for _ in range(16)]  # from the thread's arena (below mmap size)
    together.wait()  # all alive at once: none can take over another's arena
    del blocks
threads = [threading.Thread(target=work) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
ctypes.CDLL(None).malloc_stats()  # one 'Arena N:' block per arena, on stderr
"""


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc only')
def test_the_executables_limit_glibc_to_two_malloc_arenas():
    def arenas(mode: str, env: dict[str, str]) -> int:
        result = subprocess.run([sys.executable, '-c', _ARENAS_CHILD, mode], env=env,
                                capture_output=True, text=True, timeout=60, check=True)
        return result.stderr.count('Arena ')

    env = {k: v for k, v in os.environ.items() if k != 'MALLOC_ARENA_MAX'}
    assert arenas('default', env) > MALLOC_ARENAS  # each thread got an arena of its own
    assert arenas('limited', env) == MALLOC_ARENAS
    # A user's MALLOC_ARENA_MAX wins: glibc applies it, the entry point leaves it alone.
    assert arenas('default', {**env, 'MALLOC_ARENA_MAX': '1'}) == 1


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='prctl is Linux only')
def test_worker_threads_carry_their_names_for_the_operating_system():
    from selfie_seg_ros.ros.process import name_native_thread

    seen: list[str] = []

    def work() -> None:
        assert name_native_thread('seg_painter_and_more')  # kept to 15 bytes
        comm = Path(f'/proc/self/task/{threading.get_native_id()}/comm')
        seen.append(comm.read_text().strip())

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(10)
    assert seen == ['seg_painter_and']
