"""Statistics of a run on unlabelled items (``items.fields.label: null``): what the model answered under each
condition and how far the evidence moved it — never accuracy, since there is nothing to be right about.

* per condition: the answer distribution (counts per label, no answer), the mean label probabilities
  (the label log-probs normalised over the label set) and the mean label mass;
* per comparison (the scenario's pairs): agreement (share of items answered alike), the changes
  (``a → b`` counts), and the shift of the **label margin** — ``log p(first label) − max log p(other
  label)``, so positive means towards the first label — with a seeded paired-bootstrap CI over items;
* per item (for ``mgreason analyze``): :func:`label_probs` and :func:`margin`.

:func:`unlabelled_summary` is what :func:`mgreason.eval.summary.summarize` hands back for such runs,
:func:`unlabelled_markdown` what ``summary.md`` shows.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING, Iterable, Mapping, Optional, Sequence

from pydantic import BaseModel, Field

from mgreason.eval.format import fmt, fmt_p, fmt_signed
from mgreason.eval.label_mass import label_mass, mass_stats

if TYPE_CHECKING:
    from mgreason.eval.records import SampleRecord

__all__ = [
    "AnswerDistribution",
    "ConditionAgreement",
    "UnlabelledSummary",
    "label_probs",
    "margin",
    "mean_shift",
    "unlabelled_summary",
    "unlabelled_markdown",
]

MARGIN_KIND = "log p(first label) - max log p(other label)"


def label_probs(label_logprobs: Optional[Mapping[str, float]], labels: Sequence[str]) -> Optional[dict[str, float]]:
    """The labels' probabilities normalised over the label set (softmax of their log-probs); None without them."""
    if not label_logprobs or any(lab not in label_logprobs for lab in labels):
        return None
    vals = [float(label_logprobs[lab]) for lab in labels]
    if any(math.isnan(v) for v in vals):
        return None
    m = max(vals)
    if m == -math.inf:
        return None
    ex = [math.exp(v - m) for v in vals]
    z = sum(ex)
    return {lab: e / z for lab, e in zip(labels, ex)}


def margin(label_logprobs: Optional[Mapping[str, float]], labels: Sequence[str]) -> Optional[float]:
    """``log p(labels[0]) - max log p(other label)`` (:func:`mgreason.eval.diagnostics.one_vs_rest_margin`);
    None without finite log-probs for every label."""
    from mgreason.eval.diagnostics import one_vs_rest_margin

    if not label_logprobs or any(lab not in label_logprobs for lab in labels):
        return None
    m = one_vs_rest_margin({lab: label_logprobs[lab] for lab in labels}, labels[0])
    return m if m is not None and math.isfinite(m) else None


def mean_shift(
    before: Sequence[float], after: Sequence[float], n_boot: int = 10000, seed: int = 0, alpha: float = 0.05
) -> tuple[Optional[float], tuple[Optional[float], Optional[float]], Optional[float]]:
    """(mean of ``after - before``, its paired-bootstrap CI, two-sided bootstrap p) over paired items: the
    margin-shift statistics of labelled runs (:func:`mgreason.eval.diagnostics.mean_shift`); Nones without pairs."""
    from mgreason.eval.diagnostics import mean_shift as _mean_shift

    if len(before) == 0:
        return None, (None, None), None
    mean, lo, hi, p = _mean_shift(before, after, n_boot=int(n_boot), seed=int(seed), alpha=alpha)
    return mean, (lo, hi), p


class AnswerDistribution(BaseModel):
    """What the model answered under one condition."""

    condition: str
    n: int
    counts: dict[str, int] = Field(description="answers per label")
    n_no_answer: int = Field(description="parse failures and backend errors")
    n_errors: int = 0
    mean_probs: Optional[dict[str, float]] = Field(
        default=None, description="mean label probabilities (log-probs normalised over the label set); logprobs mode"
    )
    label_mass_mean: Optional[float] = None
    label_mass_p10: Optional[float] = None


class ConditionAgreement(BaseModel):
    """A (baseline, treatment) pair over the items answered under both."""

    baseline: str
    treatment: str
    n: int
    agreement: Optional[float] = Field(description="share of items with the same answer under both conditions")
    changes: dict[str, int] = Field(default_factory=dict, description="'a -> b': items whose answer changed so")
    margin_kind: str = MARGIN_KIND
    margin_shift: Optional[float] = Field(default=None, description="mean (treatment - baseline) label margin")
    margin_shift_ci: tuple[Optional[float], Optional[float]] = (None, None)
    margin_shift_p: Optional[float] = Field(default=None, description="two-sided paired bootstrap p of margin_shift")
    n_boot: int = 0
    seed: int = 0


class UnlabelledSummary(BaseModel):
    labels: list[str]
    conditions: list[AnswerDistribution]
    comparisons: list[ConditionAgreement]


