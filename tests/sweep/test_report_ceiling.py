"""The sweep report shows the evidence ceiling, the margin diagnostics and a verdict per cell."""

from __future__ import annotations

import yaml

from helpers import make_items, write_scenario
from mgreason.sweep.execute import run_sweep


def test_sweep_report_explains_each_cell(tmp_path):
    items = make_items(20)
    for k, it in enumerate(items):
        it["speaker"] = f"p{k % 5}"
    write_scenario(tmp_path / "scen", items=items, spec={"id": "sc", "items": {"fields": {"group": "speaker"}}})
    p = tmp_path / "sweep.yaml"
    p.write_text(
        yaml.safe_dump(
            {"id": "ceil", "models": [{"name": "m", "backend": "mock"}], "scenarios": ["scen/scenario.yaml"],
             "conditions": ["without_mg", "with_mg", "shuffled_mg"], "output_dir": str(tmp_path / "out"), "n_boot": 200}
        ),
        encoding="utf-8",
    )  # fmt: skip
    res = run_sweep(p, report=True, progress=False)
    md = res.report.read_text(encoding="utf-8")
    for needle in (
        "## Flags and verdicts", "## Evidence ceiling: sc (every model)", "grouped by `speaker`",
        "## Did the model use the evidence?", "m / sc: without_mg → with_mg: ",
    ):
        assert needle in md, needle
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Evidence ceiling: sc" in html and "Did the model use the evidence?" in html
