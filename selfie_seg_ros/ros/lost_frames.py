# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Frames lost before they reach the node, from the subscription's message-lost event.

The middleware knows when samples of a topic never arrive (a gap in a best-effort stream, a
frame too large for the transport); rclpy reports it as the ``message_lost`` event where the RMW
implements it. Where rclpy or the RMW lacks it the subscription is made without it, and the node
says so once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _event_module() -> Any | None:
    try:
        from rclpy import event_handler  # Iron and later

        return event_handler
    except ImportError:
        pass
    try:
        from rclpy import qos_event  # Humble

        return qos_event
    except ImportError:
        return None


def lost_event_callbacks(on_lost: Callable[[int], None]) -> Any | None:
    """``SubscriptionEventCallbacks`` that pass the number of newly lost messages to ``on_lost``.

    Returns:
        The callbacks, or None when this rclpy has no message-lost event.
    """
    module = _event_module()
    callbacks_type = getattr(module, 'SubscriptionEventCallbacks', None)
    if callbacks_type is None:
        return None

    def lost(info: Any) -> None:
        on_lost(int(getattr(info, 'total_count_change', 0)))

    try:
        return callbacks_type(message_lost=lost)
    except TypeError:  # an rclpy without the message_lost argument
        return None


def _unsupported_error() -> type[BaseException]:
    error = getattr(_event_module(), 'UnsupportedEventTypeError', None)
    return error if isinstance(error, type) else NotImplementedError


def create_counted_subscription(
    node: Any, on_lost: Callable[[int], None], *args: Any, **kwargs: Any
) -> tuple[Any, bool]:
    """``node.create_subscription(*args, **kwargs)`` with lost messages counted where possible.

    Returns:
        The subscription, and whether lost messages are reported for it.
    """
    callbacks = lost_event_callbacks(on_lost)
    if callbacks is not None:
        try:
            return node.create_subscription(*args, event_callbacks=callbacks, **kwargs), True
        except _unsupported_error():
            pass  # the RMW has no message-lost event
    return node.create_subscription(*args, **kwargs), False
