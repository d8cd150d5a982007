"""Issue 30, item 2: a sweep stopped part-way and resumed after a transcript file (or an included
template) was edited must not finish with evidence from two versions: it is refused with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import assert_one_line_error, make_items, run_cli, transcripts_to_files, write_mock_sweep, write_scenario
from mgreason.sweep.execute import run_sweep


def _setup(tmp_path: Path) -> Path:
    items = make_items(6)
    root = tmp_path / "scen" / "sc_files"
    transcripts_to_files(items, root)
    write_scenario(
        root, items=items, spec={"id": "sc_files", "transcripts": {"source": "path"}},
        user="{% include 'part.j2' %}\n{{ evidence or '' }}",
    )
    (root / "prompts" / "part.j2").write_text("{{ question }} {{ item.text }}")
    return write_mock_sweep(tmp_path, "fp-resume", ["scen/sc_files/scenario.yaml"])


def _cut_records(out: Path, keep: int) -> None:
    """What a SIGKILL leaves: the first ``keep`` records of every cell file."""
    for f in out.glob("models/*/*/samples.jsonl"):
        lines = f.read_text(encoding="utf-8").splitlines(keepends=True)
        f.write_text("".join(lines[:keep]), encoding="utf-8")


@pytest.mark.parametrize("edit", ["transcript", "include"])
def test_resume_after_editing_an_input_is_refused(tmp_path, monkeypatch, capsys, edit):
    sweep = _setup(tmp_path)
    out = tmp_path / "out"
    run_sweep(sweep, report=False, progress=False)
    _cut_records(out, keep=5)
    root = tmp_path / "scen" / "sc_files"
    if edit == "transcript":
        t = root / "data" / "transcripts" / "it04.json"
        d = json.loads(t.read_text())
        d["events"] = d["events"][:1]
        t.write_text(json.dumps(d))
    else:
        (root / "prompts" / "part.j2").write_text("EDITED {{ question }}")
    before = sorted(f.read_text() for f in out.glob("models/*/*/samples.jsonl"))
    res = run_cli(["sweep", sweep, "--no-report"], monkeypatch, capsys)
    assert_one_line_error(res, "sc_files", "another version of scenario")
    assert sorted(f.read_text() for f in out.glob("models/*/*/samples.jsonl")) == before  # nothing added


def test_resume_without_edits_finishes(tmp_path):
    sweep = _setup(tmp_path)
    out = tmp_path / "out"
    first = run_sweep(sweep, report=False, progress=False)
    _cut_records(out, keep=5)
    again = run_sweep(sweep, report=False, progress=False)
    assert again.total == first.total and again.failed == 0
