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
import json
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from mgreason import __version__, stats
from mgreason.errors import MGReasonError
from mgreason.eval.format import fmt as _f, fmt_ci as _ci, fmt_p as _p, fmt_signed as _s, is_missing as _nan
from mgreason.eval.records import SampleRecord
from mgreason.eval.summary import by_condition, collapse_repeats, comparison_summaries, condition_summaries, explain_cell
from mgreason.eval.store import atomic_write_json
from mgreason.fileio import atomic_write_text
from mgreason.sweep.manifest import PENDING, load_plan, read_manifest

if TYPE_CHECKING:
    from mgreason.sweep.report_model import Report

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


def _summary_extras(cdir: Path) -> Optional[Any]:
    """The run's own summary.json (ceiling, flags, diagnostics), or None when absent or unreadable."""
    from pydantic import ValidationError

    from mgreason.eval.records import RunSummary

    p = cdir / "summary.json"
    if not p.is_file():
        return None
    try:
        return RunSummary.model_validate_json(p.read_text(encoding="utf-8"))
    except (ValidationError, ValueError, OSError):
        return None


_DIAGNOSTIC_CONDITION_FIELDS = ("top_label", "top_label_share", "n_margin_ties", "margin_auc", "flags")
_DIAGNOSTIC_COMPARISON_FIELDS = (
    "margin_kind", "margin_shift", "margin_shift_ci", "margin_shift_p", "bias_shift", "auc_baseline",
    "auc_treatment", "ceiling_rank_corr", "ceiling_rank_corr_p", "verdict", "verdict_code",
)  # fmt: skip


def _fill_from_summary(conds: list, comps: list, summary) -> tuple[list, list]:
    """Diagnostic fields the recomputation left empty, taken from the run's summary.json (same records)."""
    if summary is None:
        return conds, comps
    by_c = {c.condition: c for c in summary.conditions}
    by_p = {(c.baseline, c.treatment): c for c in summary.comparisons}

    def fill(obj, src, fields):
        if src is None:
            return obj
        upd = {f: getattr(src, f) for f in fields if hasattr(src, f) and getattr(obj, f, None) in (None, [], (None, None))}
        return obj.model_copy(update=upd) if upd else obj

    conds = [fill(c, by_c.get(c.condition), _DIAGNOSTIC_CONDITION_FIELDS) for c in conds]
    comps = [fill(c, by_p.get((c.baseline, c.treatment)), _DIAGNOSTIC_COMPARISON_FIELDS) for c in comps]
    return conds, comps


def _valid(conds: list, baseline: str, treatment: str) -> bool:
    """A comparison is valid unless one of its conditions' mean label mass is below 0.5."""
    from mgreason.eval.label_mass import LOW_LABEL_MASS

    by = {c.condition: c for c in conds}
    return not any(
        by.get(x) is not None and by[x].label_mass_mean is not None and by[x].label_mass_mean < LOW_LABEL_MASS
        for x in (baseline, treatment)
    )


def _answers(recs: list[SampleRecord], model: str, conditions, view) -> None:
    """Fill ``view.items`` (item id -> ItemRow) with what ``model`` answered (majority over repeats)."""
    from mgreason.sweep.report_model import Answer, ItemRow

    col = collapse_repeats(recs)
    by_cond = by_condition(col)
    reps: dict[tuple[str, str], list[SampleRecord]] = {}
    for r in recs:
        reps.setdefault((r.condition, r.item_id), []).append(r)
    for it_id in list(view.items) or list(dict.fromkeys(r.item_id for r in col)):
        it = view.items.setdefault(it_id, ItemRow())
        for cond in conditions:
            r = by_cond.get(cond, {}).get(it_id)
            if r is None:
                continue
            it.gold = r.gold
            rr = reps.get((cond, it_id), [])
            it.answers.setdefault(model, {})[cond] = Answer(
                prediction=r.prediction, correct=r.correct, error=r.error,
                agreement=(sum(x.prediction == r.prediction for x in rr), len(rr)), evidence_from=r.evidence_from,
            )  # fmt: skip


def _primary(items: dict, comparisons: list) -> Optional[tuple[str, str]]:
    primary = None
    for view in items.values():
        if view.pairs:
            primary = tuple(view.pairs[0])
            break
    if ("without_mg", "with_mg") in {(c.baseline, c.treatment) for c in comparisons}:
        primary = ("without_mg", "with_mg")
    return primary


