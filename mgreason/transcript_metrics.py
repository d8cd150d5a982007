"""Detection metrics for transcripts: F1 and mAP at temporal-IoU thresholds, segmental F1 and Edit.

Every metric compares predicted events with ground-truth events of the *same recording*; a
prediction can only ever match a ground-truth event with the same label (compared case- and
space-insensitively).

* **F1@tIoU** (MiGA-style online-recognition F1): predictions, most confident first, are matched
  greedily to the unmatched same-label ground-truth event they overlap most; a match with
  ``tIoU >= threshold`` is a true positive, every other prediction a false positive, every unmatched
  ground-truth event a false negative. Counts are summed over recordings (micro average).
* **mAP@tIoU** (ActivityNet protocol): per class, all predictions of all recordings sorted by
  confidence and matched as above; AP is the area under the interpolated precision-recall curve;
  the mean runs over the classes that have ground-truth events (a prediction of a class absent from
  the ground truth still counts as a false positive for the F1 scores).
* **Segmental F1@k** (MS-TCN, Lea et al.): predictions in temporal order, each compared with the
  same-label ground-truth event of highest IoU; a true positive if ``IoU >= k`` and that event is
  still unmatched. Confidence plays no role. Reported at k = 0.10, 0.25, 0.50.
* **Edit** score: ``100 * (1 - Levenshtein(pred labels, gt labels) / max(len))`` over the label
  sequences in temporal order, averaged over recordings (100 when both are empty).

F1 is also reported at three **levels** (:func:`level_f1`), each next to its **chance level**:

* ``fine``: the class labels, as above;
* ``coarse``: labels replaced by their body-region group (iMiGUE: head, head-hand, body-hand, upper
  limb, body; :mod:`mgreason.taxonomy`); a recognizer event that fell back to its group (label
  ``"<group> (coarse)"``) counts as that group here, and as a wrong fine label at the fine level;
* ``class-agnostic``: every event has the same label (is *something* found at the right time?).

Chance level: the same predicted events, with labels drawn at random from the ground truth's class
frequencies (pooled over recordings), F1 averaged over :data:`CHANCE_DRAWS` seeded draws. A recognizer
that finds the right moments but not the right class sits at chance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from mgreason.errors import DataError
from mgreason.taxonomy import coarse_label
from mgreason.transcript import MGEvent, Transcript

__all__ = [
    "TIOU_THRESHOLDS",
    "SEGMENTAL_KS",
    "tiou",
    "match_events",
    "f1_at",
    "average_precision",
    "mean_average_precision",
    "segmental_f1",
    "edit_score",
    "EvalResult",
    "evaluate",
    "load_pairs",
    "evaluate_paths",
    "LEVELS",
    "relabel_pairs",
    "chance_f1",
    "level_f1",
]

TIOU_THRESHOLDS = (0.1, 0.3, 0.5)
LEVELS = ("fine", "coarse", "class-agnostic")
CHANCE_DRAWS = 200
SEGMENTAL_KS = (0.10, 0.25, 0.50)


def _norm_label(s: str) -> str:
    return " ".join(str(s).lower().split())


def tiou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Temporal intersection over union of two intervals ``(start, end)``."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    if union <= 0:
        return 1.0 if (a[0] == b[0] and a[1] == b[1]) else 0.0
    return inter / union


def _iou_row(p: MGEvent, gts: Sequence[MGEvent]) -> np.ndarray:
    return np.array([tiou((p.start_s, p.end_s), (g.start_s, g.end_s)) for g in gts], dtype=np.float64)


def _overlaps(pred: Sequence[MGEvent], gt: Sequence[MGEvent]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Sort and sweep: per prediction, ``(indices into gt, ascending; their tIoU)`` of the ground-truth
    events it can overlap. Every other event has tIoU 0, and every matching rule here needs a tIoU of
    at least a threshold > 0, so this gives the same matches as comparing all pairs, in
    O((P + G) log G + overlaps) instead of O(P x G) Python calls."""
    n = len(gt)
    if n == 0:
        return [(np.zeros(0, dtype=np.int64), np.zeros(0)) for _ in pred]
    gs = np.array([g.start_s for g in gt], dtype=np.float64)
    ge = np.array([g.end_s for g in gt], dtype=np.float64)
    order = np.argsort(gs, kind="stable")
    ss = gs[order]
    longest = float(np.max(ge - gs))
    ps = np.array([p.start_s for p in pred], dtype=np.float64)
    pe = np.array([p.end_s for p in pred], dtype=np.float64)
    # an overlapping event starts in [s - longest, e]: one slice of the sorted starts per prediction
    lo = np.searchsorted(ss, ps - longest, side="left")
    hi = np.searchsorted(ss, pe, side="right")
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    owner = np.repeat(np.arange(len(pred)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    gi = order[np.repeat(lo, counts) + (np.arange(total) - first)]
    srt = np.lexsort((gi, owner))  # per prediction, gt indices ascending (the all-pairs tie order)
    owner, gi = owner[srt], gi[srt]
    s, e, a, b = ps[owner], pe[owner], gs[gi], ge[gi]
    inter = np.maximum(0.0, np.minimum(e, b) - np.maximum(s, a))
    union = np.maximum(e, b) - np.minimum(s, a)
    iou = np.where(union > 0, inter / np.where(union > 0, union, 1.0), ((a == s) & (b == e)).astype(np.float64))
    cuts = np.cumsum(counts)[:-1]
    return list(zip(np.split(gi, cuts), np.split(iou, cuts)))


def match_events(
    pred: Sequence[MGEvent], gt: Sequence[MGEvent], threshold: float
) -> tuple[list[bool], list[Optional[int]]]:
    """Greedy confidence-ordered matching within one recording.

    Returns ``(is_tp per prediction, matched gt index per prediction)`` in the order of ``pred``.
    Ties in confidence keep the given order.
    """
    order = sorted(range(len(pred)), key=lambda i: -pred[i].confidence)
    used = np.zeros(len(gt), dtype=bool)
    tp: list[bool] = [False] * len(pred)
    which: list[Optional[int]] = [None] * len(pred)
    codes: dict[str, int] = {}
    gl = np.array([codes.setdefault(_norm_label(g.label), len(codes)) for g in gt], dtype=np.int64)
    near = _overlaps(pred, gt)  # only overlapping events can reach a threshold > 0
    for i in order:
        lab = codes.get(_norm_label(pred[i].label), -1)
        idx, iou = near[i]
        ok = (gl[idx] == lab) & ~used[idx]
        if not ok.any():
            continue
        row = np.where(ok, iou, -1.0)
        k = int(np.argmax(row))  # the first best, in gt order (as comparing all pairs)
        if row[k] >= threshold - 1e-12 and threshold > 1e-12:
            j = int(idx[k])
            used[j] = True
            tp[i] = True
            which[i] = j
    return tp, which


def _prf(tp: int, n_pred: int, n_gt: int) -> dict[str, float]:
    p = tp / n_pred if n_pred else (1.0 if n_gt == 0 else 0.0)
    r = tp / n_gt if n_gt else (1.0 if n_pred == 0 else 0.0)
    f = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "n_pred": n_pred, "n_gt": n_gt}


def f1_at(pairs: Sequence[tuple[Transcript, Transcript]], threshold: float) -> dict[str, float]:
    """Micro-averaged precision / recall / F1 at one tIoU threshold over ``(pred, gt)`` pairs."""
    tp = n_pred = n_gt = 0
    for pred, gt in pairs:
        flags, _ = match_events(pred.events, gt.events, threshold)
        tp += sum(flags)
        n_pred += len(pred.events)
        n_gt += len(gt.events)
    return _prf(tp, n_pred, n_gt)


def average_precision(scores: Sequence[float], is_tp: Sequence[bool], n_gt: int) -> float:
    """ActivityNet-style AP: area under the monotone (interpolated) precision-recall curve."""
    if n_gt <= 0:
        return float("nan")
    if len(scores) == 0:
        return 0.0
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    tp = np.asarray(is_tp, dtype=np.float64)[order]
    fp = 1.0 - tp
    ctp, cfp = np.cumsum(tp), np.cumsum(fp)
    rec = ctp / n_gt
    prec = ctp / np.maximum(ctp + cfp, 1e-12)
    mprec = np.concatenate([[0.0], prec, [0.0]])
    mrec = np.concatenate([[0.0], rec, [1.0]])
    for i in range(len(mprec) - 2, -1, -1):
        mprec[i] = max(mprec[i], mprec[i + 1])
    idx = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))


