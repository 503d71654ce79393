# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""A stop signal during start-up exits 0, even when it lands inside a C extension's import."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

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
