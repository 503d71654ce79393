# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""One OpenVINO Core and the models compiled on it, shared by the Segmenters of one process.

Several cameras served by one process need one compiled model, not one each: a compiled model
holds the weights and the device's kernels, while each Segmenter keeps only its own infer
request (its activations). A pool hands out the compiled model of a key (model file, device,
compile settings) and compiles it on first use; the last user to release it frees it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Hashable

import openvino as ov


def one_thread_core() -> ov.Core:
    """A Core whose CPU inferences run on one thread each.

    The least CPU per frame for a node: the selfie models take 1-3 ms per inference, and a
    second inference thread saves under a millisecond of latency while OpenVINO's threads spin
    between frames (measured: about a quarter more CPU per inference with two threads on two
    cores). Several cameras still infer in parallel: each request runs on its caller's thread.
    """
    core = ov.Core()
    core.set_property('CPU', {'INFERENCE_NUM_THREADS': 1})
    return core


class ModelPool:
    """Compiled models by key, shared and reference-counted; safe to use from several threads."""

    def __init__(self, core: ov.Core | None = None) -> None:
        """Use ``core`` (a new one by default) for every model of the pool."""
        self.core = core or ov.Core()
        self._compiled: dict[Hashable, ov.CompiledModel] = {}
        self._users: Counter[Hashable] = Counter()
        self._lock = threading.Lock()

    def acquire(self, key: Hashable, compile_model: Callable[[], ov.CompiledModel]
                ) -> ov.CompiledModel:
        """The compiled model of ``key``; ``compile_model()`` makes it when the pool has none.

        Raises:
            Whatever ``compile_model`` raises; the pool is unchanged then.
        """
        with self._lock:
            compiled = self._compiled.get(key)
            if compiled is None:
                compiled = compile_model()
                self._compiled[key] = compiled
            self._users[key] += 1
            return compiled

    def release(self, key: Hashable) -> None:
        """One user of ``key`` is done; the model is freed when it was the last one."""
        with self._lock:
            if self._users[key] <= 0:
                return
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key]
                self._compiled.pop(key, None)

    def users(self, key: Hashable) -> int:
        """How many Segmenters hold the model of ``key`` now."""
        with self._lock:
            return self._users[key]

    def __len__(self) -> int:
        """How many compiled models the pool holds."""
        with self._lock:
            return len(self._compiled)
