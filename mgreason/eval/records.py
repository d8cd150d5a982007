"""What a run writes to disk: config.json, samples.jsonl, summary.json (pydantic models).

The summary models are built from :mod:`mgreason.stats` results (``from_stats``), never field by field."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # only for annotations: importing stats (scipy) here would slow the CLI start-up
    from mgreason import stats


class SampleRecord(BaseModel):
    """One item under one condition: exactly what the model saw and answered."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    scenario_id: str
    item_id: str
    condition: str
    repeat: int = 0
    prompt_sha256: str
    messages: list[dict[str, str]]
    prompt_text: Optional[str] = Field(default=None, description="the prompt after the model's chat template")
    evidence_from: Optional[str] = Field(default=None, description="item whose transcript was shown")
    raw_output: Optional[str] = None
    label_logprobs: Optional[dict[str, float]] = None
    label_mass: Optional[float] = Field(
        default=None, description="P(the answer starts with any label): exp(logsumexp(label_logprobs))"
    )
    prediction: Optional[str] = None
    gold: str
    correct: bool
    parse_ok: bool
    error: Optional[str] = None


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    run_id: str
    created: str
    mgreason_version: str
    scenario_id: str
    scenario_version: str
    scenario_path: str
    scenario_sha256: str
    scenario: dict[str, Any] = Field(description="the resolved scenario spec")
    backend: str
    model: dict[str, Any] = Field(description="model identity: id, resolved path, weights sha256, dtype")
    generation: dict[str, Any]
    scoring_mode: str
    seed: int
    limit: Optional[int]
    n_items: int
    conditions: list[str]
    labels: list[str]


class ConditionSummary(BaseModel):
    """One condition's metrics (:class:`mgreason.stats.ConditionMetrics`) plus its backend-error count."""

    condition: str
    n: int
    n_correct: int
    accuracy: Optional[float]
    acc_ci_low: Optional[float]
    acc_ci_high: Optional[float]
    macro_f1: Optional[float]
    uar: Optional[float]
    n_parse_fail: int
    n_errors: int = 0
    label_mass_mean: Optional[float] = Field(default=None, description="mean P(answer starts with a label)")
    label_mass_p10: Optional[float] = Field(default=None, description="10th percentile of the label mass")
    # ---- diagnostics (issue 23); optional so that older summary.json files still load ----
    top_label: Optional[str] = Field(default=None, description="the label predicted most often")
    top_label_share: Optional[float] = Field(
        default=None, description="share of the items answered with top_label (>= 0.95: constant answer)"
    )
    n_margin_ties: Optional[int] = Field(
        default=None, description="items whose two best label log-probs are exactly equal (None without log-probs)"
    )
    margin_auc: Optional[float] = Field(
        default=None,
        description="ROC AUC of the label margin against gold: two labels, log p(first) - log p(second) vs "
        "gold == first; more labels, the mean over labels of the one-vs-rest AUC of log p(label) - max other",
    )
    flags: list[str] = Field(
        default_factory=list, description="plain-language flags: constant answer, low label mass, margin ties"
    )

    @classmethod
    def from_stats(
        cls,
        condition: str,
        metrics: "stats.ConditionMetrics",
        n_errors: int,
        label_mass: tuple[Optional[float], Optional[float]] = (None, None),
    ) -> "ConditionSummary":
        return cls(
            condition=condition,
            n_errors=n_errors,
            label_mass_mean=label_mass[0],
            label_mass_p10=label_mass[1],
            **metrics.to_dict(),
        )


