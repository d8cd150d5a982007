"""Human-readable run summaries (``summary.md``)."""

from __future__ import annotations

from mgreason.eval.format import fmt as _f, fmt_p as _p, fmt_signed as _signed
from mgreason.eval.records import CeilingSummary, RunConfig, RunSummary


def summary_markdown(summary: RunSummary, config: RunConfig) -> str:
    lines = [
        f"# {summary.scenario_id} — {summary.model} ({summary.backend})",
        "",
        f"- run: `{summary.run_id}`",
        f"- scenario: `{config.scenario_path}` v{config.scenario_version} (sha256 {config.scenario_sha256[:12]}…)",
        f"- model: `{config.model.get('resolved')}`"
        + (f", weights sha256 {config.model['sha256'][:12]}…" if config.model.get("sha256") else "")
        + (f", dtype {config.model['dtype']}" if config.model.get("dtype") else ""),
        f"- scoring: {config.scoring_mode}; items: {summary.n_items}; seed: {config.seed}; "
        f"scoring time: {summary.seconds:.1f} s",
        "",
    ]
    flags = summary.flags or summary.warnings  # older summaries: the label-mass warnings only
    if flags:
        lines += ["## Flags", ""]
        lines += [f"> **{_kind(f, summary)}** — {f}  " for f in flags]
        lines.append("")
    has_mass = any(c.label_mass_mean is not None for c in summary.conditions)
    mass_head = " label mass mean | p10 |" if has_mass else ""
    lines += [
        "## Per condition",
        "",
        "| condition | n | accuracy | 95% CI (Wilson) | macro-F1 | UAR | parse failures | errors |" + mass_head,
        "|---|---:|---:|---|---:|---:|---:|---:|" + ("---:|---:|" if has_mass else ""),
    ]
    for c in summary.conditions:
        lines.append(
            f"| {c.condition} | {c.n} | {_f(c.accuracy)} | [{_f(c.acc_ci_low)}, {_f(c.acc_ci_high)}] | "
            f"{_f(c.macro_f1)} | {_f(c.uar)} | {c.n_parse_fail} | {c.n_errors} |"
            + (f" {_f(c.label_mass_mean)} | {_f(c.label_mass_p10)} |" if has_mass else "")
        )
    if has_mass:
        lines += [
            "",
            "Label mass: the probability that the answer starts with any label (log-sum-exp of the label "
            "log-probs); below 0.5 the model mostly answers something else and label scores are not meaningful.",
        ]
    if any(c.top_label is not None for c in summary.conditions):
        lines += [
            "",
            "| condition | top answer | share | exact margin ties | margin AUC |",
            "|---|---|---:|---:|---:|",
        ]
        for c in summary.conditions:
            lines.append(
                f"| {c.condition} | {c.top_label or 'n/a'} | {_f(c.top_label_share, 2)} | "
                f"{'n/a' if c.n_margin_ties is None else c.n_margin_ties} | {_f(c.margin_auc)} |"
            )
        lines += [
            "",
            "Share ≥ 0.95 is flagged as a constant answer. Margin AUC: ROC AUC of log p(first label) − log p(second) "
            "against gold (more labels: mean one-vs-rest AUC); 0.5 = the margin ranks items no better than chance.",
        ]
    if summary.ceiling is not None:
        lines += ["", *ceiling_markdown(summary.ceiling)]
    if summary.comparisons:
        lines += [
            "",
            "## Paired comparisons (treatment − baseline, same items)",
            "",
            "| baseline → treatment | n | Δ accuracy | 95% CI (paired bootstrap) | Δ macro-F1 | 95% CI | "
            "McNemar b / c | exact p | p (Holm) |",
            "|---|---:|---:|---|---:|---|---|---:|---:|",
        ]
        for c in summary.comparisons:
            lines.append(
                f"| {c.baseline} → {c.treatment} | {c.n} | {_signed(c.delta_acc)} | "
                f"[{_signed(c.delta_acc_ci[0])}, {_signed(c.delta_acc_ci[1])}] | {_signed(c.delta_macro_f1)} | "
                f"[{_signed(c.delta_macro_f1_ci[0])}, {_signed(c.delta_macro_f1_ci[1])}] | "
                f"{c.mcnemar_b} / {c.mcnemar_c} | {_p(c.mcnemar_p)} | {_p(c.p_holm)} |"
            )
        lines += [
            "",
            f"b = baseline right and treatment wrong, c = the reverse; p (Holm): McNemar p Holm-adjusted across "
            f"the {len(summary.comparisons)} comparisons of this run; bootstrap over items, "
            f"{summary.comparisons[0].n_boot} resamples, seed {summary.comparisons[0].seed}.",
        ]
        if any(c.margin_shift is not None or c.verdict for c in summary.comparisons):
            lines += [
                "",
                "## Did the model use the evidence?",
                "",
                "| baseline → treatment | margin shift | 95% CI (paired bootstrap) | p | bias shift | "
                "margin AUC baseline → treatment | Spearman vs ceiling | verdict |",
                "|---|---:|---|---:|---:|---|---:|---|",
            ]
            for c in summary.comparisons:
                rho = "n/a" if c.ceiling_rank_corr is None else f"{c.ceiling_rank_corr:+.2f} (p {_p(c.ceiling_rank_corr_p)})"
                lines.append(
                    f"| {c.baseline} → {c.treatment} | {_signed(c.margin_shift, 2)} | "
                    f"[{_signed(c.margin_shift_ci[0], 2)}, {_signed(c.margin_shift_ci[1], 2)}] | {_p(c.margin_shift_p)} | "
                    f"{_signed(c.bias_shift, 2)} | {_f(c.auc_baseline, 2)} → {_f(c.auc_treatment, 2)} | {rho} | "
                    f"{c.verdict_code or 'n/a'} |"
                )
            lines += [
                "",
                "Margin shift: mean over items of the change (treatment − baseline) of the gold margin, log p(gold) − "
                "max log p(other label); > 0 = the treatment moves the model toward the right answer. Bias shift (two "
                "labels): mean change of log p(first label) − log p(second), whatever gold is: a push of every answer "
                "toward one label. Spearman vs ceiling: rank correlation between the treatment's label margin and the "
                "evidence-only ceiling classifier's out-of-fold score for the transcript shown.",
                "",
                *[f"- {c.verdict}" for c in summary.comparisons if c.verdict],
            ]
    return "\n".join(lines) + "\n"


