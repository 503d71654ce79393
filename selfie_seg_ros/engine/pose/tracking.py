# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Following people across video frames by their regions, as MediaPipe's pose graph does.

Each person keeps a slot (instance id - 1) for as long as they are followed: the region a frame
ends with (derived from the landmark model's alignment points) is where the next frame looks.
The detector runs on the whole frame when nobody is followed or somebody was lost. A full search
(whole frame and tiles, for people far away) runs on the first frame and then once every
``redetect_interval`` frames, spread over those frames: each frame runs its share of the views,
so no frame carries a whole search's cost.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from selfie_seg_ros.engine.pose.roi import Roi

SAME_PERSON_DISTANCE = 0.15
"""Regions whose centres (the mid-hip point) are closer than this fraction of the larger region's
side, with sides within a factor of two, are one person. Region boxes are no use for this: a
region is 1.25 body heights square, so neighbours' regions overlap most of each other."""


def same_person(a: Roi, b: Roi) -> bool:
    """True when two regions frame the same person."""
    larger, smaller = max(a.width, b.width), min(a.width, b.width)
    if smaller <= 0 or larger > 2 * smaller:
        return False
    distance = math.hypot(a.center_x - b.center_x, a.center_y - b.center_y)
    return distance < SAME_PERSON_DISTANCE * larger


@dataclass
class Track:
    """One followed person."""

    slot: int
    """0-based; the person's instance id is ``slot + 1``."""
    roi: Roi
    score: float
    """Detector score when found, then the landmark model's presence score."""


class PersonTracker:
    """Slots, regions and the re-detection schedule of the people in view."""

    def __init__(self, redetect_interval: int = 10) -> None:
        self.redetect_interval = redetect_interval
        self.tracks: list[Track] = []
        self._frame = -1
        """Frames since the last reset, counting from 0 (-1 before the first)."""
        self._detect_next = False
        self._image_size: tuple[int, int] | None = None

    def reset(self) -> None:
        """Forget everybody: the next frame runs a full search."""
        self.tracks = []
        self._frame = -1
        self._image_size = None

    def start_frame(self, image_size: tuple[int, int]) -> None:
        """Begin a frame; a change of frame size forgets everybody."""
        if image_size != self._image_size:
            self.reset()
            self._image_size = image_size
        self._frame += 1

    def search_views(self, count: int) -> range:
        """Which of a search's ``count`` views (0 = the whole frame, then tiles) run this frame.

        The first frame after a reset runs them all: a still image needs the whole search at
        once. From frame ``redetect_interval`` on, each stretch of ``redetect_interval`` frames
        runs every view once, spread evenly, so that no frame carries the whole search.
        """
        interval = self.redetect_interval
        if self._frame <= 0:
            return range(count)
        if self._frame < interval:
            return range(0)
        step = self._frame % interval
        return range(step * count // interval, (step + 1) * count // interval)

    def needs_detection(self) -> bool:
        """True when the detector must run on the whole frame: nobody followed, or asked for."""
        return not self.tracks or self._detect_next

    def detected(self) -> None:
        """The detector ran on the whole frame."""
        self._detect_next = False

    def request_detection(self) -> None:
        """Run the detector on the whole next frame (the search stays on its schedule)."""
        self._detect_next = True

    def add_detections(
        self, candidates: Sequence[tuple[Roi, float]], max_people: int
    ) -> list[Track]:
        """Start following the detected people who are not followed yet.

        Args:
            candidates: (region, score) per detection, best first.
            max_people: total number of people to follow at most.

        Returns:
            The new tracks (each got the lowest free slot, best detection first).
        """
        new: list[Track] = []
        for roi, score in candidates:
            if len(self.tracks) >= max_people:
                break
            if any(same_person(roi, track.roi) for track in self.tracks):
                continue
            track = Track(self._free_slot(), roi, score)
            self.tracks.append(track)
            new.append(track)
        return new

    def update(self, track: Track, roi: Roi | None, score: float) -> None:
        """Record a track's outcome on this frame: its next region, or None when lost."""
        if roi is None:
            self.tracks = [t for t in self.tracks if t is not track]
            return
        track.roi = roi
        track.score = score

    def drop_duplicates(self) -> None:
        """Two tracks that converged on one person: keep the lower slot."""
        kept: list[Track] = []
        for track in sorted(self.tracks, key=lambda t: t.slot):
            if not any(same_person(track.roi, other.roi) for other in kept):
                kept.append(track)
        self.tracks = kept

    def trim(self, max_people: int) -> None:
        """Follow at most ``max_people`` (the lowest slots) after the limit was lowered."""
        self.tracks = sorted(self.tracks, key=lambda t: t.slot)[:max_people]

    def _free_slot(self) -> int:
        used = {track.slot for track in self.tracks}
        slot = 0
        while slot in used:
            slot += 1
        return slot
