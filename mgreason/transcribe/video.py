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
* ``pose-hands``: MediaPipe Pose, then MediaPipe Hands (one tracker per side) only on a square crop
  around each wrist the pose sees (:class:`CroppedHands`), mapped back to the frame -> ``mediapipe75``.
  The measured alternative to Holistic (``benchmarks/results/video.md`` says which is better).

Coordinates are image pixels of the *original* video (x right, y down), as OpenPose reports them; a
pose landmark's confidence is its visibility, a hand landmark's is 1 when the hand was found.

Frames are placed on the timeline by their container timestamps, so frames the decoder cannot read
(corrupt packets) show up as *unreadable* frames (listed in ``meta['unreadable_frames']``, confidence
0) instead of silently shifting everything after them. Frames where nobody is found are listed in
``meta['empty_frames']``.

Speed (issue 19; measured in ``benchmarks/results/video.md``):

* ``pose_fps``: MediaPipe runs on frames picked evenly at this rate (default
  :data:`DEFAULT_POSE_FPS`); the frames in between are decoded (``grab``, needed for the timeline and
  by inter-frame codecs) but never converted to an image, and their landmarks are interpolated
  linearly from the two nearest processed frames (see :func:`interpolate_skipped`). ``None`` or ``0``:
  every frame.
* ``max_side``: frames are scaled down (bilinear) so their longer side is at most this many pixels
  before MediaPipe (default :data:`DEFAULT_MAX_SIDE`: only 4K is scaled, to 1080p; MediaPipe's own
  cost does not depend on the frame size, and small frames lose hands in wide shots); landmarks are
  scaled back to the original pixels. ``None`` or ``0``: the original size.
* ``reader_thread``: decoding and scaling run in a second thread that feeds a bounded queue of at most
  ``queue_size`` frames, so decoding overlaps MediaPipe and a video of any length holds at most
  ``queue_size + 2`` decoded frames in memory.
