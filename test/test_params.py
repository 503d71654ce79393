# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Node parameters: the table, pure validation, device strings, descriptors, a real rclpy Node."""

from __future__ import annotations

import array
import os
import re

import cv2
import numpy as np
import pytest
from bombs import png_bomb

from selfie_seg_ros.engine.catalog import CATALOG, MULTICLASS_LABELS
from selfie_seg_ros.engine.catalog import resolve_classes as parse_foreground_classes
from selfie_seg_ros.engine.devices import DEVICE_FORMS, valid_device
from selfie_seg_ros.ros import params
from selfie_seg_ros.ros.params import (
    PARAMS,
    descriptor,
    get_spec,
    parse_rgb,
    validate,
)

# The contract with the launch file and config/: name, type, default, read-only.
TABLE = {
    'model': ('string', 'selfie_multiclass_256x256', False),
    'model_labels': ('string_array', (), False),
    'device': ('string', 'CPU', False),
    'performance_hint': ('string', 'LATENCY', True),
    'precision': ('string', 'auto', False),
    'effect': ('string', 'blur', False),
    'blur_strength': ('integer', 55, False),
    'background_color': ('integer_array', (0, 177, 64), False),
    'background_image': ('string', '', False),
    'max_pixels': ('integer', 8192 * 8192, False),
    'overlay_alpha': ('double', 0.5, False),
    'jpeg_quality': ('integer', 90, False),
    'foreground_classes': ('string_array', (), False),
    'threshold': ('double', 0.5, False),
    'resize_mode': ('string', 'auto', False),
    'smoothing': ('double', 0.0, False),
    'max_people': ('integer', 6, False),
    'redetect_interval': ('integer', 10, False),
    'detection_levels': ('integer', 3, False),
    'detection_threshold': ('double', 0.5, False),
    'model_cache_dir': ('string', '', True),
    'allow_download': ('bool', True, False),
    'compressed_input': ('bool', False, True),
    'labels': ('string_array', (), True),
    'autostart': ('bool', True, True),
    'max_latency_ms': ('double', 100.0, False),
    'max_drop_rate': ('double', 0.5, False),
}
RANGES = {
    'blur_strength': (1, 301), 'overlay_alpha': (0.0, 1.0), 'threshold': (0.0, 1.0),
    'smoothing': (0.0, 0.95), 'max_latency_ms': (1.0, 10000.0), 'max_drop_rate': (0.0, 1.0),
    'jpeg_quality': (1, 100),
    'max_people': (1, 32), 'redetect_interval': (1, 1000), 'detection_levels': (1, 3),
    'detection_threshold': (0.1, 1.0),
    'max_pixels': (1, 1 << 28),
}
LABELS = MULTICLASS_LABELS


def test_specs_match_the_parameter_table():
    assert [spec.name for spec in PARAMS] == list(TABLE)
    for spec in PARAMS:
        assert (spec.kind, spec.default, spec.read_only) == TABLE[spec.name], spec.name
        assert spec.range == RANGES.get(spec.name), spec.name
        assert spec.description.strip(), spec.name
        assert validate(spec.name, spec.default) is None, spec.name
    assert get_spec('effect').choices == ('blur', 'replace', 'none', 'blur_people',
                                          'pixelate_people')
    with pytest.raises(KeyError, match="unknown parameter 'efect'; known: model, model_labels"):
        get_spec('efect')