class ComparisonSummary(BaseModel):
    """One paired comparison (:class:`mgreason.stats.PairedComparison`), flattened for JSON."""

    baseline: str
    treatment: str
    n: int
    acc_baseline: Optional[float]
    acc_treatment: Optional[float]
    delta_acc: Optional[float]
    delta_acc_ci: tuple[Optional[float], Optional[float]]
    macro_f1_baseline: Optional[float] = None
    macro_f1_treatment: Optional[float] = None
    delta_macro_f1: Optional[float]
    delta_macro_f1_ci: tuple[Optional[float], Optional[float]]
    mcnemar_b: int = Field(description="baseline correct, treatment wrong")
    mcnemar_c: int = Field(description="baseline wrong, treatment correct")
    mcnemar_p: Optional[float]
    p_holm: Optional[float] = Field(
        default=None, description="McNemar p Holm-adjusted across the run's comparisons (one family per run)"
    )
    n_boot: int
    seed: int
    # ---- did the model use the evidence? (issue 23); optional so that older summary.json files still load ----
    margin_kind: Optional[str] = Field(
        default=None,
        description="the margin the shift is measured on: 'gold margin' = log p(gold) - max log p(other label)",
    )
    margin_shift: Optional[float] = Field(
        default=None, description="mean (treatment - baseline) of the gold margin over the paired items"
    )
    margin_shift_ci: tuple[Optional[float], Optional[float]] = Field(
        default=(None, None), description="95% paired bootstrap CI of margin_shift (same resamples/seed as Δ acc)"
    )
    margin_shift_p: Optional[float] = Field(
        default=None, description="two-sided paired bootstrap p of margin_shift (share of resamples across 0, x2)"
    )
    bias_shift: Optional[float] = Field(
        default=None,
        description="two labels only: mean (treatment - baseline) of log p(first) - log p(second), whatever gold is "
        "(a shift toward one answer for every item)",
    )
    auc_baseline: Optional[float] = Field(default=None, description="margin ROC AUC of the baseline condition")
    auc_treatment: Optional[float] = Field(default=None, description="margin ROC AUC of the treatment condition")
    ceiling_rank_corr: Optional[float] = Field(
        default=None,
        description="Spearman correlation between the treatment's margin and the evidence-only ceiling "
        "classifier's out-of-fold score on the same items (does the model move the way the evidence points?)",
    )
    ceiling_rank_corr_p: Optional[float] = Field(default=None, description="p-value of ceiling_rank_corr")
    verdict: Optional[str] = Field(default=None, description="one plain-language sentence with its numbers")
    verdict_code: Optional[str] = Field(
        default=None,
        description="machine-readable verdict: no_signal | constant | used | not_used | worse | unknown",
    )

    @classmethod
    def from_stats(cls, c: "stats.PairedComparison") -> "ComparisonSummary":
        d = c.to_dict()  # NaN -> None
        return cls(
            baseline=c.name_a,
            treatment=c.name_b,
            n=c.n,
            acc_baseline=d["acc_a"],
            acc_treatment=d["acc_b"],
            delta_acc=d["delta_acc"]["delta"],
            delta_acc_ci=(d["delta_acc"]["ci_low"], d["delta_acc"]["ci_high"]),
            macro_f1_baseline=d["macro_f1_a"],
            macro_f1_treatment=d["macro_f1_b"],
            delta_macro_f1=d["delta_macro_f1"]["delta"],
            delta_macro_f1_ci=(d["delta_macro_f1"]["ci_low"], d["delta_macro_f1"]["ci_high"]),
            mcnemar_b=c.mcnemar.b,
            mcnemar_c=c.mcnemar.c,
            mcnemar_p=d["mcnemar"]["p_value"],
            n_boot=c.delta_acc.n_boot,
            seed=c.delta_acc.seed,
        )


class CeilingRow(BaseModel):
    """One learned classifier (or the majority class) on the run's items: what the evidence is worth."""

    features: str = Field(description="majority | evidence | text | evidence+text")
    accuracy: Optional[float] = None
    ci: tuple[Optional[float], Optional[float]] = Field(default=(None, None), description="95% Wilson CI")
    n: int = Field(default=0, description="items scored (out of fold, or the test items with a training split)")
    n_correct: Optional[int] = None
    macro_f1: Optional[float] = None
    cv: str = Field(default="", description="how it was fitted and tested, e.g. '5-fold StratifiedGroupKFold ...'")
    grouped_by: Optional[str] = Field(default=None, description="the item column folds were grouped by (None: none)")
    skipped_reason: Optional[str] = Field(default=None, description="why this row has no number")


