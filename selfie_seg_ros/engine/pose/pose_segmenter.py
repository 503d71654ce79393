# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""MediaPipe Pose's person segmentation on OpenVINO, for every person in view.

Person detector (224x224, SSD anchors) -> one body-aligned region per person -> the pose landmark
model on all regions in one batch (256x256; its segmentation output is the person's mask, its
auxiliary landmarks give the region for the next frame) -> each mask warped back into the frame
-> combined into the class mask (0 background, 1 person) and the instance mask (k = k-th person).
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import openvino as ov
from openvino.preprocess import ColorFormat, PrePostProcessor

from selfie_seg_ros.engine.catalog import BINARY_LABELS, ModelEntry, Normalization
from selfie_seg_ros.engine.convert import load_ir
from selfie_seg_ros.engine.errors import DeviceError, ModelLoadError
from selfie_seg_ros.engine.fetch import default_cache_dir, fetch_model
from selfie_seg_ros.engine.model_pool import ModelPool
from selfie_seg_ros.engine.pose.anchors import generate_anchors
from selfie_seg_ros.engine.pose.detector import decode_detections, sigmoid
from selfie_seg_ros.engine.pose.people import (
    PRESENCE_THRESHOLD,
    SHADOWED,
    PersonResult,
    compose_people,
    covered_share,
    drop_shadowed,
    hide_person,
)
from selfie_seg_ros.engine.pose.roi import (
    Roi,
    View,
    crop,
    crop_matrix,
    detection_views,
    letterbox_roi,
    roi_from_points,
    tensor_to_frame_points,
)
from selfie_seg_ros.engine.pose.tracking import PersonTracker, Track
from selfie_seg_ros.engine.processing import TemporalSmoother
from selfie_seg_ros.engine.segmenter import (
    Segmentation,
    Segmenter,
    SegmenterOptions,
    _fitting,
    merged_options,
    precision_hint,
    resolve_model,
)

DETECTOR_RANGE = Normalization(mean=127.5, scale=127.5)  # [-1, 1]
LANDMARK_RANGE = Normalization(mean=0.0, scale=255.0)  # [0, 1]
NEW_PERSON_PRESENCE = 0.25
"""A person the detector has just found on the whole frame is segmented on that frame from this
presence score on (not followed below 0.5). Measured: people cut by the image border 0.46,
whole-frame detections of small people with a region far too large 0.04-0.18."""
BORDER_SHARE = 0.2
"""A region with this share of its area outside the frame is at the border. The landmark model
then sees part of the body and the replicated border, and its presence score is no guide: on a
still frame, the man cut by the street photo's right border scored 0.01-0.96 on the followed
region from frame to frame (his mask unchanged), so at MediaPipe's 0.5 he was lost and the
detector ran again every few frames. There ``BORDER_LANDMARK_PRESENCE`` also keeps a person."""
BORDER_LANDMARK_PRESENCE = 0.4
"""At the border, a person is followed while the landmarks that lie inside the frame have this
mean presence (the landmark model's per-landmark score). Measured: the man at the right border
0.46-0.81 on a still frame, 0.42-0.92 while walking out until 40 px of him are left (then 0.31);
the region left on an empty frame after a person (black, brick wall, rocket photo) 0.18-0.29."""
TILE_DETECTION_THRESHOLD = 0.7
"""The least detector score that counts on a tile (``detection_threshold`` still applies when it
is higher). The tiles are this package's addition to MediaPipe's whole-frame search: ten views
per search, each magnified 2-5x, give textures many more chances to look like a face, and the
landmark model then often accepts the region. Measured with the default search on 18
scikit-image photos without people, the cameraman, the street photo and the man of the street
photo pasted into a 1280x720 frame at 128-512 px: people found on tiles scored 0.82-0.99; false
people found on tiles scored 0.50-0.65 (rocket, coffee, cat, cameraman's background, text, logo,
cell) with landmark presence up to 0.99, so only the detector's score told them apart."""
BODY_LANDMARKS = 33
NUM_LANDMARKS = 39
AUX_LANDMARKS = (33, 34)
"""The landmark model's alignment points: mid-hip centre and the full-body size/rotation point."""


def detector_entry(entry: ModelEntry) -> ModelEntry:
    """The catalogue entry of a pose pipeline's detector (cached next to the landmark model)."""
    if entry.detector is None:
        raise ModelLoadError(f'catalogue entry {entry.model_id!r} names no person detector')
    return replace(entry, source=entry.detector)