def mean_average_precision(
    pairs: Sequence[tuple[Transcript, Transcript]], threshold: float
) -> tuple[float, dict[str, float]]:
    """``(mAP, AP per ground-truth class)``; mAP is NaN when there is no ground-truth event at all."""
    classes: dict[str, str] = {}
    for _, gt in pairs:
        for g in gt.events:
            classes.setdefault(_norm_label(g.label), g.label)
    per_class: dict[str, float] = {}
    for key, name in sorted(classes.items()):
        scores: list[float] = []
        flags: list[bool] = []
        n_gt = 0
        for pred, gt in pairs:
            p = [e for e in pred.events if _norm_label(e.label) == key]
            g = [e for e in gt.events if _norm_label(e.label) == key]
            n_gt += len(g)
            f, _ = match_events(p, g, threshold)
            scores += [e.confidence for e in p]
            flags += f
        per_class[name] = average_precision(scores, flags, n_gt)
    vals = [v for v in per_class.values() if np.isfinite(v)]
    return (float(np.mean(vals)) if vals else float("nan")), per_class


def segmental_f1(pairs: Sequence[tuple[Transcript, Transcript]], k: float) -> dict[str, float]:
    """MS-TCN segmental F1@k (temporal order, best-IoU ground truth, no confidence)."""
    tp = fp = n_gt = 0
    for pred, gt in pairs:
        g = sorted(gt.events, key=lambda e: (e.start_s, e.end_s))
        gl = [_norm_label(e.label) for e in g]
        hits = [False] * len(g)
        n_gt += len(g)
        ps = sorted(pred.events, key=lambda e: (e.start_s, e.end_s))
        for p, (idx, iou) in zip(ps, _overlaps(ps, g)):  # sort and sweep: non-overlapping events score 0
            lab = _norm_label(p.label)
            ious = np.where(np.array([gl[j] == lab for j in idx], dtype=bool), iou, 0.0) if idx.size else iou
            if ious.size == 0 or not ious.max() >= k - 1e-12 or k <= 1e-12:
                fp += 1
                continue
            j = int(idx[int(np.argmax(ious))])
            if not hits[j]:
                tp += 1
                hits[j] = True
            else:
                fp += 1
    return _prf(tp, tp + fp, n_gt)