"""

from __future__ import annotations

import math
import os
import queue
import sys
import tempfile
import threading
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import numpy as np

from mgreason.errors import DataError
from mgreason.skeleton.sequence import SkeletonSequence
from mgreason.transcribe.video_options import (
    DEFAULT_HANDS,
    DEFAULT_MAX_SIDE,
    DEFAULT_POSE_FPS,
    DEFAULT_VIDEO_MODEL,
    HANDS_MODES,
    VIDEO_MODELS,
    check_model_and_hands,
)

__all__ = [
    "VIDEO_SUFFIXES",
    "VIDEO_EXTRA",
    "DEFAULT_POSE_FPS",
    "DEFAULT_MAX_SIDE",
    "DEFAULT_QUEUE_SIZE",
    "require_video_backend",
    "read_video",
    "video_backend_versions",
    "check_video_options",
    "pose_frame_mask",
    "interpolate_skipped",
    "VIDEO_MODELS",
    "HANDS_MODES",
    "CroppedHands",
    "hand_crop",
]

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ts"})
VIDEO_EXTRA = "pip install 'mgreason[video]' && pip install --no-deps mediapipe==0.10.21"
HAND_CONFIDENCE = 1.0
DEFAULT_QUEUE_SIZE = 8
MIN_MAX_SIDE = 64
HAND_VISIBILITY = 0.5  # hands="auto": the hand models run when a pose hand point was this visible ...
HAND_RECHECK = 15  # ... or a hand was found on the previous processed frame, or on every 15th processed frame
_POSE_HAND_POINTS = list(range(15, 23))  # mediapipe33 wrists, pinkies, index fingers, thumbs
# pose-hands: mediapipe33 indices per side (the subject's left hand is Holistic's left_hand_landmarks)
_SIDE_POINTS = {"left": {"elbow": 13, "wrist": 15, "pinky": 17, "index": 19, "thumb": 21},
                "right": {"elbow": 14, "wrist": 16, "pinky": 18, "index": 20, "thumb": 22}}  # fmt: skip
HAND_CROP = 256  # pixels of the square crop handed to MediaPipe Hands
_MP_STEP_US = 33333  # what mediapipe 0.10.21's SolutionBase.process adds to its timestamp per call
_REAL_TIMESTAMPS = True

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


# --------------------------------------------------------------------------- options
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
        if isinstance(max_side, bool) or not isinstance(max_side, (int, np.integer)):
            raise DataError(f"expected a whole number of pixels, got {max_side!r}", field="--video-max-side")
        if max_side == 0:
            max_side = None
        elif max_side < MIN_MAX_SIDE:
            raise DataError(
                f"must be 0 (original size) or at least {MIN_MAX_SIDE} pixels, got {max_side}", field="--video-max-side"
            )
        else:
            max_side = int(max_side)
    if isinstance(queue_size, bool) or not isinstance(queue_size, (int, np.integer)) or queue_size < 1:
        raise DataError(f"must be a whole number >= 1, got {queue_size!r}", field="--video-queue")
    return pose_fps, max_side, int(queue_size)


def _shipped(mp: Any, relpath: str) -> bool:
    return (Path(mp.__file__).parent / relpath).is_file()


# --------------------------------------------------------------------------- frame picking, interpolation
def _step(fps: float, pose_fps: Optional[float]) -> int:
    """The longest run of frames between two processed ones (ceil(fps / pose_fps))."""
    if pose_fps is None or pose_fps >= fps:
        return 1
    return max(1, int(math.ceil(fps / pose_fps - 1e-9)))


def _picked(idx: int, ratio: float) -> bool:
    """Is frame ``idx`` one of the evenly spread frames at ``ratio = pose_fps / fps`` (frame 0 always is)?"""
    if ratio >= 1.0 or idx <= 0:
        return True
    return math.floor(idx * ratio + 1e-9) != math.floor((idx - 1) * ratio + 1e-9)


def pose_frame_mask(num_frames: int, fps: float, pose_fps: Optional[float]) -> np.ndarray:
    """Which of ``num_frames`` consecutive frames MediaPipe sees at ``pose_fps`` (a bool array)."""
    ratio = 1.0 if pose_fps is None else float(pose_fps) / float(fps)
    return np.array([_picked(i, ratio) for i in range(num_frames)], dtype=bool)


def interpolate_skipped(
    coords: np.ndarray, conf: np.ndarray, processed: np.ndarray, decoded: np.ndarray, step: int
) -> np.ndarray:
    """Fill the decoded frames that MediaPipe skipped, in place; returns the mask of filled frames.

    A skipped frame between two processed frames at most ``2 * step`` apart gets, per joint, the linear
    interpolation of both (position and confidence) when the joint was found in both, and nothing (NaN,
    confidence 0) otherwise. A skipped frame with a processed frame on one side only (the ends of the
    video, next to unreadable spans) copies that frame when it is at most ``step`` frames away.
    Frames that were not decoded (``decoded`` False) are never filled: they stay unreadable.
    """
    T = coords.shape[0]
    P = np.flatnonzero(processed)
    todo = np.flatnonzero(decoded & ~processed)
    filled = np.zeros(T, dtype=bool)
    if len(P) == 0 or len(todo) == 0:
        return filled
    j = np.searchsorted(P, todo)
    has_prev, has_next = j > 0, j < len(P)
    prev = np.where(has_prev, P[np.maximum(j - 1, 0)], -1)
    nxt = np.where(has_next, P[np.minimum(j, len(P) - 1)], -1)
    both = has_prev & has_next & (nxt - prev <= 2 * step)
    if both.any():
        i, a, b = todo[both], prev[both], nxt[both]
        w = ((i - a) / (b - a)).astype(np.float32)
        ok = (conf[a] > 0) & (conf[b] > 0)  # (n, V)
        c = conf[a] + (conf[b] - conf[a]) * w[:, None]
        xy = coords[a] + (coords[b] - coords[a]) * w[:, None, None]
        coords[i] = np.where(ok[..., None], xy, np.nan)
        conf[i] = np.where(ok, c, 0.0)
        filled[i] = True
    one = ~both
    if one.any():
        i = todo[one]
        dp = np.where(has_prev[one], i - prev[one], T + 1)
        dn = np.where(has_next[one], nxt[one] - i, T + 1)
        src = np.where(dp <= dn, prev[one], nxt[one])
        near = np.minimum(dp, dn) <= step
        i, src = i[near], src[near]
        coords[i], conf[i] = coords[src], conf[src]
        filled[i] = True
    return filled


# --------------------------------------------------------------------------- reader
class _Stop(Exception):
    pass


class FrameReader:
    """Decodes a video and yields ``(index, image or None)`` in timeline order: ``image`` is the RGB
    frame (scaled so its longer side is at most ``max_side``) for frames picked at ``pose_fps``, ``None``
    for frames that were decoded but are not needed (``grab`` without ``retrieve``: no colour conversion,
    no copy). Unreadable frames are not yielded (the caller sees the index jump).

    With ``thread=True`` the decoding runs in a second thread that puts at most ``queue_size`` items
    into a bounded queue, so at most ``queue_size + 2`` images exist at any time (``peak_images``
    records the largest number seen). ``timings`` accumulates wall and process-CPU seconds per stage
    (``decode``: grab + retrieve, ``convert``: scaling + BGR->RGB).
    """

    def __init__(
        self,
        cap: Any,
        cv2: Any,
        *,
        fps: float,
        n_expected: int,
        pose_fps: Optional[float],
        max_side: Optional[int],
        max_frames: Optional[int],
        thread: bool = True,
        queue_size: int = DEFAULT_QUEUE_SIZE,
    ):
        self.cap, self.cv2 = cap, cv2
        self.fps, self.n_expected, self.max_frames = fps, n_expected, max_frames
        self.ratio = 1.0 if pose_fps is None else min(1.0, pose_fps / fps)
        self.step = _step(fps, pose_fps)
        self.max_side = max_side
        self.thread, self.queue_size = thread, queue_size
        self.decode_errors = 0
        self.last = -1
        self.size: Optional[tuple[int, int]] = None  # (h, w) of the decoded frames
        self.scaled_size: Optional[tuple[int, int]] = None
        self.timings: dict[str, float] = {"decode_wall": 0.0, "decode_cpu": 0.0, "convert_wall": 0.0, "convert_cpu": 0.0}
        self._lock = threading.Lock()
        self._alive = 0  # images created and not yet released by the consumer
        self.peak_images = 0

    # one image more / less in memory
    def _hold(self) -> None:
        with self._lock:
            self._alive += 1
            self.peak_images = max(self.peak_images, self._alive)

    def release(self) -> None:
        """The consumer is done with the last image it got."""
        with self._lock:
            self._alive = max(0, self._alive - 1)

    def _convert(self, img: np.ndarray) -> np.ndarray:
        cv2 = self.cv2
        h, w = img.shape[:2]
        if self.max_side is not None and max(h, w) > self.max_side:
            s = self.max_side / max(h, w)
            img = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_LINEAR)
        out = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        self.scaled_size = (out.shape[0], out.shape[1])
        return out

    def _produce(self) -> Iterator[tuple[int, Optional[np.ndarray]]]:
        cap, cv2 = self.cap, self.cv2
        n_expected, max_frames = self.n_expected, self.max_frames
        t0_ms: Optional[float] = None
        consecutive_fail = 0
        attempts = 0
        max_attempts = (2 * n_expected + 100) if n_expected else None
        last_processed = -(10**9)
        tm = self.timings
        while True:
            if max_frames is not None and self.last + 1 >= max_frames:
                return
            if max_attempts is not None and attempts >= max_attempts:
                return
            attempts += 1
            w0, c0 = time.perf_counter(), time.process_time()
            ok = cap.grab()
            ms = float(cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0) if ok else 0.0
            if ok:
                if t0_ms is None:
                    t0_ms = ms
                idx = int(round((ms - t0_ms) / 1000.0 * self.fps))
                if idx <= self.last or idx > self.last + 10 * self.fps + 1:  # no usable timestamps: count frames
                    idx = self.last + 1
                want = _picked(idx, self.ratio) or idx - last_processed >= self.step
                img = None
                if want:
                    ok, img = cap.retrieve()
                    ok = bool(ok) and img is not None and img.size > 0
            w1, c1 = time.perf_counter(), time.process_time()
            tm["decode_wall"] += w1 - w0
            tm["decode_cpu"] += c1 - c0
            if not ok:
                consecutive_fail += 1
                remaining = max(0, n_expected - (self.last + 1)) if n_expected else 0
                if consecutive_fail > remaining + 8:
                    return
                continue
            self.decode_errors += consecutive_fail  # failures followed by a good frame (trailing ones are EOF)
            consecutive_fail = 0
            self.last = idx
            if img is None:
                yield idx, None
                continue
            if self.size is None:
                self.size = (int(img.shape[0]), int(img.shape[1]))
            last_processed = idx
            self._hold()
            out = self._convert(img)
            del img
            tm["convert_wall"] += time.perf_counter() - w1
            tm["convert_cpu"] += time.process_time() - c1
            yield idx, out

    def __iter__(self) -> Iterator[tuple[int, Optional[np.ndarray]]]:
        if not self.thread:
            yield from self._produce()
            return
        q: queue.Queue = queue.Queue(maxsize=self.queue_size)
        stop = threading.Event()

        def put(item: Any) -> None:
            while True:
                if stop.is_set():
                    raise _Stop
                try:
                    q.put(item, timeout=0.1)
                    return
                except queue.Full:
                    continue

        def work() -> None:
            try:
                for item in self._produce():
                    put(("item", item))
                put(("end", None))
            except _Stop:
                pass
            except BaseException as e:  # handed to the consumer
                try:
                    put(("error", e))
                except _Stop:
                    pass

        t = threading.Thread(target=work, name="mgreason-video-reader", daemon=True)
        t.start()
        try:
            while True:
                kind, item = q.get()
                if kind == "end":
                    return
                if kind == "error":
                    raise item
                yield item
        finally:
            stop.set()
            while t.is_alive():
                try:
                    while True:
                        q.get_nowait()
                except queue.Empty:
                    pass
                t.join(timeout=0.05)


# --------------------------------------------------------------------------- read
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
) -> SkeletonSequence:
    """Pose (+ hands) of the most prominent person in every frame of a video file.

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
    from mgreason.fileio import require_input_file

    require_input_file(path, error=DataError)  # the path rule: a FIFO or device is never opened
    check_model_and_hands(model, hands)
    if model_complexity not in (0, 1):
        # complexity 2 (pose_landmark_heavy) is not shipped in the wheel and would be downloaded
        raise DataError("model_complexity must be 0 or 1 (the heavy model is not shipped offline)", field="model_complexity")
    pose_fps, max_side, queue_size = check_video_options(pose_fps, max_side, queue_size)
    with _quiet_native_stderr():
        mp, cv2 = require_video_backend()
        if model_complexity == 0 and not _shipped(mp, "modules/pose_landmark/pose_landmark_lite.tflite"):
            raise DataError(
                "model_complexity=0 needs pose_landmark_lite.tflite, which this mediapipe wheel does not ship "
                "(it would be downloaded); use 1",
                field="model_complexity",
            )
        return _read(path, mp, cv2, model, model_complexity, min_detection_confidence, min_tracking_confidence,
                     max_frames, progress, pose_fps, max_side, reader_thread, queue_size, hands)  # fmt: skip


