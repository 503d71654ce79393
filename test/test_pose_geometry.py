# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""The pure parts of pose_segmentation on synthetic arrays: anchors, decoding, suppression,
regions, warps and the tracker (no model, no OpenVINO)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from selfie_seg_ros.engine.pose.anchors import generate_anchors
from selfie_seg_ros.engine.pose.detector import (
    Detection,
    decode_boxes,
    decode_detections,
    remove_letterbox,
    scores_from_logits,
    weighted_nms,
)
from selfie_seg_ros.engine.pose.people import (
    HIDE_MARGIN,
    HIDE_VALUE,
    PersonResult,
    compose_people,
    hide_person,
)
from selfie_seg_ros.engine.pose.roi import (
    Roi,
    crop,
    crop_matrix,
    detection_views,
    letterbox_roi,
    normalize_radians,
    roi_from_points,
    tensor_to_frame_points,
    tile_grid,
    warp_to_frame,
)
from selfie_seg_ros.engine.pose.tracking import PersonTracker, Track, same_person


def test_anchors_match_the_detector_output_count_and_grid() -> None:
    anchors = generate_anchors()
    assert anchors.shape == (2254, 4)  # 28*28*2 + 14*14*2 + 7*7*6
    assert np.all(anchors[:, 2:] == 1.0)  # fixed anchor size
    # Stride 8: a 28x28 grid, two anchors per cell, centres at (x + 0.5) / 28.
    assert anchors[0, :2] == pytest.approx([0.5 / 28, 0.5 / 28])
    assert anchors[2, :2] == pytest.approx([1.5 / 28, 0.5 / 28])
    assert anchors[1567, :2] == pytest.approx([27.5 / 28, 27.5 / 28])
    # Stride 16 follows, then the three stride-32 layers share one 7x7 map with 6 anchors a cell.
    assert anchors[1568, :2] == pytest.approx([0.5 / 14, 0.5 / 14])
    assert anchors[1960, :2] == pytest.approx([0.5 / 7, 0.5 / 7])
    assert np.all(anchors[1960:1966, :2] == anchors[1960, :2])
    assert anchors[-1, :2] == pytest.approx([6.5 / 7, 6.5 / 7])


def test_decoding_offsets_are_input_pixels_around_the_anchor() -> None:
    anchors = np.float32([[0.25, 0.5, 1.0, 1.0]])
    raw = np.zeros((1, 12), np.float32)
    raw[0, :4] = [22.4, -44.8, 56.0, 112.0]  # +0.1, -0.2 of the input; 0.25 x 0.5 in size
    raw[0, 4:6] = [0.0, 22.4]
    boxes, keypoints = decode_boxes(raw, anchors)
    centre = np.float32([0.35, 0.3])
    assert boxes[0] == pytest.approx([*(centre - [0.125, 0.25]), *(centre + [0.125, 0.25])])
    assert keypoints[0, 0] == pytest.approx([0.25, 0.6])
    assert keypoints[0, 1] == pytest.approx([0.25, 0.5])  # zero offset = the anchor centre


def test_scores_are_clipped_sigmoids() -> None:
    scores = scores_from_logits(np.float32([0.0, 1e6, -1e6, 2.0]))
    assert scores == pytest.approx([0.5, 1.0, 0.0, 1 / (1 + math.exp(-2.0))])


def test_weighted_nms_averages_a_cluster_and_keeps_separate_people() -> None:
    boxes = np.float32([[0.1, 0.1, 0.3, 0.3], [0.12, 0.1, 0.32, 0.3], [0.6, 0.6, 0.8, 0.8]])
    keypoints = np.zeros((3, 4, 2), np.float32)
    keypoints[:, 0] = [[0.2, 0.5], [0.3, 0.5], [0.7, 0.9]]
    scores = np.float32([0.9, 0.3, 0.6])
    detections = weighted_nms(boxes, keypoints, scores)
    assert [d.score for d in detections] == pytest.approx([0.9, 0.6])
    # Score-weighted mean of the two overlapping boxes: 0.75 * first + 0.25 * second.
    assert detections[0].box == pytest.approx([0.105, 0.1, 0.305, 0.3])
    assert detections[0].keypoints[0] == pytest.approx([0.225, 0.5])
    assert detections[1].box == pytest.approx(boxes[2])