@pytest.mark.parametrize(('name', 'good', 'bad', 'reason'), [
    ('blur_strength', [1, 55, 301, np.int64(9)], [0, 302, -5],
     r'blur_strength must be in 1\.\.301, got'),
    ('overlay_alpha', [0.0, 0.25, 1.0, 1], [-0.01, 1.5, float('nan')],
     r'overlay_alpha must be in 0\.0\.\.1\.0'),
    ('threshold', [0.0, 0.5, 1.0], [1.01, -1.0], r'threshold must be in 0\.0\.\.1\.0'),
    ('smoothing', [0.0, 0.95, 0.5], [0.96, 1.0, -0.1], r'smoothing must be in 0\.0\.\.0\.95'),
    ('max_latency_ms', [1.0, 100.0, 10000.0], [0.5, 10001.0],
     r'max_latency_ms must be in 1\.0\.\.10000\.0'),
    ('max_drop_rate', [0.0, 1.0], [1.5, -0.5], r'max_drop_rate must be in 0\.0\.\.1\.0'),
    ('effect', ['blur', 'replace', 'none', 'blur_people', 'pixelate_people'],
     ['sepia', 'Blur', '', 'blur-people'],
     r'effect must be one of blur, replace, none, blur_people, pixelate_people; got'),
    ('jpeg_quality', [1, 90, 100], [0, 101, 2.5], r'jpeg_quality must be'),
    ('resize_mode', ['auto', 'letterbox', 'stretch'], ['crop', 'AUTO'],
     r'resize_mode must be one of auto, letterbox, stretch'),
    ('performance_hint', ['LATENCY', 'THROUGHPUT'], ['latency', 'CUMULATIVE_THROUGHPUT'],
     r'performance_hint must be one of LATENCY, THROUGHPUT'),
    ('background_color', [[0, 0, 0], (255, 255, 255), array.array('q', [1, 2, 3])],
     [[0, 0], [0, 0, 0, 0], [256, 0, 0], [-1, 0, 0]], r'background_color: (an RGB colour|RGB)'),
    ('foreground_classes', [[], ['hair'], ['face_skin', 'Clothes'], ['1', '5']],
     [['hat'], ['6'], ['']], r'foreground_classes: '),
    ('compressed_input', [True, False], [1, 'true'], r'compressed_input must be a bool'),
    ('allow_download', [True, False], [0, None], r'allow_download must be a bool'),
    ('labels', [[], ['background', 'person']], [[1, 2], 'person'],
     r'labels must be a list of strings'),
    ('device', ['CPU', 'GPU.1', 'AUTO', 'AUTO:GPU,CPU', 'MULTI:GPU,CPU', 'BATCH:GPU(4)'],
     ['TPU?', 'cpu', 'AUTO:', 'HETERO', 'FOO:CPU'], r"device '|invalid device"),
    ('model_cache_dir', ['', '/nonexistent/cache/dir'], [__file__], r'is not a directory'),
])
def test_validate_good_and_bad_values(name, good, bad, reason):
    for value in good:
        assert validate(name, value, labels=LABELS) is None, (name, value)
    for value in bad:
        result = validate(name, value, labels=LABELS)
        assert result is not None, (name, value)
        assert re.search(reason, result), result


@pytest.mark.parametrize(('name', 'value', 'reason'), [
    ('blur_strength', 5.0, 'blur_strength must be an integer, got 5.0'),
    ('blur_strength', True, 'blur_strength must be an integer, got True'),
    ('overlay_alpha', '0.5', "overlay_alpha must be a number, got '0.5'"),
    ('effect', 3, 'effect must be a string, got 3'),
    ('background_color', [0.0, 1.0, 2.0],
     'background_color must be a list of integers, got [0.0, 1.0, 2.0]'),
    ('foreground_classes', 'hair', "foreground_classes must be a list of strings, got 'hair'"),
    ('background_color', [0, 300, 0], 'background_color: RGB values must be in 0..255, got '
                                      '[0, 300, 0]'),
    ('background_color', [0, 0], 'background_color: an RGB colour needs 3 integers [R, G, B], '
                                 'got [0, 0]'),
])
def test_validate_reason_texts(name, value, reason):
    assert validate(name, value) == reason


def test_validate_ignores_parameters_it_does_not_own():
    assert validate('use_sim_time', 'anything') is None


def test_validate_device_with_and_without_known_devices():
    assert validate('device', 'GPU') is None  # devices unknown: the form is fine
    assert validate('device', 'GPU', available_devices=['CPU']) == (
        "device 'GPU' is not available; available devices: CPU")
    assert validate('device', 'gpu') == (
        "invalid device 'gpu' (device names are upper case: 'GPU'); expected "
        + DEVICE_FORMS)


