"""``mgreason report RUN_DIR``: the comparison report of a sweep (Markdown + static HTML + PNG).

Everything is recomputed from the sample records (``models/*/*/samples.jsonl``), so a
report can be regenerated at any time, also for an unfinished sweep:

* a models × scenarios table of the primary comparison (by default with_mg − without_mg):
  Δ accuracy with its paired-bootstrap CI, exact McNemar p and the Holm-adjusted p;
* accuracy and macro-F1 per condition for every (model, scenario);
* every paired comparison: Δ accuracy and Δ macro-F1 with CIs, McNemar b / c and p, and
  p Holm-adjusted across **all** comparisons of the sweep (one family);
* a forest plot of the deltas (PNG, embedded in the HTML as base64);
* failed cells (error after every retry, counted wrong) and cells that never ran;
* per item: what each model answered under each condition, flips between the baseline and
  the treatment marked.

With repeats, a cell's answer is the majority over its repeats (ties: the earliest repeat).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
from collections import Counter
from pathlib import Path
from typing import Any, Optional

from mgreason import __version__, stats
from mgreason.errors import MGReasonError
from mgreason.eval.format import fmt as _f, fmt_ci as _ci, fmt_p as _p, fmt_signed as _s, is_missing as _nan
from mgreason.eval.records import SampleRecord
from mgreason.eval.summary import by_condition, collapse_repeats, comparison_summaries, condition_summaries, explain_cell
from mgreason.eval.store import atomic_write_json
from mgreason.fileio import atomic_write_text
from mgreason.sweep.manifest import PENDING, load_plan, read_manifest

MAX_ITEMS_ALL = 200  # larger scenarios list only the items whose answer flips


# --------------------------------------------------------------------------- computing


def _current_manifest(plan, written: list) -> tuple[list, list[dict[str, Any]]]:
    """Cell states read from the sample files as they are now (not from manifest.jsonl, written when the
    sweep ended): a record lost to a corrupt line makes its cell "not run" again. Also the corrupt lines
    of every samples.jsonl, counted (a torn or edited line is never dropped silently)."""
    from mgreason.eval.store import read_jsonl
    from mgreason.sweep.manifest import build_manifest

    corrupt = []
    for m in plan.spec.models:
        for s in plan.scenarios:
            path = plan.records(m.name, s.id).path
            _, bad = read_jsonl(path, SampleRecord.model_validate)
            if bad > 0:
                corrupt.append({"model": m.name, "scenario": s.id, "file": str(path), "lines": bad})
    model_errors = {c.model: c.error for c in written if c.status == PENDING and c.error}
    return build_manifest(plan, model_errors=model_errors, repair=False).cells, corrupt


def compute_report(run_dir: str | Path) -> dict[str, Any]:
    """Every number of the report, as JSON-able data (also written as ``report.json``)."""
    from mgreason.eval.records import RunConfig
    from mgreason.scenario.spec import ScenarioSpec

    run_dir = Path(run_dir)
    plan = load_plan(run_dir, load_scenarios=False)
    spec = plan.spec
    repeats = int(spec.repeats or 1)
    seed = (spec.seeds or [0])[0]
    manifest, corrupt = _current_manifest(plan, read_manifest(run_dir))
    planned_cells = len(manifest) if manifest else plan.n_cells

    groups: list[dict[str, Any]] = []
    comparisons: list[dict[str, Any]] = []
    items: dict[str, dict[str, Any]] = {}  # scenario -> per-item view
    to_explain: list[tuple[dict, list[dict], Path, list[str]]] = []
    for s in plan.scenarios:
        items[s.id] = {"conditions": s.conditions, "items": {i: {"gold": None, "answers": {}} for i in s.item_ids}, "pairs": []}
    for m in spec.models:
        for s in plan.scenarios:
            cdir = plan.cell_dir(m.name, s.id)
            g: dict[str, Any] = {"model": m.name, "scenario": s.id, "conditions": [], "ran": False}
            groups.append(g)
            cfg_path = cdir / "config.json"
            recs_all = plan.records(m.name, s.id).load(repair=False)
            planned = set(s.cells(repeats))
            recs = [r for k, r in recs_all.items() if k in planned]
            if not cfg_path.exists() or not recs:
                continue
            cfg = RunConfig.model_validate_json(cfg_path.read_text(encoding="utf-8"))
            sspec = ScenarioSpec.model_validate(cfg.scenario)
            labels = cfg.labels
            g.update(ran=True, model_id=cfg.model.get("id"), model_sha256=cfg.model.get("sha256"), backend=cfg.backend,
                     labels=labels, n_records=len(recs), n_planned=len(planned))
            col = collapse_repeats(recs)
            by_cond = by_condition(col)
            reps: dict[tuple[str, str], list[SampleRecord]] = {}
            for r in recs:
                reps.setdefault((r.condition, r.item_id), []).append(r)
            g["conditions"] = [c.model_dump(mode="json") for c in condition_summaries(col, labels, s.conditions)]
            for it_id, it in items[s.id]["items"].items():
                for cond in s.conditions:
                    r = by_cond.get(cond, {}).get(it_id)
                    if r is None:
                        continue
                    it["gold"] = r.gold
                    rr = reps.get((cond, it_id), [])
                    agree = sum(x.prediction == r.prediction for x in rr)
                    it["answers"].setdefault(m.name, {})[cond] = {
                        "prediction": r.prediction,
                        "correct": r.correct,
                        "error": r.error,
                        "agreement": [agree, len(rr)],
                        "evidence_from": r.evidence_from,
                    }
            pairs = sspec.comparison_pairs()
            pairs = [(a, b) for a, b in pairs if a in s.conditions and b in s.conditions]
            if not items[s.id]["pairs"]:
                items[s.id]["pairs"] = [list(p) for p in pairs]
            cell_comps = [
                {"model": m.name, "scenario": s.id, **c.model_dump(mode="json"), "complete": c.n == len(s.item_ids)}
                for c in comparison_summaries(col, labels, pairs, item_ids=s.item_ids, n_boot=spec.n_boot, seed=seed)
            ]
            comparisons += cell_comps
            controls = [c.name for c in sspec.condition_specs() if c.transcript == "shuffled"]
            to_explain.append((g, cell_comps, cdir / "summary.json", controls))
    ps = [c["mcnemar_p"] for c in comparisons]
    adj = stats.holm_adjust(ps) if ps else []
    for c, a in zip(comparisons, adj):
        c["p_holm"] = a
    for g, cell_comps, summary_path, controls in to_explain:  # the ceiling (from summary.json), flags, verdicts
        saved = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.is_file() else None
        g["ceiling"], g["flags"] = explain_cell(cell_comps, g["conditions"], saved, controls)

    primary = None
    for s in plan.scenarios:
        if items[s.id]["pairs"]:
            primary = tuple(items[s.id]["pairs"][0])
            break
    if ("without_mg", "with_mg") in {(c["baseline"], c["treatment"]) for c in comparisons}:
        primary = ("without_mg", "with_mg")

    failed = [c for c in manifest if c.status != "done"]
    counts = Counter(c.status for c in manifest)
    return {
        "sweep": spec.id,
        "description": spec.description,
        "generated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "mgreason_version": __version__,
        "run_dir": str(run_dir),
        "models": [
            {"name": m.name, "backend": m.backend, "model": m.model or "(default)", "options": m.options,
             "engine_args": m.engine_args}
            for m in spec.models
        ],
        "scenarios": [{"id": s.id, "path": str(s.path), "sha256": s.sha256, "n_items": len(s.item_ids),
                       "conditions": s.conditions} for s in plan.scenarios],
        "repeats": repeats,
        "seeds": list(spec.seeds or [0]),
        "n_boot": spec.n_boot,
        "bootstrap_seed": seed,
        "cells": {"total": planned_cells, "done": counts.get("done", 0), "failed": counts.get("failed", 0),
                  "pending": counts.get(PENDING, 0)},
        "corrupt_records": corrupt,
        "groups": groups,
        "comparisons": comparisons,
        "holm_family_size": len(ps),
        "primary": list(primary) if primary else None,
        "problems": [c.to_json() for c in failed],
        "items": items,
    }


# --------------------------------------------------------------------------- forest plot


def forest_plot(data: dict[str, Any], path: Path) -> Optional[Path]:
    """Δ accuracy and Δ macro-F1 (with paired-bootstrap 95% CIs) per model / scenario / comparison."""
    comps = data["comparisons"]
    if not comps:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = list(reversed(comps))
    labels = [f"{c['model']} · {c['scenario']} · {c['treatment']} − {c['baseline']}" for c in rows]
    pair_names = list(dict.fromkeys(f"{c['treatment']} − {c['baseline']}" for c in comps))
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    colour = {p: palette[i % len(palette)] for i, p in enumerate(pair_names)}
    h = max(2.2, 0.38 * len(rows) + 1.3)
    fig = Figure(figsize=(11, h), dpi=110)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, key, title in ((axes[0], "delta_acc", "Δ accuracy"), (axes[1], "delta_macro_f1", "Δ macro-F1")):
        for y, c in enumerate(rows):
            d, (lo, hi) = c[key], c[f"{key}_ci"]
            if _nan(d):
                continue
            col = colour[f"{c['treatment']} − {c['baseline']}"]
            lo = d if _nan(lo) else lo
            hi = d if _nan(hi) else hi
            ax.plot([lo, hi], [y, y], color=col, lw=2)
            marker = "D" if (c.get("p_holm") is not None and c["p_holm"] < 0.05) else "o"
            ax.plot([d], [y], marker=marker, color=col, ms=6)
        ax.axvline(0.0, color="0.4", lw=1, ls="--")
        ax.set_title(title + " (95% CI, paired bootstrap)", fontsize=10)
        ax.set_xlim(-1.05, 1.05)
        ax.grid(axis="x", color="0.9")
    axes[0].set_yticks(range(len(rows)))
    axes[0].set_yticklabels(labels, fontsize=8)
    axes[0].set_ylim(-0.7, len(rows) - 0.3)
    fig.suptitle(f"sweep {data['sweep']}: treatment − baseline (◆ = Holm-adjusted McNemar p < 0.05)", fontsize=10)
    fig.tight_layout()
    from mgreason.fileio import atomic_path

    with atomic_path(path) as tmp:  # never a truncated PNG under the final name
        fig.savefig(str(tmp), format="png", metadata={"Software": None})
    return path


# --------------------------------------------------------------------------- Markdown


def _label_mass_warnings(data: dict[str, Any]) -> list[str]:
    from mgreason.eval.label_mass import low_mass_warning

    out = []
    for g in data["groups"]:
        for c in g["conditions"]:
            w = low_mass_warning(c["condition"], c.get("label_mass_mean"))
            if w:
                out.append(f"{g['model']} / {g['scenario']} / {w}")
    return out


def _has_label_mass(data: dict[str, Any]) -> bool:
    return any(c.get("label_mass_mean") is not None for g in data["groups"] for c in g["conditions"])


def _label_mass_markdown(data, models, scen, conds, look) -> list[str]:
    """Per condition: mean and 10th percentile of P(answer starts with a label), and the low-mass warnings."""
    if not _has_label_mass(data):
        return []
    L = [
        "## Label mass per condition (P(answer starts with a label): mean / p10)",
        "",
        *[f"> **Warning** — {w}" for w in _label_mass_warnings(data)],
        "",
        "| model | scenario | " + " | ".join(conds) + " |",
        "|---|---|" + "---:|" * len(conds),
    ]
    for mname in models:
        for sid in scen:
            cm = look.get((mname, sid), {})
            if not cm:
                continue
            vals = " | ".join(
                f"{_f(cm[c].get('label_mass_mean'))} / {_f(cm[c].get('label_mass_p10'))}" if c in cm else "—" for c in conds
            )
            L.append(f"| {mname} | {sid} | {vals} |")
    L += [
        "",
        "Below 0.5 the model mostly answers something other than a label, and its label scores are not meaningful.",
        "",
    ]
    return L


def _label_mass_html(data, models, scen, conds, look) -> list[str]:
    if not _has_label_mass(data):
        return []
    H = ["<h2>Label mass per condition (P(answer starts with a label): mean / p10)</h2>"]
    H += [f"<p class='warn'><b>Warning</b> — {_e(w)}</p>" for w in _label_mass_warnings(data)]
    H.append("<table><tr><th>model</th><th>scenario</th>" + "".join(f"<th>{_e(c)}</th>" for c in conds) + "</tr>")
    for mname in models:
        for sid in scen:
            cm = look.get((mname, sid), {})
            if not cm:
                continue
            H.append(f"<tr><td>{_e(mname)}</td><td>{_e(sid)}</td>")
            for c in conds:
                if c in cm:
                    H.append(
                        f"<td class='n'>{_f(cm[c].get('label_mass_mean'))} / {_f(cm[c].get('label_mass_p10'))}</td>"
                    )
                else:
                    H.append("<td>—</td>")
            H.append("</tr>")
    H.append("</table>")
    return H


def _ceilings(data: dict[str, Any]) -> dict[str, dict]:
    """scenario -> the evidence ceiling of its items (the same for every model: the first cell that has one)."""
    out: dict[str, dict] = {}
    for g in data["groups"]:
        if g.get("ceiling") and g["scenario"] not in out:
            out[g["scenario"]] = g["ceiling"]
    return out


def _explain_markdown(data: dict[str, Any]) -> list[str]:
    """Flags, the evidence ceiling per scenario and 'did the model use the evidence?' per comparison."""
    from mgreason.eval.records import CeilingSummary
    from mgreason.eval.report import ceiling_markdown

    L: list[str] = []
    flags = [(g, f) for g in data["groups"] for f in g.get("flags") or []]
    if flags:
        L += ["## Flags and verdicts", ""]
        L += [f"- {g['model']} / {g['scenario']}: {f}" for g, f in flags]
        L.append("")
    for sid, ceil in _ceilings(data).items():
        L += ceiling_markdown(CeilingSummary.model_validate(ceil), heading=f"## Evidence ceiling: {sid} (every model)")
        L.append("")
    comps = [c for c in data["comparisons"] if c.get("margin_shift") is not None or c.get("verdict")]
    if comps:
        L += [
            "## Did the model use the evidence?",
            "",
            "| model | scenario | baseline → treatment | margin shift [95% CI] | margin AUC baseline → treatment | "
            "Spearman vs ceiling | verdict |",
            "|---|---|---|---|---|---:|---|",
        ]
        for c in comps:
            lo, hi = c.get("margin_shift_ci") or (None, None)
            rho = c.get("ceiling_rank_corr")
            L.append(
                f"| {c['model']} | {c['scenario']} | {c['baseline']} → {c['treatment']} | "
                f"{_s(c.get('margin_shift'), 2)} [{_s(lo, 2)}, {_s(hi, 2)}] | "
                f"{_f(c.get('auc_baseline'), 2)} → {_f(c.get('auc_treatment'), 2)} | "
                f"{'n/a' if rho is None else f'{rho:+.2f}'} | {c.get('verdict_code') or 'n/a'} |"
            )
        L += [
            "",
            "Margin shift: mean change of log p(gold) − max log p(other label) from baseline to treatment (> 0: toward "
            "the right answer). Verdicts use the sweep-wide Holm p; the full sentences are under Flags and verdicts.",
            "",
        ]
    return L


def _explain_html(data: dict[str, Any]) -> list[str]:
    H: list[str] = []
    flags = [(g, f) for g in data["groups"] for f in g.get("flags") or []]
    if flags:
        H.append("<h2>Flags and verdicts</h2><ul>")
        H += [f"<li class='warn'>{_e(g['model'])} / {_e(g['scenario'])}: {_e(f)}</li>" for g, f in flags]
        H.append("</ul>")
    for sid, ceil in _ceilings(data).items():
        H.append(f"<h2>Evidence ceiling: {_e(sid)} (every model)</h2>")
        H.append(
            f"<p>{_e(ceil.get('cv'))}"
            + (
                ""
                if ceil.get("mode") == "train_split"
                else (f"; grouped by <code>{_e(ceil['grouped_by'])}</code>" if ceil.get("grouped_by") else "; <b>not grouped</b>")
            )
            + "</p>"
        )
        H.append("<table><tr><th>features</th><th>n</th><th>accuracy</th><th>95% CI (Wilson)</th><th>note</th></tr>")
        for r in ceil.get("rows", []):
            ci = r.get("ci") or (None, None)
            H.append(
                f"<tr><td>{_e(r['features'])}</td><td class='n'>{r.get('n') or 'n/a'}</td>"
                f"<td class='n'>{_f(r.get('accuracy'))}</td><td class='n'>"
                + (_ci(ci[0], ci[1], signed=False) if r.get("accuracy") is not None else "n/a")
                + f"</td><td>{_e(r.get('skipped_reason') or '')}</td></tr>"
            )
        H.append("</table>")
        H += [f"<p class='warn'><b>Note</b> — {_e(n)}</p>" for n in ceil.get("notes", [])]
    comps = [c for c in data["comparisons"] if c.get("margin_shift") is not None or c.get("verdict")]
    if comps:
        H.append(
            "<h2>Did the model use the evidence?</h2><table><tr><th>model</th><th>scenario</th>"
            "<th>baseline → treatment</th><th>margin shift [95% CI]</th><th>margin AUC baseline → treatment</th>"
            "<th>Spearman vs ceiling</th><th>verdict</th></tr>"
        )
        for c in comps:
            lo, hi = c.get("margin_shift_ci") or (None, None)
            rho = c.get("ceiling_rank_corr")
            H.append(
                f"<tr><td>{_e(c['model'])}</td><td>{_e(c['scenario'])}</td><td>{_e(c['baseline'])} → "
                f"{_e(c['treatment'])}</td><td class='n'>{_s(c.get('margin_shift'), 2)} [{_s(lo, 2)}, {_s(hi, 2)}]</td>"
                f"<td class='n'>{_f(c.get('auc_baseline'), 2)} → {_f(c.get('auc_treatment'), 2)}</td>"
                f"<td class='n'>{'n/a' if rho is None else f'{rho:+.2f}'}</td><td>{_e(c.get('verdict') or 'n/a')}</td></tr>"
            )
        H.append("</table>")
    return H


def _cond_lookup(data: dict[str, Any]) -> dict[tuple[str, str], dict[str, dict]]:
    return {(g["model"], g["scenario"]): {c["condition"]: c for c in g["conditions"]} for g in data["groups"]}


def _mark(ans: Optional[dict]) -> str:
    if ans is None:
        return "·"
    pred = ans["prediction"] if ans["prediction"] is not None else ("error" if ans["error"] else "?")
    k, n = ans["agreement"]
    rep = f" ({k}/{n})" if n > 1 else ""
    return f"{pred} {'✓' if ans['correct'] else '✗'}{rep}"


def _item_rows(data: dict[str, Any], sid: str) -> tuple[list[str], list[tuple[str, dict, bool]], bool]:
    view = data["items"][sid]
    models = [m["name"] for m in data["models"]]
    prim = data["primary"]
    rows = []
    for item_id, it in view["items"].items():
        flip = False
        if prim:
            for mname in models:
                a = it["answers"].get(mname, {})
                if prim[0] in a and prim[1] in a and a[prim[0]]["prediction"] != a[prim[1]]["prediction"]:
                    flip = True
        rows.append((item_id, it, flip))
    truncated = len(rows) > MAX_ITEMS_ALL
    if truncated:
        rows = [r for r in rows if r[2]]
    return models, rows, truncated


def render_markdown(data: dict[str, Any], png_name: Optional[str]) -> str:
    L: list[str] = []
    cells = data["cells"]
    L += [
        f"# Sweep `{data['sweep']}` — MG evidence comparison report",
        "",
        *( [data["description"].strip(), ""] if data.get("description") else [] ),
        f"- models: " + ", ".join(f"`{m['name']}` ({m['backend']}: {m['model']})" for m in data["models"]),
        f"- scenarios: " + ", ".join(f"`{s['id']}` ({s['n_items']} items; {', '.join(s['conditions'])})" for s in data["scenarios"]),
        f"- cells: {cells['total']} planned · {cells['done']} done · {cells['failed']} failed · {cells['pending']} not run"
        + ("" if cells["pending"] == 0 else " — **the sweep is incomplete**"),
        *[
            f"- **{c['lines']} corrupt line(s)** in `{c['file']}`: their cells count as not run; running the sweep "
            "again recomputes them"
            for c in data.get("corrupt_records", [])
        ],
        f"- repeats: {data['repeats']} (seeds {data['seeds']}); paired bootstrap over items: {data['n_boot']} resamples, "
        f"seed {data['bootstrap_seed']}; Holm adjustment across all {data['holm_family_size']} comparisons of the sweep",
        f"- generated {data['generated']} by mgreason {data['mgreason_version']}",
        "",
    ]
    models = [m["name"] for m in data["models"]]
    scen = [s["id"] for s in data["scenarios"]]
    comp_by = {(c["model"], c["scenario"], c["baseline"], c["treatment"]): c for c in data["comparisons"]}
    prim = data["primary"]
    if prim:
        L += [
            f"## {prim[1]} − {prim[0]}: Δ accuracy (models × scenarios)",
            "",
            "Each cell: Δ accuracy [95% paired-bootstrap CI]; exact McNemar p; Holm-adjusted p.",
            "",
            "| model | " + " | ".join(scen) + " |",
            "|---|" + "---|" * len(scen),
        ]
        for mname in models:
            row = []
            for sid in scen:
                c = comp_by.get((mname, sid, prim[0], prim[1]))
                row.append(
                    "—" if c is None else
                    f"{_s(c['delta_acc'])} {_ci(*c['delta_acc_ci'])}; p {_p(c['mcnemar_p'])}; p<sub>Holm</sub> {_p(c.get('p_holm'))}"
                )
            L.append(f"| {mname} | " + " | ".join(row) + " |")
        L.append("")

    conds = list(dict.fromkeys(c for s in data["scenarios"] for c in s["conditions"]))
    look = _cond_lookup(data)
    L += [
        "## Accuracy and macro-F1 per condition",
        "",
        "| model | scenario | n | " + " | ".join(f"{c} acc | {c} F1" for c in conds) + " | errors |",
        "|---|---|---:|" + "---:|---:|" * len(conds) + "---:|",
    ]
    for mname in models:
        for sid in scen:
            cm = look.get((mname, sid), {})
            if not cm:
                L.append(f"| {mname} | {sid} | — |" + " — | — |" * len(conds) + " — |")
                continue
            n = max(c["n"] for c in cm.values())
            vals = " | ".join(
                f"{_f(cm[c]['accuracy'])} | {_f(cm[c]['macro_f1'])}" if c in cm else "— | —" for c in conds
            )
            errs = sum(c["n_errors"] for c in cm.values())
            L.append(f"| {mname} | {sid} | {n} | {vals} | {errs} |")
    L.append("")
    L += _label_mass_markdown(data, models, scen, conds, look)

    L += [
        f"## Paired comparisons (treatment − baseline; Holm across {data['holm_family_size']} tests)",
        "",
        "| model | scenario | baseline → treatment | n | Δ accuracy | 95% CI | Δ macro-F1 | 95% CI | McNemar b / c | p | p (Holm) |",
        "|---|---|---|---:|---:|---|---:|---|---|---:|---:|",
    ]
    for c in data["comparisons"]:
        L.append(
            f"| {c['model']} | {c['scenario']} | {c['baseline']} → {c['treatment']} | {c['n']}"
            + ("" if c["complete"] else " (incomplete)")
            + f" | {_s(c['delta_acc'])} | {_ci(*c['delta_acc_ci'])} | {_s(c['delta_macro_f1'])} | "
            f"{_ci(*c['delta_macro_f1_ci'])} | {c['mcnemar_b']} / {c['mcnemar_c']} | {_p(c['mcnemar_p'])} | {_p(c.get('p_holm'))} |"
        )
    L += ["", "b = baseline right and treatment wrong, c = the reverse. Failed requests count as wrong.", ""]
    L += _explain_markdown(data)
    if png_name:
        L += ["## Forest plot", "", f"![forest plot of the deltas]({png_name})", ""]

    L += ["## Failed and unfinished cells", ""]
    probs = data["problems"]
    if not probs:
        L += ["None: every cell was answered.", ""]
    else:
        L += [
            f"{len(probs)} cell(s) without an answer (failed after every retry, counted wrong; or never run):",
            "",
            "| model | scenario | condition | item | repeat | status | attempts | error |",
            "|---|---|---|---|---:|---|---:|---|",
        ]
        for p in probs[:500]:
            err = (p.get("error") or "").replace("|", "\\|")[:160]
            L.append(f"| {p['model']} | {p['scenario']} | {p['condition']} | {p['item_id']} | {p['repeat']} | "
                     f"{'not run' if p['status'] == PENDING else p['status']} | {p['attempts']} | {err} |")
        if len(probs) > 500:
            L.append(f"| … | {len(probs) - 500} more in manifest.jsonl | | | | | | |")
        L.append("")

    L += ["## Per item: answers with vs without MG evidence", ""]
    if prim:
        L += [f"Rows marked ⇄ change answer between {prim[0]} and {prim[1]} for at least one model. "
              "✓ / ✗: right / wrong" + ("; (k/n): repeats agreeing with the majority" if data["repeats"] > 1 else "") + ".", ""]
    for sid in scen:
        view = data["items"][sid]
        cs = list(view["conditions"])
        if prim:
            cs = [c for c in prim if c in cs] + [c for c in cs if c not in prim]
        mods, rows, truncated = _item_rows(data, sid)
        L += [f"### {sid}", ""]
        if truncated:
            L += [f"{len(view['items'])} items; only the {len(rows)} with a flip are listed (see report.json for all).", ""]
        header = "| item | gold | " + " | ".join(f"{m}: {c}" for m in mods for c in cs) + " |"
        L += [header, "|---|---|" + "---|" * (len(mods) * len(cs))]
        for item_id, it, flip in rows:
            vals = " | ".join(_mark(it["answers"].get(m, {}).get(c)) for m in mods for c in cs)
            name = f"[{item_id}]({it['timeline']})" if it.get("timeline") else item_id
            L.append(f"| {name}{' ⇄' if flip else ''} | {it['gold'] or '?'} | {vals} |")
        L.append("")
    return "\n".join(L) + "\n"


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1300px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ddd}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.6em 0;font-size:.86em}th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left}
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{background:#e8f5e9}.bad{background:#fdecea}.flip{font-weight:bold}.sig{background:#fff3cd}
.muted{color:#777}img{max-width:100%}code{background:#f4f4f4;padding:0 .2em}
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def render_html(data: dict[str, Any], png: Optional[bytes]) -> str:
    H: list[str] = []
    cells = data["cells"]
    H.append(f"<!doctype html><html><head><meta charset='utf-8'><title>sweep {_e(data['sweep'])}</title><style>{_CSS}</style></head><body>")
    H.append(f"<h1>Sweep <code>{_e(data['sweep'])}</code> — MG evidence comparison report</h1>")
    if data.get("description"):
        H.append(f"<p>{_e(data['description'])}</p>")
    H.append("<ul>")
    H.append("<li>models: " + ", ".join(f"<code>{_e(m['name'])}</code> ({_e(m['backend'])}: {_e(m['model'])})" for m in data["models"]) + "</li>")
    H.append("<li>scenarios: " + ", ".join(f"<code>{_e(s['id'])}</code> ({s['n_items']} items)" for s in data["scenarios"]) + "</li>")
    H.append(f"<li>cells: {cells['total']} planned · {cells['done']} done · {cells['failed']} failed · {cells['pending']} not run"
             + ("" if cells["pending"] == 0 else " — <b>the sweep is incomplete</b>") + "</li>")
    for c in data.get("corrupt_records", []):
        H.append(f"<li><b>{c['lines']} corrupt line(s)</b> in <code>{_e(c['file'])}</code>: their cells count as not run; "
                 "running the sweep again recomputes them</li>")
    H.append(f"<li>repeats {data['repeats']} (seeds {_e(data['seeds'])}); paired bootstrap {data['n_boot']} resamples, seed "
             f"{data['bootstrap_seed']}; Holm across all {data['holm_family_size']} comparisons</li>")
    H.append(f"<li class='muted'>generated {_e(data['generated'])} by mgreason {_e(data['mgreason_version'])}</li></ul>")

    models = [m["name"] for m in data["models"]]
    scen = [s["id"] for s in data["scenarios"]]
    comp_by = {(c["model"], c["scenario"], c["baseline"], c["treatment"]): c for c in data["comparisons"]}
    prim = data["primary"]
    if prim:
        H.append(f"<h2>{_e(prim[1])} − {_e(prim[0])}: Δ accuracy (models × scenarios)</h2>")
        H.append("<table><tr><th>model</th>" + "".join(f"<th>{_e(s)}</th>" for s in scen) + "</tr>")
        for mname in models:
            H.append(f"<tr><th>{_e(mname)}</th>")
            for sid in scen:
                c = comp_by.get((mname, sid, prim[0], prim[1]))
                if c is None:
                    H.append("<td class='muted'>—</td>")
                    continue
                sig = c.get("p_holm") is not None and c["p_holm"] < 0.05
                H.append(
                    f"<td class='n{' sig' if sig else ''}'>{_s(c['delta_acc'])} {_ci(*c['delta_acc_ci'])}<br>"
                    f"p {_p(c['mcnemar_p'])} · p<sub>Holm</sub> {_p(c.get('p_holm'))}</td>"
                )
            H.append("</tr>")
        H.append("</table>")

    conds = list(dict.fromkeys(c for s in data["scenarios"] for c in s["conditions"]))
    look = _cond_lookup(data)
    H.append("<h2>Accuracy and macro-F1 per condition</h2><table><tr><th>model</th><th>scenario</th><th>n</th>"
             + "".join(f"<th>{_e(c)} acc</th><th>{_e(c)} F1</th>" for c in conds) + "<th>errors</th></tr>")
    for mname in models:
        for sid in scen:
            cm = look.get((mname, sid), {})
            H.append(f"<tr><td>{_e(mname)}</td><td>{_e(sid)}</td>")
            if not cm:
                H.append("<td class='muted' colspan='%d'>not run</td></tr>" % (2 + 2 * len(conds)))
                continue
            H.append(f"<td class='n'>{max(c['n'] for c in cm.values())}</td>")
            for c in conds:
                if c in cm:
                    H.append(f"<td class='n'>{_f(cm[c]['accuracy'])}</td><td class='n'>{_f(cm[c]['macro_f1'])}</td>")
                else:
                    H.append("<td>—</td><td>—</td>")
            H.append(f"<td class='n'>{sum(c['n_errors'] for c in cm.values())}</td></tr>")
    H.append("</table>")
    H += _label_mass_html(data, models, scen, conds, look)

    H.append(f"<h2>Paired comparisons (treatment − baseline; Holm across {data['holm_family_size']} tests)</h2>")
    H.append("<table><tr><th>model</th><th>scenario</th><th>baseline → treatment</th><th>n</th><th>Δ accuracy</th><th>95% CI</th>"
             "<th>Δ macro-F1</th><th>95% CI</th><th>McNemar b / c</th><th>p</th><th>p (Holm)</th></tr>")
    for c in data["comparisons"]:
        sig = c.get("p_holm") is not None and c["p_holm"] < 0.05
        H.append(
            f"<tr{' class=sig' if sig else ''}><td>{_e(c['model'])}</td><td>{_e(c['scenario'])}</td><td>{_e(c['baseline'])} → {_e(c['treatment'])}</td>"
            f"<td class='n'>{c['n']}{'' if c['complete'] else ' (incomplete)'}</td><td class='n'>{_s(c['delta_acc'])}</td><td>{_ci(*c['delta_acc_ci'])}</td>"
            f"<td class='n'>{_s(c['delta_macro_f1'])}</td><td>{_ci(*c['delta_macro_f1_ci'])}</td>"
            f"<td>{c['mcnemar_b']} / {c['mcnemar_c']}</td><td class='n'>{_p(c['mcnemar_p'])}</td><td class='n'>{_p(c.get('p_holm'))}</td></tr>"
        )
    H.append("</table><p class='muted'>b = baseline right and treatment wrong, c = the reverse. Failed requests count as wrong.</p>")
    H += _explain_html(data)
    if png:
        H.append("<h2>Forest plot</h2>")
        H.append(f"<img alt='forest plot' src='data:image/png;base64,{base64.b64encode(png).decode('ascii')}'>")

    H.append("<h2>Failed and unfinished cells</h2>")
    probs = data["problems"]
    if not probs:
        H.append("<p>None: every cell was answered.</p>")
    else:
        H.append(f"<p>{len(probs)} cell(s) without an answer (failed after every retry, counted wrong; or never run).</p>")
        H.append("<table><tr><th>model</th><th>scenario</th><th>condition</th><th>item</th><th>repeat</th><th>status</th><th>attempts</th><th>error</th></tr>")
        for p in probs[:2000]:
            H.append(
                f"<tr class='bad'><td>{_e(p['model'])}</td><td>{_e(p['scenario'])}</td><td>{_e(p['condition'])}</td><td>{_e(p['item_id'])}</td>"
                f"<td class='n'>{p['repeat']}</td><td>{'not run' if p['status'] == PENDING else _e(p['status'])}</td>"
                f"<td class='n'>{p['attempts']}</td><td>{_e(p.get('error') or '')}</td></tr>"
            )
        H.append("</table>")

    H.append("<h2>Per item: answers with vs without MG evidence</h2>")
    if prim:
        H.append(f"<p>Rows in bold change answer between <code>{_e(prim[0])}</code> and <code>{_e(prim[1])}</code> for at least one model; "
                 "green = right, red = wrong.</p>")
    for sid in scen:
        view = data["items"][sid]
        cs = list(view["conditions"])
        if prim:
            cs = [c for c in prim if c in cs] + [c for c in cs if c not in prim]
        mods, rows, truncated = _item_rows(data, sid)
        H.append(f"<details open><summary><b>{_e(sid)}</b> ({len(view['items'])} items)</summary>")
        if truncated:
            H.append(f"<p>only the {len(rows)} items with a flip are listed (report.json has all).</p>")
        H.append("<table><tr><th rowspan='2'>item</th><th rowspan='2'>gold</th>"
                 + "".join(f"<th colspan='{len(cs)}'>{_e(m)}</th>" for m in mods) + "</tr><tr>"
                 + "".join(f"<th>{_e(c)}</th>" for _ in mods for c in cs) + "</tr>")
        for item_id, it, flip in rows:
            name = (f"<a href='{_e(it['timeline'])}' title='MG transcript timeline'>{_e(item_id)}</a>"
                    if it.get("timeline") else _e(item_id))
            H.append(f"<tr{' class=flip' if flip else ''}><td>{name}{' ⇄' if flip else ''}</td><td>{_e(it['gold'] or '?')}</td>")
            for m in mods:
                for c in cs:
                    a = it["answers"].get(m, {}).get(c)
                    if a is None:
                        H.append("<td class='muted'>·</td>")
                    else:
                        title = f" title='{_e(a['error'])}'" if a.get("error") else ""
                        H.append(f"<td class='{'ok' if a['correct'] else 'bad'}'{title}>{_e(_mark(a))}</td>")
            H.append("</tr>")
        H.append("</table></details>")
    H.append("</body></html>")
    return "\n".join(H) + "\n"


# --------------------------------------------------------------------------- writing


def link_timelines(data: dict[str, Any], run_dir: Path, dest: Path) -> int:
    """Draw the timeline of every item transcript that came from a file (``transcripts: {source: path}``)
    under ``dest/timelines/`` and record its relative path as the item's ``timeline``; returns how many."""
    from mgreason.scenario import load_scenario
    from mgreason.viz.timeline import timeline_link

    plan = load_plan(run_dir, load_scenarios=False)
    n = 0
    for s in plan.scenarios:
        view = data["items"].get(s.id)
        if view is None or not Path(s.path).is_file():
            continue
        try:
            sc = load_scenario(s.path)
        except MGReasonError:  # the scenario changed since the run: no links, the report is still written
            continue
        if sc.spec.transcripts.source != "path":
            continue
        for item in sc.items:
            it = view["items"].get(item.id)
            if it is None or item.transcript_path is None:
                continue
            try:
                rel = timeline_link(item.transcript_path, dest)
            except MGReasonError:  # an unreadable transcript or unknown class: no link, the report is still written
                rel = None
            if rel is not None:
                it["timeline"] = rel
                n += 1
    return n


def write_report(run_dir: str | Path, out: Optional[str | Path] = None) -> Path:
    """Write report.md, report.html, report_forest.png and report.json; returns the Markdown path."""
    run_dir = Path(run_dir)
    dest = Path(out) if out is not None else run_dir
    dest.mkdir(parents=True, exist_ok=True)
    data = compute_report(run_dir)
    link_timelines(data, run_dir, dest)
    png_path = forest_plot(data, dest / "report_forest.png")
    png = png_path.read_bytes() if png_path else None
    atomic_write_json(dest / "report.json", data)
    atomic_write_text(dest / "report.md", render_markdown(data, png_path.name if png_path else None))
    atomic_write_text(dest / "report.html", render_html(data, png))
    return dest / "report.md"


__all__ = ["collapse_repeats", "compute_report", "forest_plot", "render_html", "render_markdown", "write_report"]
