"""Did the model use the evidence? Margins, their shift, their AUC, and flags a user cannot miss.

Margins (from the records' label log-probs; None for records without them, e.g. generate mode):

* the **label margin** of a two-label scenario: ``log p(labels[0]) - log p(labels[1])``; its ROC AUC against
  ``gold == labels[0]`` is a condition's ``margin_auc``;
* the **gold margin**, any number of labels: ``log p(gold) - max log p(other label)`` (> 0: the model prefers the
  gold label). ``margin_shift`` of a comparison is the mean over paired items of (treatment - baseline) gold
  margin: positive when the treatment moves the model toward the right answer. For two labels it equals the
  label margin's shift signed by the gold label. With more than two labels, ``margin_auc`` is the mean over labels
  of the one-vs-rest AUC of ``log p(label) - max log p(other)``.
* ``bias_shift`` (two labels): the mean (treatment - baseline) label margin whatever the gold label: a shift of
  every answer toward one label (e.g. "deceptive" to everything once codes are shown).

Flags: a constant answer (one label on >= 95% of a condition's items), exact ties between the two best label
log-probs (the prediction then goes to the first label), and low label mass (:mod:`mgreason.eval.label_mass`).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Mapping, Optional, Sequence

import numpy as np

CONSTANT_SHARE = 0.95


def label_margin(lp: Optional[Mapping[str, float]], labels: Sequence[str]) -> Optional[float]:
    """``log p(labels[0]) - log p(labels[1])`` (two labels only)."""
    if not lp or len(labels) != 2 or any(lab not in lp for lab in labels):
        return None
    v = float(lp[labels[0]]) - float(lp[labels[1]])
    return None if math.isnan(v) else v


def one_vs_rest_margin(lp: Optional[Mapping[str, float]], label: str) -> Optional[float]:
    """``log p(label) - max log p(other label)``."""
    if not lp or label not in lp or len(lp) < 2:
        return None
    others = [float(v) for k, v in lp.items() if k != label]
    v = float(lp[label]) - max(others)
    return None if math.isnan(v) else v


def gold_margin(lp: Optional[Mapping[str, float]], gold: str) -> Optional[float]:
    return one_vs_rest_margin(lp, gold)


def is_tie(lp: Optional[Mapping[str, float]]) -> Optional[bool]:
    """The two best label log-probs are exactly equal (None without log-probs)."""
    if not lp or len(lp) < 2:
        return None
    top = sorted((float(v) for v in lp.values()), reverse=True)
    return top[0] == top[1]


def top_label(preds: Sequence[Optional[str]]) -> tuple[Optional[str], Optional[float]]:
    """(most frequent prediction, its share of the items); unparsed answers count in the denominator."""
    if not preds:
        return None, None
    counts = Counter(p for p in preds if p is not None)
    if not counts:
        return None, 0.0
    lab, k = counts.most_common(1)[0]
    return lab, k / len(preds)


def margin_auc(
    golds: Sequence[str], lps: Sequence[Optional[Mapping[str, float]]], labels: Sequence[str]
) -> Optional[float]:
    """ROC AUC of the label margin vs gold (two labels), or the mean one-vs-rest AUC (more labels)."""
    from mgreason import stats

    keep = [i for i, lp in enumerate(lps) if lp and all(lab in lp for lab in labels)]
    if not keep:
        return None
    g = [golds[i] for i in keep]
    if len(labels) == 2:
        s = [label_margin(lps[i], labels) for i in keep]
        if any(v is None for v in s):
            return None
        a = stats.roc_auc(g, s, labels[0])
        return None if math.isnan(a) else a
    aucs = []
    for lab in labels:
        s = [one_vs_rest_margin(lps[i], lab) for i in keep]
        if any(v is None for v in s):
            continue
        a = stats.roc_auc(g, s, lab)
        if not math.isnan(a):
            aucs.append(a)
    return float(np.mean(aucs)) if aucs else None


def mean_shift(
    baseline: Sequence[float], treatment: Sequence[float], n_boot: int = 10000, seed: int = 0, alpha: float = 0.05
) -> tuple[float, float, float, float]:
    """(mean of treatment - baseline, CI low, CI high, two-sided bootstrap p): a paired bootstrap over items.

    p = 2 x the share of resampled means on the other side of 0 than the observed one (at least 1/n_boot)."""
    d = np.asarray(treatment, dtype=float) - np.asarray(baseline, dtype=float)
    n = len(d)
    if n == 0:
        raise ValueError("mean_shift needs at least one pair")
    mean = float(d.mean())
    rng = np.random.default_rng(seed)
    reps = np.empty(n_boot)
    chunk = max(1, min(n_boot, 2_000_000 // max(n, 1)))
    pos = 0
    while pos < n_boot:
        k = min(chunk, n_boot - pos)
        reps[pos : pos + k] = d[rng.integers(0, n, size=(k, n))].mean(axis=1)
        pos += k
    lo, hi = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
    if np.all(d == 0):
        p = 1.0
    else:
        side = np.mean(reps <= 0) if mean > 0 else np.mean(reps >= 0)
        p = float(min(1.0, max(2 * side, 1.0 / n_boot)))
    return mean, float(lo), float(hi), p


def spearman(x: Sequence[float], y: Sequence[float]) -> tuple[Optional[float], Optional[float]]:
    """Spearman rank correlation and its p-value; (None, None) when either side is constant or too short."""
    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None, None
    from scipy.stats import spearmanr

    r = spearmanr(x, y)
    rho, p = float(r[0]), float(r[1])
    if math.isnan(rho):
        return None, None
    return rho, p


def condition_flags(
    condition: str,
    top: Optional[str],
    share: Optional[float],
    n_ties: Optional[int],
    n: int,
    mass_warning: Optional[str] = None,
) -> list[str]:
    """Plain-language flags of one condition."""
    out = []
    if top is not None and share is not None and share >= CONSTANT_SHARE:
        out.append(f"{condition}: constant answer: '{top}' on {share:.0%} of {n} items")
    if mass_warning:
        out.append(mass_warning)
    if n_ties:
        out.append(
            f"{condition}: {n_ties} of {n} items have exactly tied label scores (the prediction goes to the first "
            "label; bf16 logits are coarse)"
        )
    return out


__all__ = [
    "CONSTANT_SHARE",
    "condition_flags",
    "gold_margin",
    "is_tie",
    "label_margin",
    "margin_auc",
    "mean_shift",
    "one_vs_rest_margin",
    "spearman",
    "top_label",
]
