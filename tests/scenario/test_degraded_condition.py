"""The `transcript: degraded` condition kind (issue 17): spec validation, prompts, seeding, show-prompt, a run."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from helpers import make_items, run_cli, write_scenario
from mgreason.degrade import class_frequencies, degrade
from mgreason.eval.plan import build_requests
from mgreason.scenario import load_scenario
from mgreason.scenario.conditions import degraded_seed, degraded_transcript, evidence_transcript
from mgreason.scenario.spec import ConditionSpec
from mgreason.transcript import Transcript

DEGRADED = [
    "without_mg",
    "with_mg",
    {"name": "deg_L3", "evidence": "timeline", "transcript": "degraded", "degrade": "L3"},
    {"name": "deg_miss", "evidence": "aggregate", "transcript": "degraded", "degrade": {"miss_rate": 0.5}},
]


def rich_items(n: int = 6) -> list[dict]:
    """Items whose transcripts have 30 events each, so that degradation visibly changes them."""
    items = make_items(n)
    for k, it in enumerate(items):
        evs = []
        for j in range(30):
            s = 1.0 + 4.0 * j + 0.3 * k
            evs.append({"start_s": s, "end_s": s + 1.5, "label": ["rubbing eyes", "folding arms", "pressing lips"][(j + k) % 3]})
        it["transcript"] = {"duration_s": 200.0, "taxonomy": "imigue", "events": evs}
    return items


@pytest.fixture()
def scenario(tmp_path):
    return write_scenario(tmp_path / "sc", items=rich_items(), spec={"conditions": DEGRADED})


def test_condition_spec_validation():
    ok = ConditionSpec(name="d", evidence="timeline", transcript="degraded", degrade="L2")
    assert ok.degrade == "L2"
    c = ConditionSpec(name="d", evidence="timeline", transcript="degraded", degrade={"miss_rate": 0.2, "jitter": 0.1})
    assert c.degrade.miss_rate == 0.2
    with pytest.raises(ValidationError, match="needs `degrade`"):
        ConditionSpec(name="d", evidence="timeline", transcript="degraded")
    with pytest.raises(ValidationError, match="only used with transcript: degraded"):
        ConditionSpec(name="d", evidence="timeline", degrade="L2")
    with pytest.raises(ValidationError, match="unknown degrade level 'L9'"):
        ConditionSpec(name="d", evidence="timeline", transcript="degraded", degrade="L9")
    with pytest.raises(ValidationError, match="needs evidence timeline or aggregate"):
        ConditionSpec(name="d", evidence="none", transcript="degraded", degrade="L1")
    with pytest.raises(ValidationError):
        ConditionSpec(name="d", evidence="timeline", transcript="degraded", degrade={"miss_rate": 2})


def test_degraded_prompts_differ_from_clean_and_are_seeded(scenario):
    sc = load_scenario(scenario)
    reqs = {(r.item_id, r.condition): r for r in build_requests(sc, seed=0)}
    again = {(r.item_id, r.condition): r for r in build_requests(sc, seed=0)}
    other = {(r.item_id, r.condition): r for r in build_requests(sc, seed=1)}
    ids = [it.id for it in sc.items]
    for i in ids:
        assert reqs[(i, "deg_L3")].evidence_from == i  # the item's own transcript, degraded
        assert reqs[(i, "deg_L3")].prompt_sha256 != reqs[(i, "with_mg")].prompt_sha256
        assert reqs[(i, "deg_L3")].prompt_sha256 == again[(i, "deg_L3")].prompt_sha256
        assert "EVIDENCE (aggregate)" in reqs[(i, "deg_miss")].messages[-1]["content"]
    assert sum(reqs[(i, "deg_L3")].prompt_sha256 != other[(i, "deg_L3")].prompt_sha256 for i in ids) >= len(ids) - 1
    # the clean conditions do not depend on the seed
    assert all(reqs[(i, "with_mg")].prompt_sha256 == other[(i, "with_mg")].prompt_sha256 for i in ids)


def test_the_prompt_shows_exactly_the_degraded_transcript(scenario):
    sc = load_scenario(scenario)
    cond = next(c for c in sc.conditions if c.name == "deg_L3")
    it = sc.items[2]
    freq = class_frequencies([x.transcript for x in sc.items])
    want = degrade(it.transcript, "L3", degraded_seed(0, "deg_L3", it.id), class_freq=freq)
    got = degraded_transcript(sc.items, cond, it.id, 0)
    assert got.transcript == want.transcript and got.f1 == want.f1
    assert 0.0 < got.f1[0.3] < 1.0
    req = next(r for r in build_requests(sc, seed=0) if r.item_id == it.id and r.condition == "deg_L3")
    assert want.transcript.render() in req.messages[-1]["content"]


def test_limit_does_not_change_a_video_s_degraded_transcript(scenario):
    sc = load_scenario(scenario)
    full = {r.item_id: r.prompt_sha256 for r in build_requests(sc, seed=0) if r.condition == "deg_L3"}
    part = {r.item_id: r.prompt_sha256 for r in build_requests(sc, limit=2, seed=0) if r.condition == "deg_L3"}
    assert part and all(full[i] == h for i, h in part.items())


def test_evidence_transcript_passes_clean_conditions_through(scenario):
    sc = load_scenario(scenario)
    with_mg = next(c for c in sc.conditions if c.name == "with_mg")
    assert evidence_transcript(sc.items, with_mg, sc.items[0].id, 0) is sc.items[0].transcript
    assert evidence_transcript(sc.items, with_mg, None, 0) is None


def test_show_prompt_shows_the_degraded_condition(scenario, monkeypatch, capsys):
    res = run_cli(["show-prompt", scenario, "--item", "it01", "--condition", "deg_L3", "--json"], monkeypatch, capsys)
    assert res.code == 0, res.err
    out = json.loads(res.out)
    assert [o["condition"] for o in out] == ["deg_L3"]
    sc = load_scenario(scenario)
    cond = next(c for c in sc.conditions if c.name == "deg_L3")
    t: Transcript = degraded_transcript(sc.items, cond, "it01", 0).transcript
    assert t.render() in out[0]["messages"][-1]["content"]


def test_bad_degrade_level_in_a_scenario_is_one_line_naming_the_file(tmp_path, monkeypatch, capsys):
    bad = [{"name": "d", "evidence": "timeline", "transcript": "degraded", "degrade": "L42"}]
    path = write_scenario(tmp_path / "bad", items=rich_items(), spec={"conditions": bad})
    res = run_cli(["validate", path], monkeypatch, capsys)
    assert res.code == 2
    assert "Traceback" not in res.err and len(res.err.strip().splitlines()) == 1
    assert "L42" in res.err and "scenario.yaml" in res.err


def test_run_scenario_pairs_degraded_with_without_mg_on_the_mock_backend(scenario, tmp_path):
    from mgreason.backends.mock import MockBackend
    from mgreason.eval.run import run_scenario

    sc = load_scenario(scenario)
    out = run_scenario(sc, MockBackend(), out_dir=tmp_path / "run", seed=0, n_boot=200)
    summary = json.loads((out.run_dir / "summary.json").read_text(encoding="utf-8"))
    text = json.dumps(summary)
    assert "deg_L3" in text and "deg_miss" in text
    recs = [json.loads(x) for x in (out.run_dir / "samples.jsonl").read_text(encoding="utf-8").splitlines() if x]
    assert {r["condition"] for r in recs} == {"without_mg", "with_mg", "deg_L3", "deg_miss"}
    assert len(recs) == 6 * 4
