"""The decoding side of the video reader: frames in timeline order, optionally from a second thread."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any, Iterator, Optional

import numpy as np

from mgreason.transcribe.video.options import DEFAULT_QUEUE_SIZE
from mgreason.transcribe.video.sampling import frame_step, picked

__all__ = ["FrameReader"]


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
        start: int = 0,
    ):
        self.cap, self.cv2 = cap, cv2
        self.fps, self.n_expected, self.max_frames = fps, n_expected, max_frames
        self.ratio = 1.0 if pose_fps is None else min(1.0, pose_fps / fps)
        self.step = frame_step(fps, pose_fps)
        self.max_side = max_side
        self.thread, self.queue_size = thread, queue_size
        self.decode_errors = 0
        self.start = start  # > 0: the capture was seeked to this frame, its timestamps count from the video's start
        self.last = start - 1
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
        t0_ms: Optional[float] = 0.0 if self.start > 0 else None
        consecutive_fail = 0
        attempts = 0
        max_attempts = (2 * max(0, n_expected - self.start) + 100) if n_expected else None
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
                want = picked(idx, self.ratio) or idx - last_processed >= self.step
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
