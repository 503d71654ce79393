# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Launch one selfie_seg node per camera, each in its own namespace (ROS 2 Kilted or newer).

    ros2 launch selfie_seg_ros multi_camera.launch.py \\
        cameras:='{namespace: front};{namespace: rear, camera_source: /videos/rear.mp4}'

Each camera entry includes selfie_seg.launch.py with ``namespace`` set, so camera ``front`` reads
/front/camera/image and publishes /front/selfie_seg/{mask,overlay,blurred}. Every other argument
of selfie_seg.launch.py (device, effect, model, params_file, use_camera, ...) passes through to
all cameras. Needs the ForEach action of launch (Kilted+); on older distributions include
selfie_seg.launch.py once per camera with namespace:=<name>.

With ``one_process:=true`` all cameras run in one ``selfie_seg_cameras`` process instead: one
node per namespace with the same topics, parameters and services as separate nodes, and one
compiled model shared, so far less memory per camera. That process reads params_file (entries
``/<namespace>/selfie_seg:`` for one camera, ``/**:`` for all) and remaps ``image`` to
``camera/image`` in each namespace; start the cameras themselves separately. The camera list is
read by selfie_seg_ros.ros.camera_list, so this mode also works without ForEach (Humble, Jazzy).
"""

from collections.abc import Sequence

from launch import LaunchContext, LaunchDescription
from launch.actions import DeclareLaunchArgument, ForEach, GroupAction, IncludeLaunchDescription
from launch.conditions import IfCondition, UnlessCondition
from launch.launch_description_entity import LaunchDescriptionEntity
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitution import Substitution
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from selfie_seg_ros.ros.camera_list import parse_cameras

PACKAGE = 'selfie_seg_ros'


def camera_entities(namespace: str, camera_source: str = '') -> list[LaunchDescriptionEntity]:
    """Entities for one entry of ``cameras``: selfie_seg.launch.py in ``namespace``.

    ForEach calls this with the keys of the entry's YAML mapping; an unknown key fails the launch.
    """
    arguments = {'namespace': str(namespace).strip('/')}
    if camera_source:
        arguments['camera_source'] = str(camera_source)
    single = PathJoinSubstitution([FindPackageShare(PACKAGE), 'launch', 'selfie_seg.launch.py'])
    # Scoped, so one camera's namespace and source do not leak into the next one.
    return [GroupAction(
        [IncludeLaunchDescription(PythonLaunchDescriptionSource(single),
                                  launch_arguments=arguments.items())],
        scoped=True, forwarding=True,
    )]


class CameraNamespaces(Substitution):
    """The namespaces of a ``cameras`` list, comma-separated (for selfie_seg_cameras)."""

    def __init__(self, cameras: Sequence[Substitution]) -> None:
        super().__init__()
        self._cameras = cameras

    def describe(self) -> str:
        return 'namespaces of the cameras argument'

    def perform(self, context: LaunchContext) -> str:
        text = ''.join(part.perform(context) for part in self._cameras)
        return ','.join(camera.namespace for camera in parse_cameras(text))


def generate_launch_description() -> LaunchDescription:
    """Declare ``cameras`` and start selfie_seg.launch.py once per entry."""
    return LaunchDescription([
        DeclareLaunchArgument(
            'cameras', default_value='{namespace: camera1};{namespace: camera2}',
            description="Cameras as ';'-separated YAML mappings with 'namespace' and, for the "
                        "demo camera (use_camera:=true), an optional 'camera_source'."),
        DeclareLaunchArgument(
            'use_camera', default_value='false',
            description='Start a demo selfie_seg_camera in every namespace (true/false).'),
        DeclareLaunchArgument(
            'one_process', default_value='false',
            description='true: every camera in one selfie_seg_cameras process sharing one '
                        'compiled model (less memory; cameras not started); false: one '
                        'selfie_seg.launch.py per camera.'),
        DeclareLaunchArgument(
            'params_file',
            default_value=PathJoinSubstitution([FindPackageShare(PACKAGE), 'config',
                                                'selfie_seg.yaml']),
            description='YAML parameters of every node: /<namespace>/selfie_seg for one '
                        'camera, /** for all.'),
        GroupAction([ForEach(LaunchConfiguration('cameras'), function=camera_entities)],
                    condition=UnlessCondition(LaunchConfiguration('one_process'))),
        Node(
            package=PACKAGE,
            executable='selfie_seg_cameras',
            output='screen',
            parameters=[LaunchConfiguration('params_file')],
            remappings=[
                ('image', 'camera/image'),
                ('image/compressed', 'camera/image/compressed'),
                ('camera_info', 'camera/camera_info'),
            ],
            arguments=['--namespaces', CameraNamespaces([LaunchConfiguration('cameras')])],
            condition=IfCondition(LaunchConfiguration('one_process')),
        ),
    ])
