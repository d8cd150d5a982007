"""``read_video``: pose (+ hands) of the most prominent person in every frame of a video file."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from mgreason.errors import DataError
from mgreason.skeleton.sequence import SkeletonSequence
from mgreason.transcribe.video import pose
from mgreason.transcribe.video.backend import quiet_native_stderr, require_video_backend, shipped_model
from mgreason.transcribe.video.options import (
    DEFAULT_HANDS,
    DEFAULT_MAX_SIDE,
    DEFAULT_POSE_FPS,
    DEFAULT_QUEUE_SIZE,
    DEFAULT_VIDEO_MODEL,
    check_model_and_hands,
    check_model_complexity,
    check_video_options,
)
from mgreason.transcribe.video.pose import (
    HAND_RECHECK,
    HAND_VISIBILITY,
    MP_STEP_US,
    POSE_HAND_POINTS,
    CroppedHands,
    landmarks,
)
from mgreason.transcribe.video.reader import FrameReader
from mgreason.transcribe.video.sampling import interpolate_skipped
from mgreason.transcribe.video.sources import open_capture

__all__ = ["Progress", "read_video"]

# MediaPipe's smoothing filters get each frame's real time (False: the legacy API's 33.3 ms steps; benchmarks)
REAL_TIMESTAMPS = True

Progress = Callable[[int, Optional[int]], None]  # (frames done, frames expected or None)


def read_video(
    path: str | Path,
    *,
    model: str = DEFAULT_VIDEO_MODEL,
    model_complexity: int = 1,
    min_detection_confidence: float = 0.5,
    min_tracking_confidence: float = 0.5,
    max_frames: Optional[int] = None,
    progress: Optional[Progress] = None,
    pose_fps: Optional[float] = DEFAULT_POSE_FPS,
    max_side: Optional[int] = DEFAULT_MAX_SIDE,
    reader_thread: bool = True,
    queue_size: int = DEFAULT_QUEUE_SIZE,
    hands: str = DEFAULT_HANDS,
    fps: Optional[float] = None,
) -> SkeletonSequence:
    """Pose (+ hands) of the most prominent person in every frame of a video file, an animated GIF or a
    directory of frame images (played at ``fps``, default :data:`~.options.DEFAULT_FRAMES_FPS`; a video's
    and a GIF's own frame rate is always used).

    ``hands`` (holistic only): ``"auto"`` runs the hand models on a processed frame only when the previous
    one showed a hand point of the pose (wrist, fingers) with visibility >= :data:`HAND_VISIBILITY` or a
    found hand, and on every :data:`HAND_RECHECK`-th processed frame; ``"always"`` on every one.

    MediaPipe runs on frames picked at ``pose_fps`` (``None``/0: every frame), scaled to at most
    ``max_side`` pixels (``None``/0: original size); see the module docstring. ``meta['video']`` says
    what was done (frames processed and interpolated, sizes, per-stage timings, peak frames held).
    """
    path = Path(path)
    if not path.exists():
        raise DataError("no such video file", file=path)
    if not path.is_dir():
        from mgreason.fileio import require_input_file

        require_input_file(path, error=DataError)  # the path rule: a FIFO or device is never opened
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise DataError(f"fps must be positive, got {fps}", field="--fps")
    check_model_and_hands(model, hands)
    check_model_complexity(model_complexity)
    pose_fps, max_side, queue_size = check_video_options(pose_fps, max_side, queue_size)
    init0 = time.perf_counter()
    with quiet_native_stderr():
        mp, cv2 = require_video_backend()
        if model_complexity == 0 and not shipped_model(mp, "modules/pose_landmark/pose_landmark_lite.tflite"):
            raise DataError(
                "model_complexity=0 needs pose_landmark_lite.tflite, which this mediapipe wheel does not ship "
                "(it would be downloaded); use 1",
                field="model_complexity",
            )
        return _read(path, mp, cv2, model, model_complexity, min_detection_confidence, min_tracking_confidence,
                     max_frames, progress, pose_fps, max_side, reader_thread, queue_size, hands, fps, init0)  # fmt: skip

class _Growing:
    """Landmark arrays that grow by doubling (no per-frame Python objects kept for long videos)."""

    def __init__(self, V: int, capacity: int):
        capacity = max(16, capacity)
        self.coords = np.full((capacity, V, 2), np.nan, dtype=np.float32)
        self.conf = np.zeros((capacity, V), dtype=np.float32)
        self.processed = np.zeros(capacity, dtype=bool)
        self.decoded = np.zeros(capacity, dtype=bool)

    def ensure(self, n: int) -> None:
        cap = self.coords.shape[0]
        if n <= cap:
            return
        new = max(n, 2 * cap)
        for name, fill in (("coords", np.nan), ("conf", 0.0), ("processed", False), ("decoded", False)):
            a = getattr(self, name)
            b = np.full((new,) + a.shape[1:], fill, dtype=a.dtype)
            b[:cap] = a
            setattr(self, name, b)

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
    pose_fps: Optional[float],
    max_side: Optional[int],
    reader_thread: bool,
    queue_size: int,
    hands: str = "always",
    frames_fps: Optional[float] = None,
    init0: Optional[float] = None,
) -> SkeletonSequence:
    wall0, cpu0 = time.perf_counter(), os.times()
    init0 = wall0 if init0 is None else init0
    cap = open_capture(path, cv2, frames_fps)
    if not cap.isOpened():
        cap.release()
        if path.is_dir():
            raise DataError("unreadable frames: the first images of this directory cannot be decoded", file=path)
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
        est = pose.holistic_without_face(mp, model_complexity, min_detection_confidence, min_tracking_confidence,
                                     gate_hands=hands == "auto")  # fmt: skip
    if model == "holistic" and est is None:
        est = mp.solutions.holistic.Holistic(
            static_image_mode=False,
            model_complexity=model_complexity,
            smooth_landmarks=True,
            refine_face_landmarks=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
    cropped: Optional[CroppedHands] = None
    if model == "holistic":
        layout, V = "mediapipe75", 75
    else:
        if model == "pose-hands":
            cropped = CroppedHands(mp, cv2, 1, min_detection_confidence, min_tracking_confidence)
        est = mp.solutions.pose.Pose(
            static_image_mode=False,
            model_complexity=model_complexity,
            smooth_landmarks=True,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        layout, V = ("mediapipe75", 75) if cropped is not None else ("mediapipe33", 33)

    init_wall = time.perf_counter() - init0  # MediaPipe/OpenCV imported, the video opened, the graph built
    face_less = model == "holistic" and not isinstance(est, mp.solutions.holistic.Holistic)
    gated = face_less and hands == "auto"
    allow_hands = True
    hand_frames = 0
    processed_n = 0
    reader = FrameReader(cap, cv2, fps=fps, n_expected=n_expected, pose_fps=pose_fps, max_side=max_side,
                         max_frames=max_frames, thread=reader_thread, queue_size=queue_size)  # fmt: skip
    buf = _Growing(V, n_expected + 1 if n_expected else 1024)
    pose_wall = pose_cpu = lm_wall = hands_wall = hands_cpu = 0.0
    pose_wall_hands = 0.0  # holistic: the graph's time on the frames where its hand branch could run
    n_done = 0
    next_report = 0.0
    last_ts = -1
    h, w = height, width
    try:
        for idx, rgb in reader:
            buf.ensure(idx + 1)
            buf.decoded[idx] = True
            n_done += 1
            if rgb is not None:
                if not (h and w) and reader.size is not None:
                    h, w = reader.size
                ts_us = None
                if REAL_TIMESTAMPS and isinstance(getattr(est, "_simulated_timestamp", None), int):
                    # the legacy API stamps every call 33.3 ms after the previous one; MediaPipe's landmark
                    # smoothing filters are time-based, so give them the frame's real time instead
                    ts = int(round(idx * 1e6 / fps))
                    est._simulated_timestamp = max(ts, last_ts + 1) - MP_STEP_US
                    last_ts = ts_us = max(ts, last_ts + 1)
                t0, c0 = time.perf_counter(), time.process_time()
                if gated:
                    allow_hands = allow_hands or processed_n % HAND_RECHECK == 0
                    res = est.process({"image": rgb, "allow_hands": bool(allow_hands)})
                else:
                    res = est.process(rgb)
                if cropped is not None:  # hands on crops of this frame, where this frame's pose sees them
                    th, tc = time.perf_counter(), time.process_time()
                    sh, sw = rgb.shape[:2]
                    sxy, spc = landmarks(getattr(res, "pose_landmarks", None), 33, sw, sh, True)
                    found = cropped.process(rgb, sxy, spc, ts_us, gate=hands == "auto",
                                            recheck=processed_n % HAND_RECHECK == 0)  # fmt: skip
                    hands_wall += time.perf_counter() - th
                    hands_cpu += time.process_time() - tc
                t1, c1 = time.perf_counter(), time.process_time()
                processed_n += 1
                hand_on = bool(model == "holistic" and allow_hands)
                hand_frames += hand_on
                del rgb
                reader.release()
                pxy, pc = landmarks(getattr(res, "pose_landmarks", None), 33, w, h, True)
                if cropped is not None:
                    to_orig = np.array([w / sw, h / sh], dtype=np.float32)
                    (lxy, lc), (rxy, rc) = found["left"], found["right"]
                    buf.coords[idx] = np.concatenate([pxy, lxy * to_orig, rxy * to_orig])
                    buf.conf[idx] = np.concatenate([pc, lc, rc])
                elif model == "holistic":
                    lxy, lc = landmarks(getattr(res, "left_hand_landmarks", None), 21, w, h, False)
                    rxy, rc = landmarks(getattr(res, "right_hand_landmarks", None), 21, w, h, False)
                    buf.coords[idx] = np.concatenate([pxy, lxy, rxy])
                    buf.conf[idx] = np.concatenate([pc, lc, rc])
                    # hands on the next processed frame: a hand was found, or the pose sees a hand point
                    if gated:
                        allow_hands = bool(lc.any() or rc.any() or pc[POSE_HAND_POINTS].max() >= HAND_VISIBILITY
                                           or not pc.any())  # fmt: skip
                else:
                    buf.coords[idx], buf.conf[idx] = pxy, pc
                buf.processed[idx] = True
                pose_wall += t1 - t0
                pose_cpu += c1 - c0
                if model == "holistic" and hand_on:
                    pose_wall_hands += t1 - t0
                lm_wall += time.perf_counter() - t1
            if progress is not None:
                now = time.perf_counter()
                if now >= next_report:  # at most ~10 updates per second
                    progress(n_done, n_expected or None)
                    next_report = now + 0.1
    finally:
        cap_size = reader.size
        est.close()
        if cropped is not None:
            cropped.close()
        cap.release()
    if progress is not None and n_done:
        progress(n_done, n_expected or None)

    last = reader.last
    if n_done == 0:
        raise DataError("unreadable video: not a single frame could be decoded", file=path)
    if not buf.processed.any():
        raise DataError("unreadable video: no frame could be converted to an image", file=path)
    T = max(last + 1, n_expected)  # frames the container announces but never delivered are unreadable
    buf.ensure(T)
    # views, not copies: a 1-hour video at 30 fps has ~100 MB of landmark arrays (75 joints)
    coords, conf, processed, decoded = buf.coords[:T], buf.conf[:T], buf.processed[:T], buf.decoded[:T]
    del buf
    t0 = time.perf_counter()
    filled = interpolate_skipped(coords, conf, processed, decoded, reader.step)
    interp_wall = time.perf_counter() - t0
    # skipped frames too far from any processed one stay unfilled: they count as frames without a person
    has_person = (conf > 0).any(axis=1)
    empty = np.flatnonzero(decoded & ~has_person).tolist()
    unreadable = np.flatnonzero(~decoded).tolist()
    cpu1 = os.times()
    tm = reader.timings
    wall = time.perf_counter() - wall0
    detector = f"mediapipe {getattr(mp, '__version__', '?')} {model} (model_complexity={model_complexity}"
    detector += ", no face mesh" if face_less else ""
    detector += ", hands where visible" if gated or (cropped is not None and hands == "auto") else ""
    detector += f", pose_fps={pose_fps:g}" if pose_fps is not None else ", every frame"
    detector += f", max_side={max_side})" if max_side is not None else ", original size)"
    if cap_size is None:
        cap_size = (height, width)
    meta = {
        "source": "video",
        "path": str(path),
        "detector": detector,
        "img_shape": [height or int(cap_size[0]), width or int(cap_size[1])],
        "frame_count": n_expected or None,
        "decoded_frames": int(decoded.sum()),
        "decode_errors": reader.decode_errors,
        "unreadable_frames": unreadable,
        "empty_frames": empty,
        "video": {
            "pose_fps": pose_fps,
            "max_side": max_side,
            "pose_input_shape": list(reader.scaled_size) if reader.scaled_size else None,
            "pose_frames": int(processed.sum()),
            "interpolated_frames": int(filled.sum()),
            "hands": ("auto" if gated or cropped is not None and hands == "auto" else "always") if V == 75 else None,
            "hand_model_frames": cropped.frames if cropped is not None else hand_frames if model == "holistic" else 0,
            **({"hand_model_calls": cropped.calls} if cropped is not None else {}),
            "reader_thread": bool(reader_thread),
            "queue_size": queue_size if reader_thread else None,
            "peak_frames_in_memory": reader.peak_images,
            "timings_s": {
                "init": round(init_wall, 4),
                "decode": round(tm["decode_wall"], 4),
                "convert": round(tm["convert_wall"], 4),
                "pose": round(pose_wall, 4),
                **({"hands": round(hands_wall, 4)} if cropped is not None else {}),
                # holistic: the part of "pose" spent on frames where the hand branch could run
                **({"pose_on_hand_frames": round(pose_wall_hands, 4)} if model == "holistic" else {}),
                "landmarks": round(lm_wall + interp_wall, 4),
                "total": round(wall, 4),
            },
            # process CPU time (all threads, os.times); per stage only without the reader thread, where
            # the stages do not overlap
            "cpu_s": {
                **(
                    {}
                    if reader_thread
                    else {"decode": round(tm["decode_cpu"], 4), "convert": round(tm["convert_cpu"], 4), "pose": round(pose_cpu, 4),
                          **({"hands": round(hands_cpu, 4)} if cropped is not None else {})}
                ),
                "total": round((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system), 4),
            },
        },
    }
    return SkeletonSequence(coords, conf, fps, layout, meta)
