"""A sweep sizes each model's backend to all its work (issue 32): the workload given to create_backend holds
the prompts of every scenario and seed of the sweep, their labels and the largest generation budget."""

from __future__ import annotations

from pathlib import Path

import yaml

from helpers import make_items, write_scenario
from mgreason.eval.plan import build_requests
from mgreason.sweep.manifest import build_plan
from mgreason.sweep.spec import load_sweep
from mgreason.sweep.worker import model_workload


def test_model_workload_covers_every_scenario_and_seed(tmp_path: Path):
    rels = []
    for sid, n, extra in (("sc_a", 3, ""), ("sc_b", 2, " with a much longer context " * 20)):
        items = make_items(n)
        for it in items:
            it["context"] = f"{sid}: {it['context']}{extra}"
        write_scenario(tmp_path / "scen" / sid, fmt="inline", items=items, spec={"id": sid})
        rels.append(tmp_path / "scen" / sid / "scenario.yaml")
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({
        "id": "w", "models": [{"name": "m1", "backend": "mock", "model": "mock-a"}],
        "scenarios": [str(r) for r in rels], "output_dir": str(tmp_path / "out"), "seeds": [0, 1],
    }), encoding="utf-8")  # fmt: skip
    spec = load_sweep(sweep)
    plan = build_plan(spec, sweep, tmp_path / "out", None, rels)
    w = model_workload(plan)
    expected = [r.messages for sp in plan.scenarios for seed in (0, 1) for r in build_requests(sp.scenario, seed=seed)]
    assert list(w.prompts) == expected
    assert any("much longer context" in m["content"] for p in w.prompts for m in p)  # sc_b's long prompts too
    assert list(w.labels) == list(plan.scenarios[0].scenario.labels)
    assert w.max_new_tokens == max(sp.scenario.spec.generation.max_new_tokens for sp in plan.scenarios)
