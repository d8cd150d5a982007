"""Calibrated scoring as an extra view of a finished logprob run, never a replacement.

A small model often prefers one label whatever the prompt says (SmolLM2 answers ``positive`` to 398 of
400 iMiGUE prompts), so the argmax never moves even when the evidence shifts the label log-probs. This
module re-reads a run's records and adds, per condition:

* **prior-calibrated accuracy**: each label's log-prob minus that label's mean log-prob under the same
  condition in a *training-split* run of the same model and scenario (``--prior TRAIN_RUN``); the prior
  is fitted on the training split only, so the test split stays untouched;
* **ROC AUC** of the label margin (binary label sets): threshold-free, needs no calibration at all;
* the paired comparisons (Δ accuracy with bootstrap CI, exact McNemar) recomputed on the calibrated
  predictions.

The raw results in ``summary.json`` are not changed; this writes ``calibrated.json`` / ``calibrated.md``
next to them. ``mgreason calibrate RUN_DIR --prior TRAIN_RUN_DIR``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Sequence

from mgreason.errors import MGReasonError
from mgreason.eval.contextual import CONTENT_FREE, ContextualFit
from mgreason.eval.records import RunConfig, SampleRecord
from mgreason.eval.scoring import scores_every_label


def load_run(run_dir: str | Path) -> tuple[RunConfig, list[SampleRecord]]:
    """A run directory's config and sample records (one clear error when it is not one)."""
    d = Path(run_dir)
    cfg_path, samples = d / "config.json", d / "samples.jsonl"
    for p in (cfg_path, samples):
        if not p.is_file():
            raise MGReasonError("not a run directory (config.json and samples.jsonl are needed)", file=p)
    try:
        cfg = RunConfig.model_validate_json(cfg_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise MGReasonError(f"unreadable run config: {str(exc).splitlines()[0]}", file=cfg_path) from None
    records = []
    for n, line in enumerate(samples.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(SampleRecord.model_validate_json(line))
        except ValueError as exc:
            raise MGReasonError(f"line {n}: unreadable sample record: {str(exc).splitlines()[0]}", file=samples) from None
    if cfg.scoring_mode != "logprobs":
        raise MGReasonError(
            f"calibration needs label log-probs; this run used scoring mode {cfg.scoring_mode!r}", file=cfg_path
        )
    return cfg, records


def _scored(r: SampleRecord, labels: Sequence[str]) -> bool:
    """A record with label log-probs for exactly ``labels`` (errors and partial scores are left out)."""
    return r.error is None and scores_every_label(r.label_logprobs, labels)


def fit_prior(records: Sequence[SampleRecord], labels: Sequence[str]) -> dict[str, dict[str, float]]:
    """condition -> label -> mean log-prob over the records that have log-probs (errors skipped)."""
    sums: dict[str, dict[str, float]] = {}
    counts: dict[str, int] = {}
    for r in records:
        if not _scored(r, labels):
            continue
        s = sums.setdefault(r.condition, {lab: 0.0 for lab in labels})
        for lab in labels:
            s[lab] += r.label_logprobs[lab]
        counts[r.condition] = counts.get(r.condition, 0) + 1
    return {c: {lab: v / counts[c] for lab, v in s.items()} for c, s in sums.items()}


def apply_prior(
    records: Sequence[SampleRecord], labels: Sequence[str], prior: dict[str, dict[str, float]]
) -> list[SampleRecord]:
    """Copies of ``records`` whose prediction is argmax(log-prob − offset) with the offsets of the record's
    condition (a training-split prior, or contextual offsets); records without log-probs stay wrong."""
    out = []
    for r in records:
        if not _scored(r, labels):
            out.append(r)
            continue
        p = prior[r.condition]
        adj = {lab: r.label_logprobs[lab] - p[lab] for lab in labels}
        pred = max(labels, key=lambda lab: adj[lab])  # ties: the first label, as argmax_label does
        out.append(r.model_copy(update={"prediction": pred, "correct": pred == r.gold, "parse_ok": True}))
    return out


def roc_auc(records: Sequence[SampleRecord], labels: Sequence[str]) -> Optional[float]:
    """ROC AUC of log p(labels[0]) − log p(labels[1]) for gold == labels[0] (binary label sets; ties count ½)."""
    if len(labels) != 2:
        return None
    import math

    from mgreason import stats  # scipy: imported when used, not when the CLI starts

    ok = [r for r in records if _scored(r, labels)]
    auc = stats.roc_auc([r.gold for r in ok], [r.label_logprobs[labels[0]] - r.label_logprobs[labels[1]] for r in ok],
                        positive=labels[0])  # fmt: skip
    return None if math.isnan(auc) else auc


def calibrate_run(
    run_dir: str | Path,
    prior_dir: Optional[str | Path],
    *,
    contextual: Optional[ContextualFit] = None,
    n_boot: int = 10000,
    seed: int = 0,
) -> dict[str, Any]:
    """The calibrated view of ``run_dir`` (prior fitted on ``prior_dir``'s records; contextual offsets from
    :func:`mgreason.eval.contextual.score_content_free`), as a JSON-able dict."""
    from mgreason.eval.summary import by_condition, collapse_repeats, comparison_summaries, condition_summaries
    from mgreason.scenario.spec import ScenarioSpec

    cfg, records = load_run(run_dir)
    labels = list(cfg.labels)
    records = collapse_repeats(records)
    conditions = list(dict.fromkeys(r.condition for r in records))
    prior = None
    prior_info: Optional[dict[str, Any]] = None
    if prior_dir is not None:
        pcfg, precs = load_run(prior_dir)
        if list(pcfg.labels) != labels:
            raise MGReasonError(f"the prior run has labels {pcfg.labels}, this run {labels}", file=prior_dir)
        for key in ("sha256", "dtype"):
            if pcfg.model.get(key) != cfg.model.get(key):
                raise MGReasonError(
                    f"the prior run used another model ({key} {pcfg.model.get(key)!r} vs {cfg.model.get(key)!r}); "
                    "fit the prior on the same model",
                    file=prior_dir,
                )
        prior = fit_prior(collapse_repeats(precs), labels)
        missing = [c for c in conditions if c not in prior]
        if missing:
            raise MGReasonError(f"the prior run has no scored records for condition(s) {', '.join(missing)}", file=prior_dir)
        shared = {r.item_id for r in precs} & {r.item_id for r in records}
        if shared:
            raise MGReasonError(
                f"the prior run shares {len(shared)} item(s) with this run (e.g. {sorted(shared)[0]!r}); "
                "fit the prior on a different split (the training split)",
                file=prior_dir,
            )
        prior_info = {"run_dir": str(prior_dir), "run_id": pcfg.run_id, "n_items": len({r.item_id for r in precs})}
    pairs = [
        (a, b) for a, b in ScenarioSpec.model_validate(cfg.scenario).comparison_pairs() if a in conditions and b in conditions
    ]
    raw = {c.condition: c for c in condition_summaries(records, labels, conditions)}
    groups = by_condition(records)
    rows = []
    cal_records = apply_prior(records, labels, prior) if prior is not None else None
    cal = {c.condition: c for c in condition_summaries(cal_records, labels, conditions)} if cal_records else {}
    if contextual is not None:
        missing = [c for c in conditions if c not in contextual.offsets]
        if missing:
            raise MGReasonError(f"no content-free scores for condition(s) {', '.join(missing)}")
    ctx_records = apply_prior(records, labels, contextual.offsets) if contextual is not None else None
    ctx = {c.condition: c for c in condition_summaries(ctx_records, labels, conditions)} if ctx_records else {}
    for c in conditions:
        rows.append(
            {
                "condition": c,
                "n": raw[c].n,
                "accuracy": raw[c].accuracy,
                "accuracy_calibrated": cal[c].accuracy if c in cal else None,
                "macro_f1_calibrated": cal[c].macro_f1 if c in cal else None,
                "roc_auc": roc_auc(list(groups[c].values()), labels),
                "label_mass_mean": raw[c].label_mass_mean,
                "prior": prior[c] if prior is not None else None,
                "accuracy_contextual": ctx[c].accuracy if c in ctx else None,
                "macro_f1_contextual": ctx[c].macro_f1 if c in ctx else None,
                "contextual_offsets": contextual.offsets[c] if contextual is not None else None,
            }
        )
    comparisons = (
        [x.model_dump(mode="json") for x in comparison_summaries(cal_records, labels, pairs, n_boot=n_boot, seed=seed)]
        if cal_records
        else []
    )
    return {
        "run_dir": str(run_dir),
        "run_id": cfg.run_id,
        "scenario_id": cfg.scenario_id,
        "model": cfg.model.get("id"),
        "labels": labels,
        "prior": prior_info,
        "conditions": rows,
        "comparisons_calibrated": comparisons,
        "contextual": None
        if contextual is None
        else {"content_free": list(CONTENT_FREE), "prompts": contextual.prompts},
        "comparisons_contextual": (
            [x.model_dump(mode="json") for x in comparison_summaries(ctx_records, labels, pairs, n_boot=n_boot, seed=seed)]
            if ctx_records
            else []
        ),
    }


def _comparison_table(title: str, comparisons: list[dict[str, Any]]) -> list[str]:
    from mgreason.eval.format import fmt_p as _p, fmt_signed as _s

    lines = [
        "",
        f"## {title}",
        "",
        "| baseline → treatment | n | Δ accuracy | 95% CI | McNemar b / c | exact p | p (Holm) |",
        "|---|---:|---:|---|---|---:|---:|",
    ]
    for c in comparisons:
        lines.append(
            f"| {c['baseline']} → {c['treatment']} | {c['n']} | {_s(c['delta_acc'])} | "
            f"[{_s(c['delta_acc_ci'][0])}, {_s(c['delta_acc_ci'][1])}] | {c['mcnemar_b']} / {c['mcnemar_c']} | "
            f"{_p(c['mcnemar_p'])} | {_p(c.get('p_holm'))} |"
        )
    return lines


def calibrated_markdown(data: dict[str, Any]) -> str:
    from mgreason.eval.format import fmt as _f

    labels = data["labels"]
    ctx = data.get("contextual")
    lines = [
        f"# Calibrated view — {data['scenario_id']} — {data['model']}",
        "",
        f"- run: `{data['run_id']}` (raw results: summary.md, unchanged)",
        (
            f"- prior: mean label log-probs per condition from `{data['prior']['run_id']}` "
            f"({data['prior']['n_items']} items of another split), subtracted before the argmax"
            if data["prior"]
            else "- no prior given (--prior TRAIN_RUN)"
        ),
        (
            "- contextual: per condition, log of the mean label probability (normalised over the labels) on "
            f"{len(ctx['content_free'])} content-free inputs ({', '.join(repr(t) for t in ctx['content_free'])}) "
            "of the same template, subtracted before the argmax (Zhao et al., 2021)"
            if ctx
            else "- no contextual calibration (--contextual)"
        ),
        "",
        "| condition | n | accuracy | accuracy (prior-calibrated) | accuracy (contextual) | ROC AUC of log p("
        + (f"{labels[0]}) − log p({labels[1]})" if len(labels) == 2 else "…)")
        + " | label mass |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in data["conditions"]:
        lines.append(
            f"| {r['condition']} | {r['n']} | {_f(r['accuracy'])} | {_f(r['accuracy_calibrated'])} | "
            f"{_f(r.get('accuracy_contextual'))} | {_f(r['roc_auc'])} | {_f(r['label_mass_mean'])} |"
        )
    if data["comparisons_calibrated"]:
        lines += _comparison_table("Paired comparisons on the prior-calibrated predictions", data["comparisons_calibrated"])
    if data.get("comparisons_contextual"):
        lines += _comparison_table("Paired comparisons on the contextually calibrated predictions", data["comparisons_contextual"])
    if data["comparisons_calibrated"] or data.get("comparisons_contextual"):
        lines += ["", "p (Holm): McNemar p Holm-adjusted across the comparisons of the same table."]
    return "\n".join(lines) + "\n"


def write_calibrated(run_dir: str | Path, prior_dir: Optional[str | Path], **kw: Any) -> tuple[Path, dict[str, Any]]:
    from mgreason.fileio import atomic_write_text

    data = calibrate_run(run_dir, prior_dir, **kw)
    d = Path(run_dir)
    atomic_write_text(d / "calibrated.json", json.dumps(data, indent=2))
    atomic_write_text(d / "calibrated.md", calibrated_markdown(data))
    return d / "calibrated.md", data


def contextual_for_run(
    run_dir: str | Path,
    *,
    scenario_path: Optional[str | Path] = None,
    backend_name: Optional[str] = None,
    model: Optional[str] = None,
    engine_args: Optional[dict[str, Any]] = None,
    use_cache: bool = True,
) -> ContextualFit:
    """Score the content-free prompts of ``run_dir``'s scenario on the run's model (loaded again).

    Refuses when the scenario no longer renders the run's prompts (it changed since the run) or when the
    model loaded now is not the run's (weights sha256 or dtype differ)."""
    from mgreason.backends import create_backend
    from mgreason.eval.cache import ResponseCache, default_cache_path
    from mgreason.eval.contextual import score_content_free
    from mgreason.eval.plan import build_requests
    from mgreason.scenario import load_scenario

    cfg, records = load_run(run_dir)
    path = Path(scenario_path) if scenario_path is not None else Path(cfg.scenario_path)
    if not path.is_file():
        raise MGReasonError("the run's scenario file is not there; give it with --scenario", file=path)
    scenario = load_scenario(path)
    now = {(r.item_id, r.condition): r.prompt_sha256 for r in build_requests(scenario, limit=cfg.limit, seed=cfg.seed)}
    differ = [r for r in records if now.get((r.item_id, r.condition)) != r.prompt_sha256]
    if differ:
        raise MGReasonError(
            f"the scenario renders {len(differ)} of this run's {len(records)} prompts differently (e.g. item "
            f"{differ[0].item_id!r}, {differ[0].condition}): it changed since the run, so its content-free prompts "
            "would not calibrate these answers",
            file=path,
        )
    backend = create_backend(backend_name or cfg.backend, model or cfg.model.get("id"), engine_args=engine_args or None)
    try:
        info = backend.model_info()
        for key, now_v in (("sha256", info.sha256), ("dtype", info.dtype)):
            if cfg.model.get(key) is not None and now_v != cfg.model.get(key):
                raise MGReasonError(
                    f"the model loaded now is not the run's ({key} {now_v!r} vs {cfg.model.get(key)!r}); "
                    "give --model / -E dtype=... so that it is",
                    file=Path(run_dir) / "config.json",
                )
        cache = ResponseCache(default_cache_path()) if use_cache else None
        return score_content_free(
            scenario, backend, seed=cfg.seed, conditions=list(cfg.conditions), cache=cache, engine_args=engine_args or None
        )
    finally:
        backend.close()


__all__ = ["apply_prior", "calibrate_run", "calibrated_markdown", "contextual_for_run", "fit_prior", "load_run", "roc_auc", "write_calibrated"]
