"""``read_video``: pose (+ hands) of the most prominent person in every frame of a video file."""

from __future__ import annotations

import math
import os
import threading
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
    DEFAULT_WORKERS,
    check_model_and_hands,
    check_model_complexity,
    check_video_options,
    check_workers,
)
from mgreason.transcribe.video.gate import HAND_RECHECK, HandGate
from mgreason.transcribe.video.pose import MP_STEP_US, CroppedHands, landmarks
from mgreason.transcribe.video.reader import FrameReader
from mgreason.transcribe.video.sampling import interpolate_skipped
from mgreason.transcribe.video.sources import open_capture

__all__ = ["Progress", "read_video"]

# MediaPipe's smoothing filters get each frame's real time (False: the legacy API's 33.3 ms steps; benchmarks)
REAL_TIMESTAMPS = True
WARM_S = 0.5  # a worker after the first starts this early, to warm MediaPipe's tracking up (frames not kept)
MIN_SEGMENT_S = 2.0  # each worker gets at least this much video

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
    workers: Optional[int] = None,
    reuse_models: bool = False,
) -> SkeletonSequence:
    """Pose (+ hands) of the most prominent person in every frame of a video file, an animated GIF or a
    directory of frame images (played at ``fps``, default :data:`~.options.DEFAULT_FRAMES_FPS`; a video's
    and a GIF's own frame rate is always used).

    ``hands`` (holistic only): ``"auto"`` runs the hand models on a processed frame only where the previous
    one says a hand can matter (:func:`~.gate.hand_matters`: in view and near the face, neck or torso, or
    moving), and on every :data:`~.gate.HAND_RECHECK`-th processed frame; the hands of the frames it skips
    are interpolated from the nearest frames where they ran. ``"always"``: on every processed frame.

    ``workers``: the video is cut into this many contiguous parts (each at least :data:`MIN_SEGMENT_S`
    seconds), each decoded and run through its own MediaPipe graph in its own thread (MediaPipe and the
    decoder release the GIL); a part after the first starts :data:`WARM_S` early to warm the tracking up.
    ``None``: :data:`~.options.DEFAULT_WORKERS` (1); 0: one per core, at most 2. A container that cannot
    seek: one part. ``reuse_models``: keep the MediaPipe graphs for the next call with the same options (a
    batch; the first frame of a fresh graph loads its models, ~0.5 s); they are reset, so nothing carries
    over from one video to the next. Where the later worker tracks someone else than the earlier one on the warm-up frames
    (:func:`same_person`; several people in view), the earlier worker's graph goes on through the rest.

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
                     max_frames, progress, pose_fps, max_side, reader_thread, queue_size, hands, fps, init0,
                     check_workers(DEFAULT_WORKERS if workers is None else workers), bool(reuse_models))  # fmt: skip

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

# MediaPipe graphs kept for the next video of a batch (``reuse_models``): building one is cheap, but its first
# frame loads the TFLite models (~0.5 s); a graph reset for the next video costs ~0.1 s on its first frame
_POOL: dict[tuple[Any, ...], list[tuple[Any, Optional[CroppedHands]]]] = {}
_POOL_LOCK = threading.Lock()


def _estimator(mp: Any, cv2: Any, model: str, model_complexity: int, min_det: float, min_track: float,
               hands: str, reuse: bool = False) -> tuple[Any, Optional[CroppedHands]]:  # fmt: skip
    """One MediaPipe estimator (and, for ``pose-hands``, its hand trackers); with ``reuse`` a kept one, reset."""
    if reuse:
        with _POOL_LOCK:
            kept = _POOL.get((model, model_complexity, min_det, min_track, hands))
            got = kept.pop() if kept else None
        if got is not None:
            est, cropped = got
            est.reset()  # a new run of the graph: no tracking state from the previous video
            if cropped is not None:
                for m in cropped.models.values():
                    m.reset()
                cropped.found = {"left": False, "right": False}
                cropped.calls = cropped.frames = 0
            return est, cropped
    est = None
    if model == "holistic":
        est = pose.holistic_without_face(mp, model_complexity, min_det, min_track, gate_hands=hands == "auto")
        if est is None:
            est = mp.solutions.holistic.Holistic(static_image_mode=False, model_complexity=model_complexity,
                                                 smooth_landmarks=True, refine_face_landmarks=False,
                                                 min_detection_confidence=min_det, min_tracking_confidence=min_track)  # fmt: skip
        return est, None
    cropped = CroppedHands(mp, cv2, 1, min_det, min_track) if model == "pose-hands" else None
    est = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=model_complexity, smooth_landmarks=True,
                                 min_detection_confidence=min_det, min_tracking_confidence=min_track)  # fmt: skip
    return est, cropped


def same_person(a: dict[int, tuple[np.ndarray, np.ndarray]], b: dict[int, tuple[np.ndarray, np.ndarray]],
                last: int = 3) -> bool:  # fmt: skip
    """Do two workers track the same person on the frames both processed (``frame -> (pose xy, visibility)``,
    mediapipe33)? Judged on the last ``last`` common frames: the same when, on most of them, both or neither
    see a body, and the median distance of the shoulders and hips both see is under half a shoulder width.
    True when there is nothing to compare."""
    common = sorted(set(a) & set(b))[-last:]
    if not common:
        return True
    votes = []
    for i in common:
        (xa, ca), (xb, cb) = a[i], b[i]
        if not (ca > 0).any() or not (cb > 0).any():
            votes.append((ca > 0).any() == (cb > 0).any())
            continue
        torso = [j for j in (11, 12, 23, 24) if ca[j] >= 0.5 and cb[j] >= 0.5]
        width = float(np.linalg.norm(xa[11] - xa[12]))
        if not torso or not width > 0:
            votes.append(True)
            continue
        votes.append(float(np.median(np.linalg.norm(xa[torso] - xb[torso], axis=1))) < 0.5 * width)
    return sum(votes) * 2 > len(votes)


def plan_segments(n_frames: int, fps: float, workers: int, warm_s: float = WARM_S) -> list[tuple[int, int, int]]:
    """``(first frame decoded, first frame kept, end)`` of each worker's part of a video of ``n_frames``
    frames: contiguous parts of about equal length; a part after the first starts ``warm_s`` seconds early
    (those frames only warm MediaPipe's tracking up; the previous part keeps them). One part when the
    video is shorter than :data:`MIN_SEGMENT_S` seconds per worker."""
    workers = max(1, min(workers, int(n_frames / max(1.0, MIN_SEGMENT_S * fps)))) if n_frames > 0 else 1
    bounds = [round(i * n_frames / workers) for i in range(workers + 1)]
    warm = int(math.ceil(warm_s * fps))
    return [(max(0, bounds[i] - (warm if i else 0)), bounds[i], bounds[i + 1]) for i in range(workers)]


class _Segment:
    """One worker: a reader (seeked to its part), an estimator, the hand gate, and its own statistics."""

    def __init__(self, cap: Any, est: Any, cropped: Optional[CroppedHands], reader: FrameReader, keep_from: int):
        self.cap, self.est, self.cropped, self.reader, self.keep_from = cap, est, cropped, reader, keep_from
        self.pool_key: Optional[tuple[Any, ...]] = None  # set: the estimator goes back to _POOL instead of closing
        self.pose_wall = self.pose_cpu = self.lm_wall = self.hands_wall = self.hands_cpu = self.pose_wall_hands = 0.0
        self.processed_n = self.hand_frames = self.n_done = 0
        self.watch: list[tuple[int, int]] = []  # frame ranges whose body pose is kept (the seams with neighbours)
        self.poses: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def close(self) -> None:
        if self.pool_key is not None and self.est is not None:
            with _POOL_LOCK:
                _POOL.setdefault(self.pool_key, []).append((self.est, self.cropped))
            self.est = self.cropped = None
        if self.est is not None:
            self.est.close()
        if self.cropped is not None:
            self.cropped.close()
        self.cap.release()


def _run_segment(seg: _Segment, *, model: str, hands: str, gated: bool, fps: float, size: tuple[int, int],
                 buf: _Growing, lock: threading.Lock, hand_ran: dict[int, bool], on_frame: Callable[[], None]) -> None:  # fmt: skip
    """Pose (+ hands) of every frame the segment's reader yields, into ``buf`` from ``seg.keep_from`` on."""
    est, cropped, reader = seg.est, seg.cropped, seg.reader
    gate = HandGate(hands)
    last_ts = -1
    h, w = size
    for idx, rgb in reader:
        keep = idx >= seg.keep_from
        if keep:
            with lock:
                buf.ensure(idx + 1)
                buf.decoded[idx] = True
            seg.n_done += 1
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
            allow = gate.allow()
            t0, c0 = time.perf_counter(), time.process_time()
            if gated:
                res = est.process({"image": rgb, "allow_hands": bool(allow)})
            else:
                res = est.process(rgb)
            if cropped is not None:  # hands on crops of this frame, where this frame's pose sees them
                th, tc = time.perf_counter(), time.process_time()
                sh, sw = rgb.shape[:2]
                sxy, spc = landmarks(getattr(res, "pose_landmarks", None), 33, sw, sh, True)
                found = cropped.process(rgb, sxy, spc, ts_us, gate=hands == "auto",
                                        recheck=seg.processed_n % HAND_RECHECK == 0)  # fmt: skip
                seg.hands_wall += time.perf_counter() - th
                seg.hands_cpu += time.process_time() - tc
            t1, c1 = time.perf_counter(), time.process_time()
            seg.processed_n += 1
            hand_on = bool(model == "holistic" and (allow or not gated))
            del rgb
            reader.release()
            pxy, pc = landmarks(getattr(res, "pose_landmarks", None), 33, w, h, True)
            if cropped is not None:
                to_orig = np.array([w / sw, h / sh], dtype=np.float32)
                (lxy, lc), (rxy, rc) = found["left"], found["right"]
                coords, conf = np.concatenate([pxy, lxy * to_orig, rxy * to_orig]), np.concatenate([pc, lc, rc])
            elif model == "holistic":
                lxy, lc = landmarks(getattr(res, "left_hand_landmarks", None), 21, w, h, False)
                rxy, rc = landmarks(getattr(res, "right_hand_landmarks", None), 21, w, h, False)
                coords, conf = np.concatenate([pxy, lxy, rxy]), np.concatenate([pc, lc, rc])
                if gated:  # hands on the next processed frame: where they can matter (gate.py)
                    gate.update(pxy, pc, idx / fps, (bool(lc.any()), bool(rc.any())))
            else:
                coords, conf = pxy, pc
            if keep:
                with lock:
                    buf.coords[idx], buf.conf[idx] = coords, conf
                    buf.processed[idx] = True
                    hand_ran[idx] = hand_on
                seg.hand_frames += hand_on
                seg.pose_wall += t1 - t0
                seg.pose_cpu += c1 - c0
                if hand_on:
                    seg.pose_wall_hands += t1 - t0
            if any(a <= idx < b for a, b in seg.watch):
                seg.poses[idx] = (pxy, pc)
            seg.lm_wall += time.perf_counter() - t1
        on_frame()


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
    workers: int = 1,
    reuse_models: bool = False,
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

    layout, V = ("mediapipe33", 33) if model == "pose" else ("mediapipe75", 75)
    plan = plan_segments(n_expected, fps, workers)
    segs: list[_Segment] = []
    fallback = False
    try:
        for k, (first, keep_from, end) in enumerate(plan):
            seg_cap = cap if k == 0 else _seek(open_capture(path, cv2, frames_fps), cv2, first, fps)
            if seg_cap is None:  # this container does not seek to the frame asked: one worker for all of it
                fallback = True
                break
            stop = end if k + 1 < len(plan) else max_frames
            reader = FrameReader(seg_cap, cv2, fps=fps, n_expected=min(n_expected, end) if k + 1 < len(plan) else n_expected,
                                 pose_fps=pose_fps, max_side=max_side, max_frames=stop, thread=reader_thread,
                                 queue_size=queue_size, start=first + 1 if k else 0)  # fmt: skip
            segs.append(_Segment(seg_cap, None, None, reader, keep_from))
        if fallback:
            for sg in segs[1:]:
                sg.cap.release()
            segs = segs[:1]
            plan = [(0, 0, plan[-1][2])]
            segs[0].reader.max_frames = max_frames
            segs[0].reader.n_expected = n_expected
        # the first worker's graph here; the others' in their own threads (built side by side)
        segs[0].est, segs[0].cropped = _estimator(mp, cv2, model, model_complexity, min_detection_confidence,
                                                  min_tracking_confidence, hands, reuse_models)  # fmt: skip
    except BaseException:
        for sg in segs:
            if sg.est is not None:
                sg.est.close()
            sg.cap.release()
        cap.release()
        raise
    if reuse_models:
        for sg in segs:
            sg.pool_key = (model, model_complexity, min_detection_confidence, min_tracking_confidence, hands)
    est0 = segs[0].est
    init_wall = time.perf_counter() - init0  # MediaPipe/OpenCV imported, the video opened, the graphs built
    face_less = model == "holistic" and not isinstance(est0, mp.solutions.holistic.Holistic)
    gated = face_less and hands == "auto"
    buf = _Growing(V, n_expected + 1 if n_expected else 1024)
    lock = threading.Lock()
    hand_ran: dict[int, bool] = {}
    next_report = [0.0]

    def on_frame() -> None:
        if progress is not None and threading.current_thread() is threading.main_thread():
            now = time.perf_counter()
            if now >= next_report[0]:  # at most ~10 updates per second
                progress(sum(sg.n_done for sg in segs), n_expected or None)
                next_report[0] = now + 0.1

    kw = dict(model=model, hands=hands, gated=gated, fps=fps, size=(height, width), buf=buf, lock=lock,
              hand_ran=hand_ran, on_frame=on_frame)  # fmt: skip
    errors: list[BaseException] = []

    def work(sg: _Segment) -> None:
        try:
            sg.est, sg.cropped = _estimator(mp, cv2, model, model_complexity, min_detection_confidence,
                                            min_tracking_confidence, hands, reuse_models)  # fmt: skip
            _run_segment(sg, **kw)
        except BaseException as e:  # handed to the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(sg,), name=f"mgreason-pose-{i}", daemon=True)
               for i, sg in enumerate(segs[1:], start=1)]  # fmt: skip
    for k in range(1, len(segs)):  # both sides of each seam keep the body pose of the warm-up frames
        rng = (plan[k][0], plan[k][1])
        segs[k - 1].watch.append(rng)
        segs[k].watch.append(rng)
    seams: list[dict[str, Any]] = []
    try:
        for t in threads:
            t.start()
        _run_segment(segs[0], **kw)
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        for k in range(1, len(segs)):
            same = same_person(segs[k - 1].poses, segs[k].poses)
            seams.append({"frame": segs[k].keep_from, "same_person": same, "redone": False})
            if same:
                continue
            # the later worker tracks someone else (several people in view): the earlier worker's graph, still
            # tracking its person, goes on through the rest of the video, and the later parts are dropped
            redo = _seek(open_capture(path, cv2, frames_fps), cv2, segs[k].keep_from - 1, fps)
            if redo is None:
                break
            start = segs[k].keep_from
            for idx in [i for i in hand_ran if i >= start]:
                del hand_ran[idx]
            with lock:
                buf.ensure(start + 1)
                buf.coords[start:], buf.conf[start:] = np.nan, 0.0
                buf.processed[start:], buf.decoded[start:] = False, False
            cont = _Segment(redo, None, None, FrameReader(redo, cv2, fps=fps, n_expected=n_expected, pose_fps=pose_fps,
                            max_side=max_side, max_frames=max_frames, thread=reader_thread, queue_size=queue_size,
                            start=start), start)  # fmt: skip
            prev = segs[k - 1]
            cont.est, cont.cropped = prev.est, prev.cropped
            cont.pool_key = prev.pool_key
            prev.est = prev.cropped = None  # closed (or kept) with cont
            for sg in segs[k:]:
                sg.n_done = 0
            segs.append(cont)
            _run_segment(cont, **kw)
            seams[-1]["redone"] = True
            break
    finally:
        for t in threads:
            t.join()
        cap_size = next((sg.reader.size for sg in segs if sg.reader.size is not None), None)
        for sg in segs:
            sg.close()
    n_done = sum(sg.n_done for sg in segs)
    if progress is not None and n_done:
        progress(n_done, n_expected or None)

    last = max(sg.reader.last for sg in segs)
    if n_done == 0:
        raise DataError("unreadable video: not a single frame could be decoded", file=path)
    if not buf.processed.any():
        raise DataError("unreadable video: no frame could be converted to an image", file=path)
    T = max(last + 1, n_expected)  # frames the container announces but never delivered are unreadable
    buf.ensure(T)
    # views, not copies: a 1-hour video at 30 fps has ~100 MB of landmark arrays (75 joints)
    coords, conf, processed, decoded = buf.coords[:T], buf.conf[:T], buf.processed[:T], buf.decoded[:T]
    del buf
    step = segs[0].reader.step
    t0 = time.perf_counter()
    hand_filled = 0
    if gated and hand_ran and not all(hand_ran.values()):
        # processed frames whose hand models the gate skipped: hands from the nearest frames where they ran
        ran = np.zeros(T, dtype=bool)
        ran[[i for i, on in hand_ran.items() if on and i < T]] = True
        hc, hf = coords[:, 33:], conf[:, 33:]
        hand_filled = int(interpolate_skipped(hc, hf, ran & processed, processed, 2 * step).sum())
        coords[:, 33:], conf[:, 33:] = hc, hf
    filled = interpolate_skipped(coords, conf, processed, decoded, step)
    interp_wall = time.perf_counter() - t0
    # skipped frames too far from any processed one stay unfilled: they count as frames without a person
    has_person = (conf > 0).any(axis=1)
    empty = np.flatnonzero(decoded & ~has_person).tolist()
    unreadable = np.flatnonzero(~decoded).tolist()
    cpu1 = os.times()
    decode_wall = sum(sg.reader.timings["decode_wall"] for sg in segs)
    convert_wall = sum(sg.reader.timings["convert_wall"] for sg in segs)
    pose_wall = sum(sg.pose_wall for sg in segs)
    wall = time.perf_counter() - wall0
    cropped = segs[0].cropped
    detector = f"mediapipe {getattr(mp, '__version__', '?')} {model} (model_complexity={model_complexity}"
    detector += ", no face mesh" if face_less else ""
    detector += ", hands where they can matter" if gated else ""
    detector += ", hands where visible" if cropped is not None and hands == "auto" else ""
    detector += f", pose_fps={pose_fps:g}" if pose_fps is not None else ", every frame"
    detector += f", max_side={max_side})" if max_side is not None else ", original size)"
    if cap_size is None:
        cap_size = (height, width)
    one_thread = not reader_thread and len(segs) == 1
    meta = {
        "source": "video",
        "path": str(path),
        "detector": detector,
        "img_shape": [height or int(cap_size[0]), width or int(cap_size[1])],
        "frame_count": n_expected or None,
        "decoded_frames": int(decoded.sum()),
        "decode_errors": sum(sg.reader.decode_errors for sg in segs),
        "unreadable_frames": unreadable,
        "empty_frames": empty,
        "video": {
            "pose_fps": pose_fps,
            "max_side": max_side,
            "pose_input_shape": list(segs[0].reader.scaled_size) if segs[0].reader.scaled_size else None,
            "pose_frames": int(processed.sum()),
            "interpolated_frames": int(filled.sum()),
            "hands": ("auto" if gated or cropped is not None and hands == "auto" else "always") if V == 75 else None,
            "hand_model_frames": (sum(sg.cropped.frames for sg in segs) if cropped is not None
                                  else sum(sg.hand_frames for sg in segs) if model == "holistic" else 0),  # fmt: skip
            **({"hand_model_calls": sum(sg.cropped.calls for sg in segs)} if cropped is not None else {}),
            **({"hands_interpolated_frames": hand_filled} if gated else {}),
            "workers": len(plan),
            "seams": seams,
            "segments": [[sg.keep_from, int(e)] for sg, (_, _, e) in zip(segs, plan)],
            "warmup_frames": sum(sg.processed_n for sg in segs) - int(processed.sum()),
            "reader_thread": bool(reader_thread),
            "queue_size": queue_size if reader_thread else None,
            "peak_frames_in_memory": sum(sg.reader.peak_images for sg in segs),
            # seconds summed over the workers (they overlap each other and, with the reader thread, decoding)
            "timings_s": {
                "init": round(init_wall, 4),
                "decode": round(decode_wall, 4),
                "convert": round(convert_wall, 4),
                "pose": round(pose_wall, 4),
                **({"hands": round(sum(sg.hands_wall for sg in segs), 4)} if cropped is not None else {}),
                # holistic: the part of "pose" spent on frames where the hand branch could run
                **({"pose_on_hand_frames": round(sum(sg.pose_wall_hands for sg in segs), 4)} if model == "holistic" else {}),
                "landmarks": round(sum(sg.lm_wall for sg in segs) + interp_wall, 4),
                "total": round(wall, 4),
            },
            # process CPU time (all threads, os.times); per stage only with one thread, where the stages do
            # not overlap
            "cpu_s": {
                **(
                    {"decode": round(sum(sg.reader.timings["decode_cpu"] for sg in segs), 4),
                     "convert": round(sum(sg.reader.timings["convert_cpu"] for sg in segs), 4),
                     "pose": round(sum(sg.pose_cpu for sg in segs), 4),
                     **({"hands": round(sum(sg.hands_cpu for sg in segs), 4)} if cropped is not None else {})}
                    if one_thread else {}
                ),
                "total": round((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system), 4),
            },
        },
    }
    return SkeletonSequence(coords, conf, fps, layout, meta)


