"""Run a scenario on a backend: every item under every condition, paired statistics, run directory.

Prompts are all rendered (and so validated) before the model is loaded or asked
anything, and the run directory appears only when the run is complete: it is
written under a hidden ``.partial`` name and renamed at the end.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from mgreason import __version__
from mgreason.backends.base import Backend, BackendResult, GenerationParams
from mgreason.errors import MGReasonError
from mgreason.records import ComparisonSummary, ConditionSummary, RunConfig, RunSummary, SampleRecord
from mgreason.report import summary_markdown
from mgreason.scenario.conditions import evidence_sources, transcript_of
from mgreason.scenario.loader import Scenario
from mgreason.scenario.render import PromptRequest, prompt_sha256, render_messages
from mgreason.scoring import argmax_label, parse_answer
from mgreason import stats


def build_requests(scenario: Scenario, limit: Optional[int] = None, seed: int = 0) -> list[PromptRequest]:
    """All (item, condition) prompts, item-major so that an item's conditions are adjacent
    (they share the longest prompt prefix, which prefix-caching backends exploit)."""
    items = scenario.items[:limit] if limit else list(scenario.items)
    conditions = scenario.conditions
    sources = evidence_sources(items, conditions, seed)
    out: list[PromptRequest] = []
    for item in items:
        for cond in conditions:
            src = sources[cond.name][item.id]
            messages = render_messages(scenario, item, cond, transcript_of(items, src))
            out.append(
                PromptRequest(
                    item_id=item.id,
                    condition=cond.name,
                    messages=messages,
                    prompt_sha256=prompt_sha256(messages),
                    gold=item.gold,
                    evidence_from=src,
                )
            )
    return out



def make_run_config(
    run_id: str,
    scenario: Scenario,
    backend_name: str,
    info: Any,
    params: GenerationParams,
    *,
    seed: int,
    limit: Optional[int],
    n_items: int,
    conditions: Optional[list[str]] = None,
    scenario_path: Optional[str] = None,
    model_extra: Optional[dict[str, Any]] = None,
    generation_extra: Optional[dict[str, Any]] = None,
) -> RunConfig:
    """The ``config.json`` of a run (``run-scenario``) or of one sweep cell group: what ran, on what."""
    return RunConfig(
        run_id=run_id,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        mgreason_version=__version__,
        scenario_id=scenario.id,
        scenario_version=str(scenario.spec.version),
        scenario_path=scenario_path or str(scenario.path),
        scenario_sha256=scenario.sha256,
        scenario=scenario.spec.model_dump(mode="json"),
        backend=backend_name,
        model={
            "id": info.id,
            "resolved": info.resolved,
            "sha256": info.sha256,
            "revision": info.revision,
            "dtype": info.dtype,
            **info.extra,
            **(model_extra or {}),
        },
        generation=params.__dict__ | {"stop": list(params.stop)} | (generation_extra or {}),
        scoring_mode=scenario.spec.scoring.mode,
        seed=seed,
        limit=limit,
        n_items=n_items,
        conditions=conditions if conditions is not None else [c.name for c in scenario.conditions],
        labels=scenario.labels,
    )

def generation_params(scenario: Scenario, seed: Optional[int] = None) -> GenerationParams:
    g = scenario.spec.generation
    return GenerationParams(
        temperature=g.temperature,
        max_new_tokens=g.max_new_tokens,
        top_p=g.top_p,
        seed=g.seed if seed is None else seed,
        stop=tuple(g.stop),
    )


def _slug(s: str) -> str:
    s = s.rstrip("/").split("/")[-1]
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", s).strip("-")[:60] or "model"


def new_run_id(scenario_id: str, model_id: str, backend: str) -> str:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{scenario_id}__{_slug(model_id)}__{backend}__{stamp}"


def make_records(
    run_id: str, scenario: Scenario, requests: list[PromptRequest], results: list[BackendResult]
) -> list[SampleRecord]:
    labels = scenario.labels
    mode = scenario.spec.scoring.mode
    records = []
    for req, res in zip(requests, results, strict=True):
        pred: Optional[str] = None
        if res.error is None:
            if mode == "logprobs":
                if res.label_logprobs is None or set(res.label_logprobs) != set(labels):
                    res.error = "backend returned no log-probs for the label set"
                else:
                    pred = argmax_label(res.label_logprobs, labels)
            else:
                pred = parse_answer(res.text, scenario.spec.labels)
        records.append(
            SampleRecord(
                run_id=run_id,
                scenario_id=scenario.id,
                item_id=req.item_id,
                condition=req.condition,
                prompt_sha256=req.prompt_sha256,
                messages=req.messages,
                prompt_text=res.prompt_text,
                evidence_from=req.evidence_from,
                raw_output=res.text,
                label_logprobs=res.label_logprobs,
                prediction=pred,
                gold=req.gold,
                correct=pred is not None and pred == req.gold,
                parse_ok=pred is not None,
                error=res.error,
            )
        )
    return records


def summarize(
    run_id: str,
    scenario: Scenario,
    records: list[SampleRecord],
    model: str,
    backend: str,
    seconds: float,
    seed: int = 0,
    n_boot: int = 10000,
) -> RunSummary:
    labels = scenario.labels
    by_cond: dict[str, dict[str, SampleRecord]] = {}
    for r in records:
        by_cond.setdefault(r.condition, {})[r.item_id] = r
    conds: list[ConditionSummary] = []
    for name, recs in by_cond.items():
        rs = list(recs.values())
        m = stats.condition_metrics([r.gold for r in rs], [r.prediction for r in rs], labels)
        conds.append(
            ConditionSummary(
                condition=name,
                n=m.n,
                n_correct=m.n_correct,
                accuracy=m.accuracy,
                acc_ci_low=m.acc_ci_low,
                acc_ci_high=m.acc_ci_high,
                macro_f1=m.macro_f1,
                uar=m.uar,
                n_parse_fail=m.n_parse_fail,
                n_errors=sum(r.error is not None for r in rs),
            )
        )
    comps: list[ComparisonSummary] = []
    for a, b in scenario.spec.comparison_pairs():
        if a not in by_cond or b not in by_cond:
            continue
        ids = [i for i in by_cond[a] if i in by_cond[b]]
        gold = [by_cond[a][i].gold for i in ids]
        pa = [by_cond[a][i].prediction for i in ids]
        pb = [by_cond[b][i].prediction for i in ids]
        c = stats.compare_conditions(gold, pa, pb, labels, a, b, n_boot=n_boot, seed=seed)
        comps.append(
            ComparisonSummary(
                baseline=a,
                treatment=b,
                n=c.n,
                acc_baseline=c.acc_a,
                acc_treatment=c.acc_b,
                delta_acc=c.delta_acc.delta,
                delta_acc_ci=(c.delta_acc.ci_low, c.delta_acc.ci_high),
                delta_macro_f1=c.delta_macro_f1.delta,
                delta_macro_f1_ci=(c.delta_macro_f1.ci_low, c.delta_macro_f1.ci_high),
                mcnemar_b=c.mcnemar.b,
                mcnemar_c=c.mcnemar.c,
                mcnemar_p=c.mcnemar.p,
                n_boot=n_boot,
                seed=seed,
            )
        )
    n_items = len({r.item_id for r in records})
    return RunSummary(
        run_id=run_id,
        scenario_id=scenario.id,
        model=model,
        backend=backend,
        n_items=n_items,
        seconds=round(seconds, 3),
        conditions=conds,
        comparisons=comps,
    )


@dataclass
class RunOutput:
    run_dir: Path
    summary: RunSummary
    records: list[SampleRecord]


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def run_scenario(
    scenario: Scenario,
    backend: Backend,
    *,
    out_dir: Optional[Path] = None,
    runs_root: Path = Path("runs"),
    limit: Optional[int] = None,
    seed: int = 0,
    requests: Optional[list[PromptRequest]] = None,
    progress: Optional[Callable[[int], None]] = None,
    n_boot: int = 10000,
) -> RunOutput:
    """Run every item under every condition and write the run directory."""
    if requests is None:
        requests = build_requests(scenario, limit=limit, seed=seed)
    info = backend.model_info()
    run_id = new_run_id(scenario.id, info.id, backend.name) if out_dir is None else Path(out_dir).name
    final = Path(out_dir) if out_dir is not None else runs_root / run_id
    if final.exists() and (not final.is_dir() or any(final.iterdir())):
        raise MGReasonError("output path already exists and is not an empty directory; choose another --out", file=final)
    partial = final.parent / f".{final.name}.partial"
    if partial.exists():
        shutil.rmtree(partial)

    params = generation_params(scenario, seed=None)
    t0 = time.perf_counter()
    prompts = [r.messages for r in requests]
    if scenario.spec.scoring.mode == "logprobs":
        results = backend.score_labels(prompts, scenario.labels, progress=progress)
    else:
        choices = scenario.labels if scenario.spec.scoring.constrain else None
        results = backend.generate(prompts, params, choices=choices, progress=progress)
    seconds = time.perf_counter() - t0
    if len(results) != len(requests):
        raise RuntimeError(f"backend {backend.name} returned {len(results)} results for {len(requests)} requests")

    records = make_records(run_id, scenario, requests, results)
    summary = summarize(run_id, scenario, records, info.id, backend.name, seconds, seed=seed, n_boot=n_boot)
    n_items = len({r.item_id for r in requests})
    config = make_run_config(
        run_id, scenario, backend.name, info, params, seed=seed, limit=limit, n_items=n_items
    )

    partial.mkdir(parents=True)
    _write_json(partial / "config.json", config.model_dump(mode="json"))
    with (partial / "samples.jsonl").open("w", encoding="utf-8") as f:
        for r in records:
            f.write(r.model_dump_json() + "\n")
    _write_json(partial / "summary.json", summary.model_dump(mode="json"))
    (partial / "summary.md").write_text(summary_markdown(summary, config), encoding="utf-8")
    if final.exists():
        final.rmdir()  # empty, checked above
    partial.rename(final)
    return RunOutput(run_dir=final, summary=summary, records=records)
