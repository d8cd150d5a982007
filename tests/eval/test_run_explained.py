"""run-scenario on the mock backend explains its result: ceiling rows with CIs and grouping, margin shift and
AUC per comparison, flags and one verdict per comparison, in summary.json, summary.md and on stderr."""

from __future__ import annotations

import json

from helpers import make_items, run_cli, write_scenario
from mgreason.eval.records import RunSummary


def _scenario(tmp_path, **fields):
    items = make_items(20)
    for k, it in enumerate(items):
        it["speaker"] = f"p{k % 5}"
    return write_scenario(tmp_path / "s", items=items, spec={"items": {"fields": fields}} if fields else None)


def test_run_scenario_prints_and_writes_the_explanation(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    res = run_cli(
        ["run-scenario", _scenario(tmp_path, group="speaker"), "--backend", "mock", "--out", out, "--no-cache",
         "--n-boot", "200"],
        monkeypatch, capsys,
    )  # fmt: skip
    assert res.code == 0, res.err
    s = RunSummary.model_validate_json((out / "summary.json").read_text(encoding="utf-8"))
    rows = {r.features: r for r in s.ceiling.rows}
    assert list(rows) == ["majority", "evidence", "text", "evidence+text"]
    for r in rows.values():
        assert r.n == 20 and r.ci[0] <= r.accuracy <= r.ci[1] and r.grouped_by == "speaker"
    assert "StratifiedGroupKFold grouped by speaker" in s.ceiling.cv and not s.ceiling.notes
    assert len(s.comparisons) == 4
    for c in s.comparisons:
        assert c.margin_shift is not None and c.margin_shift_ci[0] <= c.margin_shift <= c.margin_shift_ci[1]
        assert c.auc_baseline is not None and c.auc_treatment is not None
        assert c.verdict.startswith(f"{c.baseline} → {c.treatment}: ") and c.verdict_code
        assert c.verdict in s.flags and f"verdict: {c.verdict}" in res.err  # on stderr, every number with it
    assert all(c.top_label is not None and c.n_margin_ties is not None for c in s.conditions)
    md = (out / "summary.md").read_text(encoding="utf-8")
    for needle in (
        "## Flags", "## Evidence ceiling", "grouped by `speaker`", "## Did the model use the evidence?",
        "| margin shift |", "exact margin ties", s.comparisons[0].verdict,
    ):
        assert needle in md, needle


def test_without_group_the_report_says_so_and_old_summaries_load(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    res = run_cli(
        ["run-scenario", _scenario(tmp_path), "--backend", "mock", "--out", out, "--no-cache", "--n-boot", "100"],
        monkeypatch, capsys,
    )  # fmt: skip
    assert res.code == 0, res.err
    data = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert "no group column" in data["ceiling"]["notes"][0] and "no group column" in res.err
    # a summary.json written before these fields existed still loads
    for key in ("ceiling", "flags"):
        data.pop(key)
    for c in data["conditions"]:
        for key in ("top_label", "top_label_share", "n_margin_ties", "margin_auc", "flags"):
            c.pop(key)
    for c in data["comparisons"]:
        for key in [k for k in c if k.startswith(("margin_", "auc_", "ceiling_", "verdict", "bias"))]:
            c.pop(key)
    old = RunSummary.model_validate(data)
    assert old.ceiling is None and old.flags == [] and old.comparisons[0].verdict is None


def test_no_ceiling_option(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    res = run_cli(
        ["run-scenario", _scenario(tmp_path), "--backend", "mock", "--out", out, "--no-cache", "--n-boot", "100",
         "--no-ceiling"],
        monkeypatch, capsys,
    )  # fmt: skip
    assert res.code == 0, res.err
    s = RunSummary.model_validate_json((out / "summary.json").read_text(encoding="utf-8"))
    assert s.ceiling is None and all(c.verdict and "(ceiling" not in c.verdict for c in s.comparisons)


def test_a_failing_ceiling_never_costs_the_run(tmp_path, monkeypatch):
    from mgreason.backends.mock import MockBackend
    from mgreason.eval import ceiling
    from mgreason.eval.run import run_scenario
    from mgreason.scenario import load_scenario

    def boom(*a, **k):
        raise ValueError("broken")

    monkeypatch.setattr(ceiling, "scenario_ceiling", boom)
    out = run_scenario(load_scenario(_scenario(tmp_path)), MockBackend(), out_dir=tmp_path / "r", n_boot=100)
    assert out.summary.ceiling.rows == [] and "could not be computed (ValueError: broken)" in out.summary.ceiling.notes[0]
    assert "evidence ceiling: could not be computed (ValueError: broken)" in out.summary.flags