def _output_by_shape(model: ov.Model, path: Path, *shapes: tuple[int, ...]) -> list[int]:
    found: list[int] = []
    dims = [tuple(d.get_length() if d.is_static else -1 for d in o.get_partial_shape())
            for o in model.outputs]
    for shape in shapes:
        matches = [i for i, d in enumerate(dims) if d[1:] == shape[1:]]
        if not matches:
            raise ModelLoadError(
                f'{path}: expected an output of shape {list(shape)}, found '
                f'{", ".join(str(list(d)) for d in dims)}; is this MediaPipe\'s pose model?'
            )
        found.append(matches[0])
    return found


def _static_input(model: ov.Model, path: Path) -> tuple[int, int]:
    shape = model.input(0).get_partial_shape()
    if len(model.inputs) != 1 or not shape.is_static or len(shape) != 4 or shape[3] != 3:
        raise ModelLoadError(f'{path}: expected one 1xHxWx3 image input, got {shape}')
    return shape[2].get_length(), shape[1].get_length()


def _with_preprocessing(model: ov.Model, norm: Normalization) -> ov.Model:
    """Feed u8 BGR NHWC; the model gets f32 RGB scaled as it was trained."""
    ppp = PrePostProcessor(model)
    ppp.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout('NHWC')) \
        .set_color_format(ColorFormat.BGR)
    ppp.input().model().set_layout(ov.Layout('NHWC'))
    steps = ppp.input().preprocess().convert_element_type(ov.Type.f32)
    steps.convert_color(ColorFormat.RGB)
    if norm.mean:
        steps.mean(norm.mean)
    steps.scale(norm.scale)
    return ppp.build()