def test_letterbox_removal_and_detection_threshold() -> None:
    detection = Detection(np.float32([0.25, 0.25, 0.75, 0.5]), np.full((4, 2), 0.5, np.float32),
                          0.9)
    unpadded = remove_letterbox(detection, (0.0, 0.25, 0.0, 0.25))
    assert unpadded.box == pytest.approx([0.25, 0.0, 0.75, 0.5])
    assert unpadded.keypoints[0] == pytest.approx([0.5, 0.5])
    anchors = generate_anchors()
    logits = np.full((1, len(anchors), 1), -5.0, np.float32)
    assert decode_detections(np.zeros((1, len(anchors), 12)), logits, anchors) == []
    logits[0, 100, 0] = 3.0
    found = decode_detections(np.zeros((1, len(anchors), 12)), logits, anchors)
    assert len(found) == 1 and found[0].score == pytest.approx(1 / (1 + math.exp(-3.0)))
    with pytest.raises(ValueError, match='scores for'):
        decode_detections(np.zeros((1, 10, 12)), np.zeros((1, 10, 1)), anchors)


def test_letterbox_roi_pads_the_short_side_equally() -> None:
    roi, padding = letterbox_roi((1280, 720), (224, 224))
    assert (roi.width, roi.height, roi.rotation) == (1280, 1280, 0.0)
    assert padding == pytest.approx((0.0, 0.21875, 0.0, 0.21875))
    frame = np.full((720, 1280, 3), 200, np.uint8)
    tensor = crop(frame, roi, (224, 224), cv2.BORDER_CONSTANT)
    rows = tensor[:, 112, 0]
    assert np.all(rows[:48] == 0) and np.all(rows[50:174] == 200) and np.all(rows[176:] == 0)


def test_region_from_alignment_points_follows_mediapipe() -> None:
    size = (640, 480)
    # Upright person: the full-body point straight above the hip centre.
    upright = roi_from_points(np.float32([0.5, 0.75]), np.float32([0.5, 0.25]), size)
    assert (upright.center_x, upright.center_y) == pytest.approx((320, 360))
    assert upright.width == upright.height == pytest.approx(2 * 240 * 1.25)
    assert upright.rotation == pytest.approx(0.0)
    # Lying with the head to the right: turned a quarter clockwise on screen.
    lying = roi_from_points(np.float32([0.25, 0.5]), np.float32([0.5, 0.5]), size)
    assert lying.rotation == pytest.approx(math.pi / 2)
    assert lying.width == pytest.approx(2 * 160 * 1.25)
    assert normalize_radians(3 * math.pi) == pytest.approx(-math.pi)
    assert normalize_radians(-math.pi / 2) == pytest.approx(-math.pi / 2)


def test_crop_puts_the_head_up_and_warps_back_where_it_came_from() -> None:
    frame = np.zeros((400, 400, 3), np.uint8)
    cv2.circle(frame, (300, 200), 12, (255, 255, 255), -1)  # "head" right of the hip centre
    roi = roi_from_points(np.float32([0.5, 0.5]), np.float32([0.75, 0.5]), (400, 400))
    tensor = crop(frame, roi, (256, 256), cv2.BORDER_REPLICATE)
    ys, xs = np.nonzero(tensor[..., 0] > 128)
    # The head lands straight above the tensor centre: 100 px of a 250 px region (2 x 1.25 x 100).
    assert xs.mean() == pytest.approx(128, abs=1.5)
    assert ys.mean() == pytest.approx(128 - 256 * 100 / 250, abs=1.5)
    # Points and planes go back through the inverse of the same matrix.
    back = tensor_to_frame_points(np.float32([[xs.mean(), ys.mean()]]), roi, (256, 256))
    assert back[0] == pytest.approx([300, 200], abs=1.5)
    plane = (tensor[..., 0] > 128).astype(np.float32)
    restored = warp_to_frame(plane, roi, (400, 400))
    original = frame[..., 0] > 128
    overlap = np.count_nonzero((restored >= 0.5) & original)
    assert overlap / np.count_nonzero(original | (restored >= 0.5)) > 0.9
    assert crop_matrix(roi, (256, 256)).shape == (2, 3)


