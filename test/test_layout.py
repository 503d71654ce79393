# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""The layers hold: imports point one way (ros -> engine, cli -> engine), the engine has no ROS."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / 'selfie_seg_ros'
ROS_MODULES = ('rclpy', 'sensor_msgs', 'std_msgs', 'rcl_interfaces', 'diagnostic_msgs',
               'lifecycle_msgs', 'builtin_interfaces', 'cv_bridge', 'rosbags')


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports inside functions included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f'{node.module}.{alias.name}' for alias in node.names)
    return names


def _files(subpackage: str) -> list[Path]:
    files = sorted((PACKAGE / subpackage).rglob('*.py'))
    assert files, f'no modules under {subpackage}/'
    return files


@pytest.mark.parametrize('path', _files('engine'), ids=lambda p: p.name)
def test_engine_imports_no_ros_and_no_upper_layer(path: Path) -> None:
    imported = _imported_modules(path)
    ros = sorted(m for m in imported if m.split('.')[0] in ROS_MODULES)
    upward = sorted(m for m in imported
                    if m.startswith(('selfie_seg_ros.ros', 'selfie_seg_ros.cli')))
    assert not ros, f'{path.name} imports ROS: {ros}'
    assert not upward, f'{path.name} imports an upper layer: {upward}'


@pytest.mark.parametrize('path', _files('cli'), ids=lambda p: p.name)
def test_cli_imports_no_ros_glue(path: Path) -> None:
    upward = sorted(m for m in _imported_modules(path) if m.startswith('selfie_seg_ros.ros'))
    assert not upward, f'{path.name} imports the ROS glue: {upward}'


def test_whole_engine_and_cli_import_without_rclpy() -> None:
    """Importing every engine module and the CLI loads no ROS module (at runtime)."""
    modules = ['.'.join(p.relative_to(PACKAGE.parent).with_suffix('').parts)
               for p in _files('engine') if p.stem != '__init__']
    code = (
        f'import sys, importlib\n'
        f'for name in {modules + ["selfie_seg_ros.cli"]!r}:\n'
        f'    importlib.import_module(name)\n'
        f'print(sorted({{m.split(".")[0] for m in sys.modules}} & {set(ROS_MODULES)!r}))\n'
    )
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == '[]'


def test_public_api_and_console_scripts_resolve() -> None:
    import selfie_seg_ros
    from selfie_seg_ros.engine.segmenter import Segmenter

    assert selfie_seg_ros.Segmenter is Segmenter
    setup_py = (PACKAGE.parent / 'setup.py').read_text()
    entry = 'selfie_seg_ros.ros.entry_points'
    for target in ('selfie_seg_ros.cli:main', f'{entry}:node', f'{entry}:camera',
                   f'{entry}:viewer'):
        module, function = target.split(':')
        assert target in setup_py
        assert callable(getattr(__import__(module, fromlist=[function]), function))
