"""MediaPipe and OpenCV, imported lazily: what to install when they are missing, their versions, their native
logs kept off the terminal."""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from mgreason.errors import DataError

__all__ = ["VIDEO_EXTRA", "require_video_backend", "quiet_native_stderr", "video_backend_versions", "shipped_model"]

VIDEO_EXTRA = "pip install 'mgreason[video]' && pip install --no-deps mediapipe==0.10.21"


def require_video_backend() -> tuple[Any, Any]:
    """``(mediapipe, cv2)``, or a :class:`DataError` saying what to install."""
    try:
        import cv2  # noqa: F401
    except ImportError as e:
        raise DataError(f"reading video needs OpenCV ({e}); install the video extra: {VIDEO_EXTRA}") from None
    try:
        import mediapipe as mp
    except ImportError as e:
        raise DataError(f"reading video needs MediaPipe ({e}); install the video extra: {VIDEO_EXTRA}") from None
    if not hasattr(mp, "solutions") or not hasattr(mp.solutions, "holistic"):
        version = getattr(mp, "__version__", "?")
        raise DataError(
            f"mediapipe {version} has no legacy 'solutions' API (removed in 0.10.30); install mediapipe==0.10.21"
        )
    return mp, cv2

@contextmanager
def quiet_native_stderr(enabled: bool = True) -> Iterator[None]:
    """Silence what MediaPipe/TFLite/FFmpeg write straight to file descriptor 2 (glog lines, "Created
    TensorFlow Lite XNNPACK delegate", decoder complaints), so the CLI's own messages stay readable.
    Python warnings raised meanwhile are dropped too."""
    if not enabled or os.environ.get("MGREASON_NATIVE_LOGS") == "1":
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (embedded interpreters)
        yield
        return
    with tempfile.TemporaryFile() as sink, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            except ValueError:
                pass
            os.dup2(saved, 2)
            os.close(saved)

def video_backend_versions() -> dict[str, str]:
    out = {}
    for mod in ("mediapipe", "cv2"):
        try:
            m = __import__(mod)
            out[mod] = str(getattr(m, "__version__", "?"))
        except ImportError:
            pass
    return out

def shipped_model(mp: Any, relpath: str) -> bool:
    """Is ``relpath`` (a model file) inside this mediapipe wheel (so nothing is downloaded)?"""
    return (Path(mp.__file__).parent / relpath).is_file()
