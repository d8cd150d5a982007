"""Tests for run-scenario (mgreason.eval.run) on the deterministic mock backend: run directory, records, summary."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from helpers import make_items, write_scenario
from mgreason.backends.base import BackendResult
from mgreason.backends.mock import MockBackend
from mgreason.errors import MGReasonError
from mgreason.eval.records import RunConfig, RunSummary, SampleRecord
from mgreason.eval.plan import build_requests, generation_params, new_run_id
from mgreason.eval.run import run_scenario
from mgreason.scenario import load_scenario

N_BOOT = 200
CONDS = ["without_mg", "with_mg", "shuffled_mg", "aggregate_mg"]


def read_samples(run_dir: Path) -> list[SampleRecord]:
    lines = (run_dir / "samples.jsonl").read_text(encoding="utf-8").splitlines()
    return [SampleRecord.model_validate_json(line) for line in lines]


def recount(records: list[SampleRecord]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for r in records:
        c = out.setdefault(r.condition, {"n": 0, "correct": 0, "parse_fail": 0, "errors": 0})
        c["n"] += 1
        c["correct"] += r.correct
        c["parse_fail"] += r.prediction is None
        c["errors"] += r.error is not None
    return out


def assert_summary_matches_samples(run_dir: Path, records: list[SampleRecord]) -> RunSummary:
    summary = RunSummary.model_validate_json((run_dir / "summary.json").read_text(encoding="utf-8"))
    counts = recount(records)
    assert [c.condition for c in summary.conditions] == list(counts)
    for c in summary.conditions:
        k = counts[c.condition]
        assert (c.n, c.n_correct, c.n_parse_fail, c.n_errors) == (k["n"], k["correct"], k["parse_fail"], k["errors"])
        assert c.accuracy == pytest.approx(k["correct"] / k["n"])
        assert c.acc_ci_low <= c.accuracy <= c.acc_ci_high
    return summary


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    return load_scenario(write_scenario(tmp_path_factory.mktemp("runner"), items=make_items(6)))


@pytest.fixture(scope="module")
def run(scenario, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "r1"
    return run_scenario(scenario, MockBackend(), out_dir=out, n_boot=N_BOOT, seed=0)


def test_run_directory_files(run):
    d = run.run_dir
    assert d.name == "r1"
    assert sorted(p.name for p in d.iterdir()) == ["config.json", "samples.jsonl", "summary.json", "summary.md"]
    assert not (d.parent / ".r1.partial").exists()


def test_config_json(run, scenario):
    cfg = RunConfig.model_validate_json((run.run_dir / "config.json").read_text(encoding="utf-8"))
    assert cfg.run_id == "r1"
    assert cfg.scenario_id == "tmp_scenario" and cfg.scenario_version == "1"
    assert cfg.scenario_sha256 == scenario.sha256
    assert cfg.scenario_path == str(scenario.path)
    assert cfg.scenario["labels"][0]["name"] == "positive"
    assert cfg.backend == "mock" and cfg.model["id"] == "mock" and cfg.model["mock"] is True
    assert cfg.conditions == CONDS and cfg.labels == ["positive", "negative"]
    assert cfg.n_items == 6 and cfg.limit is None and cfg.seed == 0
    assert cfg.scoring_mode == "logprobs"
    assert cfg.generation == {"temperature": 0.0, "max_new_tokens": 16, "top_p": 1.0, "seed": 0, "stop": []}
    assert cfg.mgreason_version


def test_samples_one_record_per_item_and_condition(run, scenario):
    recs = read_samples(run.run_dir)
    assert len(recs) == 6 * 4
    pairs = [(r.item_id, r.condition) for r in recs]
    assert len(set(pairs)) == len(pairs)
    assert set(pairs) == {(it.id, c) for it in scenario.items for c in CONDS}
    # item-major: an item's conditions are adjacent, in the scenario's order
    assert pairs[:4] == [("it00", c) for c in CONDS]
    assert recs == run.records


def test_sample_fields(run, scenario):
    for r in read_samples(run.run_dir):
        it = scenario.item(r.item_id)
        assert r.run_id == "r1" and r.scenario_id == "tmp_scenario" and r.repeat == 0
        canon = json.dumps(r.messages, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        assert r.prompt_sha256 == hashlib.sha256(canon.encode("utf-8")).hexdigest()
        assert r.gold == it.gold
        assert r.error is None and r.parse_ok and r.raw_output is None
        assert set(r.label_logprobs) == {"positive", "negative"}
        assert r.prediction == max(r.label_logprobs, key=r.label_logprobs.get)
        assert r.correct == (r.prediction == r.gold)
        assert r.prompt_text is not None and r.messages[-1]["content"] in r.prompt_text
        if r.condition == "without_mg":
            assert r.evidence_from is None
        elif r.condition == "shuffled_mg":
            assert r.evidence_from not in (None, r.item_id)
            assert scenario.item(r.evidence_from).transcript.render() in r.messages[-1]["content"]
        else:
            assert r.evidence_from == r.item_id


def test_summary_matches_samples(run):
    recs = read_samples(run.run_dir)
    summary = assert_summary_matches_samples(run.run_dir, recs)
    assert summary.n_items == 6 and summary.backend == "mock" and summary.model == "mock"
    assert [(c.baseline, c.treatment) for c in summary.comparisons] == [
        ("without_mg", "with_mg"),
        ("without_mg", "shuffled_mg"),
        ("without_mg", "aggregate_mg"),
        ("shuffled_mg", "with_mg"),
    ]
    by = {(r.item_id, r.condition): r for r in recs}
    for c in summary.comparisons:
        ids = sorted({r.item_id for r in recs})
        a = [by[(i, c.baseline)].correct for i in ids]
        b = [by[(i, c.treatment)].correct for i in ids]
        assert c.n == 6 and c.n_boot == N_BOOT
        assert c.delta_acc == pytest.approx(sum(b) / 6 - sum(a) / 6)
        assert c.mcnemar_b == sum(x and not y for x, y in zip(a, b))
        assert c.mcnemar_c == sum(y and not x for x, y in zip(a, b))
    md = (run.run_dir / "summary.md").read_text(encoding="utf-8")
    for c in summary.conditions:
        assert f"| {c.condition} | {c.n} | {c.accuracy:.3f} |" in md
    assert "without_mg → with_mg" in md


def test_the_mock_is_deterministic(scenario, tmp_path):
    a = run_scenario(scenario, MockBackend(), out_dir=tmp_path / "a", n_boot=N_BOOT)
    b = run_scenario(scenario, MockBackend(), out_dir=tmp_path / "b", n_boot=N_BOOT)
    assert [r.label_logprobs for r in a.records] == [r.label_logprobs for r in b.records]
    assert a.summary.conditions == b.summary.conditions


def test_evidence_reaches_the_backend(tmp_path):
    """Plant the mock's [gold:LABEL] marker in each item's own transcript: with the evidence the
    mock is always right, and the paired comparison sees it."""
    items = make_items(6)
    for it in items:
        it["transcript"]["events"][0]["label"] = f"[gold:{it['label']}]"
    spec = {"conditions": ["without_mg", "with_mg", "shuffled_mg"], "transcripts": {"labels": "any"}}  # free-text marker
    sc = load_scenario(write_scenario(tmp_path, items=items, spec=spec))
    res = run_scenario(sc, MockBackend(), out_dir=tmp_path / "run", n_boot=N_BOOT)
    acc = {c.condition: c.accuracy for c in res.summary.conditions}
    assert acc["with_mg"] == 1.0
    # labels alternate and the shuffled control shows another item's marker
    shuffled = [r for r in res.records if r.condition == "shuffled_mg"]
    golds = {it["id"]: it["label"] for it in items}
    assert all(r.correct == (golds[r.evidence_from] == r.gold) for r in shuffled)
    comp = {(c.baseline, c.treatment): c for c in res.summary.comparisons}
    assert comp[("without_mg", "with_mg")].delta_acc == pytest.approx(1.0 - acc["without_mg"])
    assert comp[("without_mg", "with_mg")].mcnemar_b == 0


def test_generate_mode_unparseable_reply_is_recorded_and_counted_wrong(tmp_path):
    sc = load_scenario(write_scenario(tmp_path, spec={"scoring": {"mode": "generate"}}))
    res = run_scenario(sc, MockBackend(reply="I cannot tell."), out_dir=tmp_path / "run", n_boot=N_BOOT)
    recs = read_samples(res.run_dir)
    assert len(recs) == 24
    for r in recs:
        assert r.raw_output == "I cannot tell."
        assert r.parse_ok is False and r.prediction is None and r.correct is False
        assert r.error is None and r.label_logprobs is None
    summary = assert_summary_matches_samples(res.run_dir, recs)
    for c in summary.conditions:
        assert (c.n, c.n_correct, c.n_parse_fail, c.accuracy) == (6, 0, 6, 0.0)
    cfg = json.loads((res.run_dir / "config.json").read_text())
    assert cfg["scoring_mode"] == "generate"


def test_generate_mode_parses_replies(tmp_path):
    sc = load_scenario(write_scenario(tmp_path, spec={"scoring": {"mode": "generate"}}))
    res = run_scenario(sc, MockBackend(reply="The answer is: Negative."), out_dir=tmp_path / "run", n_boot=N_BOOT)
    assert all(r.prediction == "negative" and r.parse_ok for r in res.records)
    assert all(c.accuracy == 0.5 for c in res.summary.conditions)


def test_generate_mode_mixed_replies_nothing_is_dropped(tmp_path):
    sc = load_scenario(write_scenario(tmp_path, items=make_items(10), spec={"scoring": {"mode": "generate"}}))
    res = run_scenario(sc, MockBackend(), out_dir=tmp_path / "run", n_boot=N_BOOT)
    recs = read_samples(res.run_dir)
    assert len(recs) == 40
    assert any(not r.parse_ok for r in recs) and any(r.parse_ok for r in recs)
    summary = assert_summary_matches_samples(res.run_dir, recs)
    assert all(c.n == 10 for c in summary.conditions)


def test_generate_mode_constrained(tmp_path):
    sc = load_scenario(write_scenario(tmp_path, spec={"scoring": {"mode": "generate", "constrain": True}}))
    res = run_scenario(sc, MockBackend(), out_dir=tmp_path / "run", n_boot=N_BOOT)
    assert all(r.parse_ok and r.raw_output in ("positive", "negative") for r in res.records)


def test_backend_errors_are_recorded_and_counted_wrong(scenario, tmp_path):
    res = run_scenario(scenario, MockBackend(fail_every=3), out_dir=tmp_path / "run", n_boot=N_BOOT)
    recs = read_samples(res.run_dir)
    assert len(recs) == 24
    failed = [i for i, r in enumerate(recs) if r.error is not None]
    assert failed == [2, 5, 8, 11, 14, 17, 20, 23]
    for i in failed:
        r = recs[i]
        assert r.error == "mock failure (fail_every)"
        assert r.correct is False and r.prediction is None and r.label_logprobs is None
    summary = assert_summary_matches_samples(res.run_dir, recs)
    assert sum(c.n_errors for c in summary.conditions) == 8
    assert all(c.n == 6 for c in summary.conditions)
    assert "| 2 |" in (res.run_dir / "summary.md").read_text()  # the errors column


def test_backend_errors_in_generate_mode(tmp_path):
    sc = load_scenario(write_scenario(tmp_path, spec={"scoring": {"mode": "generate"}}))
    res = run_scenario(sc, MockBackend(fail_every=2, reply="positive"), out_dir=tmp_path / "run", n_boot=N_BOOT)
    errs = [r for r in res.records if r.error]
    assert len(errs) == 12 and all(not r.correct and r.raw_output is None for r in errs)
    assert sum(c.n_errors for c in res.summary.conditions) == 12


class WrongLabelsBackend(MockBackend):
    def score_labels(self, prompts, labels, progress=None):
        return [BackendResult(label_logprobs={"positive": -1.0}) for _ in prompts]


def test_logprobs_missing_a_label_is_an_error_record(scenario, tmp_path):
    res = run_scenario(scenario, WrongLabelsBackend(), out_dir=tmp_path / "run", n_boot=N_BOOT)
    assert all(r.error == "backend returned no log-probs for the label set" and not r.correct for r in res.records)


class ShortBackend(MockBackend):
    def score_labels(self, prompts, labels, progress=None):
        return super().score_labels(prompts[:-1], labels, progress)


def test_wrong_number_of_results_fails_without_a_run_directory(scenario, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="returned 23 results for 24 requests"):
        run_scenario(scenario, ShortBackend(), out_dir=out, n_boot=N_BOOT)
    assert list(tmp_path.iterdir()) == []


def test_progress_is_reported(scenario, tmp_path):
    seen = []
    run_scenario(scenario, MockBackend(), out_dir=tmp_path / "run", n_boot=N_BOOT, progress=seen.append)
    assert sum(seen) == 24


def test_limit(scenario, tmp_path):
    res = run_scenario(scenario, MockBackend(), out_dir=tmp_path / "run", limit=2, n_boot=N_BOOT)
    assert {r.item_id for r in res.records} == {"it00", "it01"}
    cfg = json.loads((res.run_dir / "config.json").read_text())
    assert cfg["limit"] == 2 and cfg["n_items"] == 2
    assert res.summary.n_items == 2


def test_refuses_a_non_empty_out_dir(scenario, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    with pytest.raises(MGReasonError, match="not an empty directory") as e:
        run_scenario(scenario, MockBackend(), out_dir=out, n_boot=N_BOOT)
    assert e.value.file == str(out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"] and (out / "keep.txt").read_text() == "precious"
    assert not (tmp_path / ".run.partial").exists()


def test_refuses_an_out_path_that_is_a_file(scenario, tmp_path):
    out = tmp_path / "run"
    out.write_text("x")
    with pytest.raises(MGReasonError):
        run_scenario(scenario, MockBackend(), out_dir=out, n_boot=N_BOOT)
    assert out.read_text() == "x"


def test_an_existing_empty_out_dir_is_used(scenario, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    res = run_scenario(scenario, MockBackend(), out_dir=out, n_boot=N_BOOT)
    assert (res.run_dir / "samples.jsonl").is_file()


def test_a_stale_partial_dir_is_replaced(scenario, tmp_path):
    stale = tmp_path / ".run.partial"
    stale.mkdir()
    (stale / "junk").write_text("old")
    res = run_scenario(scenario, MockBackend(), out_dir=tmp_path / "run", n_boot=N_BOOT)
    assert not stale.exists()
    assert sorted(p.name for p in res.run_dir.iterdir()) == ["config.json", "samples.jsonl", "summary.json", "summary.md"]


def test_default_run_directory_under_runs_root(scenario, tmp_path):
    res = run_scenario(scenario, MockBackend("some/org/Model-1"), runs_root=tmp_path / "runs", n_boot=N_BOOT)
    assert res.run_dir.parent == tmp_path / "runs"
    assert re.fullmatch(r"tmp_scenario__Model-1__mock__\d{8}-\d{6}-\d{6}", res.run_dir.name)
    assert all(r.run_id == res.run_dir.name for r in read_samples(res.run_dir))


def test_new_run_id_slugs_the_model():
    rid = new_run_id("sc", "/models/My Model (v2)/", "hf")
    assert re.fullmatch(r"sc__My-Model-v2__hf__\d{8}-\d{6}-\d{6}", rid)


def test_generation_params(tmp_path):
    sc = load_scenario(
        write_scenario(tmp_path, spec={"generation": {"temperature": 0.7, "max_new_tokens": 5, "seed": 3, "stop": ["\n"]}})
    )
    p = generation_params(sc)
    assert (p.temperature, p.max_new_tokens, p.seed, p.stop) == (0.7, 5, 3, ("\n",))
    assert generation_params(sc, seed=9).seed == 9


def test_requests_can_be_prebuilt(scenario, tmp_path):
    reqs = build_requests(scenario, limit=3, seed=5)
    res = run_scenario(scenario, MockBackend(), out_dir=tmp_path / "run", requests=reqs, n_boot=N_BOOT)
    assert [(r.item_id, r.condition, r.prompt_sha256) for r in res.records] == [
        (q.item_id, q.condition, q.prompt_sha256) for q in reqs
    ]
