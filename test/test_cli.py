# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""The ``selfie-seg`` command line, on the real general selfie model and real photos."""

import dataclasses
import socket
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from selfie_seg_ros import cli
from selfie_seg_ros.engine import catalog

pytestmark = pytest.mark.model

MODEL = 'selfie_segmentation'


@pytest.fixture(scope='module')
def astronaut_png(tmp_path_factory):
    from skimage import data

    path = tmp_path_factory.mktemp('photos') / 'astronaut.png'
    cv2.imwrite(str(path), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture
def run(model_cache_dir, capsys):
    def invoke(*args):
        code = cli.main([*args, '--cache-dir', str(model_cache_dir)])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_help_everywhere():
    for command in ([], ['image'], ['video'], ['bag'], ['models'], ['fetch']):
        result = subprocess.run([sys.executable, '-m', 'selfie_seg_ros.cli', *command, '--help'],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        assert 'usage: selfie-seg' in result.stdout


def test_image_writes_three_outputs(run, astronaut_png, tmp_path):
    code, out, err = run('image', str(astronaut_png), '--model', MODEL, '--out', str(tmp_path))
    assert code == 0, err
    mask = cv2.imread(str(tmp_path / 'mask.png'), cv2.IMREAD_UNCHANGED)
    overlay = cv2.imread(str(tmp_path / 'overlay.png'), cv2.IMREAD_UNCHANGED)
    blurred = cv2.imread(str(tmp_path / 'blurred.png'), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (512, 512) and mask.dtype == np.uint8
    assert set(np.unique(mask)) == {0, 1}
    assert 0.3 < mask.mean() < 0.8
    assert mask[70:170, 180:280].mean() > 0.9  # the face
    assert overlay.shape == blurred.shape == (512, 512, 3)
    photo = cv2.imread(str(astronaut_png))
    assert np.abs(blurred.astype(int) - photo)[mask == 0].mean() > 3
    assert 'inference' in out and 'ms' in out
    assert 'person' in out


def test_image_replace_with_colour_and_image(run, astronaut_png, tmp_path):
    code, _, err = run('image', str(astronaut_png), '--model', MODEL, '--out', str(tmp_path / 'c'),
                       '--effect', 'replace', '--background-color', '255,0,0')
    assert code == 0, err
    replaced = cv2.imread(str(tmp_path / 'c' / 'blurred.png'))
    mask = cv2.imread(str(tmp_path / 'c' / 'mask.png'), cv2.IMREAD_UNCHANGED)
    far = cv2.erode((mask == 0).astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    assert np.abs(replaced[far].astype(int) - [0, 0, 255]).mean() < 5
    background = tmp_path / 'bg.png'
    cv2.imwrite(str(background), np.full((40, 90, 3), (0, 255, 0), np.uint8))
    code, _, err = run('image', str(astronaut_png), '--model', MODEL, '--out', str(tmp_path / 'i'),
                       '--effect', 'replace', '--background-image', str(background))
    assert code == 0, err
    replaced = cv2.imread(str(tmp_path / 'i' / 'blurred.png'))
    assert np.abs(replaced[far].astype(int) - [0, 255, 0]).mean() < 5


@pytest.mark.parametrize('effect', ['blur_people', 'pixelate_people'])
def test_image_anonymises_the_person_and_keeps_the_background(run, astronaut_png, tmp_path,
                                                              effect):
    code, _, err = run('image', str(astronaut_png), '--model', MODEL, '--out', str(tmp_path),
                       '--effect', effect, '--blur-strength', '31')
    assert code == 0, err
    photo = cv2.imread(str(astronaut_png))
    hidden = cv2.imread(str(tmp_path / 'blurred.png'))
    mask = cv2.imread(str(tmp_path / 'mask.png'), cv2.IMREAD_UNCHANGED)
    face = (slice(70, 150), slice(190, 260))
    assert np.all(hidden[face] == photo[face], axis=-1).mean() < 0.01
    far = cv2.erode((mask == 0).astype(np.uint8), np.ones((31, 31), np.uint8)) > 0
    assert np.all(hidden[far] == photo[far], axis=-1).mean() > 0.99


def test_anonymising_with_a_weak_strength_is_refused(run, astronaut_png, tmp_path):
    code, _, err = run('image', str(astronaut_png), '--model', MODEL, '--out', str(tmp_path),
                       '--effect', 'blur_people', '--blur-strength', '3')
    assert code == 2 and 'too weak to anonymise' in err and 'Traceback' not in err


@pytest.mark.parametrize('content', [None, b'not an image'])
def test_missing_or_unreadable_image_exits_2(run, tmp_path, content):
    path = tmp_path / 'photo.png'
    if content is not None:
        path.write_bytes(content)
    code, _, err = run('image', str(path), '--model', MODEL, '--out', str(tmp_path / 'o'))
    assert code == 2
    assert str(path) in err
    assert not (tmp_path / 'o').exists()


def test_model_and_device_errors_are_reported_without_traceback(run, astronaut_png, tmp_path):
    code, _, err = run('image', str(astronaut_png), '--model', 'nope', '--out', str(tmp_path))
    assert code == 1 and 'selfie_segmentation' in err and 'Traceback' not in err
    code, _, err = run('image', str(astronaut_png), '--model', MODEL, '--device', 'TPU',
                       '--out', str(tmp_path))
    assert code == 1 and 'available devices: CPU' in err
    code, _, err = run('image', str(astronaut_png), '--model', MODEL, '--classes', 'wings',
                       '--out', str(tmp_path))
    assert code == 1 and 'person' in err


def test_offline_download_names_url_cache_path_and_flag(monkeypatch, tmp_path, capsys):
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    url = f'http://127.0.0.1:{port}/models/selfie_multiclass_256x256.tflite'
    entry = dataclasses.replace(catalog.CATALOG['selfie_multiclass_256x256'],
                                source=catalog.UrlSource(url))
    monkeypatch.setitem(catalog.CATALOG, entry.model_id, entry)
    code = cli.main(['fetch', entry.model_id, '--cache-dir', str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert url in err
    assert str(tmp_path / 'models' / entry.model_id) in err
    assert '--model' in err
    assert not list((tmp_path / 'models' / entry.model_id).glob('*'))


def test_models_lists_catalogue_verified_and_cached(run):
    code, out, _ = run('models')
    assert code == 0
    for model_id in catalog.CATALOG:
        assert model_id in out
    line = next(line for line in out.splitlines() if line.startswith(MODEL + ' '))
    assert line.split()[2:4] == ['yes', 'yes']  # verified, cached
    line = next(line for line in out.splitlines() if line.startswith('deeplab_v3'))
    assert line.split()[2] == 'no'


def test_fetch_prints_the_ir_path(run):
    code, out, err = run('fetch', MODEL)
    assert code == 0, err
    path = Path(out.strip().splitlines()[-1])
    assert path.suffix == '.xml' and path.is_file() and path.with_suffix('.bin').is_file()


def test_video_file_blurs_every_frame(run, astronaut_png, tmp_path):
    source = tmp_path / 'in.mp4'
    photo = cv2.imread(str(astronaut_png))
    writer = cv2.VideoWriter(str(source), cv2.VideoWriter_fourcc(*'mp4v'), 10, (320, 240))
    for shift in range(8):
        writer.write(cv2.resize(np.roll(photo, shift * 4, axis=1), (320, 240)))
    writer.release()
    out = tmp_path / 'out.mp4'
    code, stdout, err = run('video', str(source), '--model', MODEL, '--out', str(out))
    assert code == 0, err
    assert '8 frames' in stdout and 'fps' in stdout and 'inference' in stdout
    capture = cv2.VideoCapture(str(out))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    assert len(frames) == 8
    assert frames[0].shape == (240, 320, 3)


def test_video_writes_masks_and_instances_per_frame(run, pose_model_paths, street_photo_path,
                                                    tmp_path):
    source = tmp_path / 'street.avi'
    photo = cv2.imread(str(street_photo_path))
    # Lossless (PNG frames): JPEG artefacts would cost the detector the person at the border.
    writer = cv2.VideoWriter(str(source), cv2.VideoWriter_fourcc(*'png '), 10, (810, 1080))
    for _ in range(3):
        writer.write(photo)
    writer.release()
    masks, instances = tmp_path / 'masks', tmp_path / 'ids'
    code, stdout, err = run('video', str(source), '--model', 'pose_segmentation',
                            '--mask-dir', str(masks), '--instances-dir', str(instances))
    assert code == 0, err
    assert sorted(p.name for p in masks.iterdir()) == ['000001.png', '000002.png', '000003.png']
    assert sorted(p.name for p in instances.iterdir()) == sorted(p.name for p in masks.iterdir())
    assert f'wrote {instances}/000001.png .. 000003.png' in stdout
    for name in ('000001.png', '000003.png'):
        mask = cv2.imread(str(masks / name), cv2.IMREAD_UNCHANGED)
        ids = cv2.imread(str(instances / name), cv2.IMREAD_UNCHANGED)
        assert ids.shape == mask.shape == (1080, 810) and ids.dtype == np.uint8
        assert np.array_equal(ids > 0, mask == 1)
        assert len([i for i in np.unique(ids) if i]) >= 3  # one id per person


def test_video_instances_need_a_multi_person_model(run, astronaut_png, tmp_path):
    source = tmp_path / 'in.avi'
    writer = cv2.VideoWriter(str(source), cv2.VideoWriter_fourcc(*'MJPG'), 10, (320, 240))
    for _ in range(2):
        writer.write(cv2.resize(cv2.imread(str(astronaut_png)), (320, 240)))
    writer.release()
    code, _, err = run('video', str(source), '--model', MODEL,
                       '--instances-dir', str(tmp_path / 'ids'))
    assert code == 2 and '--instances-dir needs a multi-person model' in err
    assert not (tmp_path / 'ids').exists()
    code, _, err = run('video', str(source), '--model', MODEL, '--mask-dir', str(tmp_path / 'm'))
    assert code == 0, err
    mask = cv2.imread(str(tmp_path / 'm' / '000002.png'), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (240, 320) and set(np.unique(mask)) <= {0, 1} and mask.any()
    code, _, err = run('video', str(source), '--model', MODEL,
                       '--mask-dir', str(source))  # a file, not a folder
    assert code == 2 and '--mask-dir' in err and 'not a folder' in err


def test_video_missing_file_and_camera_exit_2(run, tmp_path):
    code, _, err = run('video', str(tmp_path / 'none.mp4'), '--model', MODEL)
    assert code == 2 and 'none.mp4' in err
    code, _, err = run('video', '--camera', '97', '--model', MODEL)
    assert code == 2 and 'camera 97' in err


def test_console_script_runs(astronaut_png, tmp_path, model_cache_dir):
    script = Path(sys.executable).parent / 'selfie-seg'
    result = subprocess.run([str(script), 'image', str(astronaut_png), '--model', MODEL, '--out',
                             str(tmp_path), '--cache-dir', str(model_cache_dir)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / 'mask.png').is_file()


def test_image_pose_segmentation_writes_instances(run, pose_model_paths, street_photo_path,
                                                  tmp_path):
    code, out, err = run('image', str(street_photo_path), '--model', 'pose_segmentation',
                         '--out', str(tmp_path))
    assert code == 0, err
    mask = cv2.imread(str(tmp_path / 'mask.png'), cv2.IMREAD_UNCHANGED)
    instances = cv2.imread(str(tmp_path / 'instances.png'), cv2.IMREAD_UNCHANGED)
    assert instances.shape == mask.shape == (1080, 810) and instances.dtype == np.uint8
    ids = [int(i) for i in np.unique(instances) if i]
    assert ids == list(range(1, len(ids) + 1)) and len(ids) >= 3  # one id per person
    assert np.array_equal(instances > 0, mask == 1)  # the mask covers every person
    assert f'people: {len(ids)} ' in out and 'ms per person' in out
    assert 'wrote' in out and 'instances.png' in out


def test_image_single_model_writes_no_instances(run, astronaut_png, tmp_path):
    code, _, err = run('image', str(astronaut_png), '--model', MODEL, '--out', str(tmp_path))
    assert code == 0, err
    assert not (tmp_path / 'instances.png').exists()


@pytest.mark.parametrize('flag,message', [
    ('--max-people', '--max-people: must be in 1..32, got 0'),
    ('--detection-threshold', '--detection-threshold: must be in 0.1..1.0, got 0'),
])
def test_people_options_are_checked(astronaut_png, tmp_path, flag, message):
    result = subprocess.run(
        [sys.executable, '-m', 'selfie_seg_ros.cli', 'image', str(astronaut_png),
         flag, '0', '--out', str(tmp_path)],
        capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert message in result.stderr
