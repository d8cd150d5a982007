"""The naive sliding-window baseline for per-frame scores, and helpers of the transcribe command.

The efficient path is :meth:`mgreason.recognizer.Recognizer.frame_scores`: the recording is prepared
once, and the network - convolutional in time - runs over it in long chunks, each with enough context
(the measured receptive field) that the result equals one pass over the whole recording.

:func:`naive_frame_scores` is the classic baseline (research notes, approach A): slide a window of
``clip_len`` frames with stride ``stride`` over the recording, run one full clip-level forward pass
per window, and average the window softmaxes into every frame the window covers. With the default
stride (the network's temporal stride) its per-frame resolution matches the dense output; it does
``clip_len / stride`` times the backbone work per frame.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np
import torch

from mgreason.errors import DataError
from mgreason.recognizer.inference import FrameScores, Progress, Recognizer, interp_rows, softmax_rows
from mgreason.recognizer.preprocessing import uniform_indices
from mgreason.skeleton.sequence import SkeletonSequence

__all__ = ["naive_frame_scores", "threads", "describe"]


@contextmanager
def threads(n: Optional[int]) -> Iterator[None]:
    """Temporarily set torch's intra-op thread count (None: leave it)."""
    if n is None:
        yield
        return
    if n < 1:
        raise DataError(f"threads must be >= 1, got {n}", field="--threads")
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _window_starts(T: int, window: int, stride: int) -> list[int]:
    if T <= window:
        return [0]
    starts = list(range(0, T - window + 1, stride))
    if starts[-1] != T - window:
        starts.append(T - window)
    return starts


@torch.no_grad()
def naive_frame_scores(
    rec: Recognizer,
    seq: SkeletonSequence,
    *,
    window: Optional[int] = None,
    stride: Optional[int] = None,
    fps: Optional[float | str] = None,
    batch_size: int = 64,
    max_windows: Optional[int] = None,
    progress: Optional[Progress] = None,
) -> tuple[FrameScores, int]:
    """Sliding-window baseline: ``(scores, number of windows run)``.

    ``window`` defaults to the checkpoint's ``clip_len``, ``stride`` to the network's temporal stride
    (both in frames at the scoring rate, see :meth:`Recognizer.scoring_rate`). ``max_windows`` stops early
    (frames after the last window run keep uniform scores): for timing a slice of a long recording.
    """
    rate = rec.scoring_rate(fps)
    _, x = rec.model_input(seq, rate)
    T = x.shape[1]
    W = int(window or rec.clip_len)
    S = int(stride or rec.model.temporal_stride)
    if W < 1 or S < 1:
        raise DataError(f"window and stride must be >= 1, got {W}, {S}", field="window")
    starts = _window_starts(T, W, S)
    if max_windows is not None:
        starts = starts[: max(1, int(max_windows))]
    K = rec.num_classes
    acc = torch.zeros(T, K, dtype=torch.float64)
    cnt = torch.zeros(T, dtype=torch.float64)
    for i in range(0, len(starts), batch_size):
        batch = starts[i : i + batch_size]
        if T < W:  # one short clip: sampled to clip_len as in classification
            idx = torch.from_numpy(uniform_indices(T, rec.clip_len))
            xb = x[:, idx][None]
        else:
            xb = torch.stack([x[:, s : s + W] for s in batch])
        probs = torch.softmax(rec.model(xb.to(rec.device)).logits.float(), 1).cpu().double()
        for s, p in zip(batch, probs):
            e = min(T, s + W)
            acc[s:e] += p
            cnt[s:e] += 1
        if progress is not None:
            progress(min(T, batch[-1] + W), T)
    pr = (acc / cnt.clamp(min=1)[:, None]).numpy().astype(np.float32)
    pr[cnt.numpy() == 0] = 1.0 / K
    lg = np.log(np.clip(pr, 1e-8, 1.0))
    n_in = seq.num_frames
    t_in = np.arange(n_in) / seq.fps
    if T != n_in or abs(seq.fps - rate) > 1e-6:  # network frames -> input frames
        lg = interp_rows(np.arange(T) / rate, lg, t_in)
    times = float(seq.meta.get("start_s", 0.0)) + t_in
    empty = np.zeros((n_in, 0), dtype=np.float32)
    return FrameScores(times, lg, softmax_rows(lg), empty, list(rec.labels), float(seq.fps)), len(starts)


def describe(rec: Recognizer) -> dict[str, Any]:
    """What the transcript metadata records about the checkpoint."""
    path = getattr(rec, "path", None)
    return {
        "checkpoint": str(path) if path is not None else None,
        "name": Path(path).name if path is not None else None,
        "layout": rec.layout,
        "fps": rec.fps,
        "dense_fps": rec.dense_fps,
        "clip_len": rec.clip_len,
        "labels": list(rec.labels),
        "background": rec.background_index,
        "temporal_stride": int(rec.model.temporal_stride),
    }