@pytest.mark.parametrize(('device', 'available', 'ok'), [
    ('CPU', ['CPU'], True),
    ('GPU', ['CPU', 'GPU.0', 'GPU.1'], True),
    ('GPU', ['CPU', 'GPU'], True),
    ('GPU.0', ['CPU', 'GPU'], True),
    ('GPU.1', ['CPU', 'GPU'], False),
    ('GPU.1', ['CPU', 'GPU.0', 'GPU.1'], True),
    ('GPU.2', ['CPU', 'GPU.0', 'GPU.1'], False),
    ('GPU', ['CPU'], False),
    ('NPU', ['CPU', 'GPU.0', 'GPU.1', 'NPU'], True),
    ('NPU', ['CPU', 'GPU'], False),
    ('AUTO', ['CPU'], True),
    ('AUTO', [], False),
    ('AUTO:GPU,CPU', ['CPU', 'GPU'], True),
    ('AUTO:GPU,CPU', ['CPU'], False),
    ('AUTO:-GPU', ['CPU'], True),
    ('AUTO:-CPU,-GPU', ['CPU'], False),
    ('AUTO:-GPU.1', ['GPU.0', 'GPU.1'], True),
    ('AUTO:GPU,-CPU', ['CPU', 'GPU'], True),
    ('HETERO:GPU,CPU', ['CPU', 'GPU.0'], True),
    ('HETERO:GPU,CPU', ['CPU'], False),
    ('MULTI:GPU.1,CPU', ['CPU', 'GPU.0', 'GPU.1'], True),
    ('MULTI:GPU,NPU', ['CPU', 'GPU'], False),
    ('BATCH:GPU(4)', ['CPU', 'GPU'], True),
    ('BATCH:GPU', ['CPU', 'GPU'], True),
    ('BATCH:GPU(4)', ['CPU'], False),
    ('BATCH:GPU(0)', ['CPU', 'GPU'], False),
    ('BATCH:GPU,CPU', ['CPU', 'GPU'], False),
    ('HETERO', ['CPU', 'GPU'], False),
    ('MULTI:', ['CPU'], False),
    ('AUTO:GPU,,CPU', ['CPU', 'GPU'], False),
    ('AUTO:AUTO', ['CPU'], False),
    ('TPU', ['CPU'], False),
    ('cpu', ['CPU'], False),
    ('', ['CPU'], False),
    ('CPU; rm -rf /', ['CPU'], False),
])
def test_valid_device_matrix(device, available, ok):
    result = valid_device(device, available)
    assert (result is None) == ok, result
    if result is not None:
        assert device in result or repr(device) in result or 'available' in result


def test_valid_device_reasons_list_the_available_devices():
    assert valid_device('TPU', ['CPU']) == "device 'TPU' is not available; available devices: CPU"
    assert valid_device('AUTO:GPU,CPU', ['CPU', 'NPU']) == (
        "device 'GPU' (in 'AUTO:GPU,CPU') is not available; available devices: CPU, NPU")
    assert valid_device('AUTO', []) == (
        "device 'AUTO': no OpenVINO device is available; available: none")
    assert valid_device('AUTO:-GPU', ['GPU.0', 'GPU.1']) == (
        "device 'AUTO:-GPU': no OpenVINO device is available; available: GPU.0, GPU.1")
    assert valid_device('HETERO', ['CPU']) == (
        "device 'HETERO': HETERO needs devices, e.g. HETERO:GPU,CPU; available devices: CPU")
    assert valid_device(4, ['CPU']) == 'device must be a string, got 4'


def test_parse_foreground_classes_by_name_and_id():
    assert parse_foreground_classes(['hair', 'face-skin'], LABELS) == (1, 3)
    assert parse_foreground_classes(['Face_Skin', ' body skin '], LABELS) == (2, 3)
    assert parse_foreground_classes(['5', '1', 'hair'], LABELS) == (1, 5)
    assert parse_foreground_classes(['0'], LABELS) == (0,)
    assert parse_foreground_classes([], LABELS) == ()
    assert parse_foreground_classes(['7'], []) == (7,)  # labels unknown: ids unchecked