def _levenshtein(a: Sequence[str], b: Sequence[str]) -> int:
    """Edit distance, one numpy pass per row: the insertion chain ``cur[j] = min(t[j], cur[j-1] + 1)``
    is ``min over k <= j of (t[k] + j - k)``, a running minimum."""
    codes: dict[str, int] = {}
    ca = np.array([codes.setdefault(x, len(codes)) for x in a], dtype=np.int64)
    cb = np.array([codes.setdefault(y, len(codes)) for y in b], dtype=np.int64)
    steps = np.arange(len(b) + 1, dtype=np.int64)
    prev = steps.copy()
    for i, x in enumerate(ca, 1):
        t = np.empty(len(b) + 1, dtype=np.int64)
        t[0] = i
        t[1:] = np.minimum(prev[1:] + 1, prev[:-1] + (cb != x))
        prev = np.minimum.accumulate(t - steps) + steps
    return int(prev[-1])


def edit_score(pred: Transcript, gt: Transcript) -> float:
    a = [_norm_label(e.label) for e in sorted(pred.events, key=lambda e: (e.start_s, e.end_s))]
    b = [_norm_label(e.label) for e in sorted(gt.events, key=lambda e: (e.start_s, e.end_s))]
    if not a and not b:
        return 100.0
    return 100.0 * (1.0 - _levenshtein(a, b) / max(len(a), len(b)))


