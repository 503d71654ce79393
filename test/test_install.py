# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Package test: the wheel that ``pip install .`` builds carries the engine, the CLI and their
dependencies, and keeps ROS out of them.

The wheel is installed into a fresh virtual environment. No registry is reached: its declared
dependencies, and theirs, are taken from this environment's installed distributions (linked in one
by one), so the check fails when a dependency the engine imports is not declared.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]


def _requirements(name: str) -> list[str]:
    lines = (REPO / 'requirements' / f'{name}.txt').read_text().splitlines()
    return [line.split('#', 1)[0].strip() for line in lines if line.split('#', 1)[0].strip()]


def _closure(requirements: list[str]) -> set[str]:
    """Names of the installed distributions that ``requirements`` need, transitively."""
    seen: set[str] = set()
    todo = [Requirement(text) for text in requirements]
    while todo:
        requirement = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({'extra': ''}):
            continue
        name = metadata.distribution(requirement.name).metadata['Name']
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        todo += [Requirement(text) for text in metadata.requires(name) or []]
    return seen


def _link_distributions(names: set[str], target: Path) -> None:
    """Symlink every top-level file and folder of the named distributions into ``target``."""
    target.mkdir()
    for name in names:
        distribution = metadata.distribution(name)
        for file in distribution.files or []:
            top = file.parts[0]
            source = Path(distribution.locate_file(top))
            if top.startswith('..') or not source.exists() or (target / top).exists():
                continue
            (target / top).symlink_to(source)


@pytest.fixture(scope='module')
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('wheel')
    result = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '--no-index',
         '--quiet', '--wheel-dir', str(out), str(REPO)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    (path,) = out.glob('selfie_seg_ros-*.whl')
    return path


@pytest.mark.package
def test_wheel_declares_the_engine_requirements_and_ros_only_as_an_extra(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (meta,) = [n for n in names if n.endswith('.dist-info/METADATA')]
        message = Parser().parsestr(archive.read(meta).decode())
    requires = message.get_all('Requires-Dist')
    plain = [r for r in requires if ';' not in r]
    assert [str(Requirement(r)) for r in plain] == _requirements('engine')
    ros = {Requirement(r).name for r in requires if 'extra == "ros-pypi"' in r}
    assert ros == {Requirement(r).name for r in _requirements('ros-pypi')}
    assert not any(Requirement(r).name.startswith('ros-') for r in plain)
    for path in ('selfie_seg_ros/engine/segmenter.py', 'selfie_seg_ros/cli/app.py',
                 'selfie_seg_ros/ros/node.py'):
        assert path in names
    assert any(n.endswith('data/share/selfie_seg_ros/package.xml') for n in names)
    assert any(n.endswith('data/share/selfie_seg_ros/launch/selfie_seg.launch.py') for n in names)


@pytest.mark.package
def test_wheel_in_a_fresh_venv_runs_the_cli_with_only_its_declared_dependencies(wheel, tmp_path):
    venv = tmp_path / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(venv)], check=True,
                   timeout=120)
    python = venv / 'bin' / 'python'
    result = subprocess.run(
        [sys.executable, '-m', 'pip', '--python', str(python), 'install', '--no-deps',
         '--no-index', '--quiet', str(wheel)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    # The declared dependencies, from this environment, one distribution at a time.
    deps = tmp_path / 'deps'
    _link_distributions(_closure(_requirements('engine')), deps)
    (site,) = (venv / 'lib').glob('python3*/site-packages')
    (site / 'declared_dependencies.pth').write_text(f'{deps}\n')
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(('PYTHON', 'ROS_', 'AMENT_', 'COLCON_'))}
    env['SELFIE_SEG_CACHE'] = str(tmp_path / 'cache')

    probe = ('import selfie_seg_ros, selfie_seg_ros.engine.segmenter, selfie_seg_ros.cli; '
             'print(selfie_seg_ros.__file__)\n'
             'try:\n    import rclpy\nexcept ImportError:\n    print("no rclpy")')
    result = subprocess.run([str(python), '-c', probe], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(str(site)), lines  # the wheel's copy, not the work tree
    assert lines[1] == 'no rclpy'

    cli = venv / 'bin' / 'selfie-seg'
    result = subprocess.run([str(cli), '--help'], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert 'usage: selfie-seg' in result.stdout
    result = subprocess.run([str(cli), 'models'], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert 'selfie_segmentation' in result.stdout
    result = subprocess.run(
        [sys.executable, '-m', 'pip', '--python', str(python), 'check'], env=env,
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
