"""`mgreason report RUN_DIR`: Markdown, static HTML with the forest plot embedded, PNG, JSON;
statistics equal to mgreason.stats (Holm across the whole sweep); failed cells listed; the
per-item view of what each model answered with vs without MG evidence."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
import yaml

from helpers import make_items, run_cli, transcripts_to_files, write_mock_sweep, write_scenario
from mgreason import stats
from mgreason.eval.records import SampleRecord
from mgreason.sweep.execute import run_sweep
from mgreason.eval.summary import collapse_repeats
from mgreason.sweep.report import compute_report


def _make(tmp_path: Path, **extra) -> Path:
    rels = []
    for sid, n in (("sc_a", 8), ("sc_b", 5)):
        items = make_items(n)
        for it in items:
            it["context"] = f"{sid}: {it['context']}"
        write_scenario(tmp_path / "scen" / sid, fmt="inline", items=items, spec={"id": sid})
        rels.append(f"scen/{sid}/scenario.yaml")
    data = {
        "id": "report-test",
        "models": [
            {"name": "alpha", "backend": "mock", "model": "mock-a"},
            {"name": "beta", "backend": "mock", "model": "mock-b", "options": {"fail_every": 5}},
            # every request fails: its cells fail after every retry and must be listed, never dropped
            {"name": "broken", "backend": "mock", "model": "mock-c", "options": {"fail_every": 1}},
        ],
        "scenarios": rels,
        "conditions": ["without_mg", "with_mg", "shuffled_mg"],
        "output_dir": str(tmp_path / "out"),
        "cache": "cache.sqlite",
        "retries": 1,
        "n_boot": 300,
    }
    data.update(extra)
    p = tmp_path / "sweep.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    res = run_sweep(_make(tmp), report=True, progress=False)
    return tmp, res


def test_sweep_result_lists_failures(swept):
    tmp, res = swept
    n_per_model = (8 + 5) * 3
    assert res.total == 3 * n_per_model
    # beta's every 5th request fails: with 1 retry, requests 25 and 45 fail twice (one per scenario)
    assert res.failed == n_per_model + 2 and res.pending == 0 and not res.ok
    assert sorted({c.model for c in res.failed_cells}) == ["beta", "broken"]
    assert all(c.attempts == 2 and c.error == "mock failure (fail_every)" for c in res.failed_cells)  # 1 + 1 retry
    status = json.loads((tmp / "out" / "status.json").read_text())
    assert [status["models"][m]["failed"] for m in ("alpha", "beta", "broken")] == [0, 2, n_per_model]
    attempts = (tmp / "out" / "models" / "beta" / "sc_a" / "attempts.jsonl").read_text().splitlines()
    assert len(attempts) == 4 + 1  # 4 failed first attempts, 1 failed retry


def test_report_files(swept):
    tmp, res = swept
    out = tmp / "out"
    assert res.report == out / "report.md"
    png = (out / "report_forest.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    html = (out / "report.html").read_text(encoding="utf-8")
    m = re.search(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", html)
    assert m and base64.b64decode(m.group(1)) == png  # the same plot, embedded: the page is self-contained
    assert "<script" not in html and "http://" not in html and "https://" not in html
    md = (out / "report.md").read_text(encoding="utf-8")
    for heading in (
        "## with_mg − without_mg: Δ accuracy (models × scenarios)",
        "## Accuracy and macro-F1 per condition",
        "## Paired comparisons",
        "## Forest plot",
        "## Failed and unfinished cells",
        "## Per item: answers with vs without MG evidence",
    ):
        assert heading in md, heading
    assert "![forest plot of the deltas](report_forest.png)" in md


def test_numbers_match_stats_and_holm_spans_the_sweep(swept):
    tmp, _ = swept
    data = json.loads((tmp / "out" / "report.json").read_text())
    comps = data["comparisons"]
    # 3 models × 2 scenarios × 3 comparison pairs, one Holm family
    assert len(comps) == 18 and data["holm_family_size"] == 18
    assert [c["p_holm"] for c in comps] == pytest.approx(stats.holm_adjust([c["mcnemar_p"] for c in comps]))
    # recompute one comparison from the records with mgreason.stats
    recs = [SampleRecord.model_validate_json(x) for x in (tmp / "out" / "models" / "beta" / "sc_a" / "samples.jsonl").read_text().splitlines()]
    by = {(r.condition, r.item_id): r for r in recs}
    ids = [f"it{k:02d}" for k in range(8)]
    gold = [by[("without_mg", i)].gold for i in ids]
    c = stats.compare_conditions(
        gold, [by[("without_mg", i)].prediction for i in ids], [by[("with_mg", i)].prediction for i in ids],
        ["positive", "negative"], "without_mg", "with_mg", n_boot=300, seed=0,
    )
    got = next(x for x in comps if (x["model"], x["scenario"], x["baseline"], x["treatment"]) == ("beta", "sc_a", "without_mg", "with_mg"))
    assert got["delta_acc"] == pytest.approx(c.delta_acc.delta)
    assert got["delta_acc_ci"] == pytest.approx([c.delta_acc.ci_low, c.delta_acc.ci_high])
    assert got["delta_macro_f1"] == pytest.approx(c.delta_macro_f1.delta)
    assert got["mcnemar_p"] == pytest.approx(c.mcnemar.p_value)
    assert (got["mcnemar_b"], got["mcnemar_c"]) == (c.mcnemar.b, c.mcnemar.c)
    # the failing model: every answer wrong, its failures counted, not dropped
    g = next(x for x in data["groups"] if (x["model"], x["scenario"]) == ("broken", "sc_b"))
    assert all(c["accuracy"] == 0.0 and c["n"] == 5 and c["n_errors"] == 5 for c in g["conditions"])


def test_failed_cells_and_per_item_view(swept):
    tmp, _ = swept
    md = (tmp / "out" / "report.md").read_text(encoding="utf-8")
    html = (tmp / "out" / "report.html").read_text(encoding="utf-8")
    n_fail = (8 + 5) * 3
    assert f"{n_fail + 2} cell(s) without an answer" in md
    assert md.count("| broken | sc_") >= n_fail
    # per-item view: one row per item, every model × condition, flips marked
    assert "### sc_a" in md and "### sc_b" in md
    assert "| item | gold | alpha: without_mg | alpha: with_mg | alpha: shuffled_mg | beta: without_mg" in md
    rows = [line for line in md.splitlines() if re.match(r"^\| it0\d", line)]
    assert len(rows) == 8 + 5
    data = json.loads((tmp / "out" / "report.json").read_text())
    it = data["items"]["sc_a"]["items"]["it03"]
    ans = it["answers"]["alpha"]
    row = next(line for line in md.split("### sc_a")[1].splitlines() if line.startswith("| it03"))
    flip = ans["without_mg"]["prediction"] != ans["with_mg"]["prediction"] or (
        data["items"]["sc_a"]["items"]["it03"]["answers"]["beta"]["without_mg"]["prediction"]
        != data["items"]["sc_a"]["items"]["it03"]["answers"]["beta"]["with_mg"]["prediction"]
    )
    assert ("⇄" in row) == flip
    assert f"{ans['without_mg']['prediction']} {'✓' if ans['without_mg']['correct'] else '✗'}" in row
    assert "error ✗" in row  # the broken model's answers
    assert "Per item: answers with vs without MG evidence" in html and "<details open>" in html


def test_report_command_regenerates(swept, monkeypatch, capsys, tmp_path):
    tmp, _ = swept
    dest = tmp_path / "elsewhere"
    res = run_cli(["report", str(tmp / "out"), "--out", str(dest)], monkeypatch, capsys)
    assert res.code == 0, res.err
    assert "# Sweep `report-test`" in res.out
    for f in ("report.md", "report.html", "report_forest.png", "report.json"):
        assert (dest / f).is_file()
    a = json.loads((dest / "report.json").read_text())
    b = json.loads((tmp / "out" / "report.json").read_text())
    a.pop("generated"), b.pop("generated")
    assert a == b  # deterministic (seeded bootstrap)


def test_repeats_are_collapsed_by_majority(tmp_path):
    res = run_sweep(
        _make(tmp_path, models=[{"name": "alpha", "backend": "mock", "model": "mock-a"}], seeds=[0, 1, 2], retries=0),
        report=True,
        progress=False,
    )
    assert res.ok and res.total == (8 + 5) * 3 * 3
    # deterministic scoring: repeats 1 and 2 of the unshuffled conditions are cache hits
    batches = [e for e in res.events if e["ev"] == "batch"]
    assert sum(e["cached"] for e in batches) >= (8 + 5) * 2 * 2
    data = compute_report(tmp_path / "out")
    ans = data["items"]["sc_a"]["items"]["it00"]["answers"]["alpha"]
    assert ans["without_mg"]["agreement"] == [3, 3]
    assert all(c["n"] == 8 for g in data["groups"] if g["scenario"] == "sc_a" for c in g["conditions"])


def test_collapse_repeats_majority_and_ties():
    def rec(rep, pred):
        return SampleRecord(run_id="r", scenario_id="s", item_id="i", condition="c", repeat=rep, prompt_sha256="x",
                            messages=[], prediction=pred, gold="a", correct=pred == "a", parse_ok=pred is not None)

    assert collapse_repeats([rec(0, "b"), rec(1, "a"), rec(2, "a")])[0].prediction == "a"
    assert collapse_repeats([rec(1, "a"), rec(0, "b")])[0].prediction == "b"  # tie: the earliest repeat
    assert collapse_repeats([rec(0, None), rec(1, None), rec(2, "a")])[0].prediction is None


def test_retry_failed_reruns_only_the_failed_cells(tmp_path):
    sweep = _make(tmp_path, models=[{"name": "flaky", "backend": "mock", "options": {"fail_every": 2}}], retries=0)
    r1 = run_sweep(sweep, report=False, progress=False)
    n = (8 + 5) * 3
    assert r1.total == n and r1.failed == n // 2  # every 2nd request of the process fails
    r2 = run_sweep(sweep, report=True, progress=False)  # a plain rerun: failed cells are final
    assert r2.failed == r1.failed and r2.computed == 0
    r3 = run_sweep(sweep, report=True, progress=False, retry_failed=True)
    assert r3.computed == r1.failed and r3.failed == r1.failed // 2
    recs = [line for f in (tmp_path / "out" / "models" / "flaky").glob("*/samples.jsonl") for line in f.read_text().splitlines()]
    assert len(recs) == n  # still one record per cell
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert f"{r3.failed} cell(s) without an answer" in md


def test_report_links_the_timeline_of_transcripts_from_files(tmp_path):
    """Items whose transcripts come from files (transcripts: {source: path}) get a timeline image in the report."""
    items = make_items(4)
    transcripts_to_files(items, tmp_path / "scen" / "sc_files")  # paths relative to the items file
    write_scenario(
        tmp_path / "scen" / "sc_files", items=items, spec={"id": "sc_files", "transcripts": {"source": "path"}}
    )
    p = write_mock_sweep(tmp_path, "timeline-links", ["scen/sc_files/scenario.yaml"])
    res = run_sweep(p, report=True, progress=False)
    out = tmp_path / "out"
    rep = json.loads((out / "report.json").read_text(encoding="utf-8"))
    links = {i: it.get("timeline") for i, it in rep["items"]["sc_files"]["items"].items()}
    assert set(links) == {it["id"] for it in items} and all(links.values()), links
    html_text = (out / "report.html").read_text(encoding="utf-8")
    for rel in links.values():
        assert (out / rel).is_file() and (out / rel).stat().st_size > 1000
        assert f"href='{rel}'" in html_text
    assert res.report is not None
