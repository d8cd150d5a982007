"""Clean-up and normalisation of skeleton sequences.

Every function takes a :class:`SkeletonSequence` and returns a new one.

* :func:`sanitize` - NaN/inf coordinates or confidences and low-confidence joints
  become invalid (confidence 0, coordinates NaN); confidences are clipped to [0, 1].
* :func:`fill_missing` - confidence-aware filling: invalid joints are linearly
  interpolated in time between valid observations (held at the ends); joints never
  seen are put on their parent joint. Filled joints keep confidence 0 (the model is
  told they were not observed) unless ``fill_confidence`` is given. The result has
  finite coordinates everywhere.
* :func:`normalize` - subtract a centre (neck, else the shoulders' midpoint, else the
  centroid) and divide by a scale (shoulder width, else ...), both robust medians
  over the sequence by default so that whole-body motion (leaning, swaying) is kept.
* :func:`smooth` - confidence-weighted Gaussian smoothing in time.
* :func:`resample` - change the frame rate.
* :func:`preprocess` - sanitize, fill, normalize and optionally smooth.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from scipy.ndimage import gaussian_filter1d

from mgreason.errors import DataError
from mgreason.skeleton.sequence import SkeletonSequence

__all__ = ["sanitize", "fill_missing", "normalize", "smooth", "resample", "preprocess", "center_and_scale"]


def sanitize(seq: SkeletonSequence, min_confidence: float = 0.0) -> SkeletonSequence:
    coords = seq.coords.copy()
    conf = np.nan_to_num(seq.confidence, nan=0.0, posinf=0.0, neginf=0.0)
    conf = np.clip(conf, 0.0, 1.0)
    bad = ~np.all(np.isfinite(coords), axis=-1) | (conf <= 0) | (conf < min_confidence)
    # absurd magnitudes (overflowed values) are treated like non-finite ones
    with np.errstate(invalid="ignore"):
        bad |= np.any(np.abs(coords) > 1e7, axis=-1)
    coords[bad] = np.nan
    conf = np.where(bad, 0.0, conf).astype(np.float32)
    return seq.replace(coords=coords, confidence=conf)


def _interp_joint(x: np.ndarray, ok: np.ndarray, max_gap: Optional[int]) -> tuple[np.ndarray, np.ndarray]:
    """Fill (T, C) where ~ok by linear interpolation; returns filled values and a filled mask."""
    T = x.shape[0]
    idx = np.flatnonzero(ok)
    filled = ~ok
    if idx.size == 0:
        return x, np.zeros(T, dtype=bool)
    t = np.arange(T)
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        out[:, c] = np.interp(t, idx, x[idx, c])
    if max_gap is not None:
        # do not fill inside gaps longer than max_gap (ends are held for at most max_gap frames too)
        prev = np.maximum.accumulate(np.where(ok, t, -(10**9)))
        nxt = np.minimum.accumulate(np.where(ok, t, 10**9)[::-1])[::-1]
        gap = np.minimum(t - prev, nxt - t)
        interior = (prev >= 0) & (nxt < T)
        span = np.where(interior, nxt - prev - 1, gap)
        too_long = filled & (span > max_gap)
        out[too_long] = np.nan
        filled = filled & ~too_long
    return out, filled


def fill_missing(
    seq: SkeletonSequence,
    *,
    min_confidence: float = 0.0,
    max_gap: Optional[int] = None,
    fill_confidence: Optional[float] = None,
) -> SkeletonSequence:
    """Fill invalid joints; see the module docstring. Never-seen joints go onto their parent."""
    s = sanitize(seq, min_confidence)
    coords, conf = s.coords.copy(), s.confidence.copy()
    valid = s.valid
    T, V, C = coords.shape
    filled_mask = np.zeros((T, V), dtype=bool)
    if T == 0:
        return s
    for v in range(V):
        ok = valid[:, v]
        if ok.all() or not ok.any():
            continue
        coords[:, v], f = _interp_joint(coords[:, v], ok, max_gap)
        filled_mask[:, v] = f
    # joints still not finite (never seen, or long gaps): take the parent's position, walking up the tree
    lay = s.layout_obj
    parents = lay.parents
    order = _bfs_order(parents)
    for v in order:
        bad = ~np.all(np.isfinite(coords[:, v]), axis=-1)
        if not bad.any():
            continue
        p = parents[v]
        if p >= 0:
            coords[bad, v] = coords[bad, p]
        filled_mask[bad, v] = True
    # anything left (e.g. the root never seen): frame centroid of finite joints, else 0
    still = ~np.all(np.isfinite(coords), axis=-1)
    if still.any():
        finite = np.all(np.isfinite(coords), axis=-1, keepdims=True)
        cnt = finite.sum(axis=1)
        centroid = np.where(finite, coords, 0.0).sum(axis=1) / np.maximum(cnt, 1)
        for v in range(V):
            coords[still[:, v], v] = centroid[still[:, v]]
        # propagate to the descendants of joints filled only now
        for v in order:
            p = parents[v]
            if p >= 0:
                coords[still[:, v], v] = coords[still[:, v], p]
        filled_mask |= still
    coords = np.nan_to_num(coords, nan=0.0, posinf=0.0, neginf=0.0)
    if fill_confidence is not None:
        conf = np.where(filled_mask, np.float32(fill_confidence), conf)
    meta = dict(s.meta, filled_fraction=float(filled_mask.mean()))
    return s.replace(coords=coords.astype(np.float32), confidence=conf.astype(np.float32), meta=meta)


def _bfs_order(parents: np.ndarray) -> list[int]:
    children: dict[int, list[int]] = {}
    roots = []
    for v, p in enumerate(parents):
        if p < 0:
            roots.append(v)
        else:
            children.setdefault(int(p), []).append(v)
    order, queue = [], roots
    while queue:
        order += queue
        queue = [c for q in queue for c in children.get(q, [])]
    return order


def _robust_center_scale(seq: SkeletonSequence, per_frame: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame centre (T, C) and scale (T,) estimates; NaN where unavailable."""
    lay = seq.layout_obj
    T, _, C = seq.coords.shape
    valid = seq.valid

    def j(name: str) -> np.ndarray:
        i = lay.get(name)
        if i is None:
            return np.full((T, C), np.nan, dtype=np.float32)
        x = seq.coords[:, i].copy()
        x[~valid[:, i]] = np.nan
        return x

    neck, ls, rs = j("neck"), j("left_shoulder"), j("right_shoulder")
    if lay.get("neck") is None and lay.get("spine_shoulder") is not None:
        neck = j("spine_shoulder")
    mid = (ls + rs) / 2
    center = np.where(np.isfinite(neck), neck, mid)
    scale = np.linalg.norm(ls - rs, axis=-1)
    # fall back to neck-nose or eye distance based estimates of body size
    nose = j("nose")
    alt = np.linalg.norm(nose - center, axis=-1) * 1.6
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, alt)
    # last resort: centroid / spread of the valid joints
    cnt = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        xs = np.where(valid[..., None], seq.coords, 0.0)
        centroid = xs.sum(axis=1) / cnt[:, None]
        spread = np.sqrt((np.where(valid[..., None], (seq.coords - centroid[:, None]) ** 2, 0.0)).sum((1, 2)) / cnt)
    center = np.where(np.isfinite(center), center, centroid)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, spread * 2)
    if not per_frame:
        c_ok = np.all(np.isfinite(center), axis=-1)
        s_ok = np.isfinite(scale) & (scale > 0)
        c = np.median(center[c_ok], axis=0) if c_ok.any() else np.zeros(C)
        s = np.median(scale[s_ok]) if s_ok.any() else 1.0
        center = np.broadcast_to(c, (T, C)).copy()
        scale = np.full(T, s)
    return center.astype(np.float64), scale.astype(np.float64)


