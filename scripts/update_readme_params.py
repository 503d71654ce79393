# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Rewrite the README's parameter table from the parameter definitions (ros/params.py)."""

from __future__ import annotations

from pathlib import Path

from selfie_seg_ros.ros.params import with_markdown_table

README = Path(__file__).resolve().parents[1] / 'README.md'


def main() -> None:
    """Replace the table between its markers in README.md."""
    README.write_text(with_markdown_table(README.read_text()))
    print(f'updated the parameter table in {README}')


if __name__ == '__main__':
    main()
