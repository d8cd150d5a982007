"""What an evaluation will do, decided before any model loads: every (item, condition) prompt rendered
(and so validated), the generation parameters, the run id and the ``config.json`` of the run."""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any, Callable, Optional, Sequence

from mgreason import __version__
from mgreason.backends.base import GenerationParams, Workload
from mgreason.eval.records import RunConfig
from mgreason.scenario.conditions import evidence_sources, evidence_transcript
from mgreason.scenario.demonstrations import pick_demonstrations
from mgreason.scenario.loader import Item, Scenario
from mgreason.scenario.render import PromptRequest, prompt_sha256, render_messages
from mgreason.scenario.spec import ConditionSpec
from mgreason.transcript import Transcript


def build_requests(scenario: Scenario, limit: Optional[int] = None, seed: int = 0) -> list[PromptRequest]:
    """All (item, condition) prompts, item-major so that an item's conditions are adjacent
    (they share the longest prompt prefix, which prefix-caching backends exploit)."""
    items = scenario.items[:limit] if limit else list(scenario.items)
    conditions = scenario.conditions
    sources = evidence_sources(items, conditions, seed)
    shots = demonstration_shots(scenario, seed)
    out: list[PromptRequest] = []
    for item in items:
        for cond in conditions:
            src = sources[cond.name][item.id]
            messages = render_messages(
                scenario, item, cond, evidence_transcript(items, cond, src, seed, scenario.items), shots(item.id, cond)
            )
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


Shots = list[tuple[Item, Optional[Transcript]]]


def demonstration_shots(scenario: Scenario, seed: int = 0) -> Callable[[str, ConditionSpec], Shots]:
    """``shots(query_id, condition)``: the query's k-shot demonstrations (``scenario.spec.demonstrations``,
    drawn per query id) with their evidence under ``condition``; always empty without demonstrations."""
    demo_spec, pool = scenario.spec.demonstrations, scenario.demo_items
    if demo_spec is None:
        return lambda query_id, cond: []
    demo_sources = evidence_sources(pool, scenario.conditions, seed)

    def shots(query_id: str, cond: ConditionSpec) -> Shots:
        demos = pick_demonstrations(pool, scenario.labels, demo_spec.k, demo_spec.seed, query_id)
        return [(d, evidence_transcript(pool, cond, demo_sources[cond.name][d.id], seed, pool)) for d in demos]

    return shots


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
        labelled=scenario.labelled,
        transcripts=scenario.transcripts_provenance(),
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


def workload(scenario: Scenario, requests: Sequence[PromptRequest]) -> Workload:
    """What the run asks of the backend before it is created (vLLM sizes its engine to it)."""
    return Workload(
        prompts=[r.messages for r in requests],
        labels=list(scenario.labels),
        max_new_tokens=scenario.spec.generation.max_new_tokens,
    )


def _slug(s: str) -> str:
    s = s.rstrip("/").split("/")[-1]
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", s).strip("-")[:60] or "model"


def new_run_id(scenario_id: str, model_id: str, backend: str) -> str:
    """``<scenario>__<model>__<backend>__<YYYYmmdd-HHMMSS>-<microseconds>``: two runs started in the
    same second get different ids (and run-scenario claims its directory, so a clash is retried)."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return f"{scenario_id}__{_slug(model_id)}__{backend}__{stamp}"


__all__ = ["build_requests", "demonstration_shots", "generation_params", "make_run_config", "new_run_id", "workload"]