@pytest.mark.parametrize(('values', 'labels', 'reason'), [
    (['hat'], LABELS, "unknown foreground class 'hat'; labels: 0 background, 1 hair, "
                      '2 body-skin, 3 face-skin, 4 clothes, 5 others'),
    (['6'], LABELS, 'foreground class id 6 is out of range; the model has 6 classes: '
                    '0 background'),
    (['-1'], LABELS, "unknown foreground class '-1'"),
    (['hair'], [], "foreground class 'hair' is a name but the model labels are not known"),
    ([''], LABELS, "foreground class '' must be a non-empty string"),
    ([1], LABELS, 'foreground class 1 must be a non-empty string'),
    ('hair', LABELS, "foreground classes must be a list of strings, got 'hair'"),
])
def test_parse_foreground_classes_rejects_with_reason(values, labels, reason):
    with pytest.raises(ValueError, match='^' + re.escape(reason)):
        parse_foreground_classes(values, labels)


def test_parse_rgb():
    assert parse_rgb([0, 177, 64]) == (0, 177, 64)
    assert parse_rgb(array.array('q', [255, 0, 1])) == (255, 0, 1)
    assert parse_rgb(np.array([1, 2, 3])) == (1, 2, 3)
    assert all(type(v) is int for v in parse_rgb(np.array([1, 2, 3])))
    for bad in ([1, 2], [1, 2, 3, 4], [1.0, 2, 3], [True, 0, 0], 'abc', [0, 0, 256], [-1, 0, 0],
                None):
        with pytest.raises(ValueError):
            parse_rgb(bad)


def test_validate_model(tmp_path):
    tflite = tmp_path / 'person.tflite'
    tflite.write_bytes(b'TFL3')
    ir = tmp_path / 'seg.xml'
    ir.write_text('<net/>')
    folder = tmp_path / 'folder.onnx'
    folder.mkdir()
    for model_id in CATALOG:
        assert validate('model', model_id) is None
    assert validate('model', str(tflite)) is None
    assert validate('model', str(ir)) == (
        f"OpenVINO IR '{ir}' needs its weights file '{tmp_path / 'seg.bin'}' next to it")
    (tmp_path / 'seg.bin').write_bytes(b'\0')
    assert validate('model', str(ir)) is None
    assert validate('model', '') == (
        f'model must not be empty; give a catalogue id ({", ".join(CATALOG)}) or a file')
    assert validate('model', '   ').startswith('model must not be empty')
    assert validate('model', 'selfie').startswith(
        "model: unknown model id 'selfie'; known ids: selfie_multiclass_256x256")
    assert validate('model', str(tmp_path / 'missing.onnx')) == (
        f"model file '{tmp_path / 'missing.onnx'}' does not exist")
    assert validate('model', str(folder)) == f"model file '{folder}' does not exist (a directory)"
    assert validate('model', 'frozen.pb') == (
        "model file 'frozen.pb' has an unsupported type '.pb'; expected .tflite, .xml "
        '(OpenVINO IR) or .onnx')
    assert validate('model', str(tmp_path)).startswith(
        f"model file '{tmp_path}' has an unsupported type '(none)'")


def test_validate_background_image(tmp_path):
    good = tmp_path / 'beach.png'
    cv2.imwrite(str(good), np.full((8, 8, 3), 200, np.uint8))
    fake = tmp_path / 'fake.jpg'
    fake.write_text('not an image')
    assert validate('background_image', '') is None
    assert validate('background_image', str(good)) is None
    assert validate('background_image', str(tmp_path / 'missing.png')) == (
        f"background_image '{tmp_path / 'missing.png'}' does not exist or is not a file")
    assert validate('background_image', str(fake)) == (
        f"background_image '{fake}' could not be read: not an image in a known format "
        '(JPEG, PNG, WebP, BMP, TIFF, ...)')


def test_validate_background_image_reads_only_the_header_against_max_pixels(tmp_path):
    bomb = tmp_path / 'bomb.png'
    bomb.write_bytes(png_bomb(20000, 20000))
    reason = validate('background_image', str(bomb))
    assert 'background_image' in reason and 'pixels' in reason and 'max_pixels' in reason
    small = tmp_path / 'small.png'
    cv2.imwrite(str(small), np.full((8, 10, 3), 200, np.uint8))
    assert validate('background_image', str(small), max_pixels=80) is None
    assert '10x8' in validate('background_image', str(small), max_pixels=79)