# --------------------------------------------------------------------------- levels and chance
def relabel_pairs(pairs: Sequence[tuple[Transcript, Transcript]], fn: Any) -> list[tuple[Transcript, Transcript]]:
    """Every label of predictions and ground truth mapped through ``fn``."""

    def re(t: Transcript) -> Transcript:
        return t.model_copy(update={"events": [e.model_copy(update={"label": fn(e.label)}) for e in t.events]})

    return [(re(p), re(g)) for p, g in pairs]


def _level_fn(level: str) -> Any:
    if level == "fine":
        return lambda s: s
    if level == "coarse":
        return coarse_label
    if level == "class-agnostic":
        return lambda s: "event"
    raise ValueError(f"unknown level {level!r}")


def _tp_count(reach: list[tuple[int, list[tuple[int, float]]]], pl: Sequence[int], gl: Sequence[int]) -> int:
    """:func:`match_events` (same greedy rule) on integer labels, true positives. ``reach``: in confidence
    order, each prediction that has ground-truth events at or above the threshold, with them as
    ``(gt index ascending, tIoU)``: the best same-label unused one among them is the match of comparing
    all pairs (events below the threshold can only be a best that is refused anyway)."""
    used: set[int] = set()
    tp = 0
    for i, cands in reach:
        lab = pl[i]
        best, bj = -1.0, -1
        for j, v in cands:
            if v > best and gl[j] == lab and j not in used:
                best, bj = v, j
        if bj >= 0:
            used.add(bj)
            tp += 1
    return tp


def chance_f1(
    pairs: Sequence[tuple[Transcript, Transcript]], threshold: float, level: str = "fine", draws: int = CHANCE_DRAWS,
    seed: int = 0,
) -> float:  # fmt: skip
    """Mean F1 of the predicted events when their (fine) labels are drawn from the ground truth's class
    frequencies, at ``level``."""
    fn = _level_fn(level)
    gt_labels = [e.label for _, g in pairs for e in g.events]
    n_pred = sum(len(p.events) for p, _ in pairs)
    if not gt_labels or n_pred == 0:
        return f1_at(relabel_pairs(pairs, fn), threshold)["f1"]
    names, counts = np.unique(np.array(gt_labels, dtype=object), return_counts=True)
    freq = counts / counts.sum()
    level_names = sorted({_norm_label(fn(str(n))) for n in names} | {_norm_label(fn(e.label)) for _, g in pairs for e in g.events})
    code = {n: i for i, n in enumerate(level_names)}
    drawn_code = np.array([code[_norm_label(fn(str(n)))] for n in names])
    prepared = []
    for p, g in pairs:
        near = _overlaps(p.events, g.events)  # sort and sweep, not a P x G matrix
        order = sorted(range(len(p.events)), key=lambda i: -p.events[i].confidence)
        reach = []
        for i in order:
            idx, iou = near[i]
            keep = iou >= threshold - 1e-12
            if keep.any() and threshold > 1e-12:
                reach.append((i, list(zip(idx[keep].tolist(), iou[keep].tolist()))))
        gl = [code[_norm_label(fn(e.label))] for e in g.events]
        prepared.append((reach, gl, len(p.events)))
    n_gt = len(gt_labels)
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(draws):
        draw = drawn_code[rng.choice(len(names), n_pred, p=freq)]
        tp, k = 0, 0
        draw_list = draw.tolist()
        for reach, gl, n in prepared:
            tp += _tp_count(reach, draw_list[k : k + n], gl)
            k += n
        vals.append(_prf(tp, n_pred, n_gt)["f1"])
    return float(np.mean(vals))


def level_f1(
    pairs: Sequence[tuple[Transcript, Transcript]], thresholds: Sequence[float], draws: int = CHANCE_DRAWS
) -> dict[str, dict[float, dict[str, float]]]:
    """``{level: {tIoU: {'f1', 'chance', 'precision', 'recall', ...}}}`` for every level of :data:`LEVELS`."""
    out: dict[str, dict[float, dict[str, float]]] = {}
    for level in LEVELS:
        rp = relabel_pairs(pairs, _level_fn(level))
        out[level] = {}
        for t in thresholds:
            d = dict(f1_at(rp, t))
            d["chance"] = d["f1"] if level == "class-agnostic" else chance_f1(pairs, t, level, draws)
            out[level][float(t)] = d
    return out


