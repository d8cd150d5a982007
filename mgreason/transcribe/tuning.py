"""Choosing the segmentation parameters of a checkpoint on recordings with ground truth.

Segment extraction (:mod:`.segments`) turns per-frame probabilities into events with thresholds that
depend on how confident a given network is: a model that rarely puts much mass on ``background``
needs a higher ``high`` threshold than one that does. So every checkpoint carries its own
:class:`SegmentParams` in ``config.json`` (``segmentation.params``), chosen here on *validation*
recordings (never the ones a result is reported on), and ``mgreason transcribe`` uses them unless an
option overrides a field.

The search is coordinate ascent over a grid (:data:`DEFAULT_GRID`): starting from the current
parameters, each coordinate in turn takes the grid value that maximises the objective with the others
held, until a whole round changes nothing. ``high`` and ``low`` form one coordinate (every valid pair is
tried), because the two thresholds interact strongly; every other field is its own coordinate. Coordinate ascent has local optima, so it is
run from the current parameters and from ``restarts`` seeded random grid points; the best end point
wins. The objective is F1 at one tIoU (default 0.3, labels must match),
pooled over all recordings. Ties keep the earlier value (the current one first), so the result is
deterministic. Smoothed probabilities are computed once per ``smooth_s`` value.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from mgreason.errors import DataError
from mgreason.fileio import atomic_write_text
from mgreason.transcript_metrics import f1_at, _read, _stem, _transcript_files
from mgreason.transcribe.segments import SegmentParams, scores_to_transcript, smooth_probs
from mgreason.transcript import Transcript

__all__ = [
    "DEFAULT_GRID",
    "ScoredRecording",
    "segment_recordings",
    "TuneResult",
    "tune_segmentation",
    "load_scored_recordings",
    "checkpoint_segmentation",
    "write_checkpoint_segmentation",
]

DEFAULT_GRID: dict[str, tuple[float, ...]] = {
    # over-confident networks put little mass on background: the upper end is finely spaced
    "high": (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.985, 0.99, 0.995, 0.998, 0.999),
    "low": (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995),
    "min_duration_s": (0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.6, 2.0),
    "min_label_run_s": (0.2, 0.3, 0.5, 0.8, 1.2, 1.6),
    "merge_gap_s": (0.0, 0.3, 0.6, 1.0, 1.5),
    "smooth_s": (0.0, 0.1, 0.2, 0.3, 0.5),
}
MAX_ROUNDS = 6


@dataclass
class ScoredRecording:
    """Per-frame probabilities of one recording and its ground truth."""

    id: str
    probs: np.ndarray  # (T, K)
    fps: float
    gt: Transcript
    mask: Optional[np.ndarray] = None  # (T,) usable frames
    start_s: float = 0.0


@dataclass
class TuneResult:
    params: SegmentParams
    start_params: SegmentParams
    objective: str
    score: float
    start_score: float
    evaluations: int
    rounds: int
    history: list[dict[str, Any]] = field(default_factory=list)  # one entry per accepted change

    def to_dict(self) -> dict[str, Any]:
        return {
            "params": self.params.to_dict(),
            "start_params": self.start_params.to_dict(),
            "objective": self.objective,
            "score": round(self.score, 6),
            "start_score": round(self.start_score, 6),
            "evaluations": self.evaluations,
            "rounds": self.rounds,
            "history": self.history,
        }


def segment_recordings(
    recs: Sequence[ScoredRecording],
    labels: Sequence[str],
    background: Optional[int],
    prm: SegmentParams,
    smoothed: Optional[Sequence[np.ndarray]] = None,
) -> list[tuple[Transcript, Transcript]]:
    """``(predicted, ground truth)`` transcripts of every recording under ``prm`` (``smoothed``: the
    probabilities already smoothed with ``prm.smooth_s``, to skip that step)."""
    if smoothed is None:
        smoothed = [smooth_probs(r.probs, r.fps, prm.smooth_s) for r in recs]
    flat = replace(prm, smooth_s=0.0)
    return [
        (scores_to_transcript(p, r.fps, labels, id=r.id, background=background, params=flat, mask=r.mask,
                              start_s=r.start_s), r.gt)  # fmt: skip
        for r, p in zip(recs, smoothed)
    ]


def tune_segmentation(
    recordings: Sequence[ScoredRecording],
    labels: Sequence[str],
    *,
    background: Optional[int],
    start: Optional[SegmentParams] = None,
    grid: Optional[dict[str, Sequence[float]]] = None,
    tiou: float = 0.3,
    max_rounds: int = MAX_ROUNDS,
    restarts: int = 4,
    seed: int = 0,
) -> TuneResult:
    """Coordinate ascent of F1@``tiou`` over ``grid`` (see the module docstring)."""
    if not recordings:
        raise DataError("no recordings to tune on", field="recordings")
    if not any(r.gt.events for r in recordings):
        raise DataError("the ground truth holds no event at all: nothing to tune on", field="gt")
    grid = {k: tuple(v) for k, v in (grid or DEFAULT_GRID).items()}
    unknown = set(grid) - set(SegmentParams().to_dict())
    if unknown:
        raise DataError(f"unknown segmentation parameter(s) in the grid: {sorted(unknown)}", field="grid")
    for r in recordings:
        if r.probs.ndim != 2 or r.probs.shape[1] != len(labels):
            raise DataError(f"probabilities of shape {r.probs.shape} do not match {len(labels)} labels", file=r.id)
    cur = start or SegmentParams()
    smoothed_cache: dict[float, list[np.ndarray]] = {}

    def smoothed(sigma: float) -> list[np.ndarray]:
        if sigma not in smoothed_cache:
            smoothed_cache[sigma] = [smooth_probs(r.probs, r.fps, sigma) for r in recordings]
        return smoothed_cache[sigma]

    cache: dict[SegmentParams, float] = {}

    def score(prm: SegmentParams) -> float:
        if prm not in cache:
            cache[prm] = f1_at(segment_recordings(recordings, labels, background, prm, smoothed(prm.smooth_s)), tiou)["f1"]
        return cache[prm]

    start_params, start_score = cur, score(cur)
    coords: list[tuple[str, ...]] = [(k,) for k in grid if k not in ("high", "low")]
    if "high" in grid and "low" in grid:  # the two thresholds interact strongly: one coordinate
        coords.insert(0, ("high", "low"))
    else:
        coords += [(k,) for k in ("high", "low") if k in grid]

    def ascend(cur: SegmentParams, tag: int) -> tuple[SegmentParams, float, int, list[dict[str, Any]]]:
        best, hist, rounds = score(cur), [], 0
        for rounds in range(1, max_rounds + 1):
            changed = False
            for names in coords:
                now = tuple(getattr(cur, n) for n in names)
                for values in itertools.product(*(grid[n] for n in names)):
                    if tuple(float(v) for v in values) == now:
                        continue
                    try:
                        cand = replace(cur, **{n: float(v) for n, v in zip(names, values)})
                    except DataError:  # e.g. low > high
                        continue
                    s = score(cand)
                    if s > best + 1e-12:
                        hist.append({"start": tag, "round": rounds, "fields": list(names),
                                     "to": [float(v) for v in values], "score": round(s, 6)})  # fmt: skip
                        cur, best, changed = cand, s, True
            if not changed:
                break
        return cur, best, rounds, hist

    # the current parameters first, then seeded random grid points (coordinate ascent has local optima)
    rng = np.random.default_rng(seed)
    starts = [cur]
    while len(starts) < 1 + restarts:
        pick = {k: float(v[int(rng.integers(len(v)))]) for k, v in grid.items()}
        if pick.get("low", cur.low) > pick.get("high", cur.high):
            pick["low"], pick["high"] = pick.get("high", cur.high), pick.get("low", cur.low)
        starts.append(replace(cur, **pick))
    best, history, total_rounds = start_score, [], 0
    for tag, st in enumerate(starts):
        got, s, rounds, hist = ascend(st, tag)
        total_rounds += rounds
        history += hist
        if s > best + 1e-12 or (tag == 0 and s >= best):
            cur, best = got, s
    return TuneResult(cur, start_params, f"f1@{tiou:g}", best, start_score, len(cache), total_rounds, history)


# --------------------------------------------------------------------------- files
def _load_npz(path: Path) -> tuple[np.ndarray, list[str], float, Optional[np.ndarray]]:
    from mgreason.fileio import refuse_special_file

    refuse_special_file(path, error=DataError)  # the path rule: never a FIFO or device
    try:
        with np.load(path, allow_pickle=False) as z:
            probs = np.asarray(z["probs"], dtype=np.float64)
            labels = [str(x) for x in z["labels"].tolist()]
            fps = float(z["fps"])
            mask = np.asarray(z["mask"], dtype=bool) if "mask" in z.files else None
    except KeyError as e:
        raise DataError(f"not a scores file written by 'mgreason transcribe --scores': no {e} array", file=path) from None
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read scores: {e}", file=path) from None
    if probs.ndim != 2 or probs.shape[1] != len(labels):
        raise DataError(f"probs of shape {probs.shape} do not match {len(labels)} labels", file=path)
    if mask is not None and mask.shape != (probs.shape[0],):
        raise DataError(f"mask of shape {mask.shape} does not match {probs.shape[0]} frames", file=path)
    return probs, labels, fps, mask


def load_scored_recordings(scores: str | Path, gt: str | Path) -> tuple[list[ScoredRecording], list[str], list[str]]:
    """``(recordings, labels, warnings)`` from score files (``transcribe --scores``) and ground truth.

    Two files, or two directories paired by name (``x.npz`` with ``x.json`` / ``x.transcript.json``, or
    with the transcript whose ``id`` is ``x``). All score files must share one label list.
    """
    scores, gt = Path(scores), Path(gt)
    for p in (scores, gt):
        if not p.exists():
            raise DataError("no such file or directory", file=p)
    if scores.is_file() != gt.is_file():
        raise DataError("SCORES and GT must both be files or both be directories", file=f"{scores}, {gt}")
    if scores.is_file():
        pairs = [(scores, _read(gt))]
        warns: list[str] = []
    else:
        files = sorted(p for p in scores.rglob("*.npz") if p.is_file())
        if not files:
            raise DataError("no *.npz score files (write them with 'mgreason transcribe --scores')", file=scores)
        gt_files = _transcript_files(gt)
        if not gt_files:
            raise DataError("no *.json transcripts in the ground-truth directory", file=gt)
        by_key: dict[str, Transcript] = {}
        for f in gt_files:
            t = _read(f)
            by_key.setdefault(t.id, t)
            by_key.setdefault(_stem(f), t)
        pairs, warns = [], []
        for f in files:
            t = by_key.get(f.stem)
            if t is None:
                warns.append(f"{f.name}: no ground-truth transcript with this name or id: ignored")
            else:
                pairs.append((f, t))
        if not pairs:
            raise DataError("no score file matches a ground-truth transcript (paired by name or id)", file=f"{scores}, {gt}")
    recs: list[ScoredRecording] = []
    labels: Optional[list[str]] = None
    for f, t in pairs:
        probs, labs, fps, mask = _load_npz(f)
        if labels is None:
            labels = labs
        elif labs != labels:
            raise DataError("score files come from checkpoints with different label lists", file=f)
        recs.append(ScoredRecording(id=t.id, probs=probs, fps=fps, gt=t, mask=mask))
    assert labels is not None
    return recs, labels, warns


# --------------------------------------------------------------------------- checkpoints
def checkpoint_segmentation(config: dict[str, Any], file: Optional[str | Path] = None) -> SegmentParams:
    """The checkpoint's tuned :class:`SegmentParams` (``config['segmentation']['params']``), else the defaults;
    held to the checks and bounds of the CLI's options (errors name ``file``, the checkpoint's config.json)."""
    block = config.get("segmentation")
    if not block:
        return SegmentParams()
    params = block.get("params") if isinstance(block, dict) else None
    if not isinstance(params, dict):
        raise DataError("'segmentation' must hold a 'params' mapping", file=file, field="segmentation")
    known = set(SegmentParams().to_dict())
    bad = set(params) - known
    if bad:
        raise DataError(f"unknown segmentation parameter(s) {sorted(bad)}", file=file, field="segmentation.params")
    for name, value in params.items():  # JSON gives any type: the same types as the CLI options
        want_bool = isinstance(getattr(SegmentParams(), name), bool)
        if want_bool != isinstance(value, bool) or not isinstance(value, (bool, int, float)):
            kind = "true or false" if want_bool else "a number"
            raise DataError(f"must be {kind}, got {value!r}", file=file, field=f"segmentation.params.{name}")
    try:
        return SegmentParams(**params)
    except DataError as e:
        raise DataError(e.message, file=file, field=f"segmentation.params.{e.field}") from None


def write_checkpoint_segmentation(checkpoint: str | Path, result: TuneResult, tuned_on: dict[str, Any]) -> Path:
    """Store ``result.params`` (with where they were tuned and how well) in ``checkpoint/config.json``."""
    from mgreason.recognizer.checkpoint import CONFIG, read_checkpoint_config

    checkpoint = Path(checkpoint)
    cfg = read_checkpoint_config(checkpoint)
    cfg["segmentation"] = {
        "params": result.params.to_dict(),
        "objective": result.objective,
        "score": round(result.score, 4),
        "start_params": result.start_params.to_dict(),
        "start_score": round(result.start_score, 4),
        "tuned_on": tuned_on,
    }
    path = checkpoint / CONFIG
    atomic_write_text(path, json.dumps(cfg, indent=2) + "\n")
    return path
