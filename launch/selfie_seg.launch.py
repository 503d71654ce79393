# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Launch the selfie_seg node; optionally the demo camera and rviz2.

    ros2 launch selfie_seg_ros selfie_seg.launch.py use_camera:=true
    ros2 launch selfie_seg_ros selfie_seg.launch.py image_topic:=/my_camera/image_raw device:=GPU
    ros2 launch selfie_seg_ros selfie_seg.launch.py params_file:=my.yaml autostart:=false
    ros2 launch selfie_seg_ros selfie_seg.launch.py --show-args

The node is a managed (lifecycle) node. With autostart true (the node's default) it configures and
activates itself; autostart:=false leaves it unconfigured for a lifecycle manager (e.g.
nav2_lifecycle_manager) to drive through /<namespace>/selfie_seg/change_state.

device, effect, model and autostart override the params file only when given on the command line:
their default '' leaves the params file's value (or the node's default) in force.

Outputs: <namespace>/selfie_seg/mask (mono8 class ids), .../mask_color, .../overlay and
.../blurred (bgr8),
.../camera_info, each with the input image's header.
"""

from collections.abc import Sequence

from launch import LaunchContext, LaunchDescription
from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
from launch.conditions import IfCondition, LaunchConfigurationNotEquals
from launch.substitution import Substitution
from launch.substitutions import (
    EnvironmentVariable,
    LaunchConfiguration,
    PathJoinSubstitution,
)
from launch_ros.actions import LifecycleNode, Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from selfie_seg_ros.ros.launch_overrides import LAUNCH_PARAMETERS, NOT_GIVEN, write_overrides_file

PACKAGE = 'selfie_seg_ros'
FASTDDS_PROFILE_VARIABLE = 'FASTDDS_DEFAULT_PROFILES_FILE'


class GivenArgumentsFile(Substitution):
    """Path of a params file holding only the launch arguments the user gave (not '')."""

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__()
        self._names = tuple(names)

    def describe(self) -> str:
        return f'params file of the given launch arguments among {", ".join(self._names)}'

    def perform(self, context: LaunchContext) -> str:
        return write_overrides_file(
            {name: LaunchConfiguration(name).perform(context) for name in self._names})


def generate_launch_description() -> LaunchDescription:
    """Declare the arguments, set the Fast DDS profile, start the node (and camera, rviz2)."""
    share = FindPackageShare(PACKAGE)
    image_topic = LaunchConfiguration('image_topic')
    camera_info_topic = LaunchConfiguration('camera_info_topic')
    namespace = LaunchConfiguration('namespace')
    dds_profile = LaunchConfiguration('dds_profile')

    arguments = [
        DeclareLaunchArgument(
            'image_topic', default_value='camera/image',
            description='Input sensor_msgs/Image topic; relative names resolve in the namespace '
                        '(with compressed_input: its /compressed topic). The demo camera '
                        'publishes here when use_camera is true.'),
        DeclareLaunchArgument(
            'camera_info_topic', default_value='camera/camera_info',
            description='Input sensor_msgs/CameraInfo topic, republished with the outputs; '
                        'relative names resolve in the namespace.'),
        DeclareLaunchArgument(
            'device', default_value=NOT_GIVEN,
            description='OpenVINO device: CPU, GPU, GPU.<n>, NPU, AUTO, AUTO:GPU,CPU, ... '
                        "Overrides params_file when given; '' keeps its value."),
        DeclareLaunchArgument(
            'effect', default_value=NOT_GIVEN,
            description='Effect of the output image: blur, replace or none (background), '
                        'blur_people or pixelate_people (anonymising). '
                        "Overrides params_file when given; '' keeps its value."),
        DeclareLaunchArgument(
            'model', default_value=NOT_GIVEN,
            description='Model: a catalogue id (selfie-seg models lists them) or a path to a '
                        ".tflite, .xml or .onnx file. Overrides params_file when given; '' keeps "
                        'its value.'),
        DeclareLaunchArgument(
            'autostart', default_value=NOT_GIVEN,
            description='true: the node configures and activates itself; false: it waits, '
                        'unconfigured, for a lifecycle manager (~/change_state). Overrides '
                        "params_file when given; '' keeps its value."),
        DeclareLaunchArgument(
            'params_file',
            default_value=PathJoinSubstitution([share, 'config', 'selfie_seg.yaml']),
            description='YAML parameters of the node; device, effect, model and autostart '
                        'override it only when given as launch arguments.'),
        DeclareLaunchArgument(
            'namespace', default_value='',
            description='Namespace of the node (and of the demo camera), e.g. one per camera.'),
        DeclareLaunchArgument(
            'log_level', default_value='info',
            description='Log level of the node and the camera: debug, info, warn, error, fatal.'),
        DeclareLaunchArgument(
            'use_camera', default_value='false',
            description='Also start selfie_seg_camera, publishing on image_topic and '
                        'camera_info_topic (true/false).'),
        DeclareLaunchArgument(
            'camera_source', default_value='astronaut',
            description="Source of the demo camera: a webcam index ('0'), a video or image "
                        "file, or 'astronaut' (a photo from scikit-image)."),
        DeclareLaunchArgument(
            'rviz', default_value='false',
            description='Also start rviz2 with config/selfie_seg.rviz (expects no namespace) '
                        '(true/false).'),
        DeclareLaunchArgument(
            'dds_profile',
            default_value=PathJoinSubstitution([share, 'config', 'fastdds_shm.xml']),
            description=f'Fast DDS XML profile (shared memory for large images), set as '
                        f'{FASTDDS_PROFILE_VARIABLE} unless that is already set; empty leaves '
                        'the environment alone.'),
    ]

    # An already exported profile wins: the value falls back to dds_profile only when unset.
    dds_environment = SetEnvironmentVariable(
        FASTDDS_PROFILE_VARIABLE,
        EnvironmentVariable(FASTDDS_PROFILE_VARIABLE, default_value=dds_profile),
        # LaunchConfigurationNotEquals works on Humble too (later distros also offer
        # NotEqualsSubstitution).
        condition=LaunchConfigurationNotEquals('dds_profile', ''),
    )

    # A managed node: launch event handlers and lifecycle managers can drive its transitions.
    segmentation = LifecycleNode(
        package=PACKAGE,
        executable='selfie_seg_node',
        name='selfie_seg',
        namespace=namespace,
        output='screen',
        # The user's params file, then only the launch arguments the user gave: a launch
        # argument left at '' never hides the params file's value.
        parameters=[
            LaunchConfiguration('params_file'),
            GivenArgumentsFile(LAUNCH_PARAMETERS),
        ],
        remappings=[
            ('image', image_topic),
            ('image/compressed', [image_topic, '/compressed']),
            ('camera_info', camera_info_topic),
        ],
        arguments=['--ros-args', '--log-level', LaunchConfiguration('log_level')],
    )

    camera = Node(
        package=PACKAGE,
        executable='selfie_seg_camera',
        name='selfie_seg_camera',
        namespace=namespace,
        output='screen',
        parameters=[{
            'source': ParameterValue(LaunchConfiguration('camera_source'), value_type=str),
        }],
        remappings=[
            ('image', image_topic),
            ('camera_info', camera_info_topic),
        ],
        arguments=['--ros-args', '--log-level', LaunchConfiguration('log_level')],
        condition=IfCondition(LaunchConfiguration('use_camera')),
    )

    rviz = Node(
        package='rviz2',
        executable='rviz2',
        name='rviz2',
        output='screen',
        arguments=['-d', PathJoinSubstitution([share, 'config', 'selfie_seg.rviz'])],
        condition=IfCondition(LaunchConfiguration('rviz')),
    )

    return LaunchDescription([*arguments, dds_environment, segmentation, camera, rviz])