def test_unusable_regions_are_recognised() -> None:
    assert Roi(1.0, 2.0, 3.0, 3.0, 0.1).usable()
    assert not Roi(float('nan'), 2.0, 3.0, 3.0, 0.0).usable()
    assert not Roi(1.0, 2.0, float('inf'), 3.0, 0.0).usable()
    assert not Roi(1.0, 2.0, 0.0, 0.0, 0.0).usable()  # both alignment points on one pixel


def test_region_corners_outside_the_frame_read_as_border() -> None:
    frame = np.full((100, 100, 3), 50, np.uint8)
    roi = Roi(0.0, 0.0, 100.0, 100.0, 0.0)  # three quarters outside
    zeros = crop(frame, roi, (64, 64), cv2.BORDER_CONSTANT)
    assert zeros[0, 0, 0] == 0 and zeros[63, 63, 0] == 50
    assert np.all(crop(frame, roi, (64, 64), cv2.BORDER_REPLICATE) == 50)


def _roi(x: float, y: float, side: float = 200.0) -> Roi:
    return Roi(x, y, side, side, 0.0)


def test_same_person_is_about_centres_not_overlap() -> None:
    assert same_person(_roi(100, 100), _roi(110, 105))
    # Neighbours' regions overlap most of each other, yet they are two people.
    assert not same_person(_roi(100, 100), _roi(160, 100))
    # A much smaller region around the same point is somebody further away.
    assert not same_person(_roi(100, 100), _roi(100, 100, 60.0))


def test_tracker_slots_and_losses() -> None:
    tracker = PersonTracker(redetect_interval=3)
    tracker.start_frame((640, 480))
    assert tracker.needs_detection()
    new = tracker.add_detections([(_roi(100, 100), 0.9), (_roi(105, 100), 0.8),
                                  (_roi(400, 100), 0.7), (_roi(600, 100), 0.6)], max_people=2)
    assert [t.slot for t in new] == [0, 1]  # the duplicate is skipped, the limit holds
    assert [t.roi.center_x for t in new] == [100, 400]
    tracker.start_frame((640, 480))
    assert not tracker.needs_detection()
    # Losing person 1 frees slot 0: the next person found takes it; person 2 keeps slot 1.
    tracker.update(tracker.tracks[0], None, 0.1)
    assert [t.slot for t in tracker.tracks] == [1]
    added = tracker.add_detections([(_roi(300, 300), 0.9)], max_people=2)
    assert added[0].slot == 0
    tracker.update(added[0], _roi(402, 101), 0.9)  # converged on person 2
    tracker.drop_duplicates()
    assert [t.slot for t in tracker.tracks] == [0]
    tracker.trim(0)
    assert tracker.tracks == []
    tracker.add_detections([(_roi(1, 1), 0.9)], 1)
    tracker.start_frame((640, 480))
    assert not tracker.needs_detection()
    tracker.request_detection()
    assert tracker.needs_detection()
    tracker.detected()
    assert not tracker.needs_detection()
    tracker.start_frame((320, 240))  # a new frame size forgets everybody
    assert tracker.tracks == [] and tracker.needs_detection()


