# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Package tests: colcon build and installed files; launch files, params YAML, rviz, DDS profile.

launch, launch_ros and rviz2 are not installed here, so the launch files are checked by reading
their syntax tree: the arguments they declare and the parameters and files they name.
"""

from __future__ import annotations

import ast
import filecmp
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import rclpy
import yaml
from rclpy.node import Node

from selfie_seg_ros.ros.camera import CameraNode
from selfie_seg_ros.ros.params import PARAMS, declare_all

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MAIN_LAUNCH = REPO / 'launch' / 'selfie_seg.launch.py'
MULTI_LAUNCH = REPO / 'launch' / 'multi_camera.launch.py'
PARAMS_YAML = REPO / 'config' / 'selfie_seg.yaml'
RVIZ_CONFIG = REPO / 'config' / 'selfie_seg.rviz'
DDS_PROFILE = REPO / 'config' / 'fastdds_shm.xml'
CONSOLE_SCRIPTS = ('selfie_seg_node', 'selfie_seg_camera', 'selfie-seg', 'selfie_seg_viewer',
                   'selfie_seg_cameras')
NODE_PARAMETERS = {spec.name for spec in PARAMS}
MAIN_LAUNCH_ARGUMENTS = {
    'image_topic', 'device', 'effect', 'model', 'autostart', 'params_file', 'namespace',
    'log_level',
    'use_camera', 'rviz', 'dds_profile', 'camera_source',
}
# The package's build inputs; everything else in the work tree (virtual environments, caches,
# tests) stays out of the build copy.
BUILD_DIRS = ('selfie_seg_ros', 'resource', 'launch', 'config', 'requirements')
DOMAIN_ID = 1 + os.getpid() % 200


# ---------------------------------------------------------------- reading the launch files

def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and getattr(node.func, 'id', getattr(node.func, 'attr', None)) == name]


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def _text(node: ast.expr | None) -> str:
    """Literal text of a constant or f-string (placeholders as {}); '' for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return ''.join(_text(part) if isinstance(part, ast.Constant) else '{}'
                       for part in node.values)
    return ''


def _declared_arguments(tree: ast.AST) -> dict[str, str]:
    """``DeclareLaunchArgument`` name -> description."""
    return {_text(call.args[0]): _text(_keyword(call, 'description'))
            for call in _calls(tree, 'DeclareLaunchArgument')}


def _launch_tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _node_actions(tree: ast.AST) -> list[ast.Call]:
    return _calls(tree, 'Node') + _calls(tree, 'LifecycleNode')


def _node_calls(tree: ast.AST, executable: str) -> list[ast.Call]:
    return [call for call in _node_actions(tree)
            if _text(_keyword(call, 'executable')) == executable]


def _parameter_keys(call: ast.Call) -> set[str]:
    parameters = _keyword(call, 'parameters')
    assert isinstance(parameters, ast.List)
    keys: set[str] = set()
    for item in parameters.elts:
        if isinstance(item, ast.Dict):
            keys.update(_text(key) for key in item.keys)
    return keys


def _joined_paths(tree: ast.AST) -> list[Path]:
    """Paths under the package share named by ``PathJoinSubstitution([share, 'dir', 'file'])``."""
    paths = []
    for call in _calls(tree, 'PathJoinSubstitution'):
        parts = call.args[0].elts if isinstance(call.args[0], ast.List) else []
        names = [_text(part) for part in parts[1:]]
        if names and all(names):
            paths.append(Path(*names))
    return paths


def _names_used(tree: ast.AST) -> set[str]:
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    names |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    names |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
              for alias in node.names}
    return names


def test_launch_file_declares_every_argument_with_a_description():
    declared = _declared_arguments(_launch_tree(MAIN_LAUNCH))
    assert set(declared) >= MAIN_LAUNCH_ARGUMENTS, MAIN_LAUNCH_ARGUMENTS - set(declared)
    for name, description in declared.items():
        assert len(description) > 15, f'{name} needs a description'


