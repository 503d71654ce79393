# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Alpha compositing as a small OpenVINO graph: one fused pass over the frame.

``alpha * front + (1 - alpha) * back`` is the most expensive step of the background effects at
frame size. ``cv2.blendLinear`` needs the inverse weights as a second float image (one more pass
to make it, one more to read it); OpenVINO's CPU plugin fuses the graph's element-wise steps (u8
to f32, the blend, rounding, back to u8) into one pass that reads the two images and one weight
map. Measured on the 2-core CPU here (``benchmarks/bench_blur.py --composite``, one thread each,
quiet machine): 2.4 against 3.2 ms at 1280x720, 4.4 against 6.9 ms at 1920x1080. Results are
within one grey level of ``blendLinear`` (rounding).

A stream (the node's painter thread, the CLI's video loop) puts one :class:`Compositor` in its
:class:`~selfie_seg_ros.engine.effects.Scratch`; the effect functions then composite through it.
"""

from __future__ import annotations

import cv2
import numpy as np
import openvino as ov
import openvino.opset13 as ops

_CONFIG = {'INFERENCE_NUM_THREADS': 1, 'NUM_STREAMS': 1, 'INFERENCE_PRECISION_HINT': 'f32'}
"""One thread (the caller's frame work is already one thread per stream), and f32 stated so that
no CPU's default precision can round the weights coarser (on this CPU, whose default is bf16,
the fused blend came out the same with either hint)."""


def composite_model(shape: tuple[int, ...]) -> ov.Model:
    """The graph for uint8 images of ``shape`` (HxW or HxWxC) and an HxW float32 alpha.

    ``round(back + alpha * (front - back))``, clamped to 0..255: the same as the weighted sum.
    """
    front = ops.parameter(list(shape), ov.Type.u8, name='front')
    back = ops.parameter(list(shape), ov.Type.u8, name='back')
    alpha = ops.parameter(list(shape[:2]), ov.Type.f32, name='alpha')
    front_f, back_f = ops.convert(front, 'f32'), ops.convert(back, 'f32')
    weight = ops.unsqueeze(alpha, ops.constant(np.int64(-1))) if len(shape) == 3 else alpha
    blended = ops.add(back_f, ops.multiply(ops.subtract(front_f, back_f), weight))
    rounded = ops.floor(ops.add(blended, ops.constant(np.float32(0.5))))
    result = ops.convert(ops.clamp(rounded, 0.0, 255.0), 'u8')
    return ov.Model([result], [front, back, alpha], 'composite')


class Compositor:
    """Composites frames of any size on the CPU; one thread at a time.

    A graph is compiled per frame shape on first use (a few milliseconds) and kept; a stream
    has one shape, so in practice one graph. Should OpenVINO fail to compile it, frames are
    blended with ``cv2.blendLinear`` instead and :attr:`unavailable` says why: a faster blend is
    not worth losing the outputs over.
    """

    def __init__(self, core: ov.Core | None = None) -> None:
        """Compile on ``core`` (a new one by default)."""
        self._core = core or ov.Core()
        self._requests: dict[tuple[int, ...], ov.InferRequest] = {}
        self.unavailable = ''
        """Why frames are blended with OpenCV instead ('' while the graph serves)."""

    def __call__(self, front: np.ndarray, back: np.ndarray, alpha: np.ndarray,
                 out: np.ndarray) -> np.ndarray:
        """Write ``alpha * front + (1 - alpha) * back`` into ``out`` and return it.

        Args:
            front, back: uint8 images of one shape (HxW or HxWxC), checked by the caller.
            alpha: HxW float32 weights.
            out: uint8 array of ``front``'s shape.
        """
        request = self._requests.get(front.shape)
        if request is None and not self.unavailable:
            try:
                compiled = self._core.compile_model(composite_model(front.shape), 'CPU', _CONFIG)
                request = compiled.create_infer_request()
            except RuntimeError as error:
                self.unavailable = f'OpenVINO could not compile the blend: {error}'
            else:
                self._requests[front.shape] = request
        if request is None:
            return cv2.blendLinear(front, back, alpha, 1.0 - alpha, dst=out)
        for index, array in enumerate((front, back, alpha)):
            request.set_input_tensor(index, ov.Tensor(_shareable(array), shared_memory=True))
        request.set_output_tensor(ov.Tensor(out, shared_memory=True))
        request.infer()
        return out


def _shareable(array: np.ndarray) -> np.ndarray:
    """``array`` as a C-contiguous, writeable array on the same memory where possible.

    OpenVINO shares only writeable memory and copies the rest. A frame is often a read-only view
    of a message's buffer (which is writeable underneath); the graph only reads its inputs, so a
    writeable alias of that buffer saves a full-frame copy. Anything else is copied.
    """
    array = np.ascontiguousarray(array)
    if array.flags.writeable:
        return array
    owner: object = array
    while isinstance(owner, np.ndarray) and owner.base is not None:
        owner = owner.base
    try:
        whole = np.frombuffer(owner, np.uint8)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return array.copy()
    start = array.__array_interface__['data'][0] - whole.__array_interface__['data'][0]
    if not whole.flags.writeable or start < 0 or start + array.nbytes > whole.nbytes:
        return array.copy()
    return np.ndarray(array.shape, array.dtype, buffer=whole, offset=start)