def build_report(run_dir: str | Path) -> "Report":
    """The typed report of a sweep directory (holds sweep.json) or of a single run (config.json + samples.jsonl)."""
    run_dir = Path(run_dir)
    if (run_dir / "sweep.json").is_file():
        return build_sweep_report(run_dir)
    if (run_dir / "config.json").is_file():
        return build_run_report(run_dir)
    raise MGReasonError(
        "not a run directory (config.json, samples.jsonl) nor a sweep directory (sweep.json)", file=run_dir
    )


def build_sweep_report(run_dir: str | Path) -> "Report":
    from mgreason.eval.records import CeilingSummary, RunConfig
    from mgreason.scenario.spec import ScenarioSpec
    from mgreason.sweep.report_model import (
        Cells, Comparison, CorruptFile, Group, ItemRow, ModelEntry, Problem, Report, ScenarioEntry, ScenarioItems,
    )  # fmt: skip

    run_dir = Path(run_dir)
    plan = load_plan(run_dir, load_scenarios=False)
    spec = plan.spec
    repeats = int(spec.repeats or 1)
    seed = (spec.seeds or [0])[0]
    manifest, corrupt = _current_manifest(plan, read_manifest(run_dir))
    planned_cells = len(manifest) if manifest else plan.n_cells

    groups: list[Group] = []
    comparisons: list[Comparison] = []
    to_explain: list[tuple[Group, list[Comparison], Path, list[str]]] = []
    items = {s.id: ScenarioItems(conditions=s.conditions, items={i: ItemRow() for i in s.item_ids}) for s in plan.scenarios}
    for m in spec.models:
        for s in plan.scenarios:
            cdir = plan.cell_dir(m.name, s.id)
            g = Group(model=m.name, scenario=s.id)
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
            col = collapse_repeats(recs)
            pairs = [(a, b) for a, b in sspec.comparison_pairs() if a in s.conditions and b in s.conditions]
            if not items[s.id].pairs:
                items[s.id].pairs = pairs
            unlabelled = not cfg.labelled or any(r.gold is None for r in col)
            if unlabelled:  # no accuracy: answer distributions, agreement and margin shifts (eval.unlabelled)
                from mgreason.eval.unlabelled import unlabelled_summary

                g.unlabelled = unlabelled_summary(
                    col, labels, s.conditions, pairs, n_boot=spec.n_boot, seed=seed
                ).model_dump(mode="json")
                conds, comps = [], []
            else:
                conds = condition_summaries(col, labels, s.conditions)
                comps = comparison_summaries(col, labels, pairs, item_ids=s.item_ids, n_boot=spec.n_boot, seed=seed)
            g.ran, g.model_id, g.model_sha256, g.backend = True, cfg.model.get("id"), cfg.model.get("sha256"), cfg.backend
            g.labels, g.n_records, g.n_planned, g.scoring_mode = labels, len(recs), len(planned), cfg.scoring_mode
            g.conditions = conds
            _answers(recs, m.name, s.conditions, items[s.id])
            cell = [
                Comparison(model=m.name, scenario=s.id, complete=c.n == len(s.item_ids),
                           valid=_valid(conds, c.baseline, c.treatment), **c.model_dump())
                for c in comps
            ]  # fmt: skip
            comparisons += cell
            controls = [c.name for c in sspec.condition_specs() if c.transcript == "shuffled"]
            to_explain.append((g, cell, cdir / "summary.json", controls))
    ps = [c.mcnemar_p for c in comparisons]
    adj = stats.holm_adjust(ps) if ps else []
    for c, a in zip(comparisons, adj):
        c.p_holm = a
    for g, cell, summary_path, controls in to_explain:  # the ceiling (from summary.json), flags, verdicts
        saved = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.is_file() else None
        dicts = [c.model_dump(mode="json") for c in cell]
        ceiling, g.flags = explain_cell(dicts, [c.model_dump(mode="json") for c in g.conditions], saved, controls)
        g.ceiling = CeilingSummary.model_validate(ceiling) if ceiling else None
        for c, d in zip(cell, dicts):  # verdicts recomputed with the sweep-wide Holm p
            for k in ("ceiling_rank_corr", "ceiling_rank_corr_p", "verdict", "verdict_code"):
                setattr(c, k, d.get(k))
    counts = Counter(c.status for c in manifest)
    return Report(
        kind="sweep",
        sweep=spec.id,
        description=spec.description,
        generated=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        mgreason_version=__version__,
        run_dir=str(run_dir),
        models=[ModelEntry(name=m.name, backend=m.backend, model=m.model or "(default)", options=m.options or {},
                           engine_args=m.engine_args or {}) for m in spec.models],
        scenarios=[ScenarioEntry(id=s.id, path=str(s.path), sha256=s.sha256, n_items=len(s.item_ids),
                                 conditions=s.conditions) for s in plan.scenarios],
        repeats=repeats,
        seeds=list(spec.seeds or [0]),
        n_boot=spec.n_boot,
        bootstrap_seed=seed,
        cells=Cells(total=planned_cells, done=counts.get("done", 0), failed=counts.get("failed", 0),
                    pending=counts.get(PENDING, 0)),
        corrupt_records=[CorruptFile(**c) for c in corrupt],
        groups=groups,
        comparisons=comparisons,
        holm_family_size=len(ps),
        primary=_primary(items, comparisons),
        problems=[Problem(**c.to_json()) for c in manifest if c.status != "done"],
        items=items,
    )  # fmt: skip


