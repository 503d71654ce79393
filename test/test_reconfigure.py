# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""A parameter change is judged as a whole before anything is applied (pure, no ROS)."""

from __future__ import annotations

from selfie_seg_ros.ros.reconfigure import (
    ModelConfig,
    Running,
    check_change,
    expected_labels,
)

CURRENT = {'model': 'selfie_segmentation', 'model_labels': [], 'device': 'CPU',
           'precision': 'auto', 'foreground_classes': []}
RUNNING = Running(ModelConfig.from_values(CURRENT), ('background', 'person'))


def test_a_model_change_with_classes_of_the_new_model_is_accepted():
    change = {'model': 'selfie_multiclass_256x256', 'foreground_classes': ['hair', 'face-skin']}
    assert check_change(change, CURRENT, running=RUNNING) is None


def test_classes_the_new_model_lacks_refuse_the_whole_change():
    change = {'model': 'hair_segmenter', 'foreground_classes': ['person']}
    reason = check_change(change, CURRENT, running=RUNNING)
    assert reason and 'hair_segmenter' in reason and 'person' in reason


def test_a_model_alone_must_fit_the_classes_in_force():
    current = {**CURRENT, 'foreground_classes': ['person']}
    reason = check_change({'model': 'hair_segmenter'}, current, running=RUNNING)
    assert reason and 'person' in reason
    assert check_change({'model': 'selfie_segmentation_landscape'}, current,
                        running=RUNNING) is None


def test_classes_alone_are_judged_against_the_running_model():
    assert check_change({'foreground_classes': ['person']}, CURRENT, running=RUNNING) is None
    reason = check_change({'foreground_classes': ['2']}, CURRENT, running=RUNNING)
    assert reason and 'out of range' in reason


def test_label_count_of_the_running_model_is_known_at_once():
    reason = check_change({'model_labels': ['a', 'b', 'c']}, CURRENT, running=RUNNING)
    assert reason and '2 classes' in reason
    assert check_change({'model_labels': ['bg', 'human']}, CURRENT, running=RUNNING) is None


def test_a_local_file_without_labels_defers_class_names_to_the_build(tmp_path):
    model = tmp_path / 'mine.tflite'
    model.write_bytes(b'TFL3')
    change = {'model': str(model), 'foreground_classes': ['anything']}
    assert check_change(change, CURRENT, running=RUNNING) is None
    with_labels = {**change, 'model_labels': ['bg', 'thing']}
    assert 'anything' in check_change(with_labels, CURRENT, running=RUNNING)


def test_single_values_are_still_checked():
    assert 'TPU' in check_change({'device': 'TPU'}, CURRENT, running=RUNNING,
                                 available_devices=['CPU'])
    assert 'does not exist' in check_change({'model': '/no/such.tflite'}, CURRENT)
    assert check_change({'foreground_classes': 'person'}, CURRENT) is not None
    assert check_change({'threshold': 2.0}, CURRENT) is not None


def test_before_configure_the_catalogue_labels_judge_the_classes():
    assert check_change({'foreground_classes': ['hair']},
                        {**CURRENT, 'model': 'selfie_multiclass_256x256'}) is None
    assert check_change({'foreground_classes': ['wings']},
                        {**CURRENT, 'model': 'selfie_multiclass_256x256'}) is not None


def test_expected_labels():
    assert expected_labels(ModelConfig('x.tflite', ('a', 'b'), 'CPU', 'auto'), None) == ('a', 'b')
    assert expected_labels(ModelConfig('x.tflite', (), 'CPU', 'auto'), None) is None
    assert expected_labels(RUNNING.config, RUNNING) == ('background', 'person')


def test_an_effect_and_its_strength_are_judged_together():
    current = {**CURRENT, 'effect': 'blur_people', 'blur_strength': 55,
               'background_color': [0, 177, 64]}
    reason = check_change({'blur_strength': 3}, current, running=RUNNING)
    assert reason and 'too weak to anonymise' in reason
    assert check_change({'blur_strength': 3, 'effect': 'blur'}, current, running=RUNNING) is None
    assert check_change({'effect': 'pixelate_people'}, current, running=RUNNING) is None