@pytest.mark.parametrize(('interval', 'count'), [(10, 11), (10, 5), (3, 11), (1, 11), (7, 1)])
def test_a_search_is_spread_over_the_interval(interval: int, count: int) -> None:
    tracker = PersonTracker(redetect_interval=interval)
    per_frame = []
    for _ in range(1 + 4 * interval):
        tracker.start_frame((640, 480))
        per_frame.append(list(tracker.search_views(count)))
    # The first frame searches everything at once (a still image); then nothing until the
    # interval has passed, as before a search was spread.
    assert per_frame[0] == list(range(count))
    assert all(views == [] for views in per_frame[1:interval])
    # Afterwards every stretch of `interval` frames runs each view once, in order, and no frame
    # runs more than its share.
    for start in range(interval, 4 * interval, interval):
        stretch = per_frame[start:start + interval]
        assert [v for views in stretch for v in views] == list(range(count))
        assert max(len(views) for views in stretch) <= -(-count // interval)
    tracker.reset()
    tracker.start_frame((640, 480))
    assert list(tracker.search_views(count)) == list(range(count))


def test_tiles_cover_the_frame_with_overlap() -> None:
    tiles = tile_grid((1280, 720), 480, 192)
    assert {side for _, _, side in tiles} == {480}
    xs = sorted({x for x, _, _ in tiles})
    ys = sorted({y for _, y, _ in tiles})
    assert xs[0] == 0 and xs[-1] + 480 == 1280 and ys == [0, 240]
    assert all(b - a <= 480 - 192 for a, b in zip(xs, xs[1:], strict=False))
    assert tile_grid((300, 200), 480, 10) == [(0, 0, 200), (100, 0, 200)]
    assert detection_views((1280, 720), 1) == []
    two = detection_views((1280, 720), 2)
    assert two == [(0, 0, 720), (560, 0, 720)]
    three = detection_views((1280, 720), 3)
    assert three[:2] == two and len(three) == len(set(three)) > 2
    # A square frame's short-side tile is the whole frame: not searched twice.
    assert (0, 0, 512) not in detection_views((512, 512), 3)


def _result(slot: int, window: tuple[int, int, int, int], plane: np.ndarray) -> PersonResult:
    roi = Roi(0.0, 0.0, 1.0, 1.0, 0.0)
    return PersonResult(Track(slot, roi, 1.0), roi, 1.0, 1.0, window, plane, roi)


def test_people_are_composed_per_pixel_by_the_most_likely_person() -> None:
    rng = np.random.default_rng(3)
    size = (160, 120)
    results = [_result(0, (10, 20, 110, 100), rng.random((80, 100), np.float32)),
               _result(3, (50, 0, 160, 90), rng.random((90, 110), np.float32)),
               _result(1, (0, 0, 160, 120), np.zeros((0, 0), np.float32))]
    results[2].window = None  # outside the frame: contributes nothing
    best, instances = compose_people(results, size)
    # The plain numpy reference: boolean-mask assignment, person by person.
    expected_best = np.zeros((120, 160), np.float32)
    expected_ids = np.zeros((120, 160), np.uint8)
    for result in results[:2]:
        left, top, right, bottom = result.window
        region = expected_best[top:bottom, left:right]
        wins = result.plane > region
        region[wins] = result.plane[wins]
        expected_ids[top:bottom, left:right][wins] = result.track.slot + 1
    np.testing.assert_array_equal(best, expected_best)
    np.testing.assert_array_equal(instances, expected_ids)
    assert set(np.unique(instances)) == {0, 1, 4}


def test_a_hidden_person_is_painted_mid_grey_with_a_margin() -> None:
    plane = np.zeros((60, 50), np.float32)
    plane[20:40, 15:30] = 0.9
    canvas = np.random.default_rng(4).integers(0, 255, (100, 120, 3), np.uint8)
    before = canvas.copy()
    hide_person(canvas, _result(0, (30, 25, 80, 85), plane))
    half = HIDE_MARGIN // 2
    grey = np.zeros((100, 120), bool)
    grey[25 + 20 - half:25 + 40 + half, 30 + 15 - half:30 + 30 + half] = True
    assert (canvas[grey] == HIDE_VALUE).all()
    np.testing.assert_array_equal(canvas[~grey], before[~grey])
