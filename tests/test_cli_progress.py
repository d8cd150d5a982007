"""``run-scenario`` shows its progress where stderr is not a terminal too (logs, pipes, CI): plain lines, as
``sweep`` prints them (issue 27)."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import run_cli

DEMO = Path(__file__).resolve().parents[1] / "scenarios" / "demo_press_emotion.yaml"


def test_run_scenario_prints_progress_lines_without_a_terminal(tmp_path, monkeypatch, capsys):
    from mgreason import cli

    monkeypatch.setattr(cli._Progress, "EVERY_S", 0.0)  # a line on every batch (every 10 s by default)
    monkeypatch.setenv("MGREASON_RESPONSE_CACHE", str(tmp_path / "cache.sqlite"))
    res = run_cli(["run-scenario", DEMO, "--backend", "mock", "--limit", "4", "--batch-size", "2", "--n-boot", "100",
                   "--out", tmp_path / "run"], monkeypatch, capsys)  # fmt: skip
    assert res.code == 0, res.err
    lines = re.findall(r"^scoring: (\d+)/(\d+) prompts \((\d+)%\) · elapsed \d+:\d\d · eta \S+$", res.err, re.M)
    assert len(lines) >= 2, res.err
    done = [int(d) for d, _, _ in lines]
    assert done == sorted(done) and len(set(done)) == len(done)  # no count printed twice
    assert done[-1] == int(lines[-1][1]) and lines[-1][2] == "100"


def test_run_scenario_prints_no_progress_line_when_it_is_quick(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MGREASON_RESPONSE_CACHE", str(tmp_path / "cache.sqlite"))
    res = run_cli(["run-scenario", DEMO, "--backend", "mock", "--limit", "2", "--n-boot", "100", "--out", tmp_path / "run"],
                  monkeypatch, capsys)  # fmt: skip
    assert res.code == 0, res.err
    assert "prompts (" not in res.err