def _holistic_without_face(mp: Any, model_complexity: int, min_det: float, min_track: float, gate_hands: bool = False) -> Any:
    """MediaPipe Holistic's own graph without its face-mesh branch (468 face landmarks nobody here uses):
    the same pose and hand landmarks, bit for bit (checked in the tests), less CPU per frame
    (``benchmarks/results/video.md``). With ``gate_hands`` the pose landmarks reach the hand models only
    when the input stream ``allow_hands`` is true (a ``GateCalculator``), so the caller can skip the hand
    models on frames where no hand can be seen. ``None`` when this mediapipe's graph does not look as
    expected (then the stock Holistic is used)."""
    try:
        from mediapipe.framework import calculator_pb2
        from mediapipe.python.solution_base import SolutionBase

        graph = Path(mp.__file__).parent / "modules" / "holistic_landmark" / "holistic_landmark_cpu.binarypb"
        cfg = calculator_pb2.CalculatorGraphConfig()
        cfg.ParseFromString(graph.read_bytes())
        face = [n for n in cfg.node if n.calculator == "FaceLandmarksFromPoseCpu"]
        split = [n for n in cfg.node if n.calculator == "SplitNormalizedLandmarkListCalculator"
                 and list(n.output_stream) == ["face_landmarks_from_pose"]]  # fmt: skip
        if len(face) != 1 or len(split) != 1 or len(cfg.node) != 4:
            return None
        keep = [n for n in cfg.node if n is not face[0] and n is not split[0]]
        del cfg.node[:]
        cfg.node.extend(keep)
        outs = [o for o in cfg.output_stream if not o.startswith("FACE_LANDMARKS:")]
        del cfg.output_stream[:]
        cfg.output_stream.extend(outs)
        sides = [x for x in cfg.input_side_packet if not x.startswith("REFINE_FACE_LANDMARKS:")]
        del cfg.input_side_packet[:]
        cfg.input_side_packet.extend(sides)
        if gate_hands:
            hands = [n for n in cfg.node if n.calculator == "HandLandmarksLeftAndRightCpu"]
            if len(hands) != 1 or list(hands[0].input_stream) != ["IMAGE:image", "POSE_LANDMARKS:pose_landmarks"]:
                return None
            cfg.input_stream.append("ALLOW_HANDS:allow_hands")
            gate = cfg.node.add()
            gate.calculator = "GateCalculator"
            gate.input_stream.extend(["pose_landmarks", "ALLOW:allow_hands"])
            gate.output_stream.append("pose_landmarks_for_hands")
            del hands[0].input_stream[:]
            hands[0].input_stream.extend(["IMAGE:image", "POSE_LANDMARKS:pose_landmarks_for_hands"])
        return SolutionBase(
            graph_config=cfg,
            side_inputs={
                "model_complexity": model_complexity,
                "smooth_landmarks": True,
                "enable_segmentation": False,
                "smooth_segmentation": True,
                "use_prev_landmarks": True,
            },
            calculator_params={
                "poselandmarkcpu__posedetectioncpu__TensorsToDetectionsCalculator.min_score_thresh": min_det,
                "poselandmarkcpu__poselandmarkbyroicpu__tensorstoposelandmarksandsegmentation__ThresholdingCalculator"
                ".threshold": min_track,
            },
            outputs=["pose_landmarks", "left_hand_landmarks", "right_hand_landmarks"],
        )
    except Exception:  # any other mediapipe build: fall back to the stock solution
        return None


