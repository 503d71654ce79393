# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Camera lists of the multi-camera launch file and of ``selfie_seg_cameras``.

Pure Python (no rclpy, no launch import), so the launch file can use it and tests cover it
without the launch packages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

_TOKEN = r'[A-Za-z_][A-Za-z0-9_]*'
_NAMESPACE = re.compile(rf'/?{_TOKEN}(/{_TOKEN})*/?')
_SEPARATORS = re.compile(r'[\s,;]+')
CAMERA_KEYS = ('namespace', 'camera_source')
"""Keys of one entry of the launch argument ``cameras``."""


class Camera(NamedTuple):
    """One entry of ``cameras``: its namespace (absolute) and the demo camera's source."""

    namespace: str
    camera_source: str = ''


def parse_namespaces(values: Sequence[str]) -> list[str]:
    """Camera namespaces as absolute names (``front`` -> ``/front``).

    Each value may hold several names separated by spaces, commas or semicolons (a launch
    argument is one string).

    Raises:
        ValueError: no name, a name that is not a valid ROS namespace, or a name given twice.
    """
    names = [name for value in values for name in _SEPARATORS.split(value) if name]
    if not names:
        raise ValueError('give at least one camera namespace, e.g. --namespaces front rear')
    result: list[str] = []
    for name in names:
        if not _NAMESPACE.fullmatch(name):
            raise ValueError(
                f'{name!r} is not a ROS namespace: use letters, digits and underscores, '
                "'/' between parts, no part starting with a digit")
        absolute = '/' + name.strip('/')
        if absolute in result:
            raise ValueError(f'camera namespace {absolute} is given twice')
        result.append(absolute)
    return result


def parse_cameras(text: str) -> list[Camera]:
    """The launch argument ``cameras``: ';'-separated YAML mappings such as
    ``{namespace: front};{namespace: rear, camera_source: /videos/rear.mp4}``.

    Raises:
        ValueError: an entry that is not a mapping with a valid ``namespace``, an unknown key,
            or a namespace given twice.
    """
    import yaml  # only the launch file needs it, and launch itself depends on PyYAML

    cameras: list[Camera] = []
    for part in (piece.strip() for piece in text.split(';')):
        if not part:
            continue
        try:
            entry = yaml.safe_load(part)
        except yaml.YAMLError as error:
            raise ValueError(f'camera entry {part!r} is not YAML: {error}') from error
        if not isinstance(entry, dict) or 'namespace' not in entry:
            raise ValueError(f"camera entry {part!r} must be a mapping with a 'namespace'")
        unknown = sorted(set(map(str, entry)) - set(CAMERA_KEYS))
        if unknown:
            raise ValueError(f'camera entry {part!r}: unknown key(s) {", ".join(unknown)}; '
                             f'known: {", ".join(CAMERA_KEYS)}')
        namespace = parse_namespaces([str(entry['namespace'])])
        if len(namespace) != 1:
            raise ValueError(f'camera entry {part!r} must name exactly one namespace')
        source = entry.get('camera_source')
        cameras.append(Camera(namespace[0], '' if source is None else str(source)))
    parse_namespaces([camera.namespace for camera in cameras])  # none twice, at least one
    return cameras
