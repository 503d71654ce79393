from glob import glob

from setuptools import find_packages, setup

package_name = 'selfie_seg_ros'

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
    install_requires=['setuptools'],
    extras_require={
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
            'selfie_seg_camera = selfie_seg_ros.ros.entry_points:camera',
            'selfie_seg_viewer = selfie_seg_ros.ros.entry_points:viewer',
        ],
    },
)
