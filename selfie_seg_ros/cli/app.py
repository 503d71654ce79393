# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""``selfie-seg``: the engine on image files, video files and webcams, without ROS."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from selfie_seg_ros.cli.bag import BAG_OUTPUTS, DEFAULT_BAG_OUTPUTS, STORAGES
from selfie_seg_ros.cli.options import add_option, defaults
from selfie_seg_ros.engine.catalog import (
    CATALOG,
    DEFAULT_MODEL,
    WheelSource,
    get_entry,
)
from selfie_seg_ros.engine.compositor import Compositor
from selfie_seg_ros.engine.effects import (
    EffectOptions,
    Scratch,
    apply_background_effect,
    make_palette,
    overlay,
)
from selfie_seg_ros.engine.errors import (
    ImageTooLargeError,
    SegmentationError,
    UnknownModelError,
)
from selfie_seg_ros.engine.limits import (
    check_pixels,
    read_image_file,
)

if TYPE_CHECKING:
    from selfie_seg_ros.engine.segmenter import Segmenter

VIDEO_SMOOTHING = 0.3
"""Default --smoothing of ``selfie-seg video``: steadier masks on live video."""
EXIT_MODEL_ERROR = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """An error reported on stderr with an exit code, without a traceback."""

    def __init__(self, message: str, code: int = EXIT_MODEL_ERROR) -> None:
        super().__init__(message)
        self.code = code


MODEL_OPTIONS = ('model', 'device', 'performance_hint', 'precision', 'resize_mode', 'threshold',
                 'foreground_classes', 'model_labels', 'max_people', 'detection_threshold',
                 'model_cache_dir',
                 'allow_download', 'max_pixels')
EFFECT_OPTIONS = ('effect', 'blur_strength', 'background_color', 'background_image',
                  'overlay_alpha')


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected an integer, got {text!r}') from None
    if value < 0:
        raise argparse.ArgumentTypeError(f'expected 0 or more, got {value}')
    return value


def _add_model_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group('model')
    for name in MODEL_OPTIONS:
        add_option(group, name)


def _add_effect_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group('effects')
    for name in EFFECT_OPTIONS:
        add_option(group, name)


def build_parser() -> argparse.ArgumentParser:
    """The ``selfie-seg`` argument parser."""
    parser = argparse.ArgumentParser(
        prog='selfie-seg',
        description='Person segmentation with OpenVINO: class mask, overlay, blurred background.',
    )
    commands = parser.add_subparsers(dest='command', required=True)

    image = commands.add_parser(
        'image',
        help='segment one image file',
        description='Write mask.png (class ids), overlay.png and '
        'blurred.png for one image, and print timings.',
    )
    image.add_argument('image', type=Path, help='input image file')
    image.add_argument(
        '--out',
        type=Path,
        default=Path('selfie_seg_output'),
        help='output folder (default: ./selfie_seg_output)',
    )
    _add_model_args(image)
    _add_effect_args(image)

    video = commands.add_parser(
        'video',
        help='background effect on a video file or webcam',
        description='Apply the background effect to every frame of a '
        'video file or a webcam; print FPS and inference time.',
    )
    source = video.add_mutually_exclusive_group(required=True)
    source.add_argument('file', nargs='?', type=Path, help='input video file')
    source.add_argument('--camera', type=_non_negative, help='webcam index, e.g. 0')
    video.add_argument('--out', type=Path, default=None, help='write the result to this .mp4')
    video.add_argument(
        '--mask-dir', type=Path, default=None,
        help="write each frame's class mask to this folder as 000001.png, 000002.png, ...")
    video.add_argument(
        '--instances-dir', type=Path, default=None,
        help="write each frame's person instances (0 background, k = k-th person; "
        'multi-person models such as pose_segmentation) to this folder as 000001.png, ...')
    video.add_argument('--show', action='store_true', help='show the result in a window')
    video.add_argument(
        '--max-frames', type=_non_negative, default=0, help='stop after N frames (0 = all)')
    add_option(video, 'smoothing', default=VIDEO_SMOOTHING)
    _add_model_args(video)
    _add_effect_args(video)

    _add_bag_parser(commands)

    models = commands.add_parser('models', help='list the model catalogue and what is cached')
    models.add_argument('--cache-dir', type=Path, default=None, help='model cache to inspect')

    fetch = commands.add_parser('fetch', help='download and convert a model; print the IR path')
    fetch.add_argument('model', help='catalogue id')
    fetch.add_argument('--cache-dir', type=Path, default=None, help='model and IR cache')
    fetch.add_argument('--device', default='CPU', help='compile once on this device to check it')
    # What open_segmenter needs beyond these flags: the engine's defaults.
    fetch.set_defaults(**defaults([name for name in MODEL_OPTIONS
                                   if name not in ('model', 'device', 'model_cache_dir')]))
    return parser