def test_descriptors_carry_description_read_only_ranges_and_choices():
    from rclpy.parameter import Parameter

    kinds = {'string': Parameter.Type.STRING, 'integer': Parameter.Type.INTEGER,
             'double': Parameter.Type.DOUBLE, 'bool': Parameter.Type.BOOL,
             'integer_array': Parameter.Type.INTEGER_ARRAY,
             'string_array': Parameter.Type.STRING_ARRAY}
    for spec in PARAMS:
        desc = descriptor(spec)
        assert desc.name == spec.name
        assert desc.description == spec.description
        assert desc.read_only == spec.read_only
        assert desc.type == kinds[spec.kind].value
        assert not desc.dynamic_typing
    blur = descriptor(get_spec('blur_strength'))
    assert (blur.integer_range[0].from_value, blur.integer_range[0].to_value) == (1, 301)
    assert not blur.floating_point_range
    smoothing = descriptor(get_spec('smoothing'))
    fp = smoothing.floating_point_range[0]
    assert (fp.from_value, fp.to_value) == (0.0, 0.95)
    assert descriptor(get_spec('effect')).additional_constraints == (
        'One of: blur, replace, none, blur_people, pixelate_people.')
    assert '0..255' in descriptor(get_spec('background_color')).additional_constraints
    assert 'selfie_segmentation' in descriptor(get_spec('model')).additional_constraints
    assert not descriptor(get_spec('effect')).integer_range


# --- a real rclpy Node ----------------------------------------------------------------------


@pytest.fixture(scope='module')
def ros_context():
    import rclpy
    from rclpy.context import Context

    context = Context()
    rclpy.init(context=context, domain_id=1 + os.getpid() % 200)
    yield context
    rclpy.shutdown(context=context)


@pytest.fixture
def make_node(ros_context):
    from rclpy.node import Node

    nodes = []

    def make(**kwargs):
        node = Node('selfie_seg', context=ros_context, start_parameter_services=False, **kwargs)
        nodes.append(node)
        params.declare_all(node)
        return node

    yield make
    for node in nodes:
        node.destroy_node()


def test_declare_all_declares_every_parameter_with_defaults(make_node):
    from rclpy.parameter import Parameter

    node = make_node()
    for spec in PARAMS:
        parameter = node.get_parameter(spec.name)
        expected = list(spec.default) if isinstance(spec.default, tuple) else spec.default
        assert parameter.value == expected, spec.name
        assert parameter.type_ != Parameter.Type.NOT_SET
        desc = node.describe_parameter(spec.name)
        assert (desc.description, desc.read_only) == (spec.description, spec.read_only)
    assert node.get_parameter('foreground_classes').type_ == Parameter.Type.STRING_ARRAY
    assert node.get_parameter('labels').type_ == Parameter.Type.STRING_ARRAY


def test_rclpy_enforces_ranges_types_and_read_only(make_node):
    from rclpy.parameter import Parameter

    node = make_node()
    result = node.set_parameters([Parameter('blur_strength', value=0)])[0]
    assert not result.successful and 'out of range' in result.reason
    result = node.set_parameters([Parameter('overlay_alpha', value=1.5)])[0]
    assert not result.successful and 'out of range' in result.reason
    result = node.set_parameters([Parameter('overlay_alpha', value=2)])[0]
    assert not result.successful and 'out of range' in result.reason
    result = node.set_parameters([Parameter('blur_strength', value='big')])[0]
    assert not result.successful and 'Wrong parameter type' in result.reason
    result = node.set_parameters([Parameter('performance_hint', value='THROUGHPUT')])[0]
    assert not result.successful and 'read-only' in result.reason
    assert node.get_parameter('blur_strength').value == 55
    assert node.get_parameter('performance_hint').value == 'LATENCY'

    assert node.set_parameters([Parameter('blur_strength', value=301)])[0].successful
    # `ros2 param set /selfie_seg overlay_alpha 1` sends an integer.
    assert node.set_parameters([Parameter('overlay_alpha', value=1)])[0].successful
    parameter = node.get_parameter('overlay_alpha')
    assert (parameter.value, parameter.type_) == (1.0, Parameter.Type.DOUBLE)
    assert node.set_parameters([Parameter('foreground_classes', value=['hair'])])[0].successful
    assert node.get_parameter('foreground_classes').value == ['hair']
    # A bare [] has no element type (rclpy: byte array, ros2 param set: bool array).
    for empty in (Parameter('foreground_classes', value=[]),
                  Parameter('foreground_classes', Parameter.Type.BOOL_ARRAY, [])):
        assert node.set_parameters([Parameter('foreground_classes', value=['hair'])])[0].successful
        assert node.set_parameters([empty])[0].successful
        parameter = node.get_parameter('foreground_classes')
        assert (parameter.value, parameter.type_) == ([], Parameter.Type.STRING_ARRAY)


