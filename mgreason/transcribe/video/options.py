"""The video reader's vocabulary, defaults, command-line options and every check of them, defined once for
every command that reads video (``mgreason transcribe``, ``mgreason show-clip``) and for the reader itself.

Each is a ``typing.Annotated`` type carrying its ``typer.Option``; a command declares, e.g.,
``pose_fps: PoseFpsOption = DEFAULT_POSE_FPS`` and passes the values to :func:`video_options`, which checks
them (one-line :class:`~mgreason.errors.DataError` naming the option) and returns the keyword arguments of
:func:`mgreason.transcribe.video.read_video`. Importing this module imports neither numpy, MediaPipe nor OpenCV.
"""

from __future__ import annotations

import math
from numbers import Integral
from typing import Annotated, Any, Optional

import typer

from mgreason.errors import DataError

__all__ = [
    "DEFAULT_VIDEO_MODEL",
    "DEFAULT_POSE_FPS",
    "DEFAULT_MAX_SIDE",
    "DEFAULT_HANDS",
    "DEFAULT_WORKERS",
    "VideoWorkersOption",
    "check_workers",
    "VideoModelOption",
    "PoseFpsOption",
    "VideoMaxSideOption",
    "VideoReaderThreadOption",
    "VideoHandsOption",
    "VIDEO_MODELS",
    "HANDS_MODES",
    "VIDEO_SUFFIXES",
    "GIF_SUFFIXES",
    "IMAGE_SUFFIXES",
    "VIDEO_KINDS",
    "DEFAULT_FRAMES_FPS",
    "DEFAULT_QUEUE_SIZE",
    "MIN_MAX_SIDE",
    "check_model_and_hands",
    "check_model_complexity",
    "check_video_options",
    "video_options",
]

# The video reader's vocabulary and defaults live here (the reader imports them), so that declaring the
# options does not import numpy and the reader.
DEFAULT_VIDEO_MODEL = "holistic"
DEFAULT_POSE_FPS = 15.0  # see benchmarks/results/video.md: transcript F1@0.5 vs every frame, x real time
# Frames are scaled only above 1920 px (4K -> 1080p). Scaling 1080p to 640 px saved no measurable CPU (MediaPipe's
# cost does not depend on the frame size) and halved the hands found in a wide real shot (benchmarks/results/video.md).
DEFAULT_MAX_SIDE = 1920
DEFAULT_HANDS = "auto"
VIDEO_MODELS = ("holistic", "pose", "pose-hands")
HANDS_MODES = ("auto", "always")
DEFAULT_QUEUE_SIZE = 8
# One MediaPipe worker: Holistic's graph already keeps ~1.4 cores busy (pose and hand branches), so on 2 cores a
# second worker on the other half of the video bought at most ~10 % and cost a seam (benchmarks/results/video.md)
DEFAULT_WORKERS = 1
MAX_AUTO_WORKERS = 2  # --video-workers 0: one per core, at most this many
MIN_MAX_SIDE = 64
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ts"})
GIF_SUFFIXES = frozenset({".gif"})  # animated GIFs: OpenCV reads them like a video (frame delays -> fps)
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"})  # a directory of frames
VIDEO_KINDS = ("video", "gif", "frames")  # the input kinds the video reader reads (its options apply)
DEFAULT_FRAMES_FPS = 25.0  # a directory of frame images has no frame rate

VideoModelOption = Annotated[
    str,
    typer.Option(
        "--video-model",
        help="video: MediaPipe 'holistic' (pose + hands), 'pose' (no hands) or 'pose-hands' (pose, then the hand "
        "model on crops around the wrists)",
    ),
]
PoseFpsOption = Annotated[
    float,
    typer.Option("--pose-fps", help="video: run MediaPipe at this rate, interpolate the frames between (0 = every frame)"),
]
VideoMaxSideOption = Annotated[
    int,
    typer.Option("--video-max-side", help="video: scale frames to at most this many pixels before MediaPipe (0 = original)"),
]
VideoReaderThreadOption = Annotated[
    bool,
    typer.Option("--video-reader-thread/--no-video-reader-thread", help="video: decode in a second thread (bounded queue)"),
]
VideoHandsOption = Annotated[
    str,
    typer.Option(
        "--video-hands", help="video, holistic/pose-hands: hand models 'auto' (only where the pose sees a hand) or 'always'"
    ),
]