def hand_crop(pxy: np.ndarray, pc: np.ndarray, side: str, shape: tuple[int, int]) -> Optional[tuple[float, float, float]]:
    """``(cx, cy, size)`` of the square (pixels of the image of ``shape`` = (h, w)) around one hand, from the
    pose landmarks ``pxy`` / ``pc`` (mediapipe33, same pixels), or ``None`` when the pose has no wrist there.

    Centred on the knuckles (the mean of the pose's index and pinky points; the wrist when they are
    missing); the side is twice the hand's length, estimated as the larger of 2x wrist-knuckles and
    0.6x the forearm (the finger points are coarse), at least 48 pixels. A crop that lies entirely outside
    the image is ``None``."""
    k = _SIDE_POINTS[side]
    if pc[k["wrist"]] <= 0 or not np.isfinite(pxy[k["wrist"]]).all():
        return None
    wrist = pxy[k["wrist"]].astype(np.float64)
    fingers = [pxy[k[n]] for n in ("index", "pinky") if pc[k[n]] > 0 and np.isfinite(pxy[k[n]]).all()]
    knuckles = np.mean(fingers, axis=0) if fingers else wrist
    hand_len = 2.0 * float(np.linalg.norm(knuckles - wrist))
    if pc[k["elbow"]] > 0 and np.isfinite(pxy[k["elbow"]]).all():
        hand_len = max(hand_len, 0.6 * float(np.linalg.norm(wrist - pxy[k["elbow"]])))
    size = max(48.0, 2.0 * hand_len)
    cx, cy = float(knuckles[0]), float(knuckles[1])
    h, w = shape
    if cx + size / 2 < 0 or cy + size / 2 < 0 or cx - size / 2 > w or cy - size / 2 > h:
        return None
    return cx, cy, size


