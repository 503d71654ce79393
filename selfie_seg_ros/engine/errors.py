# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""The engine's exceptions: each message says what failed and what to do, ready to print."""

from __future__ import annotations


class SegmentationError(Exception):
    """Base of the engine's errors; ``str()`` is the message a user should read."""


class UnknownModelError(SegmentationError, KeyError):
    """A model name is neither a catalogue id nor a model file.

    A ``KeyError`` for callers that look models up like a mapping, but ``str()`` is the message
    itself, not its ``repr`` in quotes as ``KeyError`` would print it.
    """

    def __str__(self) -> str:
        """The message, unquoted."""
        return str(self.args[0]) if self.args else ''


class FetchError(SegmentationError, RuntimeError):
    """A model file could not be fetched; the message says what failed and what to do."""


class ModelLoadError(SegmentationError, RuntimeError):
    """A model file is missing, corrupt or cannot be converted; the message names the file."""


class UnsupportedOperatorError(ModelLoadError):
    """A .tflite model uses a custom operator that no translation here covers."""


class ImageTooLargeError(SegmentationError, ValueError):
    """An image declares more pixels than the limit; nothing was decoded."""


class DeviceError(SegmentationError, RuntimeError):
    """The requested OpenVINO device is unknown or not present on this machine."""


class SegmenterClosedError(SegmentationError, RuntimeError):
    """A frame was given to a Segmenter after ``close()``."""