def build_run_report(run_dir: str | Path) -> "Report":
    """The report of one ``run-scenario`` directory: its summary.json numbers (Holm across its own
    comparisons), its records per item, its failed requests."""
    from mgreason.eval.records import RunConfig
    from mgreason.eval.store import read_jsonl
    from mgreason.scenario.spec import ScenarioSpec
    from mgreason.sweep.report_model import (
        Cells, Comparison, Group, ModelEntry, Problem, Report, ScenarioEntry, ScenarioItems,
    )  # fmt: skip

    run_dir = Path(run_dir)
    cfg_path, samples = run_dir / "config.json", run_dir / "samples.jsonl"
    for p in (cfg_path, samples):
        if not p.is_file():
            raise MGReasonError(
                "not a run directory (config.json and samples.jsonl) nor a sweep directory (sweep.json)", file=p
            )
    try:
        cfg = RunConfig.model_validate_json(cfg_path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise MGReasonError(f"unreadable run config: {str(e).splitlines()[0]}", file=cfg_path) from e
    recs, bad = read_jsonl(samples, SampleRecord.model_validate)
    sspec = ScenarioSpec.model_validate(cfg.scenario)
    labels = cfg.labels
    item_ids = list(dict.fromkeys(r.item_id for r in recs))
    conditions = [c for c in cfg.conditions if any(r.condition == c for r in recs)] or list(cfg.conditions)
    pairs = [(a, b) for a, b in sspec.comparison_pairs() if a in conditions and b in conditions]
    summary = _summary_extras(run_dir)
    seed = cfg.seed
    n_boot = summary.comparisons[0].n_boot if summary is not None and summary.comparisons else 10000
    col = collapse_repeats(recs)
    conds = condition_summaries(col, labels, conditions)
    comps = comparison_summaries(col, labels, pairs, item_ids=item_ids, n_boot=n_boot, seed=seed)
    conds, comps = _fill_from_summary(conds, comps, summary)
    name = str(cfg.model.get("id") or (summary.model if summary else "model"))
    view = ScenarioItems(conditions=conditions, items={}, pairs=pairs)
    _answers(recs, name, conditions, view)
    g = Group(
        model=name, scenario=cfg.scenario_id, conditions=conds, ran=bool(recs), model_id=cfg.model.get("id"),
        model_sha256=cfg.model.get("sha256"), backend=cfg.backend, labels=labels, n_records=len(recs),
        n_planned=len(recs), scoring_mode=cfg.scoring_mode,
        ceiling=getattr(summary, "ceiling", None) if summary else None,
        flags=list(getattr(summary, "flags", None) or []) if summary else [],
    )  # fmt: skip
    comparisons = [
        Comparison(model=name, scenario=cfg.scenario_id, complete=c.n == len(item_ids),
                   valid=_valid(conds, c.baseline, c.treatment), **c.model_dump())
        for c in comps
    ]  # fmt: skip
    failed = [r for r in recs if r.error is not None]
    items = {cfg.scenario_id: view}
    return Report(
        kind="run",
        sweep=cfg.run_id,
        description=None,
        generated=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        mgreason_version=__version__,
        run_dir=str(run_dir),
        models=[ModelEntry(name=name, backend=cfg.backend, model=str(cfg.model.get("resolved") or name))],
        scenarios=[ScenarioEntry(id=cfg.scenario_id, path=cfg.scenario_path, sha256=cfg.scenario_sha256,
                                 n_items=len(item_ids), conditions=conditions)],
        repeats=max((r.repeat for r in recs), default=0) + 1,
        seeds=list((cfg.generation or {}).get("seeds") or [cfg.seed]),
        n_boot=n_boot,
        bootstrap_seed=seed,
        cells=Cells(total=len(recs), done=len(recs) - len(failed), failed=len(failed), pending=0),
        corrupt_records=[{"model": name, "scenario": cfg.scenario_id, "file": str(samples), "lines": bad}] if bad else [],
        groups=[g],
        comparisons=comparisons,
        holm_family_size=sum(c.mcnemar_p is not None for c in comparisons),
        primary=_primary(items, comparisons),
        problems=[Problem(model=name, scenario=r.scenario_id, condition=r.condition, item_id=r.item_id,
                          repeat=r.repeat, status="failed", attempts=1, error=r.error) for r in failed],
        items=items,
    )  # fmt: skip


def compute_report(run_dir: str | Path) -> dict[str, Any]:
    """Every number of the report, as JSON-able data (also written as ``report.json``)."""
    return build_report(run_dir).model_dump(mode="json")


# --------------------------------------------------------------------------- forest plot

INVALID_COLOUR = "#9e9e9e"


def forest_plot(report: "Report", path: Path) -> Optional[Path]:
    """Δ accuracy and Δ macro-F1 (with paired-bootstrap 95% CIs) per model / scenario / comparison; one colour
    per comparison (legend); rows whose label mass is below 0.5 hollow, grey, dashed and labelled invalid."""
    report = _as_report(report)
    comps = report.comparisons
    if not comps:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    rows = list(reversed(comps))
    labels = [f"{c.model} · {c.scenario} · {c.pair}" + ("" if c.valid else " (invalid)") for c in rows]
    pair_names = list(dict.fromkeys(c.pair for c in comps))
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    colour = {p: palette[i % len(palette)] for i, p in enumerate(pair_names)}
    h = max(2.6, 0.38 * len(rows) + 1.9)
    fig = Figure(figsize=(11, h), dpi=110)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, key, title in ((axes[0], "delta_acc", "Δ accuracy"), (axes[1], "delta_macro_f1", "Δ macro-F1")):
        for y, c in enumerate(rows):
            d, (lo, hi) = getattr(c, key), getattr(c, f"{key}_ci")
            if _nan(d):
                continue
            col = colour[c.pair] if c.valid else INVALID_COLOUR
            lo = d if _nan(lo) else lo
            hi = d if _nan(hi) else hi
            ax.plot([lo, hi], [y, y], color=col, lw=2, ls="-" if c.valid else "--")
            marker = "D" if (c.p_holm is not None and c.p_holm < 0.05) else "o"
            ax.plot([d], [y], marker=marker, color=col, ms=6, markerfacecolor=col if c.valid else "white")
        ax.axvline(0.0, color="0.4", lw=1, ls="--")
        ax.set_title(title + " (95% CI, paired bootstrap)", fontsize=10)
        ax.set_xlim(-1.05, 1.05)
        ax.grid(axis="x", color="0.9")
    axes[0].set_yticks(range(len(rows)))
    axes[0].set_yticklabels(labels, fontsize=8)
    for tick, c in zip(axes[0].get_yticklabels(), rows):
        if not c.valid:
            tick.set_color("0.5")
    axes[0].set_ylim(-0.7, len(rows) - 0.3)
    handles = [Line2D([], [], color=colour[p], lw=2, marker="o", label=p) for p in pair_names]
    if not all(c.valid for c in comps):
        handles.append(Line2D([], [], color=INVALID_COLOUR, lw=2, ls="--", marker="o", markerfacecolor="white",
                              label="invalid: label mass < 0.5"))  # fmt: skip
    handles.append(Line2D([], [], color="0.3", lw=0, marker="D", label="Holm-adjusted McNemar p < 0.05"))
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 4), fontsize=8, frameon=False)
    fig.suptitle(f"{report.kind} {report.sweep}: treatment − baseline", fontsize=10)
    fig.tight_layout(rect=(0, 0.1 if len(handles) <= 4 else 0.16, 1, 1))
    from mgreason.fileio import atomic_path

    with atomic_path(path) as tmp:  # never a truncated PNG under the final name
        fig.savefig(str(tmp), format="png", metadata={"Software": None})
    return path


