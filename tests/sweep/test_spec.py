"""The sweep file: pydantic validation, path resolution, seeds/repeats, the plan, CLI errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import REPO, assert_one_line_error, run_cli, write_scenario
from mgreason.sweep.execute import plan_sweep
from mgreason.sweep.spec import SweepError, cache_path, load_sweep, output_dir, parse_sweep, scenario_paths

BASE: dict[str, Any] = {
    "id": "s1",
    "models": [{"name": "m1", "backend": "mock"}],
    "scenarios": ["scen/a/scenario.yaml"],
}


def write(tmp_path: Path, data: dict[str, Any], name: str = "sweep.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return p


def test_minimal_file_and_defaults():
    s = parse_sweep(BASE)
    assert s.repeats == 1 and s.seeds == [0]
    assert s.retries == 2 and s.cache is True and s.conditions is None and s.limit is None
    m = s.models[0]
    assert m.options == {} and m.engine_args == {} and m.request_delay_s == 0.0 and m.model is None


@pytest.mark.parametrize(
    "seeds,repeats,want",
    [(None, 3, [0, 1, 2]), ([5, 7], None, [5, 7]), ([1, 2, 3], 3, [1, 2, 3])],
)
def test_seeds_and_repeats(seeds, repeats, want):
    d = dict(BASE)
    if seeds is not None:
        d["seeds"] = seeds
    if repeats is not None:
        d["repeats"] = repeats
    s = parse_sweep(d)
    assert s.seeds == want and s.repeats == len(want)


@pytest.mark.parametrize(
    "patch,field,needle",
    [
        ({"models": []}, "models", "at least 1"),
        ({"models": [{"name": "a"}, {"name": "a"}]}, "models", "unique"),
        ({"models": [{"name": "bad name"}]}, "models.0.name", "pattern"),
        ({"models": [{"name": "a", "weights": "x"}]}, "models.0.weights", "unknown field"),
        ({"scenarios": []}, "scenarios", "at least 1"),
        ({"scenarios": ["a.yaml", "a.yaml"]}, "scenarios", "twice"),
        ({"seeds": [1, 2], "repeats": 3}, None, "one per repeat"),
        ({"seeds": [1, 1]}, None, "unique"),
        ({"repeats": 0}, "repeats", "greater than or equal"),
        ({"retries": -1}, "retries", "greater than or equal"),
        ({"conditions": []}, "conditions", "must not be empty"),
        ({"unknown": 1}, "unknown", "unknown field"),
        ({"id": "has space"}, "id", "pattern"),
    ],
)
def test_invalid_files_name_the_field(patch, field, needle):
    d = {**BASE, **patch}
    with pytest.raises(SweepError) as e:
        parse_sweep(d, "x.yaml")
    msg = str(e.value)
    assert msg.startswith("x.yaml: ")
    if field:
        assert f": {field}: " in msg, msg
    assert needle in msg, msg


def test_paths_resolve_relative_to_the_sweep_file(tmp_path, monkeypatch):
    sub = tmp_path / "sweeps"
    sub.mkdir()
    p = write(sub, {**BASE, "scenarios": ["../scen/a.yaml", str(tmp_path / "abs.yaml")], "cache": "c.sqlite"})
    spec = load_sweep(p)
    assert scenario_paths(spec, p) == [(tmp_path / "scen" / "a.yaml").resolve(), (tmp_path / "abs.yaml").resolve()]
    assert cache_path(spec, p) == (sub / "c.sqlite").resolve()
    monkeypatch.chdir(tmp_path)
    assert output_dir(spec) == (tmp_path / "runs" / "sweeps" / "s1").resolve()  # relative to the working directory
    assert output_dir(spec, "elsewhere") == (tmp_path / "elsewhere").resolve()
    monkeypatch.setenv("MGREASON_CACHE_DIR", str(tmp_path / "mg"))
    monkeypatch.delenv("MGREASON_RESPONSE_CACHE", raising=False)
    assert cache_path(parse_sweep({**BASE, "cache": True}), p) == (tmp_path / "mg" / "responses.sqlite").resolve()
    assert cache_path(parse_sweep({**BASE, "cache": False}), p) is None


def test_plan_lists_every_cell_and_filters_conditions(tmp_path):
    write_scenario(tmp_path / "scen" / "a", fmt="inline", n_items=5, spec={"id": "a"})
    write_scenario(tmp_path / "scen" / "b", fmt="inline", n_items=3, spec={"id": "b", "conditions": ["without_mg", "with_mg"]})
    p = write(
        tmp_path,
        {
            **BASE,
            "models": [{"name": "m1", "backend": "mock"}, {"name": "m2", "backend": "mock"}],
            "scenarios": ["scen/a/scenario.yaml", "scen/b/scenario.yaml"],
            "conditions": ["without_mg", "with_mg", "shuffled_mg"],
            "seeds": [0, 1],
            "limit": 4,
            "output_dir": str(tmp_path / "out"),
        },
    )
    plan = plan_sweep(p)
    a, b = plan.scenarios
    assert a.conditions == ["without_mg", "with_mg", "shuffled_mg"]  # aggregate_mg filtered out
    assert b.conditions == ["without_mg", "with_mg"]
    assert a.item_ids == ["it00", "it01", "it02", "it03"]  # limit
    cells_a = list(a.cells(2))
    assert len(cells_a) == 4 * 3 * 2 and len(set(cells_a)) == len(cells_a)
    assert cells_a[:3] == [("without_mg", "it00", 0), ("with_mg", "it00", 0), ("shuffled_mg", "it00", 0)]
    assert plan.n_cells == 2 * (4 * 3 + 3 * 2) * 2
    assert not (tmp_path / "out").exists()  # planning writes nothing


def test_plan_errors(tmp_path):
    write_scenario(tmp_path / "scen" / "a", fmt="inline", n_items=3, spec={"id": "a"})
    p = write(tmp_path, {**BASE, "models": [{"name": "m", "backend": "nope"}]})
    with pytest.raises(SweepError, match=r"models\.0\.backend: unknown backend 'nope'"):
        plan_sweep(p)
    p = write(tmp_path, {**BASE, "conditions": ["with_mg", "made_up"]})
    with pytest.raises(SweepError, match="no scenario has the condition.*made_up"):
        plan_sweep(p)
    write_scenario(tmp_path / "scen" / "dup", fmt="inline", n_items=3, spec={"id": "a"})
    p = write(tmp_path, {**BASE, "scenarios": ["scen/a/scenario.yaml", "scen/dup/scenario.yaml"]})
    with pytest.raises(SweepError, match="scenario id 'a' is used by both"):
        plan_sweep(p)


def test_cli_bad_sweep_file_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    p = write(tmp_path, {**BASE, "models": [{"name": "m1", "backend": "mock", "engine": 1}]})
    res = run_cli(["sweep", str(p)], monkeypatch, capsys)
    assert_one_line_error(res, str(p), "models.0.engine", "unknown field")
    p.write_text("id: [unclosed\n", encoding="utf-8")
    res = run_cli(["sweep", str(p)], monkeypatch, capsys)
    assert_one_line_error(res, "malformed YAML")
    res = run_cli(["sweep", str(tmp_path / "missing.yaml")], monkeypatch, capsys)
    assert_one_line_error(res, "file not found")
    res = run_cli(["report", str(tmp_path)], monkeypatch, capsys)
    assert_one_line_error(res, "not a run directory (config.json, samples.jsonl) nor a sweep directory (sweep.json)")


def test_cli_dry_run_of_the_shipped_cpu_demo(monkeypatch, capsys):
    res = run_cli(["sweep", str(REPO / "sweeps" / "cpu-demo.yaml"), "--dry-run", "--out", "/nonexistent/x"], monkeypatch, capsys)
    assert res.code == 0, res.err
    assert "scenario demo_press_emotion: 12 items × 3 conditions" in res.out
    assert "scenario demo_press_emotion_v2: 12 items × 3 conditions" in res.out
    assert "72 cells" in res.out
    assert not Path("/nonexistent/x").exists()


def test_every_shipped_sweep_file_validates():
    files = sorted((REPO / "sweeps").glob("*.yaml"))
    assert files
    for f in files:
        plan = plan_sweep(f, out="/nonexistent/plan-only")
        assert plan.n_cells > 0


def test_model_python_interpreter(tmp_path):
    import sys

    from mgreason.sweep.spec import python_path

    write_scenario(tmp_path / "scen" / "a", fmt="inline", n_items=3, spec={"id": "a"})
    p = write(tmp_path, {**BASE, "models": [{"name": "m", "backend": "mock", "python": "venv/bin/python"}]})
    with pytest.raises(SweepError, match=r"models\.0\.python: interpreter not found: .*venv/bin/python"):
        plan_sweep(p)
    spec = parse_sweep({**BASE, "models": [{"name": "m", "backend": "mock", "python": sys.executable}]})
    assert python_path(spec.models[0], p) == Path(sys.executable)
    assert python_path(parse_sweep(BASE).models[0], p) is None
