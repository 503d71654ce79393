# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Whole-change validation of the node's parameters, and what a change needs (pure: no ROS).

A parameter change arrives as a set of values that must be applied together or not at all.
:func:`check_change` judges each value and then the combination (e.g. ``foreground_classes`` that
the new ``model`` does not have), without loading anything; :class:`ModelConfig` says which model
the parameters ask for, so the node knows whether a change needs a new model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from selfie_seg_ros.engine.catalog import CATALOG, resolve_classes
from selfie_seg_ros.engine.effects import EffectOptions, parse_rgb
from selfie_seg_ros.engine.limits import DEFAULT_MAX_PIXELS
from selfie_seg_ros.ros import params

MODEL_PARAMETERS = ('model', 'model_labels', 'device', 'precision')
"""A change of any of these builds a new model (in the background)."""
LIVE_SEGMENTER_OPTIONS = (
    'threshold', 'resize_mode', 'smoothing', 'max_people', 'redetect_interval', 'detection_levels',
    'detection_threshold', 'max_pixels')
EFFECT_PARAMETERS = ('effect', 'blur_strength', 'background_color', 'background_image',
                     'max_pixels')
"""Parameters the effects are built from (``max_pixels`` limits the background image)."""


@dataclass(frozen=True)
class ModelConfig:
    """The model the parameters ask for: what a build depends on."""

    model: str
    labels: tuple[str, ...]
    """``model_labels``; empty = the catalogue's labels or ``class_<i>``."""
    device: str
    precision: str

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> ModelConfig:
        """The config named by parameter values (``model``, ``model_labels``, ...)."""
        return cls(model=str(values['model']).strip(),
                   labels=tuple(str(v) for v in values['model_labels']),
                   device=str(values['device']).strip(),
                   precision=str(values['precision']))

    def parameter_values(self) -> dict[str, Any]:
        """The parameter values that name this config."""
        return {'model': self.model, 'model_labels': list(self.labels), 'device': self.device,
                'precision': self.precision}

    def __str__(self) -> str:
        return f'{self.model} on {self.device} ({self.precision})'


@dataclass(frozen=True)
class Running:
    """The model that serves now: its config and the labels it loaded with."""

    config: ModelConfig
    labels: tuple[str, ...]


def expected_labels(config: ModelConfig, running: Running | None) -> tuple[str, ...] | None:
    """The class names the model of ``config`` will have, when known without loading it.

    Returns:
        ``model_labels`` when given; the running model's labels when it is the same model; the
        catalogue's labels; else None (a local file whose classes are known once it is read).
    """
    if config.labels:
        return config.labels
    if running is not None and running.config.model == config.model:
        return running.labels
    entry = CATALOG.get(config.model)
    if entry is not None and entry.labels:
        return tuple(entry.labels)
    return None


def check_change(changed: Mapping[str, Any], current: Mapping[str, Any], *,
                 running: Running | None = None,
                 available_devices: Sequence[str] = ()) -> str | None:
    """Judge a whole parameter change before anything is applied.

    Args:
        changed: The new values, by parameter name.
        current: The values in force of at least ``model``, ``model_labels``, ``device``,
            ``precision`` and ``foreground_classes`` (and the effect parameters when the change
            touches one of them).
        running: The model that serves now (None before ``configure``).
        available_devices: OpenVINO's devices; empty = unknown (the form is still checked).

    Returns:
        None when the change can be applied as a whole, else the reason it cannot.
    """
    limit = changed.get('max_pixels', current.get('max_pixels', DEFAULT_MAX_PIXELS))
    for name, value in changed.items():
        if name == 'foreground_classes':  # names are judged below, against the target's labels
            reason = params.check_type(name, value)
        else:
            reason = params.validate(name, value, available_devices=available_devices,
                                     max_pixels=int(limit))
        if reason:
            return reason
    merged = {**current, **changed}
    target = ModelConfig.from_values(merged)
    same_model = running is not None and running.config.model == target.model
    if target.labels and same_model and len(target.labels) != len(running.labels):
        return (f'model_labels: {target.model} has {len(running.labels)} classes but '
                f'{len(target.labels)} labels were given ({", ".join(target.labels)})')
    if any(name in changed for name in EFFECT_PARAMETERS):
        try:  # the effect and its strength must fit together (anonymising needs more)
            EffectOptions(effect=merged['effect'], blur_strength=int(merged['blur_strength']),
                          background_color=parse_rgb(merged['background_color']))
        except ValueError as error:
            return f'{", ".join(n for n in EFFECT_PARAMETERS if n in changed)}: {error}'
    classes = list(merged['foreground_classes'])
    labels = expected_labels(target, running)
    if classes and labels is not None:
        try:
            resolve_classes(classes, labels)
        except ValueError as error:
            where = '' if same_model else f' (with model {target.model})'
            return f'foreground_classes{where}: {error}'
    return None
