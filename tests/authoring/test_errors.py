"""Authoring mistakes give one clear line naming the file, the field or item, and what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mgreason.authoring.scaffold import new_scenario
from mgreason.errors import ScenarioError
from mgreason.eval.plan import build_requests
from mgreason.scenario import load_scenario
from helpers import run_cli





@pytest.fixture()
def scaffold(tmp_path) -> dict[str, Path]:
    return new_scenario("t", tmp_path)


def _rows(p: Path) -> list[dict]:
    return [json.loads(line) for line in p.read_text().splitlines()]


def _write_rows(p: Path, rows: list[dict]) -> None:
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _load_and_render(path: Path):
    return build_requests(load_scenario(path))


def test_label_not_in_label_set(scaffold):
    rows = _rows(scaffold["items"])
    rows[1]["label"] = "angry"
    _write_rows(scaffold["items"], rows)
    with pytest.raises(ScenarioError) as e:
        _load_and_render(scaffold["scenario"])
    msg = str(e.value)
    assert str(scaffold["items"]) in msg and "item ex-2" in msg
    assert "'angry' is not in the scenario's label set (relaxed, tense)" in msg


def test_label_differing_only_in_case_is_still_an_error(scaffold):
    rows = _rows(scaffold["items"])
    rows[0]["label"] = "Tense"
    _write_rows(scaffold["items"], rows)
    with pytest.raises(ScenarioError, match=r"item ex-1: label: label 'Tense' is not in the scenario's label set"):
        _load_and_render(scaffold["scenario"])


def test_duplicate_item_ids(scaffold):
    rows = _rows(scaffold["items"])
    rows[2]["id"] = "ex-1"
    _write_rows(scaffold["items"], rows)
    with pytest.raises(ScenarioError) as e:
        _load_and_render(scaffold["scenario"])
    msg = str(e.value)
    assert str(scaffold["items"]) in msg and "items[2].id" in msg and "duplicate item id 'ex-1'" in msg


def test_template_uses_a_column_the_items_do_not_have(scaffold):
    user = scaffold["user"]
    user.write_text(user.read_text().replace("{{ item.context }}", "{{ item.setting }}"))
    with pytest.raises(ScenarioError) as e:
        _load_and_render(scaffold["scenario"])
    msg = str(e.value)
    assert str(user) in msg and "undefined template variable" in msg
    assert "'setting'" in msg and "item ex-1" in msg


def test_template_uses_an_unknown_variable(scaffold):
    user = scaffold["user"]
    user.write_text(user.read_text().replace("{{ question }}", "{{ questoin }}"))
    with pytest.raises(ScenarioError, match=r"undefined template variable: 'questoin' is undefined \(item ex-1"):
        _load_and_render(scaffold["scenario"])


def test_column_missing_in_one_item_only(scaffold):
    """A column the template uses but one item lacks: the error names that item and the column."""
    rows = _rows(scaffold["items"])
    for r in rows:
        r["speaker_role"] = "manager"
    del rows[2]["speaker_role"]
    _write_rows(scaffold["items"], rows)
    user = scaffold["user"]
    user.write_text(user.read_text().replace("{{ item.context }}", "{{ item.context }} ({{ item.speaker_role }})"))
    with pytest.raises(ScenarioError) as e:
        _load_and_render(scaffold["scenario"])
    assert "'speaker_role'" in str(e.value) and "item ex-3" in str(e.value)
    # the documented way to make a column optional
    user.write_text(user.read_text().replace(
        "({{ item.speaker_role }})", "{% if item.speaker_role is defined and item.speaker_role %}({{ item.speaker_role }}){% endif %}"))
    reqs = _load_and_render(scaffold["scenario"])
    assert "(manager)" in reqs[0].messages[-1]["content"] and "(manager)" not in reqs[-1].messages[-1]["content"]


def test_unknown_field_and_bad_value_in_yaml(scaffold):
    y = scaffold["scenario"]
    text = y.read_text()
    y.write_text(text.replace("scoring:", "scorign:"))
    with pytest.raises(ScenarioError, match=r"t\.yaml: scorign: unknown field"):
        load_scenario(y)
    y.write_text(text.replace("mode: logprobs", "mode: logprob"))
    with pytest.raises(ScenarioError, match=r"t\.yaml: scoring\.mode: Input should be 'logprobs' or 'generate'"):
        load_scenario(y)


def test_missing_transcript_under_evidence_condition(scaffold):
    rows = _rows(scaffold["items"])
    rows[1]["transcript"] = None
    _write_rows(scaffold["items"], rows)
    with pytest.raises(ScenarioError, match=r"item ex-2: transcript: item has no transcript, but conditions with_mg, "
                                            r"shuffled_mg need one"):
        load_scenario(scaffold["scenario"])


def test_transcript_path_not_found(scaffold):
    rows = _rows(scaffold["items"])
    for r in rows:
        r["transcript"] = f"{r['id']}.json"
    _write_rows(scaffold["items"], rows)
    y = scaffold["scenario"]
    y.write_text(y.read_text().replace("  source: inline", "  source: path"))
    with pytest.raises(ScenarioError, match=r"item ex-1: transcript: transcript file not found: .*ex-1\.json"):
        load_scenario(y)


def test_unknown_gesture_fields_in_transcript(scaffold):
    rows = _rows(scaffold["items"])
    rows[0]["transcript"]["events"][0]["lable"] = "x"
    _write_rows(scaffold["items"], rows)
    with pytest.raises(ScenarioError, match=r"item ex-1: transcript: invalid transcript: events\.0\.lable: unknown field"):
        load_scenario(scaffold["scenario"])


def test_cli_reports_one_line_exit_2_and_no_run_directory(scaffold, tmp_path, monkeypatch, capsys):
    rows = _rows(scaffold["items"])
    rows[0]["label"] = "angry"
    _write_rows(scaffold["items"], rows)
    run_dir = tmp_path / "run"
    for args in (["validate", str(scaffold["scenario"])],
                 ["run-scenario", str(scaffold["scenario"]), "--backend", "mock", "--out", str(run_dir)]):
        code, _, stderr = run_cli(list(args), monkeypatch, capsys)
        assert code == 2
        err = [line for line in stderr.splitlines() if line.strip()]
        assert len(err) == 1 and "'angry' is not in the scenario's label set" in err[0], stderr
    assert not run_dir.exists()