VideoWorkersOption = Annotated[
    int,
    typer.Option("--video-workers", help="video: MediaPipe workers on consecutive parts of the video (default 1; 0 = one "
                 "per core, at most 2)"),
]


def check_workers(workers: Optional[int]) -> int:
    """The number of MediaPipe workers: ``None``/0 -> one per core (at most :data:`MAX_AUTO_WORKERS`)."""
    if workers is None or workers == 0:
        import os

        return max(1, min(MAX_AUTO_WORKERS, os.cpu_count() or 1))
    if isinstance(workers, bool) or not isinstance(workers, Integral) or workers < 0:
        raise DataError(f"must be a whole number >= 0 (0 = one per core), got {workers!r}", field="--video-workers")
    return int(workers)


def check_model_and_hands(model: str, hands: str) -> None:
    """One-line :class:`~mgreason.errors.DataError` naming the option when ``model`` or ``hands`` is unknown."""
    if model not in VIDEO_MODELS:
        raise DataError(f"unknown video model {model!r}; choose {', '.join(map(repr, VIDEO_MODELS))}", field="--video-model")
    if hands not in HANDS_MODES:
        raise DataError(f"unknown hands mode {hands!r}; choose 'auto' or 'always'", field="--video-hands")


def check_model_complexity(model_complexity: int) -> None:
    """MediaPipe's pose model: 0 (lite) or 1 (full); the heavy model (2) is not shipped in the wheel and
    would be downloaded."""
    if model_complexity not in (0, 1):
        raise DataError("model_complexity must be 0 or 1 (the heavy model is not shipped offline)", field="model_complexity")


def check_video_options(
    pose_fps: Optional[float] = DEFAULT_POSE_FPS,
    max_side: Optional[int] = DEFAULT_MAX_SIDE,
    queue_size: int = DEFAULT_QUEUE_SIZE,
) -> tuple[Optional[float], Optional[int], int]:
    """Validated ``(pose_fps, max_side, queue_size)``; ``0`` becomes ``None`` (every frame / original size)."""
    if pose_fps is not None:
        try:
            pose_fps = float(pose_fps)
        except (TypeError, ValueError):
            raise DataError(f"expected a frame rate, got {pose_fps!r}", field="--pose-fps") from None
        if not math.isfinite(pose_fps) or pose_fps < 0:
            raise DataError(f"must be a positive frame rate (0 = every frame), got {pose_fps:g}", field="--pose-fps")
        if pose_fps == 0:
            pose_fps = None
    if max_side is not None:
        if isinstance(max_side, bool) or not isinstance(max_side, Integral):
            raise DataError(f"expected a whole number of pixels, got {max_side!r}", field="--video-max-side")
        if max_side == 0:
            max_side = None
        elif max_side < MIN_MAX_SIDE:
            raise DataError(
                f"must be 0 (original size) or at least {MIN_MAX_SIDE} pixels, got {max_side}", field="--video-max-side"
            )
        else:
            max_side = int(max_side)
    if isinstance(queue_size, bool) or not isinstance(queue_size, Integral) or queue_size < 1:
        raise DataError(f"must be a whole number >= 1, got {queue_size!r}", field="--video-queue")
    return pose_fps, max_side, int(queue_size)

def video_options(
    video_model: str = DEFAULT_VIDEO_MODEL,
    pose_fps: float = DEFAULT_POSE_FPS,
    video_max_side: int = DEFAULT_MAX_SIDE,
    video_reader_thread: bool = True,
    video_hands: str = DEFAULT_HANDS,
    video_workers: int = DEFAULT_WORKERS,
) -> dict[str, Any]:
    """The checked keyword arguments of ``read_video`` (``model``, ``pose_fps``, ``max_side``,
    ``reader_thread``, ``hands``, ``workers``) for the values of the options above."""
    check_model_and_hands(video_model, video_hands)
    fps, side, _ = check_video_options(pose_fps, video_max_side)
    return {"model": video_model, "pose_fps": fps, "max_side": side, "reader_thread": bool(video_reader_thread),
            "hands": video_hands, "workers": check_workers(video_workers)}  # fmt: skip
