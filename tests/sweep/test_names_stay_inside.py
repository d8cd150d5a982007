"""Issue 30, item 7: a sweep model name, a sweep id, a scenario id or a condition name of "." or ".."
passes no more: every output path stays inside the sweep's / run's output directory."""

from __future__ import annotations

import pytest
import yaml

from helpers import assert_one_line_error, run_cli, write_scenario


@pytest.mark.parametrize("bad", ["..", ".", "...", "a/b"])
def test_sweep_model_name_cannot_leave_the_output_directory(tmp_path, monkeypatch, capsys, bad):
    write_scenario(tmp_path / "scen", spec={"id": "sc"})
    data = {
        "id": "names", "models": [{"name": bad, "backend": "mock", "model": "mock-a"}],
        "scenarios": ["scen/scenario.yaml"], "output_dir": str(tmp_path / "sub" / "out"), "cache": False,
    }
    p = tmp_path / "sweep.yaml"
    p.write_text(yaml.safe_dump(data), encoding="utf-8")
    res = run_cli(["sweep", p], monkeypatch, capsys)
    assert_one_line_error(res, "models.0.name")
    assert sorted(x.name for x in tmp_path.iterdir()) == ["scen", "sweep.yaml"]


@pytest.mark.parametrize("bad", ["..", ".", "...."])
def test_scenario_id_and_condition_name_cannot_be_dots(tmp_path, monkeypatch, capsys, bad):
    path = write_scenario(tmp_path / "a", spec={"id": bad})
    assert_one_line_error(run_cli(["validate", path], monkeypatch, capsys), "id")
    cond = {"name": bad, "evidence": "timeline"}
    path = write_scenario(tmp_path / "b", spec={"conditions": ["without_mg", cond]})
    assert_one_line_error(run_cli(["validate", path], monkeypatch, capsys), "conditions.1.", "name", "pattern")


@pytest.mark.parametrize("good", ["v1.2", ".hidden", "a..b", "x-", "_"])
def test_names_with_dots_and_other_characters_still_pass(tmp_path, good):
    from mgreason.scenario import load_scenario

    assert load_scenario(write_scenario(tmp_path, spec={"id": good})).id == good
