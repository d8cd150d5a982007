"""Paired statistics for with-vs-without-evidence LLM comparisons.

Every comparison here is *paired*: the two conditions (``a`` = baseline, ``b`` =
treatment) answered the same items, so the tests and intervals work on
per-item differences rather than on two independent samples.

* :func:`wilson_ci` -- Wilson score interval for a proportion.
* :func:`accuracy`, :func:`macro_f1`, :func:`uar` -- point metrics; a ``None``
  prediction is a parse failure and always counts as wrong.
* :func:`condition_metrics` -- all of the above for one condition.
* :func:`mcnemar_exact` -- exact (binomial) McNemar test on paired correctness.
* :func:`paired_bootstrap` -- percentile CI of ``metric(b) - metric(a)`` from a
  seeded bootstrap that resamples items (same indices for both conditions).
* :func:`compare_conditions` -- the bundle used by reports.
* :func:`holm_adjust` -- Holm-Bonferroni step-down adjusted p-values.

Only numpy and scipy are used. Results are plain dataclasses whose
``to_dict()`` returns strictly JSON-able values (NaN becomes ``None``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Iterator, Literal, Optional, Sequence

import numpy as np
from scipy import stats as _sps

__all__ = [
    "ConditionMetrics",
    "McNemarResult",
    "PairedDelta",
    "PairedComparison",
    "wilson_ci",
    "accuracy",
    "macro_f1",
    "uar",
    "condition_metrics",
    "mcnemar_exact",
    "paired_bootstrap",
    "compare_conditions",
    "holm_adjust",
    "roc_auc",
]

Metric = Literal["accuracy", "macro_f1"]
_METRICS = ("accuracy", "macro_f1")

# Upper bound on the number of cells (draws x items) materialised at once by the
# bootstrap; keeps memory bounded (~16 MB of float64) for large item sets.
_MAX_CELLS = 2_000_000


# --------------------------------------------------------------------------- results


def _jsonable(value: Any) -> Any:
    if isinstance(value, _Result):
        return value.to_dict()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return None if math.isnan(v) else v
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


class _Result:
    def to_dict(self) -> dict[str, Any]:
        """Field name -> JSON-able value (nested results become dicts, NaN becomes None)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class ConditionMetrics(_Result):
    """Metrics of one condition over ``n`` items."""

    n: int
    n_correct: int
    accuracy: float
    acc_ci_low: float
    acc_ci_high: float
    macro_f1: float
    uar: float
    n_parse_fail: int


@dataclass(frozen=True)
class McNemarResult(_Result):
    """Exact McNemar test. ``b`` = #(a correct, b wrong); ``c`` = #(a wrong, b correct)."""

    n: int
    b: int
    c: int
    p_value: float

    @property
    def n_discordant(self) -> int:
        return self.b + self.c

    @property
    def p(self) -> float:
        """Alias of :attr:`p_value`."""
        return self.p_value


@dataclass(frozen=True)
class PairedDelta(_Result):
    """``delta = metric(b) - metric(a)`` with a paired-bootstrap percentile CI."""

    metric: str
    delta: float
    ci_low: float
    ci_high: float
    n: int
    n_boot: int
    seed: int


@dataclass(frozen=True)
class PairedComparison(_Result):
    """Baseline ``a`` vs treatment ``b`` on the same ``n`` items."""

    name_a: str
    name_b: str
    n: int
    acc_a: float
    acc_b: float
    delta_acc: PairedDelta
    delta_macro_f1: PairedDelta
    mcnemar: McNemarResult
    macro_f1_a: float = float("nan")
    macro_f1_b: float = float("nan")


# --------------------------------------------------------------------------- validation


def _check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not (0.0 < alpha < 1.0):
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return alpha