def _add_bag_parser(commands: argparse._SubParsersAction) -> None:
    bag = commands.add_parser(
        'bag',
        help='segment an image topic of a rosbag2 (mcap or sqlite3) into a new bag',
        description='Run the engine on one image topic (sensor_msgs/Image or CompressedImage) '
        'of a recorded rosbag2 and write a new bag: the original topics plus mask, overlay and '
        'processed-image topics stamped like their inputs, or with --anonymise the same bag '
        "with that topic's images replaced. The input is never modified; the output appears "
        'under its name only when complete. No ROS install needed.',
    )
    bag.add_argument('source', type=Path, metavar='IN', help='input bag directory (or .mcap/.db3)')
    bag.add_argument('target', type=Path, metavar='OUT', help='output bag directory (new)')
    bag.add_argument('--topic', required=True, action='append', dest='topics',
                     help='image topic, e.g. /camera/image_raw; with --anonymise it may be '
                     'given several times (one per camera)')
    bag.add_argument(
        '--anonymise', '--anonymize', action='store_true',
        help='replace the images by their anonymised version (default effect blur_people) '
        'instead of adding topics; undecodable frames are dropped, never copied')
    bag.add_argument(
        '--outputs', default=','.join(DEFAULT_BAG_OUTPUTS),
        help=f'topics to add, from {",".join(BAG_OUTPUTS)} '
        f'(default: {",".join(DEFAULT_BAG_OUTPUTS)}); instances (0 background, k = k-th '
        'person) by multi-person models only')
    bag.add_argument('--prefix', default='/selfie_seg',
                     help='namespace of the added topics (default: /selfie_seg)')
    bag.add_argument(
        '--compressed-outputs', action='store_true',
        help='write the added topics as <topic>/compressed (PNG mask and instances, JPEG '
        'pictures): a fraction of the size')
    bag.add_argument('--storage', choices=STORAGES, default=None,
                     help="output storage (default: the input bag's)")
    add_option(bag, 'jpeg_quality', help_text='JPEG quality of re-encoded compressed images.')
    add_option(bag, 'smoothing', help_text="Temporal smoothing: weight of the previous frame's "
               'mask; 0: each recorded frame is judged on its own, so a moving person is never '
               'left behind.')
    bag.add_argument('--no-progress', action='store_true', help='no progress bar')
    _add_model_args(bag)
    _add_effect_args(bag)
    bag.set_defaults(effect=None)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(',') if part.strip()]


def open_segmenter(args: argparse.Namespace, smoothing: float = 0.0) -> Segmenter:
    """Build a Segmenter from command-line arguments (errors become CliError)."""
    from selfie_seg_ros.engine.segmenter import Segmenter

    try:
        return Segmenter(
            model=args.model,
            device=args.device,
            performance_hint=args.hint,
            precision=args.precision,
            resize_mode=args.resize_mode,
            threshold=args.threshold,
            labels=tuple(_split(args.labels)) or None,
            foreground_classes=tuple(_split(args.classes)) or None,
            smoothing=smoothing,
            max_pixels=args.max_pixels,
            cache_dir=args.cache_dir,
            allow_download=not args.no_download,
            max_people=args.max_people,
            detection_threshold=args.detection_threshold,
        )
    except (SegmentationError, ValueError) as error:
        raise CliError(str(error)) from error


def effect_options(args: argparse.Namespace) -> EffectOptions:
    """Effect options from command-line arguments."""
    background = None
    if args.background_image is not None:
        background = _read_image(args.background_image, args.max_pixels, 'background image')
    try:
        return EffectOptions(
            effect=args.effect,
            blur_strength=args.blur_strength,
            background_color=args.background_color,
            background_image=background,
        )
    except ValueError as error:
        raise CliError(f'--blur-strength: {error}', EXIT_BAD_INPUT) from error