class CroppedHands:
    """MediaPipe Hands on crops around the wrists that MediaPipe Pose found (``--video-model pose-hands``).

    One ``Hands`` tracker per side (``max_num_hands=1``, so a hand found in the left crop *is* the left
    hand, as in Holistic), fed a :data:`HAND_CROP`-pixel square (:func:`hand_crop`, zero padding beyond
    the image) and tracking from call to call (palm detection only when the hand is lost). A found hand
    whose wrist lies farther than a third of the crop from the pose's wrist (the other hand, in a crop
    where both hands meet) is dropped. Landmarks come back in the pixels of the image given."""

    def __init__(self, mp: Any, cv2: Any, model_complexity: int, min_det: float, min_track: float):
        self.cv2 = cv2
        self.models = {
            side: mp.solutions.hands.Hands(static_image_mode=False, max_num_hands=1, model_complexity=model_complexity,
                                           min_detection_confidence=min_det, min_tracking_confidence=min_track)
            for side in ("left", "right")
        }  # fmt: skip
        self.found = {"left": False, "right": False}
        self.calls = 0
        self.frames = 0  # processed frames where at least one hand model ran

    def close(self) -> None:
        for m in self.models.values():
            m.close()

    def wanted(self, side: str, pc: np.ndarray, gate: bool, recheck: bool) -> bool:
        """Run this side's hand model? Always when not ``gate``; else when the pose sees one of the side's
        hand points with visibility >= :data:`HAND_VISIBILITY`, the hand was found on the previous
        processed frame, or on a recheck frame."""
        if not gate or recheck or self.found[side]:
            return True
        k = _SIDE_POINTS[side]
        return max(pc[k[n]] for n in ("wrist", "pinky", "index", "thumb")) >= HAND_VISIBILITY

    def process(
        self, rgb: np.ndarray, pxy: np.ndarray, pc: np.ndarray, ts_us: Optional[int], gate: bool, recheck: bool
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        cv2 = self.cv2
        h, w = rgb.shape[:2]
        out = {}
        ran = False
        for side, model in self.models.items():
            xy = np.full((21, 2), np.nan, dtype=np.float32)
            conf = np.zeros(21, dtype=np.float32)
            out[side] = (xy, conf)
            box = hand_crop(pxy, pc, side, (h, w)) if pc.any() else None
            if box is None or not self.wanted(side, pc, gate, recheck):
                self.found[side] = False
                continue
            cx, cy, size = box
            s = HAND_CROP / size  # crop pixels per image pixel
            M = np.array([[s, 0.0, HAND_CROP / 2 - s * cx], [0.0, s, HAND_CROP / 2 - s * cy]], dtype=np.float64)
            crop = cv2.warpAffine(rgb, M, (HAND_CROP, HAND_CROP), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            if ts_us is not None and isinstance(getattr(model, "_simulated_timestamp", None), int):
                model._simulated_timestamp = max(ts_us, model._simulated_timestamp + 1) - _MP_STEP_US
            res = model.process(crop)
            self.calls += 1
            ran = True
            hands = getattr(res, "multi_hand_landmarks", None)
            found = False
            if hands:
                lm = hands[0].landmark
                pts = np.array([(p.x * HAND_CROP, p.y * HAND_CROP) for p in lm[:21]], dtype=np.float64)
                pts = (pts - HAND_CROP / 2) / s + (cx, cy)  # back to image pixels
                wrist = pxy[_SIDE_POINTS[side]["wrist"]]
                if np.linalg.norm(pts[0] - wrist) <= size / 3:
                    xy[:] = pts
                    conf[:] = HAND_CONFIDENCE
                    found = True
            self.found[side] = found
        self.frames += ran
        return out


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
) -> SkeletonSequence:
    wall0, cpu0 = time.perf_counter(), os.times()
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
        est = _holistic_without_face(mp, model_complexity, min_detection_confidence, min_tracking_confidence,
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

    face_less = model == "holistic" and not isinstance(est, mp.solutions.holistic.Holistic)
    gated = face_less and hands == "auto"
    allow_hands = True
    hand_frames = 0
    processed_n = 0
    reader = FrameReader(cap, cv2, fps=fps, n_expected=n_expected, pose_fps=pose_fps, max_side=max_side,
                         max_frames=max_frames, thread=reader_thread, queue_size=queue_size)  # fmt: skip
    buf = _Growing(V, n_expected + 1 if n_expected else 1024)
    pose_wall = pose_cpu = lm_wall = hands_wall = hands_cpu = 0.0
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
                if _REAL_TIMESTAMPS and isinstance(getattr(est, "_simulated_timestamp", None), int):
                    # the legacy API stamps every call 33.3 ms after the previous one; MediaPipe's landmark
                    # smoothing filters are time-based, so give them the frame's real time instead
                    ts = int(round(idx * 1e6 / fps))
                    est._simulated_timestamp = max(ts, last_ts + 1) - _MP_STEP_US
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
                    sxy, spc = _landmarks(getattr(res, "pose_landmarks", None), 33, sw, sh, True)
                    found = cropped.process(rgb, sxy, spc, ts_us, gate=hands == "auto",
                                            recheck=processed_n % HAND_RECHECK == 0)  # fmt: skip
                    hands_wall += time.perf_counter() - th
                    hands_cpu += time.process_time() - tc
                t1, c1 = time.perf_counter(), time.process_time()
                processed_n += 1
                hand_frames += bool(model == "holistic" and allow_hands)
                del rgb
                reader.release()
                pxy, pc = _landmarks(getattr(res, "pose_landmarks", None), 33, w, h, True)
                if cropped is not None:
                    to_orig = np.array([w / sw, h / sh], dtype=np.float32)
                    (lxy, lc), (rxy, rc) = found["left"], found["right"]
                    buf.coords[idx] = np.concatenate([pxy, lxy * to_orig, rxy * to_orig])
                    buf.conf[idx] = np.concatenate([pc, lc, rc])
                elif model == "holistic":
                    lxy, lc = _landmarks(getattr(res, "left_hand_landmarks", None), 21, w, h, False)
                    rxy, rc = _landmarks(getattr(res, "right_hand_landmarks", None), 21, w, h, False)
                    buf.coords[idx] = np.concatenate([pxy, lxy, rxy])
                    buf.conf[idx] = np.concatenate([pc, lc, rc])
                    # hands on the next processed frame: a hand was found, or the pose sees a hand point
                    if gated:
                        allow_hands = bool(lc.any() or rc.any() or pc[_POSE_HAND_POINTS].max() >= HAND_VISIBILITY
                                           or not pc.any())  # fmt: skip
                else:
                    buf.coords[idx], buf.conf[idx] = pxy, pc
                buf.processed[idx] = True
                pose_wall += t1 - t0
                pose_cpu += c1 - c0
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
                "decode": round(tm["decode_wall"], 4),
                "convert": round(tm["convert_wall"], 4),
                "pose": round(pose_wall, 4),
                **({"hands": round(hands_wall, 4)} if cropped is not None else {}),
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
