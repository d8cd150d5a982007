"""The sweep's cells and their state on disk.

A **cell** is one (model, scenario, condition, item, repeat). The plan lists every cell
before anything runs; the state of a cell is read back from disk, never kept in memory:

``models/<model>/<scenario>/samples.jsonl``
    one :class:`~mgreason.eval.records.SampleRecord` per *finished* cell (answered, or failed
    after every retry), appended and fsync'ed per batch. The source of truth for resume.
``models/<model>/<scenario>/attempts.jsonl``
    one line per failed attempt (cell, attempt number, error), so retries survive a kill.

Reading either file repairs it: a torn last line (a kill during a write) is dropped and
duplicate cells are removed (the first record wins), then the file is rewritten atomically.
``manifest.jsonl`` (one line per cell: status, attempts, error) and ``status.json`` (counts)
are views derived from these files, rewritten atomically.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

from mgreason.eval.store import AttemptLog, Attempts, CellKey, RecordStore, atomic_write_json, read_jsonl
from mgreason.fileio import atomic_write_text
from mgreason.sweep.spec import SweepError, SweepSpec

PENDING, DONE, FAILED = "pending", "done", "failed"


# --------------------------------------------------------------------------- the plan


@dataclass
class ScenarioPlan:
    id: str
    path: Path
    sha256: str
    conditions: list[str]
    item_ids: list[str]
    scenario: Any = field(default=None, repr=False)  # the loaded Scenario (conditions filtered)

    def cells(self, repeats: int) -> Iterator[CellKey]:
        """Repeat-major, then item-major (an item's conditions are adjacent: they share a prompt prefix)."""
        for r in range(repeats):
            for item in self.item_ids:
                for cond in self.conditions:
                    yield (cond, item, r)


@dataclass
class SweepPlan:
    spec: SweepSpec
    sweep_file: Path
    out: Path
    cache_path: Optional[Path]
    scenarios: list[ScenarioPlan]

    def cell_dir(self, model: str, scenario: str) -> Path:
        for name in (model, scenario):  # the specs' name patterns already refuse these: a second lock
            if name in ("", ".", "..") or "/" in name or os.sep in name:
                raise SweepError(f"{name!r} cannot name a directory of the sweep", file=self.sweep_file)
        return self.out / "models" / model / scenario

    def records(self, model: str, scenario: str) -> RecordStore:
        return RecordStore(self.cell_dir(model, scenario) / "samples.jsonl")

    def attempts(self, model: str, scenario: str) -> AttemptLog:
        return AttemptLog(self.cell_dir(model, scenario) / "attempts.jsonl")

    @property
    def n_cells(self) -> int:
        return len(self.spec.models) * sum(
            len(s.item_ids) * len(s.conditions) * int(self.spec.repeats or 1) for s in self.scenarios
        )

    def to_json(self) -> dict[str, Any]:
        """What ``sweep.json`` holds: the resolved spec and the resolved paths (read by the workers)."""
        return {
            "spec": self.spec.model_dump(mode="json"),
            "sweep_file": str(self.sweep_file),
            "out": str(self.out),
            "cache_path": str(self.cache_path) if self.cache_path else None,
            "scenarios": [
                {"id": s.id, "path": str(s.path), "sha256": s.sha256, "conditions": s.conditions, "item_ids": s.item_ids}
                for s in self.scenarios
            ],
        }


def build_plan(spec: SweepSpec, sweep_file: Path, out: Path, cache_path: Optional[Path], scenario_files: list[Path]) -> SweepPlan:
    """Load every scenario (validating every prompt) and list the cells. No model is loaded."""
    from mgreason.backends import backend_names
    from mgreason.eval.plan import build_requests
    from mgreason.scenario import load_scenario

    from mgreason.sweep.spec import python_path

    for i, m in enumerate(spec.models):
        if m.backend not in backend_names():
            raise SweepError(
                f"unknown backend {m.backend!r}; choose one of: {', '.join(backend_names())}",
                file=sweep_file,
                field=f"models.{i}.backend",
            )
        py = python_path(m, sweep_file)
        if py is not None and not (py.is_file() and os.access(py, os.X_OK)):
            raise SweepError(f"interpreter not found: {py}", file=sweep_file, field=f"models.{i}.python")
    plans: list[ScenarioPlan] = []
    seen: dict[str, Path] = {}
    unused = set(spec.conditions or [])
    for path in scenario_files:
        sc = load_scenario(path)
        if sc.id in seen:
            raise SweepError(f"scenario id {sc.id!r} is used by both {seen[sc.id]} and {path}", file=sweep_file, field="scenarios")
        seen[sc.id] = path
        if spec.conditions is not None:
            names = [c.name for c in sc.conditions]
            chosen = [c for c in sc.conditions if c.name in spec.conditions]
            unused -= set(names)
            if not chosen:
                raise SweepError(
                    f"scenario {sc.id} has none of the conditions {', '.join(spec.conditions)} (it has {', '.join(names)})",
                    file=sweep_file,
                    field="conditions",
                )
            sc.conditions = chosen
        for seed in spec.seeds or [0]:
            build_requests(sc, limit=spec.limit, seed=seed)  # renders, and so validates, every prompt
        items = sc.items[: spec.limit] if spec.limit else sc.items
        plans.append(
            ScenarioPlan(
                id=sc.id,
                path=path,
                sha256=sc.sha256,
                conditions=[c.name for c in sc.conditions],
                item_ids=[it.id for it in items],
                scenario=sc,
            )
        )
    if unused:
        raise SweepError(f"no scenario has the condition(s) {', '.join(sorted(unused))}", file=sweep_file, field="conditions")
    return SweepPlan(spec=spec, sweep_file=sweep_file, out=out, cache_path=cache_path, scenarios=plans)


def load_plan(out: Path, load_scenarios: bool = True) -> SweepPlan:
    """The plan saved in ``<out>/sweep.json`` (workers and the report read it)."""
    out = Path(out)
    try:
        data = json.loads((out / "sweep.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SweepError("not a sweep run directory (no sweep.json)", file=out) from None
    spec = SweepSpec.model_validate(data["spec"])
    sweep_file = Path(data["sweep_file"])
    cache = Path(data["cache_path"]) if data.get("cache_path") else None
    if load_scenarios:
        plan = build_plan(spec, sweep_file, out, cache, [Path(s["path"]) for s in data["scenarios"]])
        for s, saved in zip(plan.scenarios, data["scenarios"]):
            if s.sha256 != saved["sha256"]:
                raise SweepError(
                    f"scenario {s.id} changed on disk while the sweep was running (sha256 {saved['sha256'][:12]}… → "
                    f"{s.sha256[:12]}…)",
                    file=s.path,
                )
        return plan
    scen = [
        ScenarioPlan(id=s["id"], path=Path(s["path"]), sha256=s["sha256"], conditions=s["conditions"], item_ids=s["item_ids"])
        for s in data["scenarios"]
    ]
    return SweepPlan(spec=spec, sweep_file=sweep_file, out=out, cache_path=cache, scenarios=scen)


# --------------------------------------------------------------------------- the manifest


@dataclass
class CellState:
    model: str
    scenario: str
    condition: str
    item_id: str
    repeat: int
    status: str
    attempts: int = 0
    error: Optional[str] = None

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "scenario": self.scenario,
            "condition": self.condition,
            "item_id": self.item_id,
            "repeat": self.repeat,
            "status": self.status,
            "attempts": self.attempts,
            "error": self.error,
        }


@dataclass
class Manifest:
    cells: list[CellState]
    model_errors: dict[str, str] = field(default_factory=dict)  # model -> why its process did not finish

    def counts(self) -> dict[str, int]:
        c = {PENDING: 0, DONE: 0, FAILED: 0}
        for cell in self.cells:
            c[cell.status] += 1
        return c

    def by_model(self, model: str) -> list[CellState]:
        return [c for c in self.cells if c.model == model]

    def pending(self, model: Optional[str] = None) -> list[CellState]:
        return [c for c in self.cells if c.status == PENDING and (model is None or c.model == model)]

    def failed(self) -> list[CellState]:
        return [c for c in self.cells if c.status == FAILED]


def build_manifest(plan: SweepPlan, model_errors: Optional[dict[str, str]] = None, repair: bool = False) -> Manifest:
    """The state of every planned cell, read from the sample and attempt files."""
    cells: list[CellState] = []
    errors = dict(model_errors or {})
    for m in plan.spec.models:
        for s in plan.scenarios:
            recs = plan.records(m.name, s.id).load(repair=repair)
            atts = plan.attempts(m.name, s.id).load(repair=repair)
            for key in s.cells(int(plan.spec.repeats or 1)):
                cond, item, rep = key
                a = atts.get(key, Attempts())
                r = recs.get(key)
                if r is not None:
                    status = DONE if r.error is None else FAILED
                    err = r.error
                else:
                    status = PENDING
                    err = a.last_error or errors.get(m.name)
                cells.append(CellState(m.name, s.id, cond, item, rep, status, a.count, err))
    return Manifest(cells=cells, model_errors=errors)


def write_manifest(plan: SweepPlan, manifest: Manifest) -> None:
    atomic_write_text(
        plan.out / "manifest.jsonl", "".join(json.dumps(c.to_json(), ensure_ascii=False) + "\n" for c in manifest.cells)
    )
    counts = manifest.counts()
    per_model = {}
    for m in plan.spec.models:
        cm = {PENDING: 0, DONE: 0, FAILED: 0}
        for c in manifest.by_model(m.name):
            cm[c.status] += 1
        per_model[m.name] = cm
    atomic_write_json(
        plan.out / "status.json",
        {
            "sweep": plan.spec.id,
            "total": len(manifest.cells),
            **counts,
            "complete": counts[PENDING] == 0,
            "models": per_model,
            "model_errors": manifest.model_errors,
        },
    )


def read_manifest(out: Path) -> list[CellState]:
    rows, _ = read_jsonl(Path(out) / "manifest.jsonl", lambda d: CellState(**d))
    return rows


__all__ = [
    "AttemptLog",
    "CellState",
    "Manifest",
    "RecordStore",
    "ScenarioPlan",
    "SweepPlan",
    "build_manifest",
    "build_plan",
    "load_plan",
    "read_manifest",
    "write_manifest",
]
