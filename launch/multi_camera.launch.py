# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Launch one selfie_seg node per camera, each in its own namespace (ROS 2 Kilted or newer).

    ros2 launch selfie_seg_ros multi_camera.launch.py \\
        cameras:='{namespace: front};{namespace: rear, camera_source: /videos/rear.mp4}'

Each camera entry includes selfie_seg.launch.py with ``namespace`` set, so camera ``front`` reads
/front/camera/image and publishes /front/selfie_seg/{mask,overlay,blurred}. Every other argument
of selfie_seg.launch.py (device, effect, model, params_file, use_camera, ...) passes through to
all cameras. Needs the ForEach action of launch (Kilted+); on older distributions include
selfie_seg.launch.py once per camera with namespace:=<name>.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ForEach, GroupAction, IncludeLaunchDescription
from launch.launch_description_entity import LaunchDescriptionEntity
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare

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
        ForEach(LaunchConfiguration('cameras'), function=camera_entities),
    ])
