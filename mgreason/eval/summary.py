"""The one place where records become statistics: per-condition metrics and paired comparisons.

``run-scenario`` (``summary.json``), each (model, scenario) group of a sweep and the sweep report
all call :func:`summarize` / :func:`condition_summaries` / :func:`comparison_summaries`.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Mapping, Optional, Sequence

from mgreason import stats
from mgreason.eval import diagnostics as diag
from mgreason.eval.label_mass import label_mass, low_mass_warning, mass_stats
from mgreason.eval.records import CeilingSummary, ComparisonSummary, ConditionSummary, RunSummary, SampleRecord


def collapse_repeats(records: Iterable[SampleRecord]) -> list[SampleRecord]:
    """One record per (condition, item): the majority answer over repeats (ties: earliest repeat)."""
    groups: dict[tuple[str, str], list[SampleRecord]] = {}
    for r in sorted(records, key=lambda r: r.repeat):
        groups.setdefault((r.condition, r.item_id), []).append(r)
    out = []
    for recs in groups.values():
        if len(recs) == 1:
            out.append(recs[0])
            continue
        counts = Counter(r.prediction for r in recs)
        best = max(counts.values())
        out.append(next(r for r in recs if counts[r.prediction] == best))
    return out


def by_condition(records: Iterable[SampleRecord]) -> dict[str, dict[str, SampleRecord]]:
    """condition -> item id -> record (one record per cell: collapse repeats first)."""
    out: dict[str, dict[str, SampleRecord]] = {}
    for r in records:
        out.setdefault(r.condition, {})[r.item_id] = r
    return out


def condition_summaries(
    records: Iterable[SampleRecord], labels: Sequence[str], conditions: Optional[Sequence[str]] = None
) -> list[ConditionSummary]:
    """Metrics per condition, in ``conditions`` order (default: first appearance)."""
    groups = by_condition(records)
    names = [c for c in (conditions if conditions is not None else groups) if c in groups]
    out = []
    for name in names:
        rs = list(groups[name].values())
        m = stats.condition_metrics([r.gold for r in rs], [r.prediction for r in rs], labels)
        # records written before label mass existed carry only the log-probs: derive it from them
        masses = [r.label_mass if r.label_mass is not None else label_mass(r.label_logprobs) for r in rs]
        c = ConditionSummary.from_stats(
            name, m, n_errors=sum(r.error is not None for r in rs), label_mass=mass_stats(masses)
        )
        out.append(c.model_copy(update=_condition_diagnostics(c, rs, labels)))
    return out


def _condition_diagnostics(c: ConditionSummary, rs: list[SampleRecord], labels: Sequence[str]) -> dict:
    """Top label and its share, exact margin ties, margin AUC and the flags of one condition."""
    top, share = diag.top_label([r.prediction for r in rs])
    ties = [diag.is_tie(r.label_logprobs) for r in rs]
    n_ties = sum(bool(t) for t in ties) if any(t is not None for t in ties) else None
    auc = diag.margin_auc([r.gold for r in rs], [r.label_logprobs for r in rs], labels)
    flags = diag.condition_flags(
        c.condition, top, share, n_ties, len(rs), low_mass_warning(c.condition, c.label_mass_mean)
    )
    return {"top_label": top, "top_label_share": share, "n_margin_ties": n_ties, "margin_auc": auc, "flags": flags}


def label_mass_warnings(conditions: Iterable[ConditionSummary]) -> list[str]:
    """One line per condition whose mean label mass is below 0.5."""
    return [w for c in conditions if (w := low_mass_warning(c.condition, c.label_mass_mean))]


def comparison_summaries(
    records: Iterable[SampleRecord],
    labels: Sequence[str],
    pairs: Sequence[tuple[str, str]],
    *,
    item_ids: Optional[Sequence[str]] = None,
    n_boot: int = 10000,
    seed: int = 0,
    ceiling_scores: Optional[Mapping[str, Mapping[str, float]]] = None,
) -> list[ComparisonSummary]:
    """Every (baseline, treatment) pair over the items answered under both (in ``item_ids`` order), with the
    margin diagnostics (:mod:`mgreason.eval.diagnostics`); ``ceiling_scores`` (item id -> label -> out-of-fold
    probability of the evidence-only ceiling) adds the rank correlation with the treatment's margin."""
    groups = by_condition(records)
    out = []
    for a, b in pairs:
        if a not in groups or b not in groups:
            continue
        order = item_ids if item_ids is not None else list(groups[a])
        ids = [i for i in order if i in groups[a] and i in groups[b]]
        if not ids:
            continue
        c = stats.compare_conditions(
            [groups[a][i].gold for i in ids],
            [groups[a][i].prediction for i in ids],
            [groups[b][i].prediction for i in ids],
            labels,
            a,
            b,
            n_boot=n_boot,
            seed=seed,
        )
        cs = ComparisonSummary.from_stats(c)
        extra = _margin_diagnostics(
            [groups[a][i] for i in ids], [groups[b][i] for i in ids], labels, n_boot, seed, ceiling_scores
        )
        out.append(cs.model_copy(update=extra))
    return with_holm(out)


