"""``run-scenario``: one model, one scenario, in process, through the evaluation engine.

Prompts are all rendered (and so validated) before the model is asked anything; answers already in
the response cache (the same one sweeps use) are not recomputed; the run directory appears only when
the run is complete: it is written under a hidden ``.partial`` name and renamed at the end.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from mgreason.backends.base import Backend
from mgreason.errors import MGReasonError
from mgreason.eval.cache import ResponseCache, model_identity
from mgreason.eval.engine import BatchReport, Cell, Engine, Totals
from mgreason.eval.plan import build_requests, generation_params, make_run_config, new_run_id
from mgreason.eval.records import RunSummary, SampleRecord
from mgreason.eval.report import summary_markdown
from mgreason.eval.store import MemoryAttempts, MemoryStore
from mgreason.eval.summary import summarize
from mgreason.scenario.loader import Scenario
from mgreason.scenario.render import PromptRequest


DEFAULT_BATCH = 64  # prompts per backend call: large enough for batching engines, small enough to lose little on Ctrl-C


@dataclass
class RunOutput:
    run_dir: Path
    summary: RunSummary
    records: list[SampleRecord]
    totals: Totals


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def check_out_dir(final: Path) -> None:
    """A run directory must be new or empty."""
    if final.exists() and (not final.is_dir() or any(final.iterdir())):
        raise MGReasonError("output path already exists and is not an empty directory; choose another --out", file=final)


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
    cache: Optional[ResponseCache] = None,
    options: Optional[Mapping[str, Any]] = None,
    engine_args: Optional[Mapping[str, Any]] = None,
    retries: int = 0,
    batch_size: Optional[int] = DEFAULT_BATCH,
    ceiling: bool = True,
) -> RunOutput:
    """Run every item under every condition and write the run directory.

    Prompts go to the backend in batches of about ``batch_size`` (whole items; None = all at once), and each
    batch's answers reach the cache as soon as it is done, so an interrupted run keeps them.
    With ``cache``, answers are looked up under the model identity (``backend.model_info()`` plus the
    ``options``/``engine_args`` the backend was created with) and new ones are stored.
    ``ceiling``: fit the evidence ceiling (:mod:`mgreason.eval.ceiling`) beside the LLM's rows.
    """
    if requests is None:
        requests = build_requests(scenario, limit=limit, seed=seed)
    info = backend.model_info()
    run_id = new_run_id(scenario.id, info.id, backend.name) if out_dir is None else Path(out_dir).name
    final = Path(out_dir) if out_dir is not None else runs_root / run_id
    check_out_dir(final)
    partial = final.parent / f".{final.name}.partial"
    if partial.exists():
        shutil.rmtree(partial)

    mkey = None
    if cache is not None:
        identity = model_identity(backend.name, info, options, engine_args)
        mkey = cache.register_model(identity)

    def on_batch(b: BatchReport) -> None:
        if progress is not None and b.cached:
            progress(b.cached)  # the backend reports the computed ones itself

    store = MemoryStore()
    engine = Engine(
        backend=backend, scenario=scenario, run_id=run_id, store=store, attempts=MemoryAttempts(), cache=cache,
        model_key=mkey, retries=retries, batch_size=batch_size, progress=progress, on_batch=on_batch,
    )  # fmt: skip
    cells = [Cell((r.condition, r.item_id, 0), r) for r in requests]
    totals = engine.run(cells)
    got = store.load()
    records = [got[c.key] for c in cells]

    summary = summarize(
        run_id, scenario, records, info.id, backend.name, totals.seconds, seed=seed, n_boot=n_boot, ceiling=ceiling
    )
    params = generation_params(scenario, seed=None)
    config = make_run_config(
        run_id, scenario, backend.name, info, params, seed=seed, limit=limit,
        n_items=len({r.item_id for r in requests}),
        model_extra={"cache_key": mkey} if mkey else None,
    )  # fmt: skip

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
    return RunOutput(run_dir=final, summary=summary, records=records, totals=totals)


__all__ = ["RunOutput", "check_out_dir", "run_scenario"]