class PoseSegmenter(Segmenter):
    """Person segmentation of every person in view (up to ``max_people``) with MediaPipe Pose.

    Built by ``Segmenter(model='pose_segmentation')``. On video, people are followed from frame
    to frame through the regions their landmarks give (see ``PersonTracker``); call ``reset()``
    between unrelated images to detect afresh.
    """

    gives_instances = True

    def __init__(
        self,
        model: str | None = None,
        device: str | None = None,
        *,
        options: SegmenterOptions | None = None,
        core: ov.Core | None = None,
        pool: ModelPool | None = None,
        **changes: Any,
    ) -> None:
        """Fetch, convert (cached) and compile the detector and the landmark model.

        With a ``pool``, both are compiled once for all the pool's pose segmenters with the same
        device and settings (the landmark model with a dynamic batch: the number of people);
        each segmenter keeps its own two infer requests.

        Raises:
            KeyError, FetchError, ModelLoadError, DeviceError: with a message saying what to do.
        """
        options = merged_options(options, model, device, changes)
        started = time.perf_counter()
        self._use_core(options.device, core, pool)
        self._detector_pool_key: tuple[str, ...] | None = None
        self.entry, self.source_path = resolve_model(options)
        self.detector_source_path = fetch_model(
            detector_entry(self.entry), options.cache_dir,
            allow_download=options.allow_download, progress=options.progress,
        )
        cache_dir = Path(options.cache_dir) if options.cache_dir else default_cache_dir()
        self.model_path = load_ir(self.source_path, cache_dir)
        self.detector_path = load_ir(self.detector_source_path, cache_dir)
        landmark_ir = self._read(self.model_path)
        detector_ir = self._read(self.detector_path)
        self._detector_size = _static_input(detector_ir, self.detector_path)
        self.input_size = _static_input(landmark_ir, self.model_path)
        self._anchors = generate_anchors()
        self._box_out, self._score_out = _output_by_shape(
            detector_ir, self.detector_path, (1, len(self._anchors), 12),
            (1, len(self._anchors), 1))
        width, height = self.input_size
        self._landmark_out, self._presence_out, self._mask_out = _output_by_shape(
            landmark_ir, self.model_path, (1, NUM_LANDMARKS * 5), (1, 1), (1, height, width, 1))
        landmark_ir.reshape({landmark_ir.input(0): ov.PartialShape([-1, height, width, 3])})
        config = self._config(options)
        try:
            self._detector, self._detector_pool_key = self._shared(
                detector_ir, self.detector_path, DETECTOR_RANGE, options, config)
            self._compiled, self._pool_key = self._shared(
                landmark_ir, self.model_path, LANDMARK_RANGE, options, config)
        except Exception:
            self.close()  # gives a pooled detector back
            raise
        self._detect_request = self._detector.create_infer_request()
        self._request = self._compiled.create_infer_request()
        self.labels: tuple[str, ...] = BINARY_LABELS
        self.num_classes = 2
        self._channels_out = 1
        self._smoother = TemporalSmoother(options.smoothing)
        self._tracker = PersonTracker(options.redetect_interval)
        self._unsure: list[Track] = []
        self._lock = threading.Lock()
        self._options = replace(
            options, foreground_classes=self._resolve_classes(options.foreground_classes))
        self.startup_s = time.perf_counter() - started

    # -- construction -------------------------------------------------------------------------

    def _read(self, path: Path) -> ov.Model:
        try:
            return self._core.read_model(path)
        except Exception as error:
            raise ModelLoadError(
                f'cannot read OpenVINO model {path}: {error}. Delete it to convert again.'
            ) from error

    def _config(self, options: SegmenterOptions) -> dict[str, Any]:
        config: dict[str, Any] = {'PERFORMANCE_HINT': options.performance_hint}
        precision = precision_hint(options.device, options.precision)
        if precision:
            config['INFERENCE_PRECISION_HINT'] = precision
        return config

    def _shared(
        self, model_ir: ov.Model, path: Path, norm: Normalization, options: SegmenterOptions,
        config: dict[str, Any],
    ) -> tuple[ov.CompiledModel, tuple[str, ...] | None]:
        """The compiled model (with its preprocessing): the pool's when there is one.

        Returns:
            It and its pool key (None without a pool).
        """

        def build() -> ov.CompiledModel:
            return self._compile(_with_preprocessing(model_ir, norm), options, config)

        if self._pool is None:
            return build(), None
        key = ('pose', str(path), options.device, repr(sorted(config.items())), repr(norm))
        return self._pool.acquire(key, build), key

    def _compile(
        self, model_ir: ov.Model, options: SegmenterOptions, config: dict[str, Any]
    ) -> ov.CompiledModel:
        try:
            return self._core.compile_model(model_ir, options.device, config)
        except Exception as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            raise DeviceError(
                f'cannot compile {model_ir.friendly_name or "the pose models"} on '
                f'{options.device!r}: {first}; available devices: '
                f'{", ".join(self._core.available_devices)}'
            ) from error

    # -- live options ---------------------------------------------------------------------------

    @property
    def people(self) -> int:
        """How many people are followed right now."""
        return len(self._tracker.tracks)

    def configure(self, **changes: Any) -> None:
        """Change post-processing options for the next frame (see ``Segmenter.configure``)."""
        super().configure(**changes)
        with self._lock:
            self._tracker.redetect_interval = self._options.redetect_interval
            self._tracker.trim(self._options.max_people)

    def reset(self) -> None:
        """Forget earlier frames: followed people and temporal smoothing."""
        with self._lock:
            self._smoother.reset()
            self._tracker.reset()

    def reset_stream(self) -> None:
        """Start a new stream: as :meth:`reset` (this model has no previous-mask input)."""
        self.reset()

    # -- inference ------------------------------------------------------------------------------

    def detect(self, image: np.ndarray, min_score: float | None = None
               ) -> list[tuple[Roi, float]]:
        """Run the person detector on a BGR frame: (region, score) per person, best first.

        ``min_score`` defaults to the ``detection_threshold`` option.
        """
        size = (image.shape[1], image.shape[0])
        frame_roi, padding = letterbox_roi(size, self._detector_size)
        tensor = crop(image, frame_roi, self._detector_size, cv2.BORDER_CONSTANT)
        self._detect_request.infer({0: ov.Tensor(tensor[None], shared_memory=True)})
        boxes = self._detect_request.get_output_tensor(self._box_out).data
        scores = self._detect_request.get_output_tensor(self._score_out).data
        detections = decode_detections(
            boxes, scores, self._anchors, padding,
            min_score=self._options.detection_threshold if min_score is None else min_score,
            input_size=self._detector_size,
        )
        regions = [(roi_from_points(d.keypoints[0], d.keypoints[1], size), d.score)
                   for d in detections]
        return [(roi, score) for roi, score in regions if roi.usable()]

    def _landmarks(self, image: np.ndarray, tracks: list[Track]) -> list[PersonResult]:
        """The landmark model on every track's region, in one batch."""
        if not tracks:
            return []
        size = (image.shape[1], image.shape[0])
        batch = np.stack([crop(image, t.roi, self.input_size, cv2.BORDER_REPLICATE)
                          for t in tracks])
        self._request.infer({0: ov.Tensor(batch, shared_memory=True)})
        landmarks = self._request.get_output_tensor(self._landmark_out).data
        presence = self._request.get_output_tensor(self._presence_out).data.reshape(-1)
        logits = self._request.get_output_tensor(self._mask_out).data
        masks = sigmoid(logits[..., 0])
        results = []
        for i, track in enumerate(tracks):
            values = landmarks[i].reshape(NUM_LANDMARKS, 5)
            frame_points = tensor_to_frame_points(values[:, :2], track.roi, self.input_size)
            normalised = frame_points[list(AUX_LANDMARKS)] / np.float32(size)
            next_roi = roi_from_points(normalised[0], normalised[1], size)
            body = frame_points[:BODY_LANDMARKS]
            inside = ((body[:, 0] >= 0) & (body[:, 0] < size[0])
                      & (body[:, 1] >= 0) & (body[:, 1] < size[1]))
            scores = sigmoid(values[:BODY_LANDMARKS, 4][inside])
            landmark_presence = float(scores.mean()) if scores.size else 0.0
            window = _frame_window(track.roi, size)
            plane = np.zeros((0, 0), np.float32)
            if window is not None:
                left, top, right, bottom = window
                plane = cv2.warpAffine(
                    masks[i],
                    _window_matrix(track.roi, self.input_size, left, top),
                    (right - left, bottom - top), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                    borderMode=cv2.BORDER_CONSTANT, borderValue=0,
                )
            results.append(PersonResult(track, track.roi, float(presence[i]), landmark_presence,
                                        window, plane, next_roi))
        return results

    def _timed_detect(
        self, image: np.ndarray, timer: dict[str, float], view: View | None
    ) -> list[tuple[Roi, float]]:
        """The detector on the whole frame (``view`` None) or on a (left, top, side) tile."""
        tick = time.perf_counter()
        if view is None:
            candidates = self.detect(image)
        else:
            left, top, side = view
            threshold = max(self._options.detection_threshold, TILE_DETECTION_THRESHOLD)
            candidates = [
                (replace(roi, center_x=roi.center_x + left, center_y=roi.center_y + top), score)
                for roi, score in self.detect(image[top:top + side, left:left + side], threshold)
            ]
        timer['detection_ms'] += (time.perf_counter() - tick) * 1e3
        timer['detector_runs'] += 1
        return candidates

    def _follow(
        self, image: np.ndarray, tracks: list[Track], timer: dict[str, float],
        *, new: bool = False, just_detected: bool = False,
    ) -> tuple[list[PersonResult], bool]:
        """Landmarks for ``tracks``; present people move to their next region, others are lost.

        Args:
            new: the tracks were found on this frame (on the whole frame or on a tile).
            just_detected: the tracks come from the detector on the whole frame. A person the
                landmark model is unsure of (presence from 0.25 to 0.5) is then still segmented
                on this frame, on the detector's word, but not followed (at the border: see
                ``still_there``).

        Returns:
            The people to segment on this frame and whether anybody was lost.
        """
        tick = time.perf_counter()
        batch = self._landmarks(image, tracks)
        timer['landmark_ms'] += (time.perf_counter() - tick) * 1e3
        size = (image.shape[1], image.shape[0])
        shown = []
        lost = False
        for result in batch:
            if not result.next_roi.usable():  # landmarks off the numeric rails: lost
                self._tracker.update(result.track, None, 0.0)
                lost = True
            elif still_there(result, size, new=new):
                shown.append(result)
                self._tracker.update(result.track, result.next_roi, result.presence)
            elif just_detected and result.presence >= NEW_PERSON_PRESENCE:
                shown.append(result)
                self._unsure.append(result.track)
                lost = True
            else:
                self._tracker.update(result.track, None, result.presence)
                lost = True
        return shown, lost

    def _views_due(
        self, size: tuple[int, int], options: SegmenterOptions, *, whole: bool
    ) -> list[View | None]:
        """The views the detector runs on this frame (None = the whole frame, else a tile).

        The tracker's share of the search's views (the whole frame, then ``detection_views``),
        and the whole frame in any case when ``whole``.
        """
        search: list[View | None] = [None, *detection_views(size, options.detection_levels)]
        views = [search[i] for i in self._tracker.search_views(len(search))]
        if whole and None not in views:
            views.insert(0, None)
        return views

    def _find_people(
        self, image: np.ndarray, known: list[PersonResult], options: SegmenterOptions,
        timer: dict[str, float], views: list[View | None],
    ) -> list[PersonResult]:
        """Run the detector on ``views`` for people not followed yet, hiding everybody found.

        MediaPipe's pose detector is made for one dominant person: with several people in view it
        scores the others low. So every person found is painted over (mid grey, the detector's
        zero) and the detector runs again on what is left, until it finds nobody new; then the
        same on the next view (None = the whole frame, else a tile: people far away).

        Returns:
            The new people's results (already followed by the tracker).
        """
        canvas = image.copy()
        hidden: list[PersonResult] = list(known)
        accepted: list[PersonResult] = list(known)
        found: list[PersonResult] = []
        for view in views:
            for _round in range(options.max_people):
                for result in hidden:
                    hide_person(canvas, result)
                hidden = []
                if self.people >= options.max_people:
                    return found
                candidates = self._timed_detect(canvas, timer, view)
                new = self._tracker.add_detections(candidates, options.max_people)
                if not new:
                    break
                # A tile may show part of a body: there only the landmark model's word counts.
                shown, _ = self._follow(image, new, timer, new=True,
                                        just_detected=view is None)
                fresh = []
                for result in shown:
                    if covered_share(result, accepted) >= SHADOWED:
                        self._forget(result.track)  # somebody already found, in a new region
                    else:
                        fresh.append(result)
                        accepted.append(result)
                found += fresh
                # Only people the landmark model is sure of are hidden: an unsure region may be a
                # poor detection around somebody a tile will find properly.
                hidden = [r for r in fresh if r.presence >= PRESENCE_THRESHOLD]
                if not fresh:
                    break
        kept = drop_shadowed(found, known)
        for result in found:
            if result not in kept:
                self._forget(result.track)
        return kept

    def _forget(self, track: Track) -> None:
        self._tracker.update(track, None, 0.0)
        self._unsure = [t for t in self._unsure if t is not track]

    def segment(
        self,
        image_bgr: np.ndarray,
        *,
        foreground: bool = True,
        mask_out: np.ndarray | None = None,
        foreground_out: np.ndarray | None = None,
        timestamp: float | None = None,
    ) -> Segmentation:
        """Segment every person (up to ``max_people``) in one frame.

        ``mask_out`` and ``foreground_out`` are written into when they fit, as in
        ``Segmenter.segment``; ``timestamp`` is accepted as there (these models take no
        previous mask).

        Returns:
            Segmentation with the class mask (1 = person), the instance mask (k = k-th person,
            stable while a person is followed) and the soft foreground.

        Raises:
            ValueError: the image is not an 8-bit BGR/grey image or has zero size.
        """
        image = self._prepare(image_bgr)
        with self._lock:
            options = self._options
            started = time.perf_counter()
            size = (image.shape[1], image.shape[0])
            tracker = self._tracker
            tracker.start_frame(size)
            timer = {'detection_ms': 0.0, 'landmark_ms': 0.0, 'detector_runs': 0.0}
            results, lost = self._follow(image, list(tracker.tracks), timer)
            views = self._views_due(size, options, whole=lost or tracker.needs_detection())
            if views and self.people < options.max_people:
                if None in views:
                    tracker.detected()
                results += self._find_people(image, results, options, timer, views)
            tracker.drop_duplicates()
            results = [r for r in results if r.track in tracker.tracks]
            for track in self._unsure:
                # Segmented on the detector's word; not followed: look for them again next frame.
                tracker.update(track, None, 0.0)
                tracker.request_detection()
            self._unsure = []
            tick = time.perf_counter()
            probability, instances = compose_people(results, size)
            soft = self._smoother.update(probability)
            shape = (image.shape[0], image.shape[1])
            mask = _fitting(mask_out, shape, np.uint8)
            if mask is None:
                mask = np.empty(shape, np.uint8)
            np.greater_equal(soft, options.threshold, out=mask.view(np.bool_))
            if self.foreground_classes != (1,):
                soft = 1.0 - soft if self.foreground_classes == (0,) else np.ones_like(soft)
            np.multiply(instances, mask, out=instances)  # mask is 0/1: background -> 0
            compose_ms = (time.perf_counter() - tick) * 1e3
            total_ms = (time.perf_counter() - started) * 1e3
        people = len(results)
        inference_ms = timer['detection_ms'] + timer['landmark_ms']
        timings = {
            **timer,
            'per_person_ms': timer['landmark_ms'] / people if people else 0.0,
            'compose_ms': compose_ms,
            'people': float(people),
            'inference_ms': inference_ms,
            'segment_ms': total_ms,
        }
        return Segmentation(
            mask=mask,
            foreground=_copy_into(soft, foreground_out) if foreground else None,
            inference_ms=inference_ms,
            timings=timings,
            instances=instances,
        )

    def warm_up(self) -> float:
        """Run the detector and the landmark model once on blank input (first runs are slow).

        Returns:
            The time the runs took, in milliseconds.
        """
        started = time.perf_counter()
        with self._lock:
            width, height = self._detector_size
            self.detect(np.zeros((height, width, 3), np.uint8))
        width, height = self.input_size
        self.infer_raw(np.zeros((height, width, 3), np.uint8))
        return (time.perf_counter() - started) * 1e3

    def infer_raw(self, model_image: np.ndarray) -> np.ndarray:
        """The landmark model's person probability for one model-sized BGR crop (HxWx1)."""
        with self._lock:
            self._request.infer({0: ov.Tensor(np.ascontiguousarray(model_image)[None],
                                              shared_memory=True)})
            return sigmoid(self._request.get_output_tensor(self._mask_out).data[0])

    def close(self) -> None:
        """Release both compiled models (or this user's share of them) and their requests.

        Waits for a frame in progress; closing twice is harmless.
        """
        super().close()
        lock = getattr(self, '_lock', None)  # absent when the constructor failed early
        with lock if lock is not None else contextlib.nullcontext():
            self._detect_request = None  # type: ignore[assignment]
            self._detector = None  # type: ignore[assignment]
            pool, key = getattr(self, '_pool', None), getattr(self, '_detector_pool_key', None)
            if pool is not None and key is not None:
                pool.release(key)
                self._detector_pool_key = None

    def __repr__(self) -> str:
        return (
            f'PoseSegmenter(model={self._options.model!r}, device={self.device!r}, '
            f'input={self.input_size[0]}x{self.input_size[1]} per person, '
            f'max_people={self._options.max_people})'
        )


