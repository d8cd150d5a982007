"""From per-frame class probabilities to timestamped segments (a :class:`~mgreason.transcript.Transcript`).

Steps (all parameters in :class:`SegmentParams`):

1. **Smoothing** - a Gaussian in time (``smooth_s`` = sigma in seconds) over every class column.
2. **Foreground score** - ``1 - p(background)`` when the model has a background/idle class, else the
   largest class probability.
3. **Hysteresis** - a region starts where the foreground score reaches ``high`` and extends, on both
   sides, while it stays at or above ``low``. Frames outside ``mask`` (unreadable or empty spans of the
   recording) never belong to a region.
4. **Labels** - inside a region every frame takes the best non-background class; runs shorter than
   ``min_label_run_s`` are absorbed by the neighbouring run whose class they support more, so a region
   holding two gestures is split once, not into flicker. With ``split_regions=False`` a region keeps
   one label: the class with the highest mean probability over it.
5. **Merging** - segments of the same label separated by at most ``merge_gap_s`` (and no masked frame)
   become one.
6. **Minimum duration** - segments shorter than ``min_duration_s`` are dropped.

Confidence of a segment = mean smoothed probability of its label over its frames. Frame ``i`` covers
``[start_s + i / fps, start_s + (i + 1) / fps)``.

Calibrated confidence and coarse fallback (both off by default; a checkpoint stores its values):

* ``temperature`` (set by temperature scaling on validation clips, :mod:`mgreason.recognizer.calibration`):
  when not 1, the confidence of a segment is the mean over its frames of the *calibrated probability of
  its label among the gesture classes*: ``softmax(log p(k | gesture) / temperature)``, background left
  out. Segmentation itself (steps 1-6) does not change.
* ``coarse_below``: a segment whose (calibrated) confidence is below it carries its body-region group
  instead of the fine class when the group is at least as probable (label ``"<group> (coarse)"``, e.g.
  ``"head-hand (coarse)"``, no ``label_id``; confidence = the group's mean probability). Groups come from
  the taxonomy (:func:`mgreason.taxonomy.coarse_label`); classes without a group never fall back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional, Sequence

import numpy as np
from scipy.ndimage import gaussian_filter1d

from mgreason.errors import DataError
from mgreason.taxonomy import COARSE_SUFFIX
from mgreason.transcript import MGEvent, Transcript

__all__ = [
    "SegmentParams",
    "Segment",
    "smooth_probs",
    "foreground_score",
    "hysteresis_regions",
    "runs",
    "extract_segments",
    "segments_to_events",
    "scores_to_transcript",
]


MAX_SMOOTH_S = 60.0  # Gaussian sigma: a minute already blurs every micro-gesture away
MAX_SEGMENT_S = 3600.0  # min_duration_s, merge_gap_s, min_label_run_s


@dataclass(frozen=True)
class SegmentParams:
    smooth_s: float = 0.2  # Gaussian sigma in seconds (0 = no smoothing)
    high: float = 0.6  # hysteresis: a segment needs a frame with foreground score >= high ...
    low: float = 0.4  # ... and extends while the score stays >= low
    min_duration_s: float = 0.4  # shorter segments are dropped
    merge_gap_s: float = 0.3  # same-label segments closer than this are merged
    min_label_run_s: float = 0.3  # label runs inside a region shorter than this are absorbed
    split_regions: bool = True  # False: one label per region (the class with the highest mean probability)
    temperature: float = 1.0  # != 1: calibrated confidence among the gesture classes (see the module docstring)
    coarse_below: float = 0.0  # events less confident than this carry their body-region group (0 = never)

    def __post_init__(self) -> None:
        if not (np.isfinite(self.temperature) and self.temperature > 0):
            raise DataError(f"must be a positive number, got {self.temperature}", field="temperature")
        if not 0.0 <= self.coarse_below <= 1.0:
            raise DataError(f"must be in [0, 1], got {self.coarse_below}", field="coarse_below")
        for name in ("smooth_s", "min_duration_s", "merge_gap_s", "min_label_run_s"):
            v = getattr(self, name)
            top = MAX_SMOOTH_S if name == "smooth_s" else MAX_SEGMENT_S
            if not (np.isfinite(v) and 0 <= v <= top):
                raise DataError(f"must be a non-negative number of seconds, at most {top:g}, got {v}", field=name)
        if not (0.0 <= self.low <= self.high <= 1.0):
            raise DataError(f"need 0 <= low <= high <= 1, got low={self.low}, high={self.high}", field="thresholds")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Segment:
    start: int  # first frame (inclusive)
    end: int  # last frame + 1 (exclusive)
    label_index: int  # column of the probability matrix
    label: str
    confidence: float

    @property
    def length(self) -> int:
        return self.end - self.start


def smooth_probs(probs: np.ndarray, fps: float, sigma_s: float) -> np.ndarray:
    """Gaussian smoothing along time of ``(T, K)`` probabilities; rows renormalised to sum to 1."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise DataError(f"probabilities must be (T, K), got shape {p.shape}", field="probs")
    sigma = sigma_s * fps
    if sigma > 0 and p.shape[0] > 1:
        p = gaussian_filter1d(p, sigma, axis=0, mode="nearest")
        s = p.sum(axis=1, keepdims=True)
        p = p / np.where(s > 0, s, 1.0)
    return p