def _read_image(path: Path, max_pixels: int, what: str) -> np.ndarray:
    """Read an image file, refused from its header when too large (errors become CliError)."""
    if not path.is_file():
        raise CliError(f'{what} not found: {path}', EXIT_BAD_INPUT)
    try:
        return read_image_file(path, max_pixels, f'{what} {path}')
    except ImageTooLargeError as error:
        raise CliError(f'{error} (--max-pixels)', EXIT_BAD_INPUT) from None
    except ValueError as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from None


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_output_dir(path: Path, flag: str = '--out') -> None:
    """Fail early (before loading a model) unless ``path`` is or can become a writable folder."""
    if path.exists() and not path.is_dir():
        raise CliError(f'{flag} {path} exists and is not a folder', EXIT_BAD_INPUT)
    existing = _nearest_existing(path)
    if not existing.is_dir():
        raise CliError(f'{flag} {path}: {existing} is not a folder', EXIT_BAD_INPUT)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CliError(f'{flag} {path}: {existing} is not writable', EXIT_BAD_INPUT)


def check_output_file(path: Path) -> None:
    """Fail early unless ``path`` can be written as a file."""
    if path.is_dir():
        raise CliError(f'--out {path} is a folder; give a file name such as out.mp4',
                       EXIT_BAD_INPUT)
    if path.exists() and not os.access(path, os.W_OK):
        raise CliError(f'--out {path} is not writable', EXIT_BAD_INPUT)
    check_output_dir(path.parent)


def check_cache_dir(args: argparse.Namespace) -> None:
    """Fail early when --cache-dir cannot be a folder."""
    cache_dir = getattr(args, 'cache_dir', None)
    if cache_dir is not None and cache_dir.exists() and not cache_dir.is_dir():
        raise CliError(f'--cache-dir {cache_dir} exists and is not a folder', EXIT_BAD_INPUT)


def run_image(args: argparse.Namespace) -> int:
    """``selfie-seg image``: three output files and timings."""
    image = _read_image(args.image, args.max_pixels, 'input image')
    check_output_dir(args.out)
    check_cache_dir(args)
    effects = effect_options(args)
    segmenter = open_segmenter(args)
    with segmenter:
        started = time.perf_counter()
        result = segmenter.segment(image)
        segment_ms = (time.perf_counter() - started) * 1e3
        started = time.perf_counter()
        palette = make_palette(segmenter.labels)
        overlaid = overlay(image, result.mask, palette, args.overlay_alpha)
        blurred = apply_background_effect(image, result.foreground, effects)
        effects_ms = (time.perf_counter() - started) * 1e3
        outputs = {'mask.png': result.mask, 'overlay.png': overlaid, 'blurred.png': blurred}
        if result.instances is not None:
            # 0 = background, k = k-th person (best detection first).
            outputs['instances.png'] = result.instances
        try:
            args.out.mkdir(parents=True, exist_ok=True)
            for name, array in outputs.items():
                if not cv2.imwrite(str(args.out / name), array):
                    raise CliError(f'cannot write {args.out / name}')
        except OSError as error:
            raise CliError(f'cannot write to {args.out}: {error.strerror or error}') from None
        labels = segmenter.labels
        shares = np.bincount(result.mask.ravel(), minlength=len(labels)) / result.mask.size
        print(f'model {segmenter!r}, started in {segmenter.startup_s:.2f} s')
        print(
            f'image {image.shape[1]}x{image.shape[0]}: inference {result.inference_ms:.1f} ms, '
            f'segment {segment_ms:.1f} ms, effects {effects_ms:.1f} ms'
        )
        print(
            'classes: '
            + ', '.join(
                f'{label} {share:.1%}'
                for label, share in zip(labels, shares, strict=False)
                if share
            )
        )
        if result.instances is not None:
            timings = result.timings
            print(
                f'people: {int(timings["people"])} (detection {timings["detection_ms"]:.1f} ms, '
                f'{timings["per_person_ms"]:.1f} ms per person)'
            )
        for name in outputs:
            print(f'wrote {args.out / name}')
    return 0


def _open_capture(args: argparse.Namespace) -> cv2.VideoCapture:
    if args.camera is not None:
        capture = cv2.VideoCapture(args.camera)
        where = f'camera {args.camera}'
    else:
        if not args.file.is_file():
            raise CliError(f'input video not found: {args.file}', EXIT_BAD_INPUT)
        capture = cv2.VideoCapture(str(args.file))
        where = str(args.file)
    if not capture.isOpened():
        raise CliError(f'cannot open {where}', EXIT_BAD_INPUT)
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    try:
        check_pixels(width, height, args.max_pixels, f'{where}: frames')
    except ImageTooLargeError as error:
        capture.release()
        raise CliError(f'{error} (--max-pixels)', EXIT_BAD_INPUT) from None
    return capture