def _margin_diagnostics(
    ra: list[SampleRecord],
    rb: list[SampleRecord],
    labels: Sequence[str],
    n_boot: int,
    seed: int,
    ceiling_scores: Optional[Mapping[str, Mapping[str, float]]],
) -> dict:
    """Gold-margin shift (paired bootstrap), bias shift, AUC per condition, Spearman vs the ceiling."""
    out: dict = {
        "auc_baseline": diag.margin_auc([r.gold for r in ra], [r.label_logprobs for r in ra], labels),
        "auc_treatment": diag.margin_auc([r.gold for r in rb], [r.label_logprobs for r in rb], labels),
    }
    pairs = [
        (ga, gb, x, y)
        for x, y in zip(ra, rb)
        if (ga := diag.gold_margin(x.label_logprobs, x.gold)) is not None
        and (gb := diag.gold_margin(y.label_logprobs, y.gold)) is not None
    ]
    if pairs:
        mean, lo, hi, p = diag.mean_shift([q[0] for q in pairs], [q[1] for q in pairs], n_boot=n_boot, seed=seed)
        out.update(margin_kind="gold margin", margin_shift=mean, margin_shift_ci=(lo, hi), margin_shift_p=p)
        if len(labels) == 2:
            la = [diag.label_margin(q[2].label_logprobs, labels) for q in pairs]
            lb = [diag.label_margin(q[3].label_logprobs, labels) for q in pairs]
            out["bias_shift"] = sum(y - x for x, y in zip(la, lb)) / len(pairs)  # type: ignore[operator]
    if ceiling_scores:
        xs, ys = [], []
        for r in rb:
            shown = r.evidence_from or r.item_id  # the transcript the model saw
            sc = ceiling_scores.get(shown)
            if sc is None or not r.label_logprobs:
                continue
            if len(labels) == 2:
                m = diag.label_margin(r.label_logprobs, labels)
                c = _logit(sc.get(labels[0], 0.0)) - _logit(sc.get(labels[1], 0.0))
            else:
                m = diag.gold_margin(r.label_logprobs, r.gold)
                c = _logit(sc.get(r.gold, 0.0)) - max(_logit(v) for k, v in sc.items() if k != r.gold)
            if m is not None:
                xs.append(m)
                ys.append(c)
        rho, p = diag.spearman(xs, ys)
        out.update(ceiling_rank_corr=rho, ceiling_rank_corr_p=p)
    return out


def _logit(p: float) -> float:
    """log p, floored (a rank transform follows; only the order matters)."""
    import math

    return math.log(max(float(p), 1e-12))


def with_holm(comparisons: list[ComparisonSummary]) -> list[ComparisonSummary]:
    """The comparisons with ``p_holm``: McNemar p Holm-adjusted across them (one family; None stays None)."""
    idx = [i for i, c in enumerate(comparisons) if c.mcnemar_p is not None]
    adjusted = stats.holm_adjust([comparisons[i].mcnemar_p for i in idx]) if idx else []
    out = list(comparisons)
    for i, a in zip(idx, adjusted):
        out[i] = out[i].model_copy(update={"p_holm": a})
    return out


def with_verdicts(
    comparisons: list[ComparisonSummary],
    conditions: Sequence[ConditionSummary],
    ceiling: Optional[CeilingSummary],
    controls: Iterable[str] = (),
) -> list[ComparisonSummary]:
    """The comparisons with ``verdict`` / ``verdict_code`` (:mod:`mgreason.eval.verdict`); call after Holm.
    ``controls``: the conditions that show another item's transcript."""
    from mgreason.eval.ceiling import evidence_row, majority_row
    from mgreason.eval.verdict import VerdictInput, verdict

    ev, maj = evidence_row(ceiling), majority_row(ceiling)
    by_name = {c.condition: c for c in conditions}
    controls = set(controls)
    out = []
    for c in comparisons:
        t = by_name.get(c.treatment)
        constant = t is not None and t.top_label_share is not None and t.top_label_share >= diag.CONSTANT_SHARE
        p, p_name = (c.p_holm, "p (Holm)") if c.p_holm is not None else (c.mcnemar_p, "p")
        v = verdict(
            VerdictInput(
                baseline=c.baseline, treatment=c.treatment, delta_acc=c.delta_acc, p=p, p_name=p_name,
                margin_shift=c.margin_shift, margin_shift_ci=c.margin_shift_ci, auc_treatment=c.auc_treatment,
                ceiling_acc=ev.accuracy if ev else None, ceiling_ci=ev.ci if ev else (None, None),
                majority_acc=maj.accuracy if maj else None,
                constant_label=t.top_label if constant and t else None,
                constant_share=t.top_label_share if constant and t else None,
                treatment_is_control=c.treatment in controls,
            )
        )  # fmt: skip
        out.append(c.model_copy(update={"verdict": v.text, "verdict_code": v.code}))
    return out


