# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""OpenVINO device strings checked against the devices present (pure: no OpenVINO import)."""

from __future__ import annotations

import re
from collections.abc import Sequence

DEVICE_FORMS = (
    'CPU, GPU, GPU.<n>, NPU, AUTO, AUTO:<dev>,<dev>, HETERO:<dev>,<dev>, MULTI:<dev>,<dev>, '
    'BATCH:<dev>(<batch size>)'
)
_PHYSICAL_DEVICE = re.compile(r'[A-Z][A-Z0-9_]*(?:\.\d+)*')
_BATCH_DEVICE = re.compile(r'([A-Z][A-Z0-9_]*(?:\.\d+)*)(?:\(([1-9]\d*)\))?')
_VIRTUAL_DEVICES = ('AUTO', 'HETERO', 'MULTI', 'BATCH')
_INDEXED_ALIASES = ('GPU',)
"""Devices OpenVINO lists without an index when there is one, and still accepts as '<dev>.0'."""


def device_names(device: str) -> tuple[list[str], list[str]]:
    """Physical devices that ``device`` names: (needed, excluded by AUTO's ``-DEV``).

    Raises:
        ValueError: ``device`` is not a valid OpenVINO device string.
    """
    head, colon, rest = device.partition(':')
    if head in _VIRTUAL_DEVICES:
        if not colon:
            if head == 'AUTO':
                return [], []
            raise ValueError(f'device {device!r}: {head} needs devices, e.g. {head}:GPU,CPU')
        if head == 'BATCH':
            match = _BATCH_DEVICE.fullmatch(rest.strip())
            if match is None or match.group(1) in _VIRTUAL_DEVICES:
                raise ValueError(f'device {device!r}: BATCH takes one device, e.g. BATCH:GPU(4)')
            return [match.group(1)], []
        names: list[str] = []
        excluded: list[str] = []
        for item in (part.strip() for part in rest.split(',')):
            exclude = head == 'AUTO' and item.startswith('-')
            name = item[1:] if exclude else item
            if not _PHYSICAL_DEVICE.fullmatch(name) or name in _VIRTUAL_DEVICES:
                raise ValueError(f'device {device!r}: {item!r} is not a device name')
            (excluded if exclude else names).append(name)
        return names, excluded
    if colon or not _PHYSICAL_DEVICE.fullmatch(device):
        hint = ''
        if device != device.upper():
            try:
                device_names(device.upper())
                hint = f' (device names are upper case: {device.upper()!r})'
            except ValueError:
                pass
        raise ValueError(f'invalid device {device!r}{hint}; expected {DEVICE_FORMS}')
    return [device], []


def _device_present(name: str, available: Sequence[str]) -> bool:
    if name in available:
        return True
    base, dot, index = name.partition('.')
    if not dot:  # 'GPU' is any GPU: 'GPU.0', 'GPU.1', ...
        return any(item.partition('.')[0] == base for item in available)
    # With a single GPU OpenVINO lists 'GPU' and also accepts 'GPU.0'; devices that have no
    # numbered instances (CPU) take no index at all.
    return base in _INDEXED_ALIASES and index == '0' and base in available


def valid_device(device: str, available: Sequence[str]) -> str | None:
    """Check an OpenVINO device string against the devices present.

    Args:
        device: e.g. ``'CPU'``, ``'GPU.1'``, ``'AUTO'``, ``'AUTO:GPU,CPU'``, ``'HETERO:GPU,CPU'``,
            ``'MULTI:GPU,CPU'``, ``'BATCH:GPU(4)'``.
        available: Devices present, as ``openvino.Core().available_devices`` lists them.

    Returns:
        None if every physical device it names is available (``AUTO`` alone: if any is), else
        the reason, listing the available devices.
    """
    if not isinstance(device, str):
        return f'device must be a string, got {device!r}'
    listing = ', '.join(available) if available else 'none'
    try:
        names, excluded = device_names(device.strip())
    except ValueError as err:
        return f'{err}; available devices: {listing}'
    if not names:  # AUTO picks among the available devices it does not exclude
        left = [a for a in available if not any(_device_present(x, [a]) for x in excluded)]
        if not left:
            return f'device {device!r}: no OpenVINO device is available; available: {listing}'
    for name in names:
        if not _device_present(name, available):
            where = '' if name == device.strip() else f' (in {device!r})'
            base, dot, _ = name.partition('.')
            why = ''
            if dot and base in available and base not in _INDEXED_ALIASES:
                why = f': {base} takes no device index'
            return f'device {name!r}{where} is not available{why}; available devices: {listing}'
    return None
