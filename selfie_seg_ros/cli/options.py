# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Command-line options built from the engine's option definitions (``engine/options.py``).

Each option's flag, type, default, range or choices and help text come from its
:class:`~selfie_seg_ros.engine.options.OptionSpec`, so the CLI accepts exactly what the node
accepts. Argument names stay those of the flags (``--hint`` gives ``args.hint``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from selfie_seg_ros.engine.effects import parse_rgb
from selfie_seg_ros.engine.options import OptionSpec, check_limits, get_option

PATH_OPTIONS = frozenset({'model_cache_dir', 'background_image'})
"""String options that name a file or folder: a Path on the command line, None when not given."""


def _limited(spec: OptionSpec, convert: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f'expected a number, got {text!r}') from None
        reason = check_limits(spec, value)
        if reason:
            # argparse names the flag first: 'argument --x: must be in 1..3, got 4'
            raise argparse.ArgumentTypeError(reason.removeprefix(f'{spec.name} '))
        return value
    parse.__name__ = spec.kind  # argparse names the type in its messages
    return parse


def _rgb(text: str) -> tuple[int, int, int]:
    try:
        return parse_rgb(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _shown_default(value: Any) -> str:
    if isinstance(value, tuple):
        return ','.join(str(v) for v in value) or 'none'
    return str(value) if value != '' else 'none'


def dest(name: str) -> str:
    """The attribute of the parsed arguments that holds option ``name``."""
    flag = get_option(name).cli_flag
    if flag is None:
        raise ValueError(f'option {name} has no command-line flag')
    return flag.lstrip('-').replace('-', '_')


def defaults(names: Sequence[str]) -> dict[str, Any]:
    """Parsed-argument defaults of options a command does not offer (for ``set_defaults``)."""
    result: dict[str, Any] = {}
    for name in names:
        spec = get_option(name)
        value: Any = spec.default
        if spec.kind == 'bool':
            value = False  # the flag was not given
        elif spec.kind == 'string_array':
            value = ','.join(value)
        elif name in PATH_OPTIONS:
            value = value or None
        result[dest(name)] = value
    return result


def add_option(group: argparse._ActionsContainer, name: str, *, default: Any = None,
               help_text: str = '') -> None:
    """Add option ``name`` to a parser or argument group.

    Args:
        group: Where to add it.
        name: The option's name in ``engine/options.py``.
        default: A default for this command instead of the definition's.
        help_text: Text shown instead of the definition's description.

    Raises:
        ValueError: the option has no command-line flag.
    """
    spec = get_option(name)
    if spec.cli_flag is None:
        raise ValueError(f'option {name} has no command-line flag')
    chosen = spec.default if default is None else default
    text = help_text or spec.description
    limits = f' {spec.limits_text}' if spec.limits_text and not spec.choices else ''
    kwargs: dict[str, Any] = {}
    if spec.kind == 'bool':  # the flag turns the option off, e.g. --no-download
        group.add_argument(spec.cli_flag, action='store_true',
                           help=f'set {name} to false: {text}')
        return
    if spec.kind in ('integer', 'double'):
        kwargs['type'] = _limited(spec, int if spec.kind == 'integer' else float)
    elif spec.kind == 'integer_array':
        kwargs.update(type=_rgb, metavar='R,G,B')
    elif spec.kind == 'string_array':
        chosen = ','.join(chosen)  # comma-separated on the command line
        text += ' (comma-separated)'
    elif name in PATH_OPTIONS:
        kwargs['type'] = Path
        chosen = chosen or None
    if spec.choices:
        kwargs['choices'] = spec.choices
    group.add_argument(spec.cli_flag, default=chosen,
                       help=f'{text}{limits} (default: {_shown_default(chosen or "")})',
                       **kwargs)