def _seek(cap: Any, cv2: Any, frame: int, fps: float) -> Any:
    """``cap`` positioned just after ``frame`` (checked on that frame's timestamp; the frame itself is only
    a warm-up frame of the worker, so it is not needed), reporting times from the video's first frame; or
    ``None`` (released) when the container cannot seek there."""
    if not cap.isOpened():
        cap.release()
        return None
    ok = cap.grab()
    origin = float(cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0) if ok else None
    ok = origin is not None and bool(cap.set(cv2.CAP_PROP_POS_FRAMES, frame)) and cap.grab()
    if ok:
        ms = float(cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0) - origin
        ok = abs(ms / 1000.0 * fps - frame) <= 0.5
    if not ok:
        cap.release()
        return None
    return _Positioned(cap, cv2, origin)


class _Positioned:
    """A seeked capture whose timestamps count from the video's first frame (``origin_ms``)."""

    def __init__(self, cap: Any, cv2: Any, origin_ms: float):
        self.cap, self.cv2, self.origin = cap, cv2, origin_ms

    def grab(self) -> bool:
        return self.cap.grab()

    def retrieve(self) -> Any:
        return self.cap.retrieve()

    def get(self, prop: int) -> float:
        if prop == self.cv2.CAP_PROP_POS_MSEC:
            return float(self.cap.get(prop) or 0.0) - self.origin
        return self.cap.get(prop)

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self.cap.isOpened()

    def release(self) -> None:
        self.cap.release()
