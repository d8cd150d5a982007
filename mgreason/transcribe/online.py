"""Per-frame class scores over a whole recording, and the naive sliding-window baseline.

:func:`frame_scores` is the efficient path. The recording is prepared once (joints mapped to the
model's layout, resampled, normalised with statistics of the *whole* recording, gaps filled), its
input streams are built once, and the network - convolutional in time - runs over it in long chunks
(``chunk_s``) that each carry ``overlap_s`` of extra context on both sides, which is computed and
discarded. As long as the overlap covers the network's receptive field (:func:`receptive_radius`),
the result equals one forward pass over the whole recording; chunking only bounds memory. Chunk
edges sit on the network's temporal-stride grid, so the strided layers see the same frames as in one
pass.

:func:`naive_frame_scores` is the classic baseline (research notes, approach A): slide a window of
``clip_len`` frames with stride ``stride`` over the recording, run one full clip-level forward pass
per window, and average the window softmaxes into every frame the window covers. With the default
stride (the network's temporal stride) its per-frame resolution matches the dense output; it does
``clip_len / stride`` times the backbone work per frame.
"""

from __future__ import annotations

import math
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

import numpy as np
import torch

from mgreason.errors import DataError
from mgreason.recognizer.inference import FrameScores, Recognizer, interp_rows, softmax_rows
from mgreason.recognizer.preprocessing import build_streams
from mgreason.skeleton.sequence import SkeletonSequence

__all__ = [
    "frame_scores",
    "naive_frame_scores",
    "model_input",
    "receptive_radius",
    "scoring_rate",
    "threads",
    "DEFAULT_CHUNK_S",
    "DEFAULT_OVERLAP_S",
    "auto_overlap_frames",
]

DEFAULT_CHUNK_S = 60.0  # ~1500 frames: the fastest chunk size per frame on CPU (caches), measured
DEFAULT_OVERLAP_S: Optional[float] = None  # None: the measured receptive field plus a margin

Progress = Callable[[int, int], None]  # (frames done, frames in all) at the model's frame rate


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


def scoring_rate(rec: Recognizer, fps: Optional[float | str] = None) -> float:
    """The frame rate the network runs at: the checkpoint's ``fps`` (None / "model"), the rate at which
    training saw gestures (``"dense"``: ``rec.dense_fps`` when the checkpoint records it), or a number."""
    if fps is None or fps == "model":
        return float(rec.fps)
    if fps == "dense":
        return float(getattr(rec, "dense_fps", None) or rec.fps)
    try:
        rate = float(fps)
    except (TypeError, ValueError):
        raise DataError(f"expected 'model', 'dense' or a frame rate, got {fps!r}", field="--model-fps") from None
    if not (math.isfinite(rate) and rate > 0):
        raise DataError(f"the scoring frame rate must be positive, got {fps!r}", field="--model-fps")
    return rate


def model_input(
    rec: Recognizer, seq: SkeletonSequence, fps: Optional[float | str] = None
) -> tuple[SkeletonSequence, torch.Tensor]:
    """The prepared sequence (at the scoring rate) and the model's input ``(C, T, V)`` for the whole recording."""
    rate = scoring_rate(rec, fps)
    p = rec.prepare(seq, rate) if abs(rate - rec.fps) > 1e-9 else rec.prepare(seq)
    x = build_streams(p.coords, p.confidence, rec.layout, rec.streams, rec.use_confidence)
    return p, torch.from_numpy(x)


def _to_input_frames(
    rate: float, seq: SkeletonSequence, logits: np.ndarray, feats: Optional[np.ndarray]
) -> tuple[np.ndarray, Optional[np.ndarray], np.ndarray]:
    T = logits.shape[0]
    n_in = seq.num_frames
    t_in = np.arange(n_in) / seq.fps
    if T != n_in or abs(seq.fps - rate) > 1e-6:
        t_model = np.arange(T) / rate
        logits = interp_rows(t_model, logits, t_in)
        feats = interp_rows(t_model, feats, t_in) if feats is not None else None
    return logits, feats, float(seq.meta.get("start_s", 0.0)) + t_in