def center_and_scale(seq: SkeletonSequence, per_frame: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The centre (T, C) and scale (T,) :func:`normalize` would use (finite; scale > 0)."""
    center, scale = _robust_center_scale(seq, per_frame)
    if per_frame:
        # frames without an estimate borrow the sequence-level one
        gc, gs = _robust_center_scale(seq, per_frame=False)
        bad_c = ~np.all(np.isfinite(center), axis=-1)
        center[bad_c] = gc[bad_c]
        bad_s = ~(np.isfinite(scale) & (scale > 0))
        scale[bad_s] = gs[bad_s]
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    center = np.nan_to_num(center)
    return center, scale


def normalize(seq: SkeletonSequence, *, per_frame: bool = False, target_scale: float = 1.0) -> SkeletonSequence:
    """Centre on the neck and scale to unit shoulder width (robust sequence medians by default).

    Only the x, y (and z) coordinates change; invalid joints stay invalid.
    """
    s = sanitize(seq)
    center, scale = center_and_scale(s, per_frame)
    coords = (s.coords - center[:, None, :]) / scale[:, None, None] * target_scale
    meta = dict(s.meta)
    meta["normalization"] = {
        "center": center.mean(axis=0).tolist(),
        "scale": float(np.mean(scale)),
        "per_frame": per_frame,
    }
    return s.replace(coords=coords.astype(np.float32), meta=meta)


def smooth(seq: SkeletonSequence, sigma_frames: float = 1.0) -> SkeletonSequence:
    """Confidence-weighted Gaussian smoothing along time; invalid joints stay invalid."""
    if sigma_frames <= 0:
        return seq.copy()
    s = sanitize(seq)
    w = s.confidence.astype(np.float64)
    x = np.nan_to_num(s.coords.astype(np.float64))
    num = gaussian_filter1d(x * w[..., None], sigma_frames, axis=0, mode="nearest")
    den = gaussian_filter1d(w, sigma_frames, axis=0, mode="nearest")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den[..., None]
    valid = s.valid
    out = np.where(valid[..., None] & (den[..., None] > 1e-8), out, np.nan)
    return s.replace(coords=out.astype(np.float32))


def resample(seq: SkeletonSequence, fps: float) -> SkeletonSequence:
    """Linear resampling to a new frame rate (a joint is valid where both neighbours are)."""
    if fps <= 0:
        raise DataError(f"fps must be positive, got {fps}", field="fps")
    if abs(fps - seq.fps) < 1e-9 or seq.num_frames < 2:
        return seq.replace(fps=fps) if seq.num_frames < 2 else seq.copy()
    s = sanitize(seq)
    T = s.num_frames
    n = max(1, int(np.floor((T - 1) * fps / s.fps)) + 1)
    src = np.arange(n) * s.fps / fps
    i0 = np.clip(np.floor(src).astype(int), 0, T - 1)
    i1 = np.clip(i0 + 1, 0, T - 1)
    a = (src - i0).astype(np.float32)[:, None, None]
    coords = s.coords[i0] * (1 - a) + s.coords[i1] * a
    conf = np.minimum(s.confidence[i0], s.confidence[i1])
    ok = np.all(np.isfinite(coords), axis=-1) & (conf > 0)
    coords[~ok] = np.nan
    conf = np.where(ok, conf, 0.0).astype(np.float32)
    meta = dict(s.meta, resampled_from_fps=s.fps)
    return s.replace(coords=coords.astype(np.float32), confidence=conf, fps=fps, meta=meta)


def preprocess(
    seq: SkeletonSequence,
    *,
    min_confidence: float = 0.0,
    max_gap: Optional[int] = None,
    per_frame: bool = False,
    smooth_sigma: float = 0.0,
    fps: Optional[float] = None,
) -> SkeletonSequence:
    """sanitize -> (resample) -> (smooth) -> normalize -> fill_missing. The result is finite everywhere."""
    s = sanitize(seq, min_confidence)
    if fps is not None:
        s = resample(s, fps)
    if smooth_sigma > 0:
        s = smooth(s, smooth_sigma)
    s = normalize(s, per_frame=per_frame)
    return fill_missing(s, max_gap=max_gap)
