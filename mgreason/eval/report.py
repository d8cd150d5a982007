"""Human-readable run summaries (``summary.md``)."""

from __future__ import annotations

from mgreason.eval.format import fmt as _f, fmt_p as _p, fmt_signed as _signed
from mgreason.eval.records import RunConfig, RunSummary


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
    for w in summary.warnings:
        lines.append(f"> **Warning** — {w}")
    if summary.warnings:
        lines.append("")
    if summary.unlabelled is not None:
        from mgreason.eval.unlabelled import unlabelled_markdown

        return "\n".join(lines + unlabelled_markdown(summary.unlabelled)) + "\n"
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
    return "\n".join(lines) + "\n"
