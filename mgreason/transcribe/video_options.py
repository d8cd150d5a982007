"""The video reader's command-line options, defined once for every command that reads video
(``mgreason transcribe``, ``mgreason show-clip``).

Each is a ``typing.Annotated`` type carrying its ``typer.Option``; a command declares, e.g.,
``pose_fps: PoseFpsOption = DEFAULT_POSE_FPS`` and passes the values to :func:`video_options`, which checks
them (one-line :class:`~mgreason.errors.DataError` naming the option) and returns the keyword arguments of
:func:`mgreason.transcribe.video.read_video`. Importing this module does not import MediaPipe or OpenCV.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mgreason.errors import DataError

__all__ = [
    "DEFAULT_VIDEO_MODEL",
    "DEFAULT_POSE_FPS",
    "DEFAULT_MAX_SIDE",
    "DEFAULT_HANDS",
    "VideoModelOption",
    "PoseFpsOption",
    "VideoMaxSideOption",
    "VideoReaderThreadOption",
    "VideoHandsOption",
    "check_model_and_hands",
    "video_options",
]

# The video reader's vocabulary and defaults live here (mgreason.transcribe.video imports them), so that
# declaring the options does not import numpy and the video module.
DEFAULT_VIDEO_MODEL = "holistic"
DEFAULT_POSE_FPS = 15.0  # see benchmarks/results/video.md: transcript F1@0.5 vs every frame, x real time
# Frames are scaled only above 1920 px (4K -> 1080p). Scaling 1080p to 640 px saved no measurable CPU (MediaPipe's
# cost does not depend on the frame size) and halved the hands found in a wide real shot (benchmarks/results/video.md).
DEFAULT_MAX_SIDE = 1920
DEFAULT_HANDS = "auto"
VIDEO_MODELS = ("holistic", "pose", "pose-hands")
HANDS_MODES = ("auto", "always")

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


def check_model_and_hands(model: str, hands: str) -> None:
    """One-line :class:`~mgreason.errors.DataError` naming the option when ``model`` or ``hands`` is unknown."""
    if model not in VIDEO_MODELS:
        raise DataError(f"unknown video model {model!r}; choose {', '.join(map(repr, VIDEO_MODELS))}", field="--video-model")
    if hands not in HANDS_MODES:
        raise DataError(f"unknown hands mode {hands!r}; choose 'auto' or 'always'", field="--video-hands")


def video_options(
    video_model: str = DEFAULT_VIDEO_MODEL,
    pose_fps: float = DEFAULT_POSE_FPS,
    video_max_side: int = DEFAULT_MAX_SIDE,
    video_reader_thread: bool = True,
    video_hands: str = DEFAULT_HANDS,
) -> dict[str, Any]:
    """The checked keyword arguments of ``read_video`` (``model``, ``pose_fps``, ``max_side``,
    ``reader_thread``, ``hands``) for the values of the options above."""
    from mgreason.transcribe.video import check_video_options

    check_model_and_hands(video_model, video_hands)
    fps, side, _ = check_video_options(pose_fps, video_max_side)
    return {"model": video_model, "pose_fps": fps, "max_side": side, "reader_thread": bool(video_reader_thread),
            "hands": video_hands}  # fmt: skip
