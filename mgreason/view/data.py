"""What the viewer page embeds: the typed report (overview) plus every item's answers and prompts.

The page gets one JSON document, built to stay small with 10,000 items:

* ``lines``: every distinct line of every prompt message, once (the template's lines repeat across
  items and conditions); a message is ``[role, [line index, ...]]``, so the page diffs two prompts by
  comparing integer lists;
* ``items``: one entry per (scenario, item) with its prompts per condition (identical across models,
  stored once; a model whose prompt differs gets its own) and, per model and condition, the answer:
  prediction, right or wrong, error, label log-probs, label mass, evidence source, raw output;
* ``svgs``: the transcript timelines (:mod:`mgreason.viz.timeline`), one per distinct transcript, as
  SVG text, at most ``max_timelines`` of them.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from mgreason.errors import MGReasonError
from mgreason.eval.records import SampleRecord
from mgreason.eval.summary import collapse_repeats
from mgreason.sweep.report import build_report
from mgreason.sweep.report_model import Report


@dataclass
class _Lines:
    """The table of distinct prompt lines."""

    index: dict[str, int] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    def ids(self, text: str) -> list[int]:
        out = []
        for line in text.split("\n"):
            k = self.index.get(line)
            if k is None:
                k = self.index[line] = len(self.lines)
                self.lines.append(line)
            out.append(k)
        return out


@dataclass
class Group:
    """One (model, scenario) run directory."""

    model: str
    scenario: str
    run_dir: Path
    scoring_mode: str
    labels: list[str]
    scenario_path: Optional[str]


def _groups(report: Report, run_dir: Path) -> list[Group]:
    from mgreason.eval.records import RunConfig

    out = []
    for g in report.groups:
        d = run_dir if report.kind == "run" else run_dir / "models" / g.model / g.scenario
        cfg_path = d / "config.json"
        if not g.ran or not cfg_path.is_file():
            continue
        cfg = RunConfig.model_validate_json(cfg_path.read_text(encoding="utf-8"))
        out.append(Group(g.model, g.scenario, d, cfg.scoring_mode, list(cfg.labels), cfg.scenario_path))
    return out


def _records(d: Path) -> list[SampleRecord]:
    from mgreason.eval.store import read_jsonl

    recs, _bad = read_jsonl(d / "samples.jsonl", SampleRecord.model_validate)
    return collapse_repeats(recs)


def _messages(msgs: list[dict[str, str]], lines: _Lines) -> list[Any]:
    return [[m.get("role", "?"), lines.ids(str(m.get("content", "")))] for m in msgs]


def _svg(fig: Any) -> str:
    from mgreason.viz.timeline import _plt

    plt = _plt()
    buf = io.StringIO()
    try:
        fig.savefig(buf, format="svg")
    finally:
        plt.close(fig)
    s = buf.getvalue()
    s = re.sub(r"<metadata>.*?</metadata>\s*", "", s[s.find("<svg"):], flags=re.S)  # matplotlib's RDF block
    return s


def timelines(
    scenario_paths: dict[str, Optional[str]], wanted: dict[str, list[str]], max_timelines: int
) -> tuple[dict[str, dict[str, int]], list[str], int]:
    """Draw the transcript timeline of the items in ``wanted`` (scenario -> item ids whose transcript was
    shown), at most ``max_timelines``; returns (scenario -> item -> svg index, the SVGs, how many were
    left out). A scenario file that is gone or no longer loads gives no timelines (the page says so)."""
    from matplotlib import rc_context

    from mgreason.scenario import load_scenario
    from mgreason.viz.timeline import plot_timeline

    index: dict[str, dict[str, int]] = {}
    svgs: list[str] = []
    left = 0
    for sid, ids in wanted.items():
        path = scenario_paths.get(sid)
        if not ids or not path or not Path(path).is_file():
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sc = load_scenario(path)
        except MGReasonError:
            continue
        by_id = {it.id: it for it in sc.items}
        for item_id in ids:
            it = by_id.get(item_id)
            if it is None or it.transcript is None or not it.transcript.events:
                continue
            if len(svgs) >= max_timelines:
                left += 1
                continue
            src = f" ({it.transcript_path.name})" if it.transcript_path is not None else ""
            with rc_context({"svg.fonttype": "none", "svg.hashsalt": f"{sid}/{item_id}"}):
                try:
                    fig = plot_timeline(it.transcript, title=f"transcript of {item_id}{src}")
                except MGReasonError:
                    continue
                index.setdefault(sid, {})[item_id] = len(svgs)
                svgs.append(_svg(fig))
    return index, svgs, left


def build_payload(run_dir: str | Path, *, max_timelines: int = 100) -> tuple[Report, dict[str, Any]]:
    """The report and the page's JSON document for a run or sweep directory."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise MGReasonError("not a directory", file=run_dir)
    report = build_report(run_dir)
    groups = _groups(report, run_dir)
    lines = _Lines()
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for sid, view in report.items.items():
        for item_id, row in view.items.items():
            items[(sid, item_id)] = {"s": sid, "id": item_id, "gold": row.gold, "p": {}, "a": {}}
    modes: dict[str, dict[str, Any]] = {}
    wanted: dict[str, dict[str, None]] = {}
    for g in groups:
        modes[f"{g.model}\x00{g.scenario}"] = {"mode": g.scoring_mode, "labels": g.labels}
        for r in _records(g.run_dir):
            it = items.setdefault(
                (g.scenario, r.item_id), {"s": g.scenario, "id": r.item_id, "gold": r.gold, "p": {}, "a": {}}
            )
            msgs = _messages(r.messages, lines)
            prompts, pkey = it["p"], None
            if r.condition not in prompts:
                prompts[r.condition] = msgs
            elif prompts[r.condition] != msgs:  # this model saw another prompt (other options): keep it too
                pkey = f"{g.model}\x00{r.condition}"
                prompts[pkey] = msgs
            ans: dict[str, Any] = {"p": r.prediction, "ok": 1 if r.correct else 0}
            if r.error is not None:
                ans["e"] = r.error
            if r.label_logprobs:
                ans["lp"] = {k: round(float(v), 4) for k, v in r.label_logprobs.items()}
            if r.label_mass is not None:
                ans["lm"] = round(float(r.label_mass), 4)
            if r.evidence_from is not None:
                ans["ev"] = r.evidence_from
                wanted.setdefault(g.scenario, {})[r.evidence_from] = None
            if r.raw_output is not None and (g.scoring_mode != "logprobs" or r.label_logprobs is None):
                ans["raw"] = r.raw_output
            if pkey is not None:
                ans["pk"] = pkey
            it["a"][f"{g.model}\x00{r.condition}"] = ans
    paths = {g.scenario: g.scenario_path for g in groups}
    tl_index, svgs, left = timelines(paths, {s: list(ids) for s, ids in wanted.items()}, max_timelines)
    payload = {
        "title": report.sweep,
        "kind": report.kind,
        "models": report.model_names,
        "scenarios": {s.id: {"conditions": s.conditions} for s in report.scenarios},
        "groups": modes,
        "primary": list(report.primary) if report.primary else None,
        "pairs": {sid: [list(p) for p in v.pairs] for sid, v in report.items.items()},
        "lines": lines.lines,
        "items": list(items.values()),
        "timelines": tl_index,
        "svgs": svgs,
        "timelines_left_out": left,
    }
    return report, payload


def item_count(payload: dict[str, Any]) -> int:
    return len(payload["items"])


__all__ = ["build_payload", "item_count", "timelines"]