# --------------------------------------------------------------------------- Markdown and HTML: two templates

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1300px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ddd}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.6em 0;font-size:.86em}th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left}
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{background:#e8f5e9}.bad{background:#fdecea}.flip{font-weight:bold}.sig{background:#fff3cd}
.invalid{color:#888}.tag{font-size:.75em;background:#9e9e9e;color:#fff;border-radius:3px;padding:0 .35em}
.muted{color:#777}img{max-width:100%}code{background:#f4f4f4;padding:0 .2em}
"""


def _as_report(data: "Report | dict[str, Any]") -> "Report":
    from mgreason.sweep.report_model import Report

    return data if isinstance(data, Report) else Report.model_validate(data)


def _template(name: str, *, html: bool):
    from importlib import resources

    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(autoescape=html, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                               keep_trailing_newline=True)  # fmt: skip
    env.globals.update(f=_f, s=_s, p=_p, ci=_ci)
    env.filters["cell"] = lambda x: str(x).replace("|", "\\|").replace("\n", " ")
    src = resources.files("mgreason.sweep").joinpath("templates", name).read_text(encoding="utf-8")
    return env.from_string(src)


def render_markdown(data: "Report | dict[str, Any]", png_name: Optional[str]) -> str:
    """``report.md``: the typed report through ``templates/report.md.j2``."""
    text = _template("report.md.j2", html=False).render(r=_as_report(data), png_name=png_name, max_items=MAX_ITEMS_ALL)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"


def render_html(data: "Report | dict[str, Any]", png: Optional[bytes]) -> str:
    """``report.html``: the typed report through ``templates/report.html.j2`` (the PNG embedded as base64)."""
    b64 = base64.b64encode(png).decode("ascii") if png else None
    return _template("report.html.j2", html=True).render(
        r=_as_report(data), png_b64=b64, css=_CSS, max_items=MAX_ITEMS_ALL
    ).rstrip("\n") + "\n"


# --------------------------------------------------------------------------- writing


def link_timelines(report: "Report", dest: Path) -> int:
    """Draw the timeline of every item transcript that came from a file (``transcripts: {source: path}``)
    under ``dest/timelines/`` and record its relative path as the item's ``timeline``; returns how many."""
    from mgreason.scenario import load_scenario
    from mgreason.viz.timeline import timeline_link

    n = 0
    for s in report.scenarios:
        view = report.items.get(s.id)
        if view is None or not Path(s.path).is_file():
            continue
        try:
            from mgreason.analyze.recordings import RecordingTranscriber

            sc = load_scenario(s.path, recordings=RecordingTranscriber())  # recordings: cached transcripts
        except MGReasonError:  # the scenario changed since the run: no links, the report is still written
            continue
        if sc.spec.transcripts.source != "path":
            continue
        for item in sc.items:
            it = view.items.get(item.id)
            if it is None or item.transcript_path is None:
                continue
            try:
                rel = timeline_link(item.transcript_path, dest)
            except MGReasonError:  # an unreadable transcript or unknown class: no link, the report is still written
                rel = None
            if rel is not None:
                it.timeline = rel
                n += 1
    return n


def write_report(run_dir: str | Path, out: Optional[str | Path] = None) -> Path:
    """Write report.md, report.html, report_forest.png and report.json for a sweep or a single run
    directory; returns the Markdown path."""
    run_dir = Path(run_dir)
    dest = Path(out) if out is not None else run_dir
    dest.mkdir(parents=True, exist_ok=True)
    report = build_report(run_dir)
    link_timelines(report, dest)
    png_path = forest_plot(report, dest / "report_forest.png")
    png = png_path.read_bytes() if png_path else None
    atomic_write_json(dest / "report.json", report.model_dump(mode="json"))
    atomic_write_text(dest / "report.md", render_markdown(report, png_path.name if png_path else None))
    atomic_write_text(dest / "report.html", render_html(report, png))
    return dest / "report.md"


__all__ = [
    "build_report",
    "build_run_report",
    "build_sweep_report",
    "collapse_repeats",
    "compute_report",
    "forest_plot",
    "render_html",
    "render_markdown",
    "write_report",
]
