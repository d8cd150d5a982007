"""`mgreason datasets build-items` (issue 24): the written scenario validates, runs and hides identities."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mgreason.authoring.real_data import write_scenario
from mgreason.datasets.dolos import load_dolos
from mgreason.datasets.rlt import load_rlt
from mgreason.eval.plan import build_requests
from mgreason.scenario import load_scenario

from tests.datasets.deception_fixtures import dolos_fixture, write_groups, write_rlt
from tests.helpers import assert_one_line_error, run_cli

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "dolos"


def _prompts(scenario_path: Path) -> list[str]:
    sc = load_scenario(scenario_path)
    return [json.dumps(r.messages, ensure_ascii=False) for r in build_requests(sc)]


def _assert_hidden(items: list[dict], prompts: list[str]) -> None:
    text = "\n".join(prompts)
    for it in items:
        for col in ("clip", "participant", "gender", "episode"):
            v = it.get(col)
            if v:
                assert str(v) not in text, (col, v)
    for word in ("WILTY", "Some Show", "female", "trial_lie", "Would I Lie"):
        assert word not in text


def test_dolos_scenario_validates_and_hides_identity(tmp_path):
    data = load_dolos(dolos_fixture(tmp_path / "d"))
    paths = write_scenario(data, tmp_path / "out", shots=2)
    assert paths["scenario"] == tmp_path / "out" / "deception_dolos.yaml"
    sc = load_scenario(paths["scenario"])
    assert sc.spec.demonstrations is not None and sc.spec.demonstrations.k == 2
    assert {it.id for it in sc.demo_items} == set(data.splits["speaker"]["train"])
    prompts = _prompts(paths["scenario"])
    _assert_hidden(data.items, prompts)
    assert any("00:04.0–00:05.0  smiling" in p for p in prompts)
    splits = json.loads((tmp_path / "out" / "splits.json").read_text())
    assert splits["speaker"]["speakers_in_two_parts"] == 0 and "protocol_fold1" in splits


@pytest.mark.parametrize("transcriptions", [True, False])
def test_rlt_scenario_with_and_without_transcriptions(tmp_path, monkeypatch, capsys, transcriptions):
    root = write_rlt(tmp_path / "r", transcriptions=transcriptions)
    out = tmp_path / "out"
    r = run_cli(["datasets", "build-items", "rlt", "--root", root, "--out", out, "--groups", write_groups(tmp_path / "g.csv")],
                monkeypatch, capsys)
    assert r.code == 0, r.err
    scenario = out / "deception_rlt.yaml"
    items = [json.loads(line) for line in (out / "all.jsonl").read_text().splitlines()]
    assert {it["group"] for it in items} == {"S0", "S1", "S2", "S3"}
    prompts = _prompts(scenario)
    _assert_hidden(items, prompts)
    assert any("observed in the recording (no times annotated):\\n- " in p for p in prompts)
    assert not any("00:00" in p for p in prompts)  # presence-only evidence is never a timeline at 00:00
    assert any("What the person said" in p for p in prompts) == transcriptions
    run = run_cli(["run-scenario", scenario, "--backend", "mock", "--out", tmp_path / "run", "--no-cache"], monkeypatch, capsys)
    assert run.code == 0, run.err
    assert (tmp_path / "run" / "summary.json").is_file()


def test_imigue_alias_and_unknown_dataset(tmp_path, monkeypatch, capsys):
    r = run_cli(["datasets", "build-items", "nope", "--root", tmp_path, "--out", tmp_path / "o"], monkeypatch, capsys)
    assert_one_line_error(r, "unknown dataset 'nope'; choose dolos, rlt or imigue")
    r = run_cli(["imigue", "build-items", "--help"], monkeypatch, capsys)
    assert r.code == 0 and "--labels" in r.out


@pytest.mark.skipif(not (SHARED / "Dolos.xlsx").is_file(), reason="shared DOLOS annotations absent")
def test_real_dolos_one_command_validates(tmp_path, monkeypatch, capsys):
    r = run_cli(["datasets", "build-items", "dolos", "--root", SHARED, "--out", tmp_path / "o"], monkeypatch, capsys)
    assert r.code == 0, r.err
    assert "speakers in two parts: 0" in r.out
    v = run_cli(["validate", tmp_path / "o" / "deception_dolos.yaml"], monkeypatch, capsys)
    assert v.code == 0 and "419 items" in v.out, v.err
