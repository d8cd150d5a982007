"""How ``mgreason analyze`` shows its verdicts: a block per recording, a table for a batch, JSON for machines."""

from __future__ import annotations

from typing import Any, Optional

from mgreason.analyze.analysis import Analysis, ConditionAnswer, Verdict
from mgreason.eval.format import fmt, fmt_signed

__all__ = ["verdict_block", "batch_table", "analysis_json", "render"]


def _probs(a: ConditionAnswer, labels: list[str]) -> str:
    if a.error is not None:
        return f"error: {a.error}"
    if a.probs is None:
        return ""
    return "  ".join(f"P({lab}) {a.probs[lab]:.2f}" for lab in labels)


def _answer(a: Optional[ConditionAnswer]) -> str:
    if a is None:
        return "-"
    return a.answer or "(no answer)"


def _shift_text(v: Verdict, labels: list[str]) -> str:
    d = v.prob_shift()
    if d is None:
        return "answer " + ("changed" if v.changed else "unchanged") + " (no label probabilities)"
    lab = max(labels, key=lambda k: d[k])
    ms = v.margin_shift()
    text = f"{fmt_signed(d[lab], 2)} towards {lab}" if d[lab] > 0 else "none"
    if ms is not None:
        text += f" (margin {MARGIN_NAME(labels)} {fmt_signed(ms, 2)} nats)"
    return text + ("; the answer changed" if v.changed else "; same answer")


def MARGIN_NAME(labels: list[str]) -> str:  # noqa: N802 - a label, not a constant
    return f"log p({labels[0]}) - log p({labels[1]})" if len(labels) == 2 else f"log p({labels[0]}) - max other"


def verdict_block(v: Verdict, an: Analysis) -> str:
    labels = an.labels
    dur = f", {v.duration_s:.1f} s" if v.duration_s else ""
    lines = [f"== {v.id} ({v.kind}{dur}) — {an.scenario.spec.question}"]
    w, t = v.without, v.with_
    lines.append(f"  without evidence  {_answer(w):<12} {_probs(w, labels)}")
    lines.append(f"  with evidence     {_answer(t):<12} {_probs(t, labels)}")
    for c, a in v.answers.items():
        if c not in (v.baseline, v.treatment):
            src = f"  (shown {a.evidence_from}'s gestures)" if a.evidence_from and a.evidence_from != v.id else ""
            lines.append(f"  {c:<17} {_answer(a):<12} {_probs(a, labels)}{src}")
    lines.append(f"  shift             {_shift_text(v, labels)}")
    shown = f"{len(v.events)} of {v.n_events}" if v.n_events > len(v.events) else f"{v.n_events}"
    lines.append(f"  events ({shown})" + ("" if v.events else "   none detected"))
    lines += [f"    {e}" for e in v.events]
    if v.dialogue:
        lines.append(f"  dialogue          {v.n_turns} turn(s) from {v.dialogue}")
    else:
        lines.append("  dialogue          none (pass --dialogue, or put clip.srt / clip.txt next to the recording)")
    cached = "" if v.transcript_cached is None else (" (cached)" if v.transcript_cached else " (new)")
    lines.append(f"  transcript        {v.transcript}{cached}")
    return "\n".join(lines)


def batch_table(an: Analysis) -> str:
    labels = an.labels
    lab = labels[-1] if len(labels) == 2 else labels[0]
    conds = list(an.verdicts[0].answers) if an.verdicts else []
    others = [c for c in conds if c not in (an.verdicts[0].baseline, an.verdicts[0].treatment)]
    head = ["recording", "events", "without", "with", f"P({lab}) without → with", "shift", *others]
    rows = []
    for v in an.verdicts:
        w, t = v.without, v.with_
        pw = fmt(w.probs[lab], 2) if w.probs else "n/a"
        pt = fmt(t.probs[lab], 2) if t.probs else "n/a"
        d = v.prob_shift()
        rows.append([v.id, str(v.n_events), _answer(w), _answer(t), f"{pw} → {pt}", fmt_signed(d[lab], 2) if d else "n/a",
                     *[_answer(v.answers.get(c)) for c in others]])  # fmt: skip
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    fmt_row = lambda r: "  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip()  # noqa: E731
    return "\n".join([fmt_row(head), fmt_row(["-" * w for w in widths]), *map(fmt_row, rows)])


def _agreement_lines(an: Analysis) -> list[str]:
    un = an.summary.unlabelled
    if un is None or not un.comparisons:
        return []
    out = []
    for c in un.comparisons:
        ms = (
            f", mean margin shift {fmt_signed(c.margin_shift, 2)} nats towards {an.labels[0]} "
            f"[{fmt_signed(c.margin_shift_ci[0], 2)}, {fmt_signed(c.margin_shift_ci[1], 2)}]"
            if c.margin_shift is not None
            else ""
        )
        out.append(f"  {c.baseline} → {c.treatment}: same answer for {round((c.agreement or 0) * c.n)} of {c.n}{ms}")
    return out


def render(an: Analysis) -> str:
    """The text ``analyze`` prints: one block per recording; for a batch, the table and the agreement first."""
    parts = [f"task {an.task} · model {an.model} ({an.backend}) · {len(an.verdicts)} recording(s)"]
    if len(an.verdicts) > 1:
        parts += ["", batch_table(an), "", "between conditions (all recordings):", *_agreement_lines(an)]
    for v in an.verdicts:
        parts += ["", verdict_block(v, an)]
    parts += ["", f"run directory: {an.run_dir}/ (config.json, samples.jsonl, summary.md)"]
    for w in an.warnings:
        parts.append(f"warning: {w}")
    return "\n".join(parts)


def _answer_json(a: ConditionAnswer) -> dict[str, Any]:
    return {"answer": a.answer, "probs": a.probs, "margin": a.margin, "label_mass": a.label_mass,
            "evidence_from": a.evidence_from, "error": a.error}  # fmt: skip


def analysis_json(an: Analysis) -> dict[str, Any]:
    return {
        "task": an.task,
        "scenario_id": an.scenario.id,
        "question": an.scenario.spec.question,
        "labels": an.labels,
        "model": an.model,
        "backend": an.backend,
        "run_dir": str(an.run_dir),
        "recordings": [
            {
                "id": v.id,
                "recording": v.recording,
                "kind": v.kind,
                "duration_s": v.duration_s,
                "transcript": v.transcript,
                "transcript_cached": v.transcript_cached,
                "dialogue": v.dialogue,
                "n_events": v.n_events,
                "events": v.events,
                "answers": {c: _answer_json(a) for c, a in v.answers.items()},
                "without": v.baseline,
                "with": v.treatment,
                "prob_shift": v.prob_shift(),
                "margin_shift": v.margin_shift(),
                "answer_changed": v.changed,
            }
            for v in an.verdicts
        ],
        "between_conditions": an.summary.unlabelled.model_dump(mode="json")["comparisons"] if an.summary.unlabelled else [],
        "warnings": an.warnings,
        "timings_s": {k: round(v, 3) for k, v in an.timings.items()},
    }