def _kind(line: str, summary: RunSummary) -> str:
    if any(c.verdict == line for c in summary.comparisons):
        return "Verdict"
    return "Warning" if line in summary.warnings else "Flag"


def ceiling_markdown(ceiling: CeilingSummary, heading: str = "## Evidence ceiling (learned classifiers, same items)") -> list[str]:
    """The ceiling rows as a Markdown table, with how they were fitted and the notes."""
    lines = [
        heading,
        "",
        f"{ceiling.cv}"
        + (
            ""
            if ceiling.mode == "train_split"
            else (f"; grouped by `{ceiling.grouped_by}`" if ceiling.grouped_by else "; **not grouped**")
        )
        + (f"; {ceiling.seconds:.1f} s" if ceiling.seconds is not None else ""),
        "",
        "| features | n | accuracy | 95% CI (Wilson) | macro-F1 | note |",
        "|---|---:|---:|---|---:|---|",
    ]
    for r in ceiling.rows:
        lines.append(
            f"| {r.features} | {r.n or 'n/a'} | {_f(r.accuracy)} | "
            + (f"[{_f(r.ci[0])}, {_f(r.ci[1])}]" if r.accuracy is not None else "n/a")
            + f" | {_f(r.macro_f1)} | {r.skipped_reason or ''} |"
        )
    lines += [
        "",
        "evidence: bag of event classes of the MG transcript (count, per minute, seconds per class + totals; "
        "log1p, standardised); text: TF-IDF of the item's text columns; L2 logistic regression, C chosen by an inner "
        "CV on the training rows only; majority: the training folds' most frequent label.",
    ]
    lines += [f"> **Note** — {n}" for n in ceiling.notes]
    return lines