@torch.no_grad()
def frame_scores(
    rec: Recognizer,
    seq: SkeletonSequence,
    *,
    chunk_s: float = DEFAULT_CHUNK_S,
    overlap_s: Optional[float] = DEFAULT_OVERLAP_S,
    fps: Optional[float | str] = None,
    features: bool = False,
    progress: Optional[Progress] = None,
) -> FrameScores:
    """Per-frame logits / probabilities (and optionally features) at the input sequence's frames.

    The network runs at :func:`scoring_rate` ``(rec, fps)``; outputs are interpolated back to the
    input's frames. ``overlap_s=None`` uses :func:`auto_overlap_frames` (the receptive field plus a
    margin), which makes the result equal to one pass over the whole recording.
    """
    if not (chunk_s > 0 and (overlap_s is None or overlap_s >= 0)):
        raise DataError(f"need chunk_s > 0 and overlap_s >= 0, got {chunk_s}, {overlap_s}", field="chunk")
    rate = scoring_rate(rec, fps)
    _, x = model_input(rec, seq, rate)
    T = x.shape[1]
    st = int(rec.model.temporal_stride)
    chunk = max(4 * st, int(round(chunk_s * rate)) // st * st)
    if overlap_s is None:
        ov = auto_overlap_frames(rec)
    else:
        ov = int(math.ceil(overlap_s * rate / st)) * st
    logits, feats = [], []
    start = 0
    while start < T:
        end = min(T, start + chunk)
        a, b = max(0, start - ov), min(T, end + ov)
        res = rec.model.dense(x[None, :, a:b].to(rec.device))
        sl = slice(start - a, end - a)
        logits.append(res.logits[0, :, sl].float().cpu())
        if features:
            feats.append(res.features[0, :, sl].float().cpu())
        start = end
        if progress is not None:
            progress(end, T)
    lg = torch.cat(logits, 1).T.contiguous().numpy()
    ft = torch.cat(feats, 1).T.contiguous().numpy() if features else None
    lg, ft, times = _to_input_frames(rate, seq, lg, ft)
    empty = np.zeros((len(times), 0), dtype=np.float32)
    return FrameScores(times, lg, softmax_rows(lg), ft if ft is not None else empty, list(rec.labels), float(seq.fps))


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
    (both in frames at the scoring rate, see :func:`scoring_rate`). ``max_windows`` stops early
    (frames after the last window run keep uniform scores): for timing a slice of a long recording.
    """
    rate = scoring_rate(rec, fps)
    _, x = model_input(rec, seq, rate)
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
            from mgreason.recognizer.preprocessing import uniform_indices

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
    lg, _, times = _to_input_frames(rate, seq, lg, None)
    empty = np.zeros((len(times), 0), dtype=np.float32)
    return FrameScores(times, lg, softmax_rows(lg), empty, list(rec.labels), float(seq.fps)), len(starts)


def receptive_radius(rec: Recognizer, length: int = 1024, seed: int = 0) -> int:
    """Frames (at the model's rate) on each side of an output frame that can influence it.

    Measured, not derived: the gradient of one central output frame's logits with respect to a
    random input, which is non-zero exactly inside the receptive field.
    """
    from mgreason.skeleton.layouts import get_layout

    g = torch.Generator().manual_seed(seed)
    model = rec.model
    C, V = model.in_channels, get_layout(rec.layout).num_joints
    x = torch.randn(1, C, length, V, generator=g, requires_grad=True)
    c = length // 2
    with torch.enable_grad():
        out = model.dense(x)
        (grad,) = torch.autograd.grad(out.logits[0, :, c].sum(), x)
    nz = torch.nonzero(grad.abs().sum(dim=(0, 1, 3)) > 0).flatten()
    if nz.numel() == 0:
        return 0
    return int(max(c - int(nz.min()), int(nz.max()) - c))


def auto_overlap_frames(rec: Recognizer) -> int:
    """Context frames (model rate) carried on each side of a chunk: the measured receptive radius plus
    two strides, rounded up to the stride grid, and at least one second. Cached on ``rec``."""
    cached = getattr(rec, "_mg_overlap_frames", None)
    if cached is not None:
        return int(cached)
    st = int(rec.model.temporal_stride)
    r = receptive_radius(rec) + 2 * st
    ov = max(int(math.ceil(r / st)) * st, int(math.ceil(rec.fps / st)) * st)
    try:
        rec._mg_overlap_frames = ov
    except AttributeError:  # pragma: no cover - slotted objects
        pass
    return ov


def describe(rec: Recognizer) -> dict[str, Any]:
    """What the transcript metadata records about the checkpoint."""
    path = getattr(rec, "path", None)
    return {
        "checkpoint": str(path) if path is not None else None,
        "name": Path(path).name if path is not None else None,
        "layout": rec.layout,
        "fps": rec.fps,
        "dense_fps": getattr(rec, "dense_fps", None),
        "clip_len": rec.clip_len,
        "labels": list(rec.labels),
        "background": rec.background_index,
        "temporal_stride": int(rec.model.temporal_stride),
    }
