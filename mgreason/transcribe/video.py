"""Video -> skeleton with MediaPipe (the optional ``video`` extra).

Needs ``mediapipe==0.10.21`` (the last release with the legacy ``mp.solutions`` API, whose pose, hand
and face models ship inside the wheel, so nothing is downloaded at run time) and OpenCV
(``cv2``; any of ``opencv-contrib-python[-headless]`` / ``opencv-python[-headless]``), both
imported lazily.

* ``holistic`` (default): MediaPipe Holistic -> layout ``mediapipe75`` (33 pose + 21 left-hand + 21
  right-hand landmarks). Hands are what micro-gestures are about; the imigue22 fingertips come from
  them.
* ``pose``: MediaPipe Pose only -> ``mediapipe33`` (faster; fingertips come from the pose model's
  coarse finger points).

Coordinates are image pixels (x right, y down), as OpenPose reports them; a pose landmark's
confidence is its visibility, a hand landmark's is 1 when the hand was found.

Frames are placed on the timeline by their container timestamps, so frames the decoder cannot read
(corrupt packets) show up as *unreadable* frames (listed in ``meta['unreadable_frames']``, confidence
0) instead of silently shifting everything after them. Frames where nobody is found are listed in
``meta['empty_frames']``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import numpy as np

from mgreason.errors import DataError
from mgreason.skeleton.sequence import SkeletonSequence

__all__ = ["VIDEO_SUFFIXES", "VIDEO_EXTRA", "require_video_backend", "read_video", "video_backend_versions"]

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ts"})
VIDEO_EXTRA = "pip install 'mgreason[video]' && pip install --no-deps mediapipe==0.10.21"
HAND_CONFIDENCE = 1.0

Progress = Callable[[int, Optional[int]], None]  # (frames done, frames expected or None)


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
def _quiet_native_stderr(enabled: bool = True) -> Iterator[None]:
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


def _landmarks(lms: Any, n: int, w: int, h: int, visibility: bool) -> tuple[np.ndarray, np.ndarray]:
    xy = np.full((n, 2), np.nan, dtype=np.float32)
    conf = np.zeros(n, dtype=np.float32)
    if lms is None:
        return xy, conf
    pts = lms.landmark
    for i in range(min(n, len(pts))):
        p = pts[i]
        xy[i] = (p.x * w, p.y * h)
        conf[i] = float(np.clip(p.visibility, 0.0, 1.0)) if visibility else HAND_CONFIDENCE
    return xy, conf


def read_video(
    path: str | Path,
    *,
    model: str = "holistic",
    model_complexity: int = 1,
    min_detection_confidence: float = 0.5,
    min_tracking_confidence: float = 0.5,
    max_frames: Optional[int] = None,
    progress: Optional[Progress] = None,
) -> SkeletonSequence:
    """Pose (+ hands) of the most prominent person in every frame of a video file."""
    path = Path(path)
    if not path.is_file():
        raise DataError("no such video file", file=path)
    if model not in ("holistic", "pose"):
        raise DataError(f"unknown video model {model!r}; choose 'holistic' or 'pose'", field="video_model")
    if model_complexity not in (0, 1):
        # complexity 2 (pose_landmark_heavy) is not shipped in the wheel and would be downloaded
        raise DataError("model_complexity must be 0 or 1 (the heavy model is not shipped offline)", field="model_complexity")
    with _quiet_native_stderr():
        mp, cv2 = require_video_backend()
        return _read(path, mp, cv2, model, model_complexity, min_detection_confidence, min_tracking_confidence,
                     max_frames, progress)  # fmt: skip


def _read(
    path: Path,
    mp: Any,
    cv2: Any,
    model: str,
    model_complexity: int,
    min_detection_confidence: float,
    min_tracking_confidence: float,
    max_frames: Optional[int],
    progress: Optional[Progress],
) -> SkeletonSequence:
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise DataError("unreadable video: the file cannot be opened or decoded (corrupt or unsupported format)", file=path)
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    n_expected = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    if n_expected <= 0:
        n_expected = 0
    if max_frames is not None:
        n_expected = min(n_expected, max_frames) if n_expected else max_frames
    width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
    height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
    if not np.isfinite(fps) or fps <= 0 or fps > 1000:
        cap.release()
        raise DataError(f"unreadable video: no valid frame rate in the container ({fps})", file=path)

    if model == "holistic":
        est = mp.solutions.holistic.Holistic(
            static_image_mode=False,
            model_complexity=model_complexity,
            smooth_landmarks=True,
            refine_face_landmarks=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        layout, V = "mediapipe75", 75
    else:
        est = mp.solutions.pose.Pose(
            static_image_mode=False,
            model_complexity=model_complexity,
            smooth_landmarks=True,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        layout, V = "mediapipe33", 33

    frames: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    empty: list[int] = []
    decode_errors = 0
    last = -1
    t0_ms: Optional[float] = None
    consecutive_fail = 0
    attempts = 0
    max_attempts = (2 * n_expected + 100) if n_expected else None
    try:
        while True:
            if max_frames is not None and last + 1 >= max_frames:
                break
            if max_attempts is not None and attempts >= max_attempts:
                break
            attempts += 1
            ok, img = cap.read()
            if not ok or img is None or img.size == 0:
                consecutive_fail += 1
                remaining = max(0, n_expected - (last + 1)) if n_expected else 0
                if consecutive_fail > remaining + 8:
                    break
                continue
            decode_errors += consecutive_fail  # failures followed by a good frame (trailing ones are EOF)
            consecutive_fail = 0
            ms = float(cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0)
            if t0_ms is None:
                t0_ms = ms
            idx = int(round((ms - t0_ms) / 1000.0 * fps))
            if idx <= last or idx > last + 10 * fps + 1:  # no usable timestamps: count frames
                idx = last + 1
            last = idx
            h, w = img.shape[:2]
            rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
            res = est.process(rgb)
            pose = getattr(res, "pose_landmarks", None)
            pxy, pc = _landmarks(pose, 33, w, h, True)
            if model == "holistic":
                lxy, lc = _landmarks(getattr(res, "left_hand_landmarks", None), 21, w, h, False)
                rxy, rc = _landmarks(getattr(res, "right_hand_landmarks", None), 21, w, h, False)
                xy, c = np.concatenate([pxy, lxy, rxy]), np.concatenate([pc, lc, rc])
            else:
                xy, c = pxy, pc
            if not (c > 0).any():
                empty.append(idx)
            frames[idx] = (xy, c)
            if progress is not None:
                progress(len(frames), n_expected or None)
    finally:
        cap.release()
        est.close()

    if not frames:
        raise DataError("unreadable video: not a single frame could be decoded", file=path)
    T = max(last + 1, n_expected)  # frames the container announces but never delivered are unreadable
    coords = np.full((T, V, 2), np.nan, dtype=np.float32)
    conf = np.zeros((T, V), dtype=np.float32)
    for i, (xy, c) in frames.items():
        if i < T:
            coords[i], conf[i] = xy, c
    unreadable = sorted(set(range(T)) - set(frames))
    meta = {
        "source": "video",
        "path": str(path),
        "detector": f"mediapipe {getattr(mp, '__version__', '?')} {model} (model_complexity={model_complexity})",
        "img_shape": [height or int(h), width or int(w)],
        "frame_count": n_expected or None,
        "decoded_frames": len(frames),
        "decode_errors": decode_errors,
        "unreadable_frames": unreadable,
        "empty_frames": sorted(empty),
    }
    return SkeletonSequence(coords, conf, fps, layout, meta)