def run_video(args: argparse.Namespace) -> int:
    """``selfie-seg video``: background effect on every frame, FPS and inference time."""
    from tqdm import tqdm

    if args.show and not hasattr(cv2, 'imshow'):
        raise CliError('--show needs an OpenCV build with GUI support (opencv-python)')
    if args.out is not None:
        check_output_file(args.out)
    frame_dirs = {name: folder for name, folder in
                  (('mask', args.mask_dir), ('instances', args.instances_dir)) if folder}
    for name, folder in frame_dirs.items():
        check_output_dir(folder, f'--{name.replace("_", "-")}-dir')
    check_cache_dir(args)
    capture = _open_capture(args)
    effects = effect_options(args)
    segmenter = open_segmenter(args, smoothing=args.smoothing)
    try:
        if 'instances' in frame_dirs and not segmenter.gives_instances:
            raise CliError(f'--instances-dir needs a multi-person model (pose_segmentation); '
                           f'{args.model} gives no person instances', EXIT_BAD_INPUT)
        for folder in frame_dirs.values():
            _make_dir(folder)
    except CliError:
        segmenter.close()
        capture.release()
        raise
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if args.camera is None else 0
    if args.max_frames:
        total = min(total, args.max_frames) if total > 0 else args.max_frames
    writer: cv2.VideoWriter | None = None
    # Work buffers reused from frame to frame; blends in one OpenVINO pass.
    scratch = Scratch(compositor=Compositor(segmenter.core))
    file_fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    frames, infer_total, started = 0, 0.0, time.perf_counter()
    progress = tqdm(total=total or None, unit='frame', disable=args.camera is not None)
    try:
        with segmenter:
            while not args.max_frames or frames < args.max_frames:
                ok, frame = capture.read()
                if not ok:
                    break
                # One stream: a file's own timeline, a camera's arrival times.
                timestamp = time.monotonic() if args.camera is not None else frames / file_fps
                try:
                    result = segmenter.segment(frame, timestamp=timestamp)
                except ImageTooLargeError as error:
                    raise CliError(f'frame {frames + 1}: {error} (--max-pixels)',
                                   EXIT_BAD_INPUT) from None
                output = apply_background_effect(
                    frame, result.foreground, effects, scratch=scratch)
                frames += 1
                infer_total += result.inference_ms
                fps = frames / (time.perf_counter() - started)
                if args.out is not None:
                    if writer is None:
                        writer = _open_writer(args.out, capture, output.shape)
                    writer.write(output)
                pictures = {'mask': result.mask, 'instances': result.instances}
                for name, folder in frame_dirs.items():
                    _write_png(folder / f'{frames:06d}.png', pictures[name])
                if args.show:
                    _show(output, fps, result.inference_ms)
                    if cv2.waitKey(1) & 0xFF in (ord('q'), 27):
                        break
                progress.update(1)
                if args.camera is not None and frames % 30 == 0:
                    print(f'{fps:.1f} fps, inference {result.inference_ms:.1f} ms', flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        progress.close()
        capture.release()
        if writer is not None:
            writer.release()
        if args.show:
            cv2.destroyAllWindows()
    elapsed = time.perf_counter() - started
    if frames == 0:
        raise CliError('no frame could be read from the input', EXIT_BAD_INPUT)
    print(
        f'{frames} frames in {elapsed:.1f} s: {frames / elapsed:.1f} fps, '
        f'inference {infer_total / frames:.1f} ms per frame'
    )
    if args.out is not None:
        print(f'wrote {args.out}')
    for folder in frame_dirs.values():
        print(f'wrote {folder}/000001.png .. {frames:06d}.png')
    return 0


def _make_dir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CliError(f'cannot write to {folder}: {error.strerror or error}') from None


def _write_png(path: Path, array: np.ndarray | None) -> None:
    """One frame's ids as a lossless PNG."""
    if array is None or not cv2.imwrite(str(path), array):
        raise CliError(f'cannot write {path}')


def _open_writer(path: Path, capture: cv2.VideoCapture, shape: tuple[int, ...]) -> cv2.VideoWriter:
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, (shape[1], shape[0]))
    if not writer.isOpened():
        raise CliError(f'cannot write video {path}')
    return writer


def _show(frame: np.ndarray, fps: float, inference_ms: float) -> None:
    text = f'{fps:.1f} fps  inference {inference_ms:.1f} ms'
    cv2.putText(frame, text, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 4, cv2.LINE_AA)
    cv2.putText(
        frame, text, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2, cv2.LINE_AA
    )
    cv2.imshow('selfie-seg', frame)


