"""Every scenario shipped in scenarios/*.yaml loads, renders every prompt, and runs on the mock
backend through the CLI. New scenario files are picked up automatically."""

from __future__ import annotations

import json
import re

import pytest

from helpers import REPO, SHIPPED_SCENARIOS, run_cli
from mgreason.errors import DatasetMissingError
from mgreason.eval.records import SampleRecord
from mgreason.eval.plan import build_requests
from mgreason.scenario import load_scenario

ids = [p.name for p in SHIPPED_SCENARIOS]


def test_the_demo_scenario_is_shipped():
    assert REPO / "scenarios" / "demo_press_emotion.yaml" in SHIPPED_SCENARIOS


def load_or_skip(path):
    try:
        return load_scenario(path)
    except DatasetMissingError as e:  # built from third-party data the user has to obtain
        pytest.skip(f"dataset not available: {e}")


@pytest.mark.parametrize("path", SHIPPED_SCENARIOS, ids=ids)
def test_loads_and_renders_every_prompt(path):
    sc = load_or_skip(path)
    assert len(sc.items) >= 2
    assert sc.user_template.resolve().is_relative_to(REPO)
    if sc.system_template is not None:
        assert sc.system_template.resolve().is_relative_to(REPO)
    reqs = build_requests(sc)
    conds = [c.name for c in sc.conditions]
    assert len(reqs) == len(sc.items) * len(conds)
    assert {(r.item_id, r.condition) for r in reqs} == {(it.id, c) for it in sc.items for c in conds}
    by_key = {(r.item_id, r.condition): r for r in reqs}
    for r in reqs:
        assert r.messages and r.messages[-1]["role"] == "user"
        assert all(m["content"].strip() for m in r.messages)
        # no missing value rendered as the text "None" (a whole line, or after "Speaker: ")
        assert not re.search(r"(^|: )None$", r.messages[-1]["content"], re.M), r.messages[-1]["content"]
    for it in sc.items:
        hashes = [by_key[(it.id, c)].prompt_sha256 for c in conds]
        assert len(set(hashes)) == len(conds), f"{it.id}: two conditions render the same prompt"
        for c in sc.conditions:
            r = by_key[(it.id, c.name)]
            if c.evidence == "none":
                assert r.evidence_from is None
            elif c.transcript == "own":
                assert r.evidence_from == it.id
            else:
                assert r.evidence_from not in (None, it.id)


@pytest.mark.parametrize("path", SHIPPED_SCENARIOS, ids=ids)
def test_labels_and_gold(path):
    sc = load_or_skip(path)
    assert len(set(sc.labels)) == len(sc.labels) >= 2
    assert {it.gold for it in sc.items} <= set(sc.labels)
    assert len({it.id for it in sc.items}) == len(sc.items)


@pytest.mark.parametrize("path", SHIPPED_SCENARIOS, ids=ids)
def test_runs_on_the_mock_backend_via_the_cli(path, tmp_path, monkeypatch, capsys):
    sc = load_or_skip(path)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    res = run_cli(["run-scenario", path, "--backend", "mock", "--limit", "2", "--out", out, "--n-boot", "200"], monkeypatch, capsys)
    assert res.code == 0, res.err
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "samples.jsonl", "summary.json", "summary.md"]
    recs = [SampleRecord.model_validate_json(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert len(recs) == 2 * len(sc.conditions)
    assert {r.item_id for r in recs} == {it.id for it in sc.items[:2]}
    summary = json.loads((out / "summary.json").read_text())
    assert [c["condition"] for c in summary["conditions"]] == [c.name for c in sc.conditions]
    assert all(c["n"] == 2 for c in summary["conditions"])
    assert not (tmp_path / "runs").exists()