# --------------------------------------------------------------------------- all together
@dataclass
class EvalResult:
    n_recordings: int
    thresholds: tuple[float, ...]
    f1: dict[float, dict[str, float]]
    map: dict[float, float]
    ap_per_class: dict[float, dict[str, float]]
    segmental: dict[float, dict[str, float]]
    edit: float
    per_recording: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    levels: dict[str, dict[float, dict[str, float]]] = field(default_factory=dict)  # see level_f1

    def to_dict(self) -> dict[str, Any]:
        def k(x: float) -> str:
            return f"{x:g}"

        def num(v: float) -> Optional[float]:
            return None if v is None or not np.isfinite(v) else round(float(v), 6)

        return {
            "n_recordings": self.n_recordings,
            "f1": {k(t): {a: (num(b) if isinstance(b, float) else b) for a, b in d.items()} for t, d in self.f1.items()},
            "map": {k(t): num(v) for t, v in self.map.items()},
            "ap_per_class": {k(t): {c: num(v) for c, v in d.items()} for t, d in self.ap_per_class.items()},
            "segmental_f1": {
                k(t): {a: (num(b) if isinstance(b, float) else b) for a, b in d.items()} for t, d in self.segmental.items()
            },
            "edit": num(self.edit),
            "levels": {
                lv: {k(t): {a: (num(b) if isinstance(b, float) else b) for a, b in d.items()} for t, d in by_t.items()}
                for lv, by_t in self.levels.items()
            },
            "per_recording": self.per_recording,
            "warnings": self.warnings,
        }

    def render(self) -> str:
        def pct(v: float) -> str:
            return "  n/a" if v is None or not np.isfinite(v) else f"{100 * v:5.1f}"

        lines = [f"recordings: {self.n_recordings}"]
        lines.append("tIoU   F1     P      R      mAP   (tp / pred / gt)")
        for t in self.thresholds:
            d = self.f1[t]
            lines.append(
                f"{t:<5g} {pct(d['f1'])}  {pct(d['precision'])}  {pct(d['recall'])}  {pct(self.map[t])}  "
                f"({d['tp']} / {d['n_pred']} / {d['n_gt']})"
            )
        seg = "  ".join(f"F1@{int(round(100 * k))} {pct(d['f1'])}" for k, d in self.segmental.items())
        lines.append(f"segmental: {seg}  Edit {self.edit:5.1f}")
        if self.levels:
            lines.append("F1 by level (chance: the same events, labels drawn from the ground-truth class frequencies)")
            lines.append("level            " + "  ".join(f"@{t:<4g} F1 (chance)" for t in self.thresholds))
            for lv, by_t in self.levels.items():
                cells = "  ".join(f"{pct(by_t[t]['f1'])} ({pct(by_t[t]['chance']).strip():>5})" for t in self.thresholds)
                lines.append(f"{lv:<16} {cells}")
        return "\n".join(lines)


def evaluate(
    pairs: Sequence[tuple[Transcript, Transcript]],
    thresholds: Sequence[float] = TIOU_THRESHOLDS,
    segmental_ks: Sequence[float] = SEGMENTAL_KS,
    warnings: Optional[list[str]] = None,
    levels: bool = True,
) -> EvalResult:
    pairs = list(pairs)
    ths = tuple(float(t) for t in thresholds)
    for t in list(ths) + [float(k) for k in segmental_ks]:
        if not 0.0 < t <= 1.0:
            raise DataError(f"IoU thresholds must be in (0, 1], got {t}", field="thresholds")
    f1 = {t: f1_at(pairs, t) for t in ths}
    maps, aps = {}, {}
    for t in ths:
        maps[t], aps[t] = mean_average_precision(pairs, t)
    seg = {float(k): segmental_f1(pairs, float(k)) for k in segmental_ks}
    edits = [edit_score(p, g) for p, g in pairs]
    per = []
    for p, g in pairs:
        row: dict[str, Any] = {"id": g.id, "n_pred": len(p.events), "n_gt": len(g.events)}
        for t in ths:
            row[f"f1@{t:g}"] = round(f1_at([(p, g)], t)["f1"], 6)
        per.append(row)
    return EvalResult(
        n_recordings=len(pairs),
        thresholds=ths,
        f1=f1,
        map=maps,
        ap_per_class=aps,
        segmental=seg,
        edit=float(np.mean(edits)) if edits else float("nan"),
        per_recording=per,
        warnings=list(warnings or []),
        levels=level_f1(pairs, ths) if levels else {},
    )