def _check_same_length(**seqs: Sequence[Any]) -> int:
    lengths = {name: len(s) for name, s in seqs.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise ValueError(f"length mismatch: {detail} (paired inputs must have the same number of items)")
    return next(iter(lengths.values())) if lengths else 0


def _check_labels(labels: Sequence[str]) -> list[str]:
    if isinstance(labels, str):
        raise ValueError("labels must be a sequence of label strings, not a single string")
    labels = list(labels)
    if not labels:
        raise ValueError("labels must not be empty")
    seen: set[str] = set()
    for lab in labels:
        if not isinstance(lab, str):
            raise ValueError(f"labels must be strings, got {lab!r}")
        if lab in seen:
            raise ValueError(f"duplicate label {lab!r} in labels")
        seen.add(lab)
    return labels


def _encode(
    gold: Sequence[str], preds: Sequence[Sequence[Optional[str]]], labels: Sequence[str]
) -> tuple[list[str], np.ndarray, list[np.ndarray]]:
    """Encode gold/preds as label indices; predictions that are None or outside
    ``labels`` become -1 (wrong, and never a predicted label)."""
    labels = _check_labels(labels)
    index = {lab: i for i, lab in enumerate(labels)}
    g = np.empty(len(gold), dtype=np.int64)
    for i, lab in enumerate(gold):
        if lab is None or lab not in index:
            raise ValueError(f"gold[{i}] = {lab!r} is not one of the labels {labels}")
        g[i] = index[lab]
    encoded = []
    for pred in preds:
        p = np.empty(len(pred), dtype=np.int64)
        for i, lab in enumerate(pred):
            if lab is not None and not isinstance(lab, str):
                raise ValueError(f"pred[{i}] = {lab!r} must be a label string or None")
            p[i] = index.get(lab, -1) if lab is not None else -1
        encoded.append(p)
    return labels, g, encoded


# --------------------------------------------------------------------------- point metrics


def wilson_ci(successes: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for ``successes / n`` at level ``1 - alpha``.

    ``n == 0`` gives ``(nan, nan)``.
    """
    alpha = _check_alpha(alpha)
    successes, n = int(successes), int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not (0 <= successes <= n):
        raise ValueError(f"successes must be in [0, n={n}], got {successes}")
    if n == 0:
        return (float("nan"), float("nan"))
    z = float(_sps.norm.ppf(1.0 - alpha / 2.0))
    z2 = z * z
    p = successes / n
    denom = 1.0 + z2 / n
    center = (p + z2 / (2.0 * n)) / denom
    half = (z / denom) * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    return (max(0.0, center - half), min(1.0, center + half))


def accuracy(gold: Sequence[str], pred: Sequence[Optional[str]]) -> float:
    """Fraction of items with ``pred == gold``; ``None`` (parse failure) is wrong.

    Empty input gives ``nan``.
    """
    n = _check_same_length(gold=gold, pred=pred)
    if n == 0:
        return float("nan")
    return sum(1 for g, p in zip(gold, pred) if p is not None and p == g) / n


def _confusion_counts(g: np.ndarray, p: np.ndarray, n_labels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-label (true positives, gold count, predicted count); p == -1 is ignored."""
    tp = np.bincount(g[p == g], minlength=n_labels).astype(np.float64)
    gold_count = np.bincount(g, minlength=n_labels).astype(np.float64)
    pred_count = np.bincount(p[p >= 0], minlength=n_labels).astype(np.float64)
    return tp, gold_count, pred_count


def _macro_f1_from_counts(tp: np.ndarray, gold_count: np.ndarray, pred_count: np.ndarray) -> np.ndarray:
    """Macro F1 over the last axis, averaging only labels present in gold or pred."""
    denom = gold_count + pred_count
    present = denom > 0
    f1 = np.divide(2.0 * tp, denom, out=np.zeros_like(tp, dtype=np.float64), where=present)
    n_present = present.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_present > 0, f1.sum(axis=-1) / np.maximum(n_present, 1), np.nan)


def macro_f1(gold: Sequence[str], pred: Sequence[Optional[str]], labels: Sequence[str]) -> float:
    """Macro-averaged F1 over the labels (of ``labels``) present in gold or pred.

    A ``None`` prediction (or one outside ``labels``) is never a predicted label but
    still costs recall of its gold label. A label with zero precision and recall
    denominators scores 0. Empty input gives ``nan``.
    """
    n = _check_same_length(gold=gold, pred=pred)
    labs, g, (p,) = _encode(gold, [pred], labels)
    if n == 0:
        return float("nan")
    return float(_macro_f1_from_counts(*_confusion_counts(g, p, len(labs))))


def uar(gold: Sequence[str], pred: Sequence[Optional[str]], labels: Sequence[str]) -> float:
    """Unweighted average recall over the labels present in gold. Empty input gives ``nan``."""
    n = _check_same_length(gold=gold, pred=pred)
    labs, g, (p,) = _encode(gold, [pred], labels)
    if n == 0:
        return float("nan")
    tp, gold_count, _ = _confusion_counts(g, p, len(labs))
    present = gold_count > 0
    return float(np.mean(tp[present] / gold_count[present]))


def condition_metrics(
    gold: Sequence[str], pred: Sequence[Optional[str]], labels: Sequence[str], alpha: float = 0.05
) -> ConditionMetrics:
    """Accuracy (with Wilson CI), macro F1, UAR and parse-failure count for one condition."""
    alpha = _check_alpha(alpha)
    n = _check_same_length(gold=gold, pred=pred)
    mf1 = macro_f1(gold, pred, labels)  # also validates labels / gold
    n_correct = sum(1 for g, p in zip(gold, pred) if p is not None and p == g)
    lo, hi = wilson_ci(n_correct, n, alpha)
    return ConditionMetrics(
        n=n,
        n_correct=n_correct,
        accuracy=(n_correct / n) if n else float("nan"),
        acc_ci_low=lo,
        acc_ci_high=hi,
        macro_f1=mf1,
        uar=uar(gold, pred, labels),
        n_parse_fail=sum(1 for p in pred if p is None),
    )


# --------------------------------------------------------------------------- paired tests


def mcnemar_exact(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> McNemarResult:
    """Exact two-sided McNemar test on paired per-item correctness.

    ``p = min(1, 2 * P[X <= min(b, c)])`` with ``X ~ Bin(b + c, 0.5)``; ``p = 1`` when ``b + c == 0``.
    """
    n = _check_same_length(correct_a=correct_a, correct_b=correct_b)
    a = np.asarray(correct_a, dtype=bool).reshape(-1)
    bb = np.asarray(correct_b, dtype=bool).reshape(-1)
    b = int(np.sum(a & ~bb))
    c = int(np.sum(~a & bb))
    if b + c == 0:
        p = 1.0
    else:
        p = min(1.0, 2.0 * float(_sps.binom.cdf(min(b, c), b + c, 0.5)))
    return McNemarResult(n=n, b=b, c=c, p_value=p)


def _bootstrap_indices(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Yield ``(k, n)`` arrays of item indices, ``n_boot`` rows in total, deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, _MAX_CELLS // max(n, 1)))
    done = 0
    while done < n_boot:
        k = min(chunk, n_boot - done)
        yield rng.integers(0, n, size=(k, n))
        done += k


def _bootstrap_deltas(
    gold: Sequence[str],
    pred_a: Sequence[Optional[str]],
    pred_b: Sequence[Optional[str]],
    labels: Sequence[str],
    metric: Metric,
    n_boot: int,
    seed: int,
) -> np.ndarray:
    """The ``n_boot`` bootstrap replicates of ``metric(b) - metric(a)``."""
    labs, g, (pa, pb) = _encode(gold, [pred_a, pred_b], labels)
    n, n_labels = len(g), len(labs)
    out = np.empty(n_boot, dtype=np.float64)
    if metric == "accuracy":
        diff = (pb == g).astype(np.int64) - (pa == g).astype(np.int64)
        pos = 0
        for idx in _bootstrap_indices(n, n_boot, seed):
            out[pos : pos + len(idx)] = diff[idx].sum(axis=1) / n
            pos += len(idx)
        return out

    # macro_f1: per-item one-hot indicator columns; a draw's counts are W @ M where
    # W[r, i] = how often item i was drawn in replicate r.
    onehot_g = np.zeros((n, n_labels))
    onehot_g[np.arange(n), g] = 1.0

    def onehot_pred(p: np.ndarray) -> np.ndarray:
        m = np.zeros((n, n_labels))
        ok = p >= 0
        m[np.arange(n)[ok], p[ok]] = 1.0
        return m

    oh_a, oh_b = onehot_pred(pa), onehot_pred(pb)
    # columns: gold | pred_a | tp_a | pred_b | tp_b
    M = np.hstack([onehot_g, oh_a, oh_a * onehot_g, oh_b, oh_b * onehot_g])
    pos = 0
    for idx in _bootstrap_indices(n, n_boot, seed):
        k = len(idx)
        flat = (idx + (np.arange(k, dtype=np.int64) * n)[:, None]).ravel()
        W = np.bincount(flat, minlength=k * n).reshape(k, n).astype(np.float64)
        C = W @ M
        gc, pca, tpa, pcb, tpb = (C[:, j * n_labels : (j + 1) * n_labels] for j in range(5))
        out[pos : pos + k] = _macro_f1_from_counts(tpb, gc, pcb) - _macro_f1_from_counts(tpa, gc, pca)
        pos += k
    return out


def paired_bootstrap(
    gold: Sequence[str],
    pred_a: Sequence[Optional[str]],
    pred_b: Sequence[Optional[str]],
    labels: Sequence[str],
    metric: Metric,
    n_boot: int = 10000,
    seed: int = 0,
    alpha: float = 0.05,
) -> PairedDelta:
    """``metric(b) - metric(a)`` on the full data, with a percentile CI from a paired
    bootstrap that resamples items (the same indices for ``a`` and ``b``)."""
    alpha = _check_alpha(alpha)
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {_METRICS}, got {metric!r}")
    n_boot, seed = int(n_boot), int(seed)
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    n = _check_same_length(gold=gold, pred_a=pred_a, pred_b=pred_b)
    if n == 0:
        raise ValueError("paired_bootstrap needs at least one item")
    if metric == "accuracy":
        _encode(gold, [pred_a, pred_b], labels)  # validate labels like the macro_f1 path
        delta = accuracy(gold, pred_b) - accuracy(gold, pred_a)
    else:
        delta = macro_f1(gold, pred_b, labels) - macro_f1(gold, pred_a, labels)
    reps = _bootstrap_deltas(gold, pred_a, pred_b, labels, metric, n_boot, seed)
    lo, hi = np.quantile(reps, [alpha / 2.0, 1.0 - alpha / 2.0])
    return PairedDelta(
        metric=metric, delta=float(delta), ci_low=float(lo), ci_high=float(hi), n=n, n_boot=n_boot, seed=seed
    )


def compare_conditions(
    gold: Sequence[str],
    pred_a: Sequence[Optional[str]],
    pred_b: Sequence[Optional[str]],
    labels: Sequence[str],
    name_a: str,
    name_b: str,
    n_boot: int = 10000,
    seed: int = 0,
    alpha: float = 0.05,
) -> PairedComparison:
    """Baseline ``a`` vs treatment ``b``: accuracies, bootstrap deltas of accuracy and
    macro F1 (``b - a``), and the exact McNemar test on per-item correctness."""
    n = _check_same_length(gold=gold, pred_a=pred_a, pred_b=pred_b)
    d_acc = paired_bootstrap(gold, pred_a, pred_b, labels, "accuracy", n_boot=n_boot, seed=seed, alpha=alpha)
    d_f1 = paired_bootstrap(gold, pred_a, pred_b, labels, "macro_f1", n_boot=n_boot, seed=seed, alpha=alpha)
    correct_a = [p is not None and p == g for g, p in zip(gold, pred_a)]
    correct_b = [p is not None and p == g for g, p in zip(gold, pred_b)]
    return PairedComparison(
        name_a=str(name_a),
        name_b=str(name_b),
        n=n,
        acc_a=accuracy(gold, pred_a),
        acc_b=accuracy(gold, pred_b),
        delta_acc=d_acc,
        delta_macro_f1=d_f1,
        mcnemar=mcnemar_exact(correct_a, correct_b),
        macro_f1_a=macro_f1(gold, pred_a, labels),
        macro_f1_b=macro_f1(gold, pred_b, labels),
    )


# --------------------------------------------------------------------------- multiplicity


def holm_adjust(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni step-down adjusted p-values, in the input order.

    ``adj_(i) = max_{j <= i} min(1, (m - j + 1) * p_(j))`` over the ascending order.
    """
    p = np.asarray(list(pvalues), dtype=np.float64)
    if p.ndim != 1:
        raise ValueError("pvalues must be a flat sequence of numbers")
    if p.size == 0:
        return []
    if np.any(np.isnan(p)) or np.any(p < 0.0) or np.any(p > 1.0):
        raise ValueError(f"p-values must be in [0, 1] and not NaN, got {p.tolist()}")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adj_sorted = np.maximum.accumulate(scaled)
    adj = np.empty(m)
    adj[order] = adj_sorted
    return [float(x) for x in adj]


# --------------------------------------------------------------------------- ranking


def roc_auc(gold: Sequence[str], score: Sequence[float], positive: str) -> float:
    """ROC AUC of ``score`` for ``gold == positive``: P(a random positive item scores above a random
    negative one), ties counted 1/2 (Mann-Whitney U / (n1 n0)). NaN when one class is absent."""
    y = np.asarray([g == positive for g in gold], dtype=bool)
    s = np.asarray(score, dtype=float)
    _check_same_length(gold=y, score=s)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = _sps.rankdata(s)  # average ranks: a tie contributes 1/2
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