def test_on_set_callback_with_validate_rejects_with_the_reason(make_node):
    from rcl_interfaces.msg import Parameter as ParameterMsg
    from rcl_interfaces.msg import ParameterType, ParameterValue, SetParametersResult
    from rclpy.parameter import Parameter

    node = make_node()

    def on_set(parameters):
        for parameter in parameters:
            reason = validate(parameter.name, parameter.value, available_devices=['CPU'],
                              labels=LABELS)
            if reason is not None:
                return SetParametersResult(successful=False, reason=reason)
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(on_set)
    result = node.set_parameters([Parameter('effect', value='sepia')])[0]
    assert result.reason == ('effect must be one of blur, replace, none, blur_people, '
                             "pixelate_people; got 'sepia'")
    result = node.set_parameters([Parameter('device', value='GPU')])[0]
    assert result.reason == "device 'GPU' is not available; available devices: CPU"
    result = node.set_parameters([Parameter('foreground_classes', value=['hat'])])[0]
    assert not result.successful and 'labels: 0 background, 1 hair' in result.reason
    result = node.set_parameters([Parameter('background_color', value=[])])[0]
    assert result.reason == (
        'background_color: an RGB colour needs 3 integers [R, G, B], got []')
    # Values that arrive over the parameter service are array.array, not lists.
    message = ParameterMsg(name='background_color', value=ParameterValue(
        type=ParameterType.PARAMETER_INTEGER_ARRAY, integer_array_value=[10, 20, 30]))
    from_service = Parameter.from_parameter_msg(message)
    assert isinstance(from_service.value, array.array)
    assert node.set_parameters([from_service])[0].successful
    assert list(node.get_parameter('background_color').value) == [10, 20, 30]


def test_overrides_apply_except_to_labels(make_node):
    from rclpy.parameter import Parameter

    node = make_node(parameter_overrides=[
        Parameter('effect', value='replace'),
        Parameter('foreground_classes', value=['hair', 'clothes']),
        Parameter('labels', value=['not', 'from', 'the', 'model']),
    ])
    assert node.get_parameter('effect').value == 'replace'
    assert node.get_parameter('foreground_classes').value == ['hair', 'clothes']
    assert node.get_parameter('labels').value == []


def test_labels_are_read_only_outside_but_updatable_by_the_node(make_node):
    from rclpy.parameter import Parameter

    node = make_node()
    events = []
    node.add_post_set_parameters_callback(lambda ps: events.extend(p.name for p in ps))
    params.update_read_only(node, 'labels', MULTICLASS_LABELS)
    assert node.get_parameter('labels').value == list(MULTICLASS_LABELS)
    assert node.describe_parameter('labels').read_only
    assert events == ['labels']
    result = node.set_parameters([Parameter('labels', value=['hacked'])])[0]
    assert not result.successful and 'read-only' in result.reason
    params.update_read_only(node, 'labels', ['background', 'person'])
    assert node.get_parameter('labels').value == ['background', 'person']
    with pytest.raises(ValueError, match='cannot set labels'):
        params.update_read_only(node, 'labels', [1, 2])
    assert node.describe_parameter('labels').read_only