def test_launch_files_hide_nothing_from_show_args():
    for path in (MAIN_LAUNCH, MULTI_LAUNCH):
        tree = _launch_tree(path)
        assert 'OpaqueFunction' not in _names_used(tree), path
        assert 'PythonExpression' not in _names_used(tree), path
        assert not _calls(tree, 'eval') and not _calls(tree, 'exec'), path


def test_launch_file_passes_only_declared_parameters():
    from selfie_seg_ros.ros.launch_overrides import LAUNCH_PARAMETERS, NOT_GIVEN

    tree = _launch_tree(MAIN_LAUNCH)
    (segmentation,) = _node_calls(tree, 'selfie_seg_node')
    assert segmentation.func.id == 'LifecycleNode'
    assert _text(_keyword(segmentation, 'name')) == 'selfie_seg'
    assert set(LAUNCH_PARAMETERS) <= NODE_PARAMETERS
    # The params file first, then a file of only the launch arguments the user gave.
    parameters = _keyword(segmentation, 'parameters')
    first, given = parameters.elts
    assert first.func.id == 'LaunchConfiguration' and _text(first.args[0]) == 'params_file'
    assert given.func.id == 'GivenArgumentsFile'
    assert given.args[0].id == 'LAUNCH_PARAMETERS'
    # Each of those launch arguments defaults to "not given".
    defaults = {_text(call.args[0]): _keyword(call, 'default_value')
                for call in _calls(tree, 'DeclareLaunchArgument')}
    for name in LAUNCH_PARAMETERS:
        assert isinstance(defaults[name], ast.Name) and defaults[name].id == 'NOT_GIVEN', name
    assert NOT_GIVEN == ''
    remapped = {_text(rule.elts[0]) for rule in _keyword(segmentation, 'remappings').elts}
    assert remapped == {'image', 'image/compressed', 'camera_info'}

    (camera,) = _node_calls(tree, 'selfie_seg_camera')
    assert _parameter_keys(camera) <= _camera_parameters()
    assert _keyword(camera, 'condition') is not None
    (rviz,) = _node_calls(tree, 'rviz2')
    assert _keyword(rviz, 'condition') is not None


def test_launch_files_name_installed_files_and_console_scripts():
    setup_text = (REPO / 'setup.py').read_text()
    scripts = set(re.findall(r"'([\w-]+) = selfie_seg_ros\.", setup_text))
    assert set(CONSOLE_SCRIPTS) <= scripts
    for path in (MAIN_LAUNCH, MULTI_LAUNCH):
        tree = _launch_tree(path)
        for joined in _joined_paths(tree):
            assert (REPO / joined).is_file(), f'{path.name} names {joined}, missing'
        for call in _node_actions(tree):
            package = _text(_keyword(call, 'package'))
            if package in ('selfie_seg_ros', ''):
                assert _text(_keyword(call, 'executable')) in scripts
    assert Path('config', 'selfie_seg.yaml') in _joined_paths(_launch_tree(MAIN_LAUNCH))
    assert Path('launch', 'selfie_seg.launch.py') in _joined_paths(_launch_tree(MULTI_LAUNCH))


def test_multi_camera_launch_includes_the_main_launch_per_namespace():
    tree = _launch_tree(MULTI_LAUNCH)
    assert _calls(tree, 'ForEach') and _calls(tree, 'IncludeLaunchDescription')
    declared = _declared_arguments(tree)
    assert 'cameras' in declared and all(len(text) > 15 for text in declared.values())
    main_arguments = _declared_arguments(_launch_tree(MAIN_LAUNCH))
    for call in _calls(tree, 'IncludeLaunchDescription'):
        assert _keyword(call, 'launch_arguments') is not None
    # Every per-camera key the include passes is an argument of the main launch file.
    passed = {_text(key) for node in ast.walk(tree) if isinstance(node, ast.Dict)
              for key in node.keys}
    passed |= {_text(node.slice) for node in ast.walk(tree) if isinstance(node, ast.Subscript)
               and isinstance(node.slice, ast.Constant)}
    assert passed - {''} <= set(main_arguments)