# --------------------------------------------------------------------------- files
def _read(path: Path) -> Transcript:
    try:
        return Transcript.read(path)
    except OSError as e:
        raise DataError(f"cannot read transcript: {e.strerror or e}", file=path) from None
    except ValueError as e:  # pydantic ValidationError and JSON errors are ValueErrors
        first = str(e).strip().splitlines()
        msg = " ".join(first[:3]) if first else type(e).__name__
        raise DataError(f"not a valid transcript: {msg}", file=path) from None


def _transcript_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.json") if p.is_file() and not p.name.endswith(".meta.json"))


def _stem(p: Path) -> str:
    name = p.name
    for suf in (".transcript.json", ".json"):
        if name.endswith(suf):
            return name[: -len(suf)]
    return p.stem


def load_pairs(pred: str | Path, gt: str | Path) -> tuple[list[tuple[Transcript, Transcript]], list[str]]:
    """``(pairs, warnings)`` from two transcript files or two directories of them.

    Directories are paired by transcript ``id`` (else by file name without ``.transcript.json`` /
    ``.json``). A ground-truth recording without a prediction is scored as an empty prediction (all
    misses) and reported; a prediction without ground truth is ignored and reported.
    """
    pred, gt = Path(pred), Path(gt)
    for p in (pred, gt):
        if not p.exists():
            raise DataError("no such file or directory", file=p)
    if pred.is_file() and gt.is_file():
        return [(_read(pred), _read(gt))], []
    if pred.is_dir() != gt.is_dir():
        raise DataError("PRED and GT must both be files or both be directories", file=f"{pred}, {gt}")
    pfiles, gfiles = _transcript_files(pred), _transcript_files(gt)
    if not gfiles:
        raise DataError("no *.json transcripts in the ground-truth directory", file=gt)
    preds = [(f, _read(f)) for f in pfiles]
    gts = [(f, _read(f)) for f in gfiles]
    for kind, items in (("prediction", preds), ("ground truth", gts)):
        seen: dict[str, Path] = {}
        for f, t in items:
            if t.id in seen:
                raise DataError(f"two {kind} transcripts have the id {t.id!r} (also {seen[t.id]})", file=f)
            seen[t.id] = f
    by_id = {t.id: t for _, t in preds}
    by_stem = {_stem(f): t for f, t in preds}
    pairs, warns, used = [], [], set()
    for f, g in gts:
        p = by_id.get(g.id) or by_stem.get(_stem(f))
        if p is None:
            warns.append(f"no prediction for {g.id!r} ({f.name}): scored as an empty transcript")
            p = Transcript(id=g.id, fps=g.fps, duration_s=g.duration_s, events=[])
        else:
            used.add(id(p))
        pairs.append((p, g))
    for f, p in preds:
        if id(p) not in used:
            warns.append(f"prediction {p.id!r} ({f.name}) has no ground truth: ignored")
    if not any(id(p) in used for _, p in preds):
        raise DataError(
            "no prediction matches any ground-truth transcript (paired by id or by file name)", file=f"{pred}, {gt}"
        )
    return pairs, warns


def evaluate_paths(
    pred: str | Path,
    gt: str | Path,
    thresholds: Sequence[float] = TIOU_THRESHOLDS,
    segmental_ks: Sequence[float] = SEGMENTAL_KS,
) -> EvalResult:
    pairs, warns = load_pairs(pred, gt)
    return evaluate(pairs, thresholds, segmental_ks, warns)

