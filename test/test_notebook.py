# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""The tutorial notebook: stored with its outputs, and it runs top to bottom on the real model."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / 'docs' / 'tutorial.ipynb'
MAX_NOTEBOOK_BYTES = 3_000_000
INSTALL_HINT = 'pip install nbclient nbformat ipykernel matplotlib'

nbformat = pytest.importorskip('nbformat', reason=f'nbformat is not installed ({INSTALL_HINT})')


def _texts(notebook: object) -> str:
    """All stream output and plain-text results of a notebook, joined."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get('outputs', []):
            if output.output_type == 'stream':
                parts.append(output.text)
            elif 'text/plain' in output.get('data', {}):
                parts.append(output.data['text/plain'])
    return '\n'.join(parts)


def _images(notebook: object) -> int:
    return sum(
        'image/png' in output.get('data', {})
        for cell in notebook.cells
        for output in cell.get('outputs', [])
    )


def _check_outputs(notebook: object) -> str:
    """Assert what every complete run of the tutorial shows; return its text output."""
    errors = [
        output.ename
        for cell in notebook.cells
        for output in cell.get('outputs', [])
        if output.output_type == 'error'
    ]
    assert not errors, f'cells raised {errors}'
    text = _texts(notebook)
    assert 'selfie_seg_ros.engine.convert.convert_model: converted' in text
    assert re.search(r'mask \(512, 512\) uint8, foreground \(512, 512\) float32', text), text
    assert 'EffectOptions("blur", 55) gives the same image: True' in text
    assert 'exit code 0' in text
    assert re.search(r'60 frames in [\d.]+ s: \d+ FPS', text), text
    # Mask + overlay, replacement + blur, video frame pair.
    assert _images(notebook) >= 3
    if 'FALLING BACK' in text:
        # The binary model must never be passed off as the multiclass one.
        assert 'classes: background, person' in text
        assert 'stride 2x2, padding SAME' in text
        assert 'No translator found for Convolution2DTransposeBias' in text
    else:
        assert 'model: selfie_multiclass_256x256' in text
    return text


def test_stored_notebook_has_outputs() -> None:
    assert NOTEBOOK.stat().st_size < MAX_NOTEBOOK_BYTES
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert all(
        cell.get('execution_count') is not None
        for cell in notebook.cells
        if cell.cell_type == 'code' and cell.source.strip()
    ), 'docs/tutorial.ipynb is stored without its outputs: execute it before committing'
    _check_outputs(notebook)


@pytest.fixture
def venv_kernel(tmp_path, monkeypatch) -> str:
    """A 'python3' kernelspec running this interpreter, found before any user or system one."""
    pytest.importorskip('ipykernel', reason=f'ipykernel is not installed ({INSTALL_HINT})')
    spec_dir = tmp_path / 'jupyter' / 'kernels' / 'python3'
    spec_dir.mkdir(parents=True)
    spec = {
        'argv': [sys.executable, '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
        'display_name': 'Python 3 (test)',
        'language': 'python',
    }
    (spec_dir / 'kernel.json').write_text(json.dumps(spec))
    monkeypatch.setenv('JUPYTER_PATH', str(tmp_path / 'jupyter'))
    monkeypatch.setenv('JUPYTER_PLATFORM_DIRS', '1')
    return 'python3'


@pytest.mark.model
def test_notebook_runs(tmp_path, monkeypatch, venv_kernel, selfie_model_path, model_cache_dir):
    nbclient = pytest.importorskip('nbclient',
                                   reason=f'nbclient is not installed ({INSTALL_HINT})')
    pytest.importorskip('matplotlib', reason=f'matplotlib is not installed ({INSTALL_HINT})')
    monkeypatch.setenv('SELFIE_SEG_CACHE', str(model_cache_dir))
    # An MPLBACKEND=Agg from the caller's shell would leave the figures out.
    monkeypatch.setenv('MPLBACKEND', 'module://matplotlib_inline.backend_inline')
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == 'code':
            cell.outputs = []
            cell.execution_count = None
    check = 'import sys\nprint("kernel:", sys.executable)'
    notebook.cells.append(nbformat.v4.new_code_cell(check))
    run_dir = tmp_path / 'run'
    run_dir.mkdir()
    client = nbclient.NotebookClient(
        notebook, timeout=180, kernel_name=venv_kernel,
        resources={'metadata': {'path': str(run_dir)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as error:
        pytest.fail(f'a notebook cell failed:\n{error}')

    text = _check_outputs(notebook)
    assert f'kernel: {sys.executable}' in text
    # The notebook cleans up after itself: nothing left in the folder it ran in.
    assert list(run_dir.iterdir()) == []
