# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""Render the README figures from the real model into docs/images/.

- ``astronaut_strip.png``: input | class mask | overlay | background blur | new background, for
  scikit-image's astronaut photo.
- ``demo_camera.gif``: the demo camera's gentle motion of the same photo, input next to the
  blurred-background output, frame by frame through the engine.

Uses the default (multiclass) model when it can be fetched; otherwise says so and uses the
general selfie model from the mediapipe wheel on PyPI. Every caption names the model used.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from selfie_seg_ros import Segmenter
from selfie_seg_ros.engine.catalog import DEFAULT_MODEL, FALLBACK_MODEL
from selfie_seg_ros.engine.effects import (
    EffectOptions,
    apply_background_effect,
    colorize,
    make_palette,
    overlay,
    replace_background,
)
from selfie_seg_ros.engine.fetch import CACHE_ENV, fetch_default_model
from selfie_seg_ros.ros.camera import fit_frame, load_builtin, motion_matrix

REPO = Path(__file__).resolve().parent.parent
STRIP_PANEL = 320
GIF_PANEL = (352, 198)
CAMERA_SIZE = (1280, 720)
CAPTION_HEIGHT = 26
BLUR_STRENGTH = 55
# Stronger at 1280x720 so the blur still shows once the frame is shrunk for the GIF.
GIF_BLUR_STRENGTH = 101
# Ping-pong through a few seconds of the camera's motion so the GIF loops without a jump.
GIF_STEPS = 9
GIF_SECONDS = 4.0
GIF_MOTION = 1.0
GIF_FRAME_MS = 110


def choose_model(requested: str | None, cache_dir: Path) -> str:
    """The requested model, else the default if it can be fetched, else the fallback (loudly)."""
    if requested:
        return requested
    model, error = fetch_default_model(cache_dir, progress=False)
    if error is not None:
        print(f'*** {DEFAULT_MODEL} cannot be fetched: {str(error).splitlines()[0]}\n'
              f'*** FALLING BACK to {FALLBACK_MODEL} (person vs background, 2 classes); '
              'the captions say so.', file=sys.stderr, flush=True)
    return model


def caption(panel: np.ndarray, text: str) -> np.ndarray:
    """Put a dark caption band with ``text`` above ``panel``."""
    band = np.full((CAPTION_HEIGHT, panel.shape[1], 3), 32, np.uint8)
    cv2.putText(band, text, (6, CAPTION_HEIGHT - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                (255, 255, 255), 1, cv2.LINE_AA)
    return np.vstack([band, panel])


def gradient(height: int, width: int) -> np.ndarray:
    """A sky-like vertical gradient (BGR) as a replacement background."""
    top = np.array([235, 170, 60], np.float32)
    bottom = np.array([250, 235, 200], np.float32)
    weights = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    column = top * (1.0 - weights) + bottom * weights
    return np.broadcast_to(column, (height, width, 3)).astype(np.uint8)


def render_strip(segmenter: Segmenter, model_id: str, path: Path) -> None:
    """Write the astronaut strip: input | mask | overlay | blur | new background."""
    image = load_builtin('astronaut')
    result = segmenter.segment(image)
    palette = make_palette(segmenter.labels)
    colored = colorize(result.mask, palette)
    panels = {
        'input (skimage astronaut)': image,
        f'mask: {model_id}': colored,
        'overlay': overlay(image, result.mask, palette, 0.5, colored=colored),
        'background blur': blur(image, result.foreground),
        'new background': replace_background(image, result.foreground, gradient(*image.shape[:2])),
    }
    row = [
        caption(cv2.resize(panel, (STRIP_PANEL, STRIP_PANEL), interpolation=cv2.INTER_AREA), text)
        for text, panel in panels.items()
    ]
    strip = np.hstack(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(strip[:, :, ::-1]).save(path, optimize=True)
    share = float(np.count_nonzero(result.mask)) / result.mask.size
    print(f'wrote {path} ({strip.shape[1]}x{strip.shape[0]}, {path.stat().st_size / 1e3:.0f} kB;'
          f' foreground {share:.0%})')


def blur(image: np.ndarray, foreground: np.ndarray, strength: int = BLUR_STRENGTH) -> np.ndarray:
    """The background-blur effect (default: the CLI's default strength)."""
    return apply_background_effect(image, foreground, EffectOptions('blur', strength))


def camera_times() -> list[float]:
    """Times of the GIF frames: forward through GIF_SECONDS, then back (no repeated ends)."""
    forward = [GIF_SECONDS * i / (GIF_STEPS - 1) for i in range(GIF_STEPS)]
    return forward + forward[-2:0:-1]


def render_gif(segmenter: Segmenter, model_id: str, path: Path) -> None:
    """Write the demo camera GIF: moving photo | blurred background, through the engine."""
    width, height = CAMERA_SIZE
    still = fit_frame(load_builtin('astronaut'), width, height)
    frames: list[Image.Image] = []
    inference_ms: list[float] = []
    for t in camera_times():
        matrix = motion_matrix(t, GIF_MOTION, width, height)
        frame = cv2.warpAffine(still, matrix, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT_101)
        result = segmenter.segment(frame)
        inference_ms.append(result.inference_ms)
        blurred = blur(frame, result.foreground, GIF_BLUR_STRENGTH)
        pair = [
            caption(cv2.resize(panel, GIF_PANEL, interpolation=cv2.INTER_AREA), text)
            for text, panel in (('demo camera (1280x720)', frame),
                                (f'blur {GIF_BLUR_STRENGTH}px: {model_id}', blurred))
        ]
        frames.append(Image.fromarray(np.hstack(pair)[:, :, ::-1]))
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=GIF_FRAME_MS, loop=0,
                   optimize=True)
    print(f'wrote {path} ({frames[0].width}x{frames[0].height}, {len(frames)} frames, '
          f'{path.stat().st_size / 1e3:.0f} kB; inference {np.median(inference_ms):.1f} ms '
          'per frame)')


def main(argv: list[str] | None = None) -> int:
    """Render both figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', type=Path, default=REPO / 'docs' / 'images',
                        help='output folder (default: docs/images)')
    parser.add_argument('--model', default=None,
                        help=f'catalogue id or model file (default: {DEFAULT_MODEL}, else '
                        f'{FALLBACK_MODEL})')
    parser.add_argument('--cache-dir', type=Path,
                        default=Path(os.environ.get(CACHE_ENV) or REPO / '.cache'),
                        help=f'model cache (default: ${CACHE_ENV}, else <repo>/.cache)')
    args = parser.parse_args(argv)
    model_id = choose_model(args.model, args.cache_dir)
    label = Path(model_id).stem
    with Segmenter(model=model_id, device='CPU', cache_dir=args.cache_dir,
                   progress=False) as segmenter:
        render_strip(segmenter, label, args.out / 'astronaut_strip.png')
        render_gif(segmenter, label, args.out / 'demo_camera.gif')
    return 0


if __name__ == '__main__':
    sys.exit(main())
