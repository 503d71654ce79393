# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""``selfie-seg`` user errors: one line on stderr, exit 2, found before any model is loaded.

Every run points at an empty cache with downloads off: had the model been loaded first, the
error would be "not in the cache" (exit 1) instead of the user error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from bombs import jpeg_bomb, png_bomb

from selfie_seg_ros import cli

SCRIPT = Path(sys.executable).parent / 'selfie-seg'


@pytest.fixture
def photo(tmp_path) -> Path:
    path = tmp_path / 'photo.png'
    cv2.imwrite(str(path), np.full((48, 64, 3), 120, np.uint8))
    return path


@pytest.fixture
def run(tmp_path, capsys):
    def invoke(*args: str) -> tuple[int, str]:
        argv = [*args, '--cache-dir', str(tmp_path / 'empty-cache'), '--no-download']
        try:
            code = cli.main(argv)
        except SystemExit as exit_:  # argparse
            code = int(exit_.code)
        err = capsys.readouterr().err
        assert 'Traceback' not in err
        return code, err

    return invoke


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if 'error' in line]


def test_image_bomb_is_refused_from_its_header(run, tmp_path):
    bomb = tmp_path / 'bomb.jpg'
    bomb.write_bytes(jpeg_bomb(30000, 30000))
    code, err = run('image', str(bomb), '--out', str(tmp_path / 'out'))
    assert code == 2
    assert _error_lines(err) == [err.strip()]
    assert 'pixels' in err and 'bomb.jpg' in err
    assert not (tmp_path / 'out').exists()


def test_max_pixels_option_applies_to_input_and_background(run, photo, tmp_path):
    code, err = run('image', str(photo), '--max-pixels', str(64 * 48 - 1))
    assert code == 2 and '64x48' in err and '--max-pixels' in err
    background = tmp_path / 'bg.png'
    background.write_bytes(png_bomb(12000, 12000))
    code, err = run('image', str(photo), '--effect', 'replace', '--background-image',
                    str(background), '--out', str(tmp_path / 'o'))
    assert code == 2 and 'background image' in err and '12000x12000' in err


@pytest.mark.parametrize('value', ['0', '-5', str((1 << 28) + 1), 'many'])
def test_bad_max_pixels_is_an_argument_error(run, photo, value):
    code, err = run('image', str(photo), '--max-pixels', value)
    assert code == 2 and '--max-pixels' in err


def test_out_that_is_a_file_or_below_a_file(run, photo, tmp_path):
    existing = tmp_path / 'taken.txt'
    existing.write_text('mine')
    code, err = run('image', str(photo), '--out', str(existing))
    assert code == 2 and 'exists and is not a folder' in err
    code, err = run('image', str(photo), '--out', str(existing / 'sub'))
    assert code == 2 and 'is not a folder' in err
    assert existing.read_text() == 'mine'


@pytest.mark.skipif(os.geteuid() == 0, reason='root may write anywhere')
def test_out_in_an_unwritable_folder(run, photo, tmp_path):
    locked = tmp_path / 'locked'
    locked.mkdir(mode=0o500)
    code, err = run('image', str(photo), '--out', str(locked / 'out'))
    assert code == 2 and 'not writable' in err


def test_video_argument_errors(run, tmp_path):
    code, err = run('video', '--camera', '-1')
    assert code == 2 and '--camera' in err and 'expected 0 or more' in err
    code, err = run('video', '--camera', '0', '--max-frames', '-1')
    assert code == 2 and '--max-frames' in err
    code, err = run('video', '--camera', '0', '--out', str(tmp_path))
    assert code == 2 and 'is a folder' in err
    code, err = run('video', '--camera', '0', '--smoothing', '2')
    assert code == 2 and '--smoothing' in err


def test_cache_dir_that_is_a_file(tmp_path, photo, capsys):
    cache = tmp_path / 'cache'
    cache.write_text('')
    code = cli.main(['image', str(photo), '--cache-dir', str(cache), '--out', str(tmp_path / 'o')])
    assert code == 2 and 'is not a folder' in capsys.readouterr().err


def _peak_rss_mb(args: list[str]) -> tuple[int, float, str]:
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_maxrss / 1024, output


def test_console_script_with_bombs_stays_small(tmp_path):
    """The real executable, fed 30000x30000 bombs: exit 2 with one line, no big allocation."""
    garbage = tmp_path / 'garbage.png'
    garbage.write_bytes(b'not an image at all')
    common = ['--out', str(tmp_path / 'o'), '--cache-dir', str(tmp_path / 'c'), '--no-download']
    code, baseline, output = _peak_rss_mb([str(SCRIPT), 'image', str(garbage), *common])
    assert code == 2, output
    bombs = (('bomb.jpg', jpeg_bomb(30000, 30000)), ('bomb.png', png_bomb(30000, 30000)))
    for name, data in bombs:
        path = tmp_path / name
        path.write_bytes(data)
        code, peak, output = _peak_rss_mb([str(SCRIPT), 'image', str(path), *common])
        assert code == 2, output
        assert output.count('\n') == 1 and 'pixels' in output, output
        assert peak < baseline + 30, (name, peak, baseline)


def test_bag_decoders_refuse_bombs_from_their_headers():
    from types import SimpleNamespace

    from selfie_seg_ros.cli.bag import FrameError, decode_compressed, decode_raw

    for data in (jpeg_bomb(30000, 30000), png_bomb(12000, 12000)):
        with pytest.raises(FrameError, match='pixels'):
            decode_compressed(SimpleNamespace(format='jpeg', data=np.frombuffer(data, np.uint8)))
    raw = SimpleNamespace(width=1 << 16, height=1 << 15, step=3 << 16, encoding='bgr8',
                          data=np.zeros(16, np.uint8))
    with pytest.raises(FrameError, match='more than the limit'):
        decode_raw(raw)
    small = cv2.imencode('.png', np.zeros((6, 8, 3), np.uint8))[1]
    message = SimpleNamespace(format='png', data=small)
    assert decode_compressed(message).shape == (6, 8, 3)
    with pytest.raises(FrameError, match='8x6'):
        decode_compressed(message, max_pixels=47)