def foreground_score(probs: np.ndarray, background: Optional[int]) -> np.ndarray:
    """(T,) score that *some* gesture is happening."""
    if background is None:
        return probs.max(axis=1)
    return 1.0 - probs[:, background]


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs ``[a, b)`` of True in a boolean vector."""
    m = np.asarray(mask, dtype=bool)
    if m.size == 0:
        return []
    d = np.diff(np.concatenate([[0], m.astype(np.int8), [0]]))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    return list(zip(starts.tolist(), ends.tolist()))


def hysteresis_regions(
    score: np.ndarray, high: float, low: float, mask: Optional[np.ndarray] = None
) -> list[tuple[int, int]]:
    """Runs where ``score >= low`` (and ``mask``) that contain at least one frame with ``score >= high``."""
    s = np.asarray(score, dtype=np.float64)
    ok = s >= low
    if mask is not None:
        ok &= np.asarray(mask, dtype=bool)
    strong = s >= high
    return [(a, b) for a, b in runs(ok) if strong[a:b].any()]


def _label_runs(lab: np.ndarray, probs: np.ndarray, min_run: int) -> list[tuple[int, int, int]]:
    """Runs ``(a, b, label)`` of a label vector with runs shorter than ``min_run`` absorbed."""
    segs: list[list[int]] = []
    for i, v in enumerate(lab.tolist()):
        if segs and segs[-1][2] == v:
            segs[-1][1] = i + 1
        else:
            segs.append([i, i + 1, v])
    while len(segs) > 1:
        lengths = [b - a for a, b, _ in segs]
        k = int(np.argmin(lengths))
        if lengths[k] >= min_run:
            break
        a, b, _ = segs[k]
        cands = [j for j in (k - 1, k + 1) if 0 <= j < len(segs)]
        # the neighbour whose class this short run supports more takes it over
        j = max(cands, key=lambda j: (probs[a:b, segs[j][2]].mean(), -abs(j - k)))
        if j < k:
            segs[j][1] = b
        else:
            segs[j][0] = a
        del segs[k]
        # neighbours that now carry the same label join
        merged: list[list[int]] = []
        for s in segs:
            if merged and merged[-1][2] == s[2]:
                merged[-1][1] = s[1]
            else:
                merged.append(s)
        segs = merged
    return [(a, b, v) for a, b, v in segs]


def extract_segments(
    probs: np.ndarray,
    fps: float,
    labels: Sequence[str],
    background: Optional[int] = None,
    params: Optional[SegmentParams] = None,
    mask: Optional[np.ndarray] = None,
) -> list[Segment]:
    """Segments from ``(T, K)`` per-frame probabilities (see the module docstring)."""
    prm = params or SegmentParams()
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != len(labels):
        raise DataError(f"probabilities of shape {p.shape} do not match {len(labels)} labels", field="probs")
    if not np.isfinite(fps) or fps <= 0:
        raise DataError(f"fps must be positive, got {fps}", field="fps")
    T, K = p.shape
    if T == 0:
        return []
    if background is not None and not 0 <= background < K:
        raise DataError(f"background index {background} out of range for {K} classes", field="background")
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (T,):
            raise DataError(f"mask must have shape ({T},), got {mask.shape}", field="mask")
    ps = smooth_probs(p, fps, prm.smooth_s)
    fg = foreground_score(ps, background)
    cls = ps.copy()
    if background is not None:
        cls[:, background] = -np.inf
    best = cls.argmax(axis=1)
    min_run = max(1, int(round(prm.min_label_run_s * fps)))

    segs: list[Segment] = []
    for a, b in hysteresis_regions(fg, prm.high, prm.low, mask):
        if not prm.split_regions:
            k = int(np.argmax(cls[a:b].mean(axis=0)))
            segs.append(Segment(a, b, k, labels[k], 0.0))
            continue
        for ra, rb, k in _label_runs(best[a:b], ps[a:b], min_run):
            segs.append(Segment(a + ra, a + rb, int(k), labels[k], 0.0))

    # merge same-label neighbours across short gaps that hold no masked frame
    gap = int(round(prm.merge_gap_s * fps))
    merged: list[Segment] = []
    for s in segs:
        if merged:
            prev = merged[-1]
            clean = mask is None or mask[prev.end : s.start].all()
            if prev.label_index == s.label_index and s.start - prev.end <= gap and clean:
                merged[-1] = Segment(prev.start, s.end, prev.label_index, prev.label, 0.0)
                continue
        merged.append(s)

    min_len = prm.min_duration_s * fps - 1e-9
    calibrated = prm.temperature != 1.0 or prm.coarse_below > 0
    q = _gesture_probs(ps, background, prm.temperature) if calibrated else ps
    groups = _groups(labels, background) if prm.coarse_below > 0 else None
    out = []
    for s in merged:
        if s.length < min_len:
            continue
        conf = float(np.clip(q[s.start : s.end, s.label_index].mean(), 0.0, 1.0))
        seg = Segment(s.start, s.end, s.label_index, s.label, conf)
        if groups is not None and conf < prm.coarse_below and groups[s.label_index] is not None:
            g = groups[s.label_index]
            cols = [k for k, gk in enumerate(groups) if gk == g]
            g_conf = float(np.clip(q[s.start : s.end, cols].sum(axis=1).mean(), 0.0, 1.0))
            if g_conf >= conf:
                seg = Segment(s.start, s.end, s.label_index, f"{g}{COARSE_SUFFIX}", g_conf)
        out.append(seg)
    return out


def _gesture_probs(ps: np.ndarray, background: Optional[int], temperature: float) -> np.ndarray:
    """``softmax(log p(k | gesture) / temperature)`` over the non-background classes (background column 0)."""
    q = np.clip(ps, 1e-12, None).copy()
    if background is not None:
        q[:, background] = 0.0
    q = q / q.sum(axis=1, keepdims=True)
    if temperature != 1.0:
        with np.errstate(divide="ignore"):
            z = np.log(q) / temperature
        z -= z.max(axis=1, keepdims=True)
        q = np.exp(z)
        q = q / q.sum(axis=1, keepdims=True)
    return q


def _groups(labels: Sequence[str], background: Optional[int]) -> list[Optional[str]]:
    """The body-region group of every label (None: background or no group known)."""
    from mgreason.taxonomy import coarse_label

    out: list[Optional[str]] = []
    for k, name in enumerate(labels):
        g = coarse_label(name) if k != background else None
        out.append(g if g is not None and g != name else None)
    return out


def segments_to_events(
    segments: Sequence[Segment],
    fps: float,
    start_s: float = 0.0,
    end_limit_s: Optional[float] = None,
    label_ids: Optional[dict[str, int]] = None,
) -> list[MGEvent]:
    """Frame segments -> recognizer events (seconds, rounded to 0.1 ms; never past ``end_limit_s``)."""
    events = []
    for s in segments:
        a = start_s + s.start / fps
        b = start_s + s.end / fps
        if end_limit_s is not None:
            b = min(b, end_limit_s)
        events.append(
            MGEvent(
                start_s=round(max(0.0, a), 4),
                end_s=round(max(0.0, b), 4),
                label=s.label,
                label_id=(label_ids or {}).get(s.label),
                confidence=round(s.confidence, 4),
                source="recognizer",
            )
        )
    return events


def scores_to_transcript(
    probs: np.ndarray,
    fps: float,
    labels: Sequence[str],
    *,
    id: str,
    background: Optional[int] = None,
    params: Optional[SegmentParams] = None,
    mask: Optional[np.ndarray] = None,
    start_s: float = 0.0,
    layout: Optional[str] = None,
    taxonomy: Optional[str] = None,
    label_ids: Optional[dict[str, int]] = None,
) -> Transcript:
    """Per-frame probabilities -> a recognizer :class:`Transcript` covering the whole recording."""
    segs = extract_segments(probs, fps, labels, background, params, mask)
    duration = round(start_s + len(probs) / fps, 4)
    events = segments_to_events(segs, fps, start_s, duration, label_ids)
    return Transcript(id=id, fps=fps, duration_s=duration, layout=layout, taxonomy=taxonomy, events=events)