def _copy_into(values: np.ndarray, buffer: np.ndarray | None) -> np.ndarray:
    """``values`` copied into ``buffer`` when it fits, else into a fresh array."""
    target = _fitting(buffer, values.shape, np.float32)
    if target is None:
        return np.array(values, dtype=np.float32, copy=True)
    np.copyto(target, values)
    return target


def outside_share(roi: Roi, size: tuple[int, int]) -> float:
    """Share of a region's area that lies outside the frame (0 inside, 1 wholly outside)."""
    area = roi.width * roi.height
    if area <= 0:
        return 1.0
    corners = cv2.boxPoints(roi.as_rotated_rect()).astype(np.float32)
    frame = np.float32([[0, 0], [size[0], 0], [size[0], size[1]], [0, size[1]]])
    inside, _ = cv2.intersectConvexConvex(corners, frame)
    return float(min(1.0, max(0.0, 1.0 - inside / area)))


def still_there(result: PersonResult, size: tuple[int, int], *, new: bool) -> bool:
    """True when the person is followed on.

    Presence 0.5 (MediaPipe's tracking threshold), or at the border (``BORDER_SHARE``) the
    landmarks in the frame (``BORDER_LANDMARK_PRESENCE``): for people followed from an earlier
    frame, and for people found on this frame (``new``) with presence 0.25 or more. The landmark
    presence alone does not vouch for a new region: regions the detector found on tiles where
    nobody is (a cat, a coffee cup, the rocket photo) had landmark presence 0.80-0.98 with
    presence 0.00-0.10.
    """
    if result.presence >= PRESENCE_THRESHOLD:
        return True
    if (result.landmark_presence < BORDER_LANDMARK_PRESENCE
            or outside_share(result.roi, size) < BORDER_SHARE):
        return False
    return not new or result.presence >= NEW_PERSON_PRESENCE


def _frame_window(roi: Roi, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The part of the frame a region covers (left, top, right, bottom), None when outside."""
    box = roi.box()
    left = max(0, int(np.floor(box[0])))
    top = max(0, int(np.floor(box[1])))
    right = min(size[0], int(np.ceil(box[2])) + 1)
    bottom = min(size[1], int(np.ceil(box[3])) + 1)
    if right <= left or bottom <= top:
        return None
    return left, top, right, bottom


def _window_matrix(roi: Roi, tensor_size: tuple[int, int], left: int, top: int) -> np.ndarray:
    """Frame-window pixels to tensor pixels (for WARP_INVERSE_MAP)."""
    matrix = crop_matrix(roi, tensor_size).astype(np.float64)
    matrix[:, 2] += matrix[:, 0] * left + matrix[:, 1] * top
    return matrix