def run_bag(args: argparse.Namespace) -> int:
    """``selfie-seg bag``: segment a recorded image topic into a new bag; print the speed."""
    from selfie_seg_ros.cli.bag import BagError, BagJob, check_paths, run_bag_job
    from selfie_seg_ros.engine.compression import check_jpeg_quality

    try:
        check_jpeg_quality(args.jpeg_quality)
        check_paths(args.source, args.target)
    except ValueError as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    args.effect = args.effect or ('blur_people' if args.anonymise else 'blur')
    effects = effect_options(args)
    job = BagJob(
        source=args.source, target=args.target, topics=tuple(args.topics),
        anonymise=args.anonymise,
        outputs=tuple(_split(args.outputs)), prefix=args.prefix, storage=args.storage,
        jpeg_quality=args.jpeg_quality, overlay_alpha=args.overlay_alpha,
        compressed_outputs=args.compressed_outputs)
    segmenter = open_segmenter(args, smoothing=args.smoothing)
    try:
        with segmenter:
            report = run_bag_job(job, segmenter, effects, progress=not args.no_progress)
    except BagError as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except KeyboardInterrupt:
        message = f'interrupted: nothing written to {args.target}'
        raise CliError(message, EXIT_INTERRUPTED) from None
    print(report.summary())
    print(f'wrote {report.target}')
    return 0


def _custom_ops_column(entry_ops: Sequence[str], cached: Path | None) -> str:
    """The custom operators a model needs: read from the cached file, else the catalogue's."""
    names: Sequence[str] = entry_ops
    if cached is not None:
        from selfie_seg_ros.engine.convert import ModelLoadError, read_operators

        try:
            names = sorted({op.name for op in read_operators(cached)})
        except ModelLoadError:
            return 'unreadable'
    return ','.join(names) or '-'


def model_rows(cache_dir: Path) -> list[tuple[str, ...]]:
    """One row per catalogue model: id, classes, verified, cached, custom ops, source."""
    from selfie_seg_ros.engine.fetch import cached_model_path

    rows = []
    for entry in CATALOG.values():
        path = cached_model_path(entry, cache_dir)
        cached = path if path.is_file() else None
        if isinstance(entry.source, WheelSource):
            source = f'PyPI wheel {entry.source.package}=={entry.source.version}'
        else:
            source = entry.source.url if entry.source else '-'
        marker = ' (default)' if entry.model_id == DEFAULT_MODEL else ''
        rows.append((
            entry.model_id + marker,
            str(len(entry.labels)),
            'yes' if entry.verified else 'no',
            'yes' if cached else 'no',
            _custom_ops_column(entry.custom_ops, cached),
            source,
        ))
    return rows


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns as wide as their widest cell (the last one is not padded)."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        '  '.join(
            cell if i == len(row) - 1 else cell.ljust(widths[i]) for i, cell in enumerate(row)
        )
        for row in [header, *rows]
    ]


def run_models(args: argparse.Namespace) -> int:
    """``selfie-seg models``: the catalogue, what is cached, what was verified here."""
    from selfie_seg_ros.engine.fetch import default_cache_dir

    cache_dir = args.cache_dir or default_cache_dir()
    print(f'cache: {cache_dir}')
    header = ('model', 'classes', 'verified', 'cached', 'custom operators', 'source')
    for line in format_table(header, model_rows(cache_dir)):
        print(line)
    print(
        "verified = run end to end with its real weights by this project's tests; the others "
        'are exercised with generated models of the same shape, operators and pre-processing. '
        'custom operators = MediaPipe operators this project translates for OpenVINO '
        '(read from the file once cached).'
    )
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    """``selfie-seg fetch``: download, convert and compile once; print the IR path."""
    try:
        get_entry(args.model)
    except UnknownModelError as error:
        raise CliError(str(error)) from error
    check_cache_dir(args)
    with open_segmenter(args) as segmenter:
        print(segmenter.model_path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``selfie-seg``."""
    args = build_parser().parse_args(argv)
    handlers = {'image': run_image, 'video': run_video, 'bag': run_bag, 'models': run_models,
                'fetch': run_fetch}
    try:
        return handlers[args.command](args)
    except CliError as error:
        print(f'selfie-seg: error: {error}', file=sys.stderr)
        return error.code
    except OSError as error:  # a file or folder the user named cannot be used
        where = f' {error.filename}' if error.filename else ''
        print(f'selfie-seg: error:{where} {error.strerror or error}', file=sys.stderr)
        return EXIT_MODEL_ERROR


if __name__ == '__main__':
    sys.exit(main())
