"""The one place where records become statistics: per-condition metrics and paired comparisons.

``run-scenario`` (``summary.json``), each (model, scenario) group of a sweep and the sweep report
all call :func:`summarize` / :func:`condition_summaries` / :func:`comparison_summaries`.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Optional, Sequence

from mgreason import stats
from mgreason.eval.label_mass import label_mass, low_mass_warning, mass_stats
from mgreason.eval.records import ComparisonSummary, ConditionSummary, RunSummary, SampleRecord


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
        out.append(
            ConditionSummary.from_stats(
                name, m, n_errors=sum(r.error is not None for r in rs), label_mass=mass_stats(masses)
            )
        )
    return out


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
) -> list[ComparisonSummary]:
    """Every (baseline, treatment) pair over the items answered under both (in ``item_ids`` order)."""
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
        out.append(ComparisonSummary.from_stats(c))
    return with_holm(out)


def with_holm(comparisons: list[ComparisonSummary]) -> list[ComparisonSummary]:
    """The comparisons with ``p_holm``: McNemar p Holm-adjusted across them (one family; None stays None)."""
    idx = [i for i, c in enumerate(comparisons) if c.mcnemar_p is not None]
    adjusted = stats.holm_adjust([comparisons[i].mcnemar_p for i in idx]) if idx else []
    out = list(comparisons)
    for i, a in zip(idx, adjusted):
        out[i] = out[i].model_copy(update={"p_holm": a})
    return out


def summarize(
    run_id: str,
    scenario,
    records: list[SampleRecord],
    model: str,
    backend: str,
    seconds: float,
    seed: int = 0,
    n_boot: int = 10000,
) -> RunSummary:
    """``summary.json`` of one (model, scenario) run; repeats are collapsed to their majority answer."""
    records = collapse_repeats(records)
    labels = scenario.labels
    if not scenario.labelled or any(r.gold is None for r in records):
        from mgreason.eval.unlabelled import unlabelled_summary

        un = unlabelled_summary(
            records, labels, [c.name for c in scenario.conditions], scenario.spec.comparison_pairs(), n_boot=n_boot, seed=seed
        )
        return RunSummary(
            run_id=run_id, scenario_id=scenario.id, model=model, backend=backend,
            n_items=len({r.item_id for r in records}), seconds=round(seconds, 3), conditions=[], comparisons=[],
            warnings=[w for c in un.conditions if (w := low_mass_warning(c.condition, c.label_mass_mean))],
            unlabelled=un,
        )  # fmt: skip
    conditions = condition_summaries(records, labels)
    return RunSummary(
        run_id=run_id,
        scenario_id=scenario.id,
        model=model,
        backend=backend,
        n_items=len({r.item_id for r in records}),
        seconds=round(seconds, 3),
        conditions=conditions,
        comparisons=comparison_summaries(
            records, labels, scenario.spec.comparison_pairs(), n_boot=n_boot, seed=seed
        ),
        warnings=label_mass_warnings(conditions),
    )


__all__ = [
    "with_holm",
    "by_condition",
    "collapse_repeats",
    "comparison_summaries",
    "condition_summaries",
    "label_mass_warnings",
    "summarize",
]