# ---------------------------------------------------------------- config files

def _camera_parameters() -> set[str]:
    context = rclpy.Context()
    rclpy.init(args=['--ros-args', '-p', 'width:=32', '-p', 'height:=32'], context=context,
               domain_id=DOMAIN_ID)
    try:
        node = CameraNode(context=context)
        try:
            names = node.list_parameters([], 0).names
            return {name for name in names if not name.startswith('qos_overrides')}
        finally:
            node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)


def test_params_yaml_sets_every_writable_parameter_with_its_default():
    data = yaml.safe_load(PARAMS_YAML.read_text())
    assert list(data) == ['/**']
    values = data['/**']['ros__parameters']
    assert set(values) <= NODE_PARAMETERS
    # labels comes from the model; an empty YAML list ([]) has no type, so foreground_classes
    # is documented as a comment instead.
    assert set(values) == NODE_PARAMETERS - {'labels', 'foreground_classes', 'model_labels'}
    assert '# foreground_classes:' in PARAMS_YAML.read_text()
    assert '# model_labels:' in PARAMS_YAML.read_text()
    for spec in PARAMS:
        if spec.name in values:
            expected = list(spec.default) if isinstance(spec.default, tuple) else spec.default
            assert values[spec.name] == expected, spec.name
            assert type(values[spec.name]) is type(expected), spec.name


def test_params_yaml_reaches_a_namespaced_node_through_rcl():
    context = rclpy.Context()
    args = ['--ros-args', '--params-file', str(PARAMS_YAML), '-p', 'effect:=replace']
    rclpy.init(args=args, context=context, domain_id=DOMAIN_ID)
    try:
        node = Node('selfie_seg', namespace='/cam7', context=context)
        try:
            declare_all(node)
            assert node.get_parameter('effect').value == 'replace'  # the command line wins
            assert list(node.get_parameter('background_color').value) == [0, 177, 64]
            assert node.get_parameter('blur_strength').value == 55
            assert node.get_parameter('max_latency_ms').value == 100.0
            assert list(node.get_parameter('foreground_classes').value) == []
        finally:
            node.destroy_node()
        # Other nodes given the same file ignore what they do not declare.
        camera = CameraNode(context=context)
        try:
            assert camera.get_parameter('source').value == 'astronaut'
            assert not camera.has_parameter('effect')
        finally:
            camera.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)


def test_rviz_config_shows_the_three_outputs_with_the_node_qos():
    data = yaml.safe_load(RVIZ_CONFIG.read_text())
    displays = data['Visualization Manager']['Displays']
    images = [d for d in displays if d['Class'] == 'rviz_default_plugins/Image']
    topics = {d['Topic']['Value'] for d in images}
    assert topics == {'/selfie_seg/mask_color', '/selfie_seg/overlay', '/selfie_seg/blurred'}
    for display in images:
        assert display['Enabled'] is True and display['Normalize Range'] is True
        qos = display['Topic']
        assert qos['Reliability Policy'] == 'Reliable'
        assert qos['Durability Policy'] == 'Volatile'
        assert qos['History Policy'] == 'Keep Last'
        assert qos['Depth'] == 5
    assert all(panel['Class'].startswith('rviz_common/') for panel in data['Panels'])


