# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""The rendezvous between the node's two worker threads."""

from __future__ import annotations

import threading

from selfie_seg_ros.engine.handoff import Handoff

WAIT_S = 5.0


def test_put_returns_only_once_the_consumer_has_taken_the_item():
    handoff: Handoff[int] = Handoff()
    returned = threading.Event()
    results: list[bool] = []

    def produce() -> None:
        results.append(handoff.put(1))
        returned.set()

    producer = threading.Thread(target=produce)
    producer.start()
    assert not returned.wait(0.2)  # nobody took it yet
    assert handoff.take() == 1
    assert returned.wait(WAIT_S) and results == [True]
    producer.join(WAIT_S)


def test_items_arrive_in_order_and_at_most_two_are_in_flight():
    """While the producer makes item j, the consumer has finished item j - 2: the two stages can
    alternate between two sets of buffers."""
    handoff: Handoff[int] = Handoff()
    done: set[int] = set()
    taken: list[int] = []
    violations: list[int] = []
    pause = threading.Event()

    def produce() -> None:
        for item in range(100):
            if item >= 2 and item - 2 not in done:
                violations.append(item)
            assert handoff.put(item)

    def consume() -> None:
        while len(taken) < 100:
            item = handoff.take()
            assert item is not None
            taken.append(item)
            pause.wait(0.001)  # the consumer's work on the item
            done.add(item)

    threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    assert taken == list(range(100))
    assert violations == []


def test_close_releases_a_waiting_producer_and_consumer():
    handoff: Handoff[str] = Handoff()
    results: list[object] = []
    producer = threading.Thread(target=lambda: results.append(handoff.put('frame')))
    producer.start()
    threading.Event().wait(0.1)
    handoff.close()
    producer.join(WAIT_S)
    assert results == [False] and not producer.is_alive()
    assert handoff.closed
    consumer = threading.Thread(target=lambda: results.append(handoff.take()))
    consumer.start()
    consumer.join(WAIT_S)
    assert results == [False, None]
    assert handoff.put('late') is False
