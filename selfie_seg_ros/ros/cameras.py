# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""``selfie_seg_cameras``: one selfie_seg node per camera, all in one process.

    selfie_seg_cameras --namespaces front rear --ros-args -r image:=camera/image \\
        --params-file selfie_seg.yaml

Each node is exactly the node ``selfie_seg_node`` runs, in its own namespace: camera ``front``
reads ``/front/image`` (relative remappings resolve per namespace) and publishes
``/front/selfie_seg/{mask,mask_color,overlay,blurred}``; each has its own parameters (a params
file's ``/front/selfie_seg:`` entry, or ``/**:`` for all) and its own lifecycle services. What the
process shares: one OpenVINO Core and one compiled model per model and device (pose_segmentation:
its detector and its landmark model; :class:`~selfie_seg_ros.engine.model_pool.ModelPool`; each
node has its own infer requests), the
Python runtime and libraries, and one executor thread. Every node keeps its own worker thread.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import cv2
import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

from selfie_seg_ros.engine.model_pool import ModelPool, one_thread_core
from selfie_seg_ros.ros import process
from selfie_seg_ros.ros.camera_list import parse_namespaces
from selfie_seg_ros.ros.node import SelfieSegNode, StartupError


def split_arguments(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """This program's own arguments and the ROS arguments (from ``--ros-args`` on)."""
    arguments = list(argv)
    if '--ros-args' in arguments:
        index = arguments.index('--ros-args')
        return arguments[:index], arguments[index:]
    return arguments, []


def build_nodes(namespaces: Sequence[str], pool: ModelPool) -> list[SelfieSegNode]:
    """One node per namespace, all sharing ``pool``."""
    return [SelfieSegNode(namespace=namespace, pool=pool) for namespace in namespaces]


def main(args: Sequence[str] | None = None) -> int:
    """Entry point of ``selfie_seg_cameras``; SIGINT or SIGTERM at any moment exits 0."""
    argv = list(sys.argv if args is None else args)
    own, _ = split_arguments(argv[1:])
    parser = argparse.ArgumentParser(
        prog='selfie_seg_cameras', description=__doc__.split('\n\n')[0])
    parser.add_argument('--namespaces', nargs='+', required=True, metavar='NAMESPACE',
                        help='one camera namespace per node (also comma- or ;-separated)')
    options = parser.parse_args(own)
    try:
        namespaces = parse_namespaces(options.namespaces)
    except ValueError as error:
        parser.error(str(error))
    cv2.setNumThreads(1)  # as selfie_seg_node: OpenCV's spinning workers cost more than they save
    nodes: list[SelfieSegNode] = []
    code = 0
    with process.StopSignal() as stop:
        try:
            process.init(argv)
            pool = ModelPool(one_thread_core())
            nodes = build_nodes(namespaces, pool)
            for node in nodes:
                if node.autostart:
                    try:
                        node.bring_up()
                    except StartupError as error:
                        raise StartupError(f'camera {node.get_namespace()}: {error}') from error
            executor = SingleThreadedExecutor()
            for node in nodes:
                executor.add_node(node)
            rclpy.logging.get_logger('selfie_seg_cameras').info(
                f'{len(nodes)} cameras in one process: {", ".join(namespaces)}; '
                f'{len(pool)} compiled model(s) shared')
            process.spin_until_stopped(executor, stop)
        except (process.StopRequested, KeyboardInterrupt, ExternalShutdownException):
            pass
        except StartupError as error:
            rclpy.logging.get_logger('selfie_seg_cameras').fatal(f'cannot start: {error}')
            code = 1
        finally:
            for node in nodes:
                node.shutdown()
                node.destroy_node()
            rclpy.try_shutdown()
    return code


if __name__ == '__main__':
    sys.exit(main())