def _distribution(name: str, recs: list["SampleRecord"], labels: Sequence[str]) -> AnswerDistribution:
    counts = Counter(r.prediction for r in recs if r.prediction is not None)
    probs = [p for r in recs if (p := label_probs(r.label_logprobs, labels)) is not None]
    masses = [r.label_mass if r.label_mass is not None else label_mass(r.label_logprobs) for r in recs]
    m_mean, m_p10 = mass_stats(masses)
    return AnswerDistribution(
        condition=name,
        n=len(recs),
        counts={lab: counts.get(lab, 0) for lab in labels},
        n_no_answer=sum(r.prediction is None for r in recs),
        n_errors=sum(r.error is not None for r in recs),
        mean_probs={lab: sum(p[lab] for p in probs) / len(probs) for lab in labels} if probs else None,
        label_mass_mean=m_mean,
        label_mass_p10=m_p10,
    )


def _agreement(
    a: str, b: str, ra: dict[str, "SampleRecord"], rb: dict[str, "SampleRecord"], labels: Sequence[str], n_boot: int, seed: int
) -> Optional[ConditionAgreement]:
    ids = [i for i in ra if i in rb]
    if not ids:
        return None
    same = sum(ra[i].prediction == rb[i].prediction for i in ids)
    changes = Counter(
        f"{ra[i].prediction or 'no answer'} -> {rb[i].prediction or 'no answer'}"
        for i in ids
        if ra[i].prediction != rb[i].prediction
    )
    pairs = [(ma, mb) for i in ids if (ma := margin(ra[i].label_logprobs, labels)) is not None
             and (mb := margin(rb[i].label_logprobs, labels)) is not None]  # fmt: skip
    shift, ci, p = mean_shift([q[0] for q in pairs], [q[1] for q in pairs], n_boot=n_boot, seed=seed)
    return ConditionAgreement(
        baseline=a,
        treatment=b,
        n=len(ids),
        agreement=same / len(ids),
        changes=dict(sorted(changes.items())),
        margin_shift=shift,
        margin_shift_ci=ci,
        margin_shift_p=p,
        n_boot=n_boot if pairs else 0,
        seed=seed,
    )


def unlabelled_summary(
    records: Iterable["SampleRecord"],
    labels: Sequence[str],
    conditions: Sequence[str],
    pairs: Sequence[tuple[str, str]],
    *,
    n_boot: int = 10000,
    seed: int = 0,
) -> UnlabelledSummary:
    """Answer distributions per condition and agreement / margin shift per pair (one record per cell)."""
    groups: dict[str, dict[str, "SampleRecord"]] = {}
    for r in records:
        groups.setdefault(r.condition, {})[r.item_id] = r
    dists = [_distribution(c, list(groups[c].values()), labels) for c in conditions if c in groups]
    comps = [
        c
        for a, b in pairs
        if a in groups and b in groups and (c := _agreement(a, b, groups[a], groups[b], labels, n_boot, seed)) is not None
    ]
    return UnlabelledSummary(labels=list(labels), conditions=dists, comparisons=comps)


def unlabelled_markdown(s: UnlabelledSummary) -> list[str]:
    """The ``summary.md`` sections of an unlabelled run."""
    labels = s.labels
    has_probs = any(c.mean_probs for c in s.conditions)
    head = " | ".join(f"{lab}" for lab in labels)
    lines = [
        "## Answers per condition (unlabelled items: no accuracy)",
        "",
        f"| condition | n | {head} | no answer |" + (" " + " | ".join(f"mean P({lab})" for lab in labels) + " | label mass mean |" if has_probs else ""),
        "|---|---:|" + "---:|" * (len(labels) + 1) + ("---:|" * (len(labels) + 1) if has_probs else ""),
    ]
    for c in s.conditions:
        row = f"| {c.condition} | {c.n} | " + " | ".join(str(c.counts.get(lab, 0)) for lab in labels) + f" | {c.n_no_answer} |"
        if has_probs:
            mp = c.mean_probs or {}
            row += " " + " | ".join(fmt(mp.get(lab)) for lab in labels) + f" | {fmt(c.label_mass_mean)} |"
        lines.append(row)
    if s.comparisons:
        lines += [
            "",
            "## Between conditions (same items)",
            "",
            "| baseline → treatment | n | agreement | answers changed | margin shift | 95% CI (paired bootstrap) | p |",
            "|---|---:|---:|---|---:|---|---:|",
        ]
        for c in s.comparisons:
            changed = ", ".join(f"{k}: {v}" for k, v in c.changes.items()) or "none"
            lines.append(
                f"| {c.baseline} → {c.treatment} | {c.n} | {fmt(c.agreement)} | {changed} | {fmt_signed(c.margin_shift)} | "
                f"[{fmt_signed(c.margin_shift_ci[0])}, {fmt_signed(c.margin_shift_ci[1])}] | {fmt_p(c.margin_shift_p)} |"
            )
        lines += [
            "",
            f"Margin: {MARGIN_KIND.replace('first label', labels[0])} (nats; positive = towards {labels[0]}); "
            "shift = treatment − baseline, mean over items"
            + (f", bootstrap over items, {s.comparisons[0].n_boot} resamples, seed {s.comparisons[0].seed}." if s.comparisons[0].n_boot else "."),
        ]
    return lines