def test_fastdds_profile_is_a_default_shm_plus_udp_participant():
    ns = '{http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles}'
    root = ET.parse(DDS_PROFILE).getroot()
    assert root.tag == f'{ns}profiles'
    descriptors = {d.findtext(f'{ns}transport_id'): d
                   for d in root.iter(f'{ns}transport_descriptor')}
    kinds = {d.findtext(f'{ns}type'): d for d in descriptors.values()}
    assert set(kinds) == {'SHM', 'UDPv4'}
    assert kinds['SHM'].findtext(f'{ns}segment_size') == '67108864'
    (participant,) = root.iter(f'{ns}participant')
    assert participant.get('is_default_profile') == 'true'
    rtps = participant.find(f'{ns}rtps')
    used = [t.text for t in rtps.find(f'{ns}userTransports')]
    assert sorted(used) == sorted(descriptors)
    assert rtps.findtext(f'{ns}useBuiltinTransports') == 'false'


# ---------------------------------------------------------------- colcon build

@pytest.fixture(scope='module')
def colcon_install(tmp_path_factory) -> Path:
    """Build a copy of the package with the environment's colcon; return the install prefix."""
    colcon = BIN / 'colcon'
    if not colcon.exists():
        pytest.skip(f'colcon is not installed in {BIN}')
    workspace = tmp_path_factory.mktemp('colcon_ws')
    source = workspace / 'src' / 'selfie_seg_ros'
    source.mkdir(parents=True)
    for item in REPO.iterdir():
        if item.is_file() and not item.name.startswith('.'):
            shutil.copy2(item, source / item.name)
    for name in BUILD_DIRS:
        shutil.copytree(REPO / name, source / name,
                        ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    env = dict(os.environ, PATH=f'{BIN}{os.pathsep}{os.environ.get("PATH", "")}',
               COLCON_HOME=str(workspace / '.colcon'), PYTHONDONTWRITEBYTECODE='1')
    result = subprocess.run(
        [str(colcon), '--log-base', 'log', 'build', '--base-paths', 'src',
         '--build-base', 'build', '--install-base', 'install'],
        cwd=workspace, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return workspace / 'install' / 'selfie_seg_ros'


@pytest.mark.package
def test_colcon_installs_launch_config_and_package_files(colcon_install):
    share = colcon_install / 'share' / 'selfie_seg_ros'
    installed = {
        share / 'package.xml': REPO / 'package.xml',
        share / 'launch' / 'selfie_seg.launch.py': MAIN_LAUNCH,
        share / 'launch' / 'multi_camera.launch.py': MULTI_LAUNCH,
        share / 'config' / 'selfie_seg.yaml': PARAMS_YAML,
        share / 'config' / 'selfie_seg.rviz': RVIZ_CONFIG,
        share / 'config' / 'fastdds_shm.xml': DDS_PROFILE,
    }
    for target, source in installed.items():
        assert target.is_file(), target
        assert filecmp.cmp(target, source, shallow=False), target
    marker = colcon_install / 'share' / 'ament_index' / 'resource_index' / 'packages'
    assert (marker / 'selfie_seg_ros').is_file()


@pytest.mark.package
def test_colcon_installs_console_scripts_and_the_python_package(colcon_install):
    for script in CONSOLE_SCRIPTS:
        path = colcon_install / 'lib' / 'selfie_seg_ros' / script
        assert path.is_file() and os.access(path, os.X_OK), path
    (site,) = (colcon_install / 'lib').glob('python3*/site-packages')
    env = dict(os.environ, PYTHONPATH=str(site))
    probe = ('import selfie_seg_ros.ros.camera, selfie_seg_ros.ros.viewer; '
             'print(selfie_seg_ros.ros.camera.__file__)')
    # Not from the repository root: there the source tree would shadow the installed copy.
    result = subprocess.run([sys.executable, '-c', probe], env=env, cwd=colcon_install,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(site)
    viewer = subprocess.run(
        [str(colcon_install / 'lib' / 'selfie_seg_ros' / 'selfie_seg_viewer'), '--help'],
        env=env, cwd=colcon_install, capture_output=True, text=True, timeout=60)
    assert viewer.returncode == 0, viewer.stderr
    assert '--min-frames' in viewer.stdout