class CeilingSummary(BaseModel):
    """The evidence ceiling of a run (``RunSummary.ceiling``)."""

    rows: list[CeilingRow] = Field(default_factory=list)
    grouped_by: Optional[str] = Field(default=None, description="items.fields.group, when the scenario declares one")
    cv: str = Field(default="", description="the cross-validation (or train/test split) used")
    mode: Optional[str] = Field(
        default=None, description="cv: out of fold on the items; train_split: fitted on the training split"
    )
    n_items: int = 0
    notes: list[str] = Field(
        default_factory=list, description="e.g. 'no group column: ungrouped CV overstates the ceiling'"
    )
    seconds: Optional[float] = Field(default=None, description="time spent fitting the ceiling classifiers")


class RunSummary(BaseModel):
    run_id: str
    scenario_id: str
    model: str
    backend: str
    n_items: int
    seconds: float
    conditions: list[ConditionSummary]
    comparisons: list[ComparisonSummary]
    warnings: list[str] = Field(default_factory=list, description="e.g. a condition whose mean label mass is < 0.5")
    ceiling: Optional[CeilingSummary] = Field(
        default=None, description="learned classifiers on the same items (evidence / text / both / majority)"
    )
    flags: list[str] = Field(
        default_factory=list,
        description="every flag a user must see: constant answers, low label mass, margin ties, one verdict per "
        "comparison",
    )


def _identity_changes(old_model: dict, identity: Optional[dict]) -> list[str]:
    """``field: then -> now`` for every field of the model identity that differs."""
    old_ident = old_model.get("identity")
    now = dict(identity or {})
    if isinstance(old_ident, dict) and now:
        keys = [k for k in dict.fromkeys([*old_ident, *now]) if old_ident.get(k) != now.get(k)]
        return [f"{k}: {old_ident.get(k)!r} -> {now.get(k)!r}" for k in keys]
    # older run directories keep only a few fields of the identity
    return [
        f"{k}: {old_model.get(k)!r} -> {now.get(k)!r}"
        for k in ("id", "sha256", "dtype", "backend")
        if k in old_model and k in now and old_model.get(k) != now.get(k)
    ]


def check_compatible(
    config_path, scenario, *, model_key: Optional[str] = None, seeds: Optional[list[int]] = None, where: str = "",
    identity: Optional[dict] = None,
) -> None:
    """Refuse to add records to a directory whose ``config.json`` was made from another version of the
    scenario, with another model identity (``model.cache_key``; with ``identity``, the message names the
    fields that changed) or with other seeds."""
    import json
    from pathlib import Path

    from mgreason.errors import MGReasonError

    old = json.loads(Path(config_path).read_text(encoding="utf-8"))
    where = where or f"results in {Path(config_path).parent}"
    old_sha = old.get("scenario_sha256")
    if old_sha != scenario.sha256:
        raise MGReasonError(
            f"{where} were made from another version of scenario {scenario.id} "
            f"(sha256 {str(old_sha)[:12]}… vs {scenario.sha256[:12]}…); use a new output directory (--out)",
            file=scenario.path,
        )
    if model_key is not None:
        old_model = old.get("model") or {}
        if old_model.get("cache_key") != model_key:
            changes = _identity_changes(old_model, identity)
            what = (
                "changed: " + "; ".join(changes)
                if changes
                else "the weights, dtype or an answer-changing option differ (this directory does not record which)"
            )
            raise MGReasonError(
                f"{where} were made with another model identity ({what}); use a new output directory (--out)",
                field="model",
            )
    if seeds is not None:
        old_seeds = (old.get("generation") or {}).get("seeds")
        if old_seeds is not None:
            n = min(len(old_seeds), len(seeds))
            if list(old_seeds[:n]) != list(seeds[:n]):
                raise MGReasonError(
                    f"{where} were made with seeds {old_seeds}, now {list(seeds)}; use a new output directory (--out)",
                    field="seeds",
                )
