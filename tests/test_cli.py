"""Tests for the `mgreason` command line (mock backend only): schema, validate, show-prompt,
run-scenario, and the bad-input contract: exit code 2, one line on stderr naming the file and
the field, no traceback, no run directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import (
    USER_TPL,
    assert_no_run_dir,
    assert_one_line_error,
    make_items,
    run_cli,
    run_cli_subprocess,
    write_scenario,
)
from mgreason.eval.records import SampleRecord
from mgreason.scenario.render import prompt_sha256

N_BOOT = ["--n-boot", "200"]
RUN_FILES = ["config.json", "samples.jsonl", "summary.json", "summary.md"]


@pytest.fixture
def cli(monkeypatch, capsys, tmp_path):
    """In-process `mgreason ...`, from tmp_path as the working directory."""
    monkeypatch.chdir(tmp_path)
    return lambda *args: run_cli(list(args), monkeypatch, capsys)


# ---- schema -------------------------------------------------------------------------


def _refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def test_schema_prints_the_json_schema(cli):
    res = cli("schema")
    assert res.code == 0 and res.err == ""
    schema = json.loads(res.out)
    assert schema["type"] == "object" and schema["title"] == "ScenarioSpec"
    assert {"id", "version", "question", "labels", "prompts", "items", "transcripts", "conditions", "comparisons",
            "scoring", "generation", "synthetic"} <= set(schema["properties"])
    assert {"id", "version", "question", "labels", "prompts", "items"} <= set(schema["required"])
    assert {"ConditionSpec", "LabelSpec", "ItemsSpec", "PromptsSpec"} <= set(schema["$defs"])
    # every reference resolves
    for ref in _refs(schema):
        assert ref.startswith("#/$defs/") and ref.split("/")[-1] in schema["$defs"]
    items = schema["$defs"]["ItemsSpec"]["properties"]
    assert {"path", "format", "inline", "fields"} <= set(items)
    assert schema["$defs"]["ConditionSpec"]["properties"]["evidence"]["enum"] == ["none", "timeline", "aggregate"]


def test_schema_is_a_valid_json_schema_and_accepts_the_demo(cli):
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    from helpers import REPO

    schema = json.loads(cli("schema").out)
    jsonschema.Draft202012Validator.check_schema(schema)
    demo = yaml.safe_load((REPO / "scenarios" / "demo_press_emotion.yaml").read_text())
    jsonschema.validate(demo, schema)


# ---- validate -----------------------------------------------------------------------


def test_validate_a_directory(cli, tmp_path):
    write_scenario(tmp_path / "sc", name="a.yaml")
    write_scenario(tmp_path / "sc", name="b.yml", spec={"id": "second", "conditions": ["without_mg", "with_mg"]})
    res = cli("validate", tmp_path / "sc")
    assert res.code == 0, res.err
    lines = res.out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("ok  ") and "a.yaml" in lines[0] and "6 items, 4 conditions, 24 prompts" in lines[0]
    assert "b.yml" in lines[1] and "second v1: 6 items, 2 conditions, 12 prompts" in lines[1]
    assert lines[2] == "2 scenario files: 2 valid"


def test_validate_files_and_directories_together(cli, tmp_path):
    a = write_scenario(tmp_path / "one")
    write_scenario(tmp_path / "two")
    res = cli("validate", a, tmp_path / "two")
    assert res.code == 0 and len(res.out.strip().splitlines()) == 3


def test_validate_reports_a_bad_scenario_in_a_directory(cli, tmp_path):
    write_scenario(tmp_path / "sc", name="a.yaml")
    write_scenario(tmp_path / "sc", name="b.yaml", spec={"bogus": True})
    res = cli("validate", tmp_path / "sc")
    assert_one_line_error(res, "b.yaml", "bogus", "unknown field")
    assert "a.yaml" in res.out


def test_validate_checks_every_file_and_summarises(cli, tmp_path):
    write_scenario(tmp_path / "sc", name="a.yaml", spec={"bogus": True})
    write_scenario(tmp_path / "sc", name="b.yaml")
    write_scenario(tmp_path / "sc", name="c.yaml", spec={"prompts": {"user": "prompts/c.j2"}})
    (tmp_path / "sc" / "prompts" / "c.j2").write_text("{{ 1 / 0 }}")
    res = cli("validate", tmp_path / "sc")
    assert res.code == 2 and "Traceback" not in res.err
    errs = res.err.strip().splitlines()
    assert len(errs) == 2 and "a.yaml" in errs[0] and "bogus" in errs[0] and "c.j2" in errs[1] and "ZeroDivision" in errs[1]
    assert "b.yaml" in res.out and res.out.strip().splitlines()[-1] == "3 scenario files: 1 valid, 2 invalid"


def test_validate_renders_every_prompt(cli, tmp_path):
    items = make_items(4)
    items[3]["speaker"] = "Player"  # only the last item has the field the template uses
    write_scenario(tmp_path, items=items, user=USER_TPL + "\n{{ item.speaker }}")
    res = cli("validate", tmp_path / "scenario.yaml")
    assert_one_line_error(res, "user.j2", "speaker", "item it00")


def test_validate_empty_directory(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    assert_one_line_error(cli("validate", tmp_path / "empty"), "no scenario files found")


# ---- show-prompt --------------------------------------------------------------------


def test_show_prompt_one_item_and_condition(cli, tmp_path):
    sc = write_scenario(tmp_path)
    res = cli("show-prompt", sc, "--item", "it02", "--condition", "with_mg")
    assert res.code == 0, res.err
    out = res.out
    assert out.startswith("===== item it02 · condition with_mg · sha256 ")
    assert out.count("=====") == 2  # one header
    assert "--- system ---\nYou judge emotions. Possible answers: positive, negative.\n" in out
    assert "--- user ---\nContext: Press conference number 2.\n" in out
    assert "EVIDENCE (timeline):" in out


def test_show_prompt_json(cli, tmp_path):
    sc = write_scenario(tmp_path)
    res = cli("show-prompt", sc, "--item", "it02", "--condition", "shuffled_mg", "--json")
    assert res.code == 0, res.err
    data = json.loads(res.out)
    assert len(data) == 1 and data[0]["condition"] == "shuffled_mg"
    msgs = data[0]["messages"]
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert data[0]["prompt_sha256"] == prompt_sha256(msgs)
    assert "EVIDENCE (timeline):" in msgs[1]["content"]
    # the text form shows the same hash prefix
    text = cli("show-prompt", sc, "--item", "it02", "--condition", "shuffled_mg").out
    assert f"sha256 {data[0]['prompt_sha256'][:16]}" in text


def test_show_prompt_defaults_first_item_all_conditions(cli, tmp_path):
    sc = write_scenario(tmp_path)
    data = json.loads(cli("show-prompt", sc, "--json").out)
    assert [d["condition"] for d in data] == ["without_mg", "with_mg", "shuffled_mg", "aggregate_mg"]
    assert all("Press conference number 0." in d["messages"][1]["content"] for d in data)


def test_show_prompt_seed_changes_the_shuffled_evidence(cli, tmp_path):
    sc = write_scenario(tmp_path)
    outs = {cli("show-prompt", sc, "-c", "shuffled_mg", "--seed", str(s), "--json").out for s in range(4)}
    assert len(outs) > 1


def test_show_prompt_unknown_item(cli, tmp_path):
    sc = write_scenario(tmp_path)
    assert_one_line_error(cli("show-prompt", sc, "--item", "it99"), str(sc), "items", "no item with id 'it99'")


def test_show_prompt_unknown_condition(cli, tmp_path):
    sc = write_scenario(tmp_path, spec={"conditions": ["without_mg", "with_mg"]})
    assert_one_line_error(
        cli("show-prompt", sc, "--condition", "shuffled_mg"), "--condition", "unknown condition 'shuffled_mg'", "with_mg"
    )


# ---- run-scenario -------------------------------------------------------------------


def test_run_scenario_writes_the_run_directory(cli, tmp_path):
    sc = write_scenario(tmp_path / "sc")
    out = tmp_path / "out" / "run1"
    res = cli("run-scenario", sc, "--backend", "mock", "--out", out, "--seed", "3", *N_BOOT)
    assert res.code == 0, res.err
    assert sorted(p.name for p in out.iterdir()) == RUN_FILES
    assert res.out.startswith("# tmp_scenario — mock (mock)")
    assert "| with_mg | 6 |" in res.out
    assert "6 items × 4 conditions = 24 prompts" in res.err
    assert f"wrote {out}/" in res.err
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["seed"] == 3 and cfg["backend"] == "mock"
    assert len((out / "samples.jsonl").read_text().splitlines()) == 24
    assert not (tmp_path / "runs").exists()


def test_run_scenario_limit(cli, tmp_path):
    sc = write_scenario(tmp_path / "sc")
    res = cli("run-scenario", sc, "-b", "mock", "-n", "2", "-o", tmp_path / "r", *N_BOOT)
    assert res.code == 0, res.err
    recs = [SampleRecord.model_validate_json(x) for x in (tmp_path / "r" / "samples.jsonl").read_text().splitlines()]
    assert {r.item_id for r in recs} == {"it00", "it01"} and len(recs) == 8


def test_run_scenario_default_out_is_under_runs(cli, tmp_path):
    sc = write_scenario(tmp_path / "sc")
    res = cli("run-scenario", sc, "-b", "mock", *N_BOOT)
    assert res.code == 0, res.err
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("tmp_scenario__mock__mock__")
    assert sorted(p.name for p in runs[0].iterdir()) == RUN_FILES


def test_run_scenario_refuses_a_non_empty_out(cli, tmp_path):
    sc = write_scenario(tmp_path / "sc")
    out = tmp_path / "run"
    out.mkdir()
    (out / "old.txt").write_text("keep")
    res = cli("run-scenario", sc, "-b", "mock", "-o", out, *N_BOOT)
    assert res.code == 2 and "Traceback" not in res.err
    assert res.err.strip().splitlines()[-1].startswith(f"error: {out}: ")
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    assert not (tmp_path / ".run.partial").exists()


# ---- bad input: exit 2, one line naming file and field, no traceback, no run directory ----


def _bad_scenarios(root: Path) -> dict[str, tuple[Path, list[str], list[str]]]:
    """name → (scenario path, extra CLI args, strings the error line must contain)."""
    cases: dict[str, tuple[Path, list[str], list[str]]] = {}

    p = write_scenario(root / "malformed", raw_yaml="id: demo\nversion: 1\nlabels: [positive, negative\nquestion: q\n")
    cases["malformed_yaml"] = (p, [], [str(p), "malformed YAML", "line 4"])

    p = write_scenario(root / "unknown_field", spec={"labelz": ["a"]})
    cases["unknown_top_level_field"] = (p, [], [str(p), "labelz", "unknown field"])

    items = make_items(6)
    items[4]["label"] = "ecstatic"
    p = write_scenario(root / "unknown_label", items=items)
    cases["unknown_label"] = (p, [], [str(root / "unknown_label" / "data" / "items.jsonl"), "item it04", "label", "'ecstatic'"])

    items = make_items(6)
    items[5]["id"] = "it00"
    p = write_scenario(root / "dup", items=items)
    cases["duplicate_ids"] = (p, [], [str(root / "dup" / "data" / "items.jsonl"), "items[5].id", "duplicate item id 'it00'"])

    p = write_scenario(root / "undef", user=USER_TPL.replace("Player: {{ item.text }}", "{{ item.speaker }}: {{ item.text }}"))
    cases["missing_template_variable"] = (p, [], [str(root / "undef" / "prompts" / "user.j2"), "speaker", "item it00"])

    p = write_scenario(root / "syntax", user="Context: {{ item.context }}\n{% if evidence %}\n{{ evidence }}\n")
    cases["template_syntax_error"] = (p, [], [str(root / "syntax" / "prompts" / "user.j2"), "syntax error"])

    p = write_scenario(root / "sandbox", system="{{ labels.__class__.__base__.__subclasses__() }}")
    cases["sandbox"] = (p, [], [str(root / "sandbox" / "prompts" / "system.j2"), "sandbox"])

    p = write_scenario(root / "noitems")
    (root / "noitems" / "data" / "items.jsonl").unlink()
    cases["missing_items_file"] = (p, [], [str(p), "items.path", "items file not found"])

    p = write_scenario(root / "notpl")
    (root / "notpl" / "prompts" / "user.j2").unlink()
    cases["missing_template_file"] = (p, [], [str(p), "prompts.user", "template not found"])

    p = write_scenario(root / "cond", spec={"conditions": ["without_mg", "with_evidence"]})
    cases["unknown_condition"] = (p, [], [str(p), "conditions", "unknown condition 'with_evidence'"])

    p = write_scenario(root / "badtr", items=[dict(it, transcript={"duration_s": 1.0, "events": it["transcript"]["events"]}) if it["id"] == "it03" else it for it in make_items(6)])
    cases["invalid_transcript"] = (p, [], ["items.jsonl", "item it03: transcript", "duration_s"])

    p = write_scenario(root / "backend")
    cases["unknown_backend"] = (p, ["--backend", "gpt5"], ["--backend", "unknown backend 'gpt5'"])

    p = write_scenario(root / "limit1")
    cases["limit_1_with_shuffled_control"] = (p, ["--limit", "1"], ["conditions", "shuffled_mg", "at least 2 items"])

    # an id that looks like console markup must be printed as written
    items = make_items(4)
    items[0]["id"] = "clip[bold]"
    items[2]["id"] = "clip[bold]"
    p = write_scenario(root / "markup", items=items)
    cases["markup_in_message"] = (p, [], ["duplicate item id 'clip[bold]'"])
    items = make_items(4)
    items[1]["label"] = "[/red]"
    p = write_scenario(root / "markup2", items=items)
    cases["closing_markup_in_message"] = (p, [], ["label '[/red]'"])
    return cases


BAD_CASES = [
    "malformed_yaml",
    "unknown_top_level_field",
    "unknown_label",
    "duplicate_ids",
    "missing_template_variable",
    "template_syntax_error",
    "sandbox",
    "missing_items_file",
    "missing_template_file",
    "unknown_condition",
    "invalid_transcript",
    "unknown_backend",
    "limit_1_with_shuffled_control",
    "markup_in_message",
    "closing_markup_in_message",
]


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    return _bad_scenarios(tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_run_scenario(cli, tmp_path, bad, case):
    path, extra, needles = bad[case]
    out = tmp_path / "out" / "run"
    res = cli("run-scenario", path, "--backend", "mock", "--out", out, *extra, *N_BOOT)
    assert_one_line_error(res, *needles)
    assert res.out == ""
    assert_no_run_dir(out)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("case", [c for c in BAD_CASES if c not in ("unknown_backend", "limit_1_with_shuffled_control")])
def test_bad_input_validate_and_show_prompt(cli, bad, case):
    path, _, needles = bad[case]
    assert_one_line_error(cli("validate", path), *needles)
    if case not in ("duplicate_ids", "markup_in_message"):
        assert_one_line_error(cli("show-prompt", path), *needles)


def test_missing_scenario_file(cli, tmp_path):
    out = tmp_path / "run"
    res = cli("run-scenario", tmp_path / "nope.yaml", "-b", "mock", "-o", out)
    assert_one_line_error(res, str(tmp_path / "nope.yaml"), "file not found")
    assert_no_run_dir(out)


def test_usage_error_is_not_a_traceback(cli):
    res = cli("run-scenario")
    assert res.code == 2 and "Traceback" not in res.err and "Missing argument" in res.err


# ---- the real command, as a subprocess ------------------------------------------------


@pytest.mark.parametrize("case", ["malformed_yaml", "missing_template_variable"])
def test_bad_input_subprocess(tmp_path, bad, case):
    path, extra, needles = bad[case]
    out = tmp_path / "out"
    res = run_cli_subprocess(["run-scenario", path, "--backend", "mock", "--out", out, *extra], cwd=tmp_path)
    assert_one_line_error(res, *needles)
    assert_no_run_dir(out)
    assert not (tmp_path / "runs").exists()


def test_scenario_outside_the_repo_runs_end_to_end_subprocess(tmp_path):
    """A scenario with its own prompts dir in tmp_path, run from an unrelated working directory."""
    sc = write_scenario(tmp_path / "my_scenario", fmt="csv", items=make_items(5))
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    out = tmp_path / "results" / "run"
    res = run_cli_subprocess(["run-scenario", sc, "--backend", "mock", "--out", out, "--limit", "4", *N_BOOT], cwd=cwd)
    assert res.code == 0, res.err
    assert "Traceback" not in res.err
    assert sorted(p.name for p in out.iterdir()) == RUN_FILES
    recs = [SampleRecord.model_validate_json(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert len(recs) == 16
    assert {r.item_id for r in recs} == {"it00", "it01", "it02", "it03"}
    assert res.out.startswith("# tmp_scenario — mock (mock)")
    assert list(cwd.iterdir()) == []
