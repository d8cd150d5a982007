"""Which frames MediaPipe sees at ``pose_fps``, and the landmarks of the frames in between (interpolated)."""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

__all__ = ["frame_step", "picked", "pose_frame_mask", "interpolate_skipped"]


def frame_step(fps: float, pose_fps: Optional[float]) -> int:
    """The longest run of frames between two processed ones (ceil(fps / pose_fps))."""
    if pose_fps is None or pose_fps >= fps:
        return 1
    return max(1, int(math.ceil(fps / pose_fps - 1e-9)))


def picked(idx: int, ratio: float) -> bool:
    """Is frame ``idx`` one of the evenly spread frames at ``ratio = pose_fps / fps`` (frame 0 always is)?"""
    if ratio >= 1.0 or idx <= 0:
        return True
    return math.floor(idx * ratio + 1e-9) != math.floor((idx - 1) * ratio + 1e-9)


def pose_frame_mask(num_frames: int, fps: float, pose_fps: Optional[float]) -> np.ndarray:
    """Which of ``num_frames`` consecutive frames MediaPipe sees at ``pose_fps`` (a bool array)."""
    ratio = 1.0 if pose_fps is None else float(pose_fps) / float(fps)
    return np.array([picked(i, ratio) for i in range(num_frames)], dtype=bool)


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