def run_flags(
    conditions: Sequence[ConditionSummary], comparisons: Sequence[ComparisonSummary], ceiling: Optional[CeilingSummary]
) -> list[str]:
    """Every line a user must see: condition flags, ceiling notes, one verdict per comparison."""
    out = [f for c in conditions for f in c.flags]
    if ceiling is not None:
        out += [f"evidence ceiling: {n}" for n in ceiling.notes]
    out += [c.verdict for c in comparisons if c.verdict]
    return out


def explain_cell(
    comparisons: list[dict],
    conditions: list[dict],
    summary_json: Optional[dict],
    controls: Iterable[str] = (),
) -> tuple[Optional[dict], list[str]]:
    """For a report that keeps comparisons as JSON dicts (the sweep report): the ceiling of the cell's
    ``summary.json`` (None when it has none), and, in place, each comparison's rank correlation with that
    ceiling (from ``summary.json``) and its verdict, recomputed with the dict's own ``p_holm`` (e.g. the sweep's
    Holm family). Returns (ceiling, flags)."""
    ceiling = None
    rank: dict[tuple[str, str], tuple] = {}
    if summary_json:
        if summary_json.get("ceiling"):
            ceiling = CeilingSummary.model_validate(summary_json["ceiling"])
        for c in summary_json.get("comparisons", []):
            rank[(c.get("baseline"), c.get("treatment"))] = (c.get("ceiling_rank_corr"), c.get("ceiling_rank_corr_p"))
    conds = [ConditionSummary.model_validate(c) for c in conditions]
    comps = []
    for d in comparisons:
        rho, p = rank.get((d["baseline"], d["treatment"]), (None, None))
        d.update(ceiling_rank_corr=rho, ceiling_rank_corr_p=p)
        comps.append(ComparisonSummary.model_validate({k: v for k, v in d.items() if k in ComparisonSummary.model_fields}))
    comps = with_verdicts(comps, conds, ceiling, controls)
    for d, c in zip(comparisons, comps):
        d.update(verdict=c.verdict, verdict_code=c.verdict_code)
    return (ceiling.model_dump(mode="json") if ceiling else None), run_flags(conds, comps, ceiling)


def summarize(
    run_id: str,
    scenario,
    records: list[SampleRecord],
    model: str,
    backend: str,
    seconds: float,
    seed: int = 0,
    n_boot: int = 10000,
    ceiling: bool = True,
) -> RunSummary:
    """``summary.json`` of one (model, scenario) run; repeats are collapsed to their majority answer.

    With ``ceiling`` (default) the evidence ceiling (:mod:`mgreason.eval.ceiling`) is fitted on the run's
    items (no LLM involved), and every comparison gets a verdict."""
    records = collapse_repeats(records)
    labels = scenario.labels
    conditions = condition_summaries(records, labels)
    ceil = None
    if ceiling:
        from mgreason.eval.ceiling import scenario_ceiling

        try:
            ceil = scenario_ceiling(scenario, seed=seed, item_ids=sorted({r.item_id for r in records}))
        except Exception as e:  # a diagnostic must never cost the run its scored answers
            from mgreason.eval.ceiling import Ceiling

            msg = f"could not be computed ({type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''})"
            ceil = Ceiling(CeilingSummary(notes=[msg]))
    comparisons = comparison_summaries(
        records, labels, scenario.spec.comparison_pairs(), n_boot=n_boot, seed=seed,
        ceiling_scores=ceil.scores if ceil else None,
    )  # fmt: skip
    ceil_summary = ceil.summary if ceil else None
    controls = [c.name for c in scenario.spec.condition_specs() if c.transcript == "shuffled"]
    comparisons = with_verdicts(comparisons, conditions, ceil_summary, controls)
    return RunSummary(
        run_id=run_id,
        scenario_id=scenario.id,
        model=model,
        backend=backend,
        n_items=len({r.item_id for r in records}),
        seconds=round(seconds, 3),
        conditions=conditions,
        comparisons=comparisons,
        warnings=label_mass_warnings(conditions),
        ceiling=ceil_summary,
        flags=run_flags(conditions, comparisons, ceil_summary),
    )


__all__ = [
    "with_holm",
    "by_condition",
    "collapse_repeats",
    "explain_cell",
    "comparison_summaries",
    "condition_summaries",
    "label_mass_warnings",
    "run_flags",
    "summarize",
    "with_verdicts",
]
