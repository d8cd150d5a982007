"""The viewer's data (no browser): the prompts it embeds are exactly the records', answers and flips match
the samples, the JSON cannot close its <script>, the forest plot marks invalid rows, `mgreason view` and
`mgreason report` accept a single run."""

from __future__ import annotations

import json
import re

from helpers import run_cli
from mgreason.view.data import build_payload
from mgreason.view.forest import INVALID, forest_svg
from mgreason.view.page import embed_json, render_page


def records(run_dir):
    return [json.loads(x) for x in (run_dir / "samples.jsonl").read_text(encoding="utf-8").splitlines()]


def _text(payload, msgs):
    return [{"role": role, "content": "\n".join(payload["lines"][k] for k in ids)} for role, ids in msgs]


def test_payload_holds_every_prompt_and_answer(demo_run):
    report, payload = build_payload(demo_run)
    recs = records(demo_run)
    assert len(payload["items"]) == 12 and report.kind == "run"
    by = {(it["s"], it["id"]): it for it in payload["items"]}
    for r in recs:
        it = by[(r["scenario_id"], r["item_id"])]
        assert _text(payload, it["p"][r["condition"]]) == r["messages"]  # the exact prompt, rebuilt from the line table
        a = it["a"][f"mock\x00{r['condition']}"]
        assert a["p"] == r["prediction"] and a["ok"] == int(r["correct"]) and a.get("ev") == r["evidence_from"]
        assert a["lp"] == {k: round(v, 4) for k, v in r["label_logprobs"].items()}
    # the template's lines are stored once: far fewer lines than prompt lines
    n_prompt_lines = sum(m["content"].count("\n") + 1 for r in recs for m in r["messages"])
    assert len(payload["lines"]) < n_prompt_lines / 3
    # every item whose transcript was shown has its timeline (inline transcripts, 12 of them)
    assert set(payload["timelines"]["demo_press_emotion"]) == {r["item_id"] for r in recs if r["evidence_from"]}
    assert all(s.startswith("<svg") for s in payload["svgs"])


def test_timelines_are_capped(demo_run):
    _, payload = build_payload(demo_run, max_timelines=3)
    assert len(payload["svgs"]) == 3 and payload["timelines_left_out"] == 9


def test_embedded_json_cannot_end_the_script():
    s = embed_json({"x": "</script><script>alert(1)</script>"})
    assert "</script" not in s.lower() and json.loads(s)["x"].startswith("</script>")


def test_forest_marks_invalid_rows_and_has_a_legend(demo_run):
    report, payload = build_payload(demo_run)
    assert report.comparisons and not any(c.valid for c in report.comparisons)  # mock label mass ~0.2 < 0.5
    svg = forest_svg(report)
    assert svg.count("— invalid</text>") == len(report.comparisons)
    assert "invalid: label mass &lt; 0.5" in svg and INVALID in svg
    for c in report.comparisons:
        assert c.pair in svg  # one legend entry per comparison pair
    valid = report.model_copy(update={"comparisons": [c.model_copy(update={"valid": True}) for c in report.comparisons]})
    assert "— invalid</text>" not in forest_svg(valid)
    page = render_page(report, payload)
    # the label-mass flag is said once, not once per condition
    assert page.count("mean label mass &lt; 0.5") == 1 and "3 places" in page


def test_sweep_payload_has_both_models_and_flags_once(demo_sweep):
    report, payload = build_payload(demo_sweep)
    assert report.kind == "sweep" and payload["models"] == ["mock-a", "mock-b"]
    assert len(payload["items"]) == 24  # 12 items in each of the two scenarios
    errors = [a for it in payload["items"] for a in it["a"].values() if a.get("e")]
    assert errors and all(a["p"] is None and a["ok"] == 0 for a in errors)  # mock-b's every 7th request fails
    page = render_page(report, payload)
    assert page.count("mean label mass &lt; 0.5") == 1 and "12 places" in page


def test_view_and_report_commands_on_a_single_run(demo_run, tmp_path, monkeypatch, capsys):
    res = run_cli(["view", str(demo_run), "--out", str(tmp_path / "v.html")], monkeypatch, capsys)
    assert res.code == 0, res.err
    html = (tmp_path / "v.html").read_text(encoding="utf-8")
    # nothing to fetch: no external src/href/url(), no <link>, no script file (XML namespaces are only names)
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:|//)|url\(\s*['\"]?(https?:|//)|@import|<link|<script src", html, re.I)
    res = run_cli(["report", str(demo_run), "--out", str(tmp_path / "rep")], monkeypatch, capsys)
    assert res.code == 0, res.err
    md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert "## Paired comparisons" in md and "| d01" in md
    data = json.loads((tmp_path / "rep" / "report.json").read_text(encoding="utf-8"))
    assert data["kind"] == "run" and data["holm_family_size"] == 3


def test_view_of_a_directory_that_is_neither(tmp_path, monkeypatch, capsys):
    res = run_cli(["view", str(tmp_path)], monkeypatch, capsys)
    assert res.code == 2 and "not a run directory" in res.err


def test_generate_mode_keeps_the_raw_output(tmp_path):
    from helpers import make_items, write_scenario
    from mgreason.backends.mock import MockBackend
    from mgreason.eval.run import run_scenario
    from mgreason.scenario import load_scenario

    sc = write_scenario(tmp_path / "sc", items=make_items(4), spec={"id": "gen", "scoring": {"mode": "generate"}})
    run_scenario(load_scenario(sc), MockBackend(), out_dir=tmp_path / "run", n_boot=200, ceiling=False)
    report, payload = build_payload(tmp_path / "run", max_timelines=0)
    recs = records(tmp_path / "run")
    raw = {(r["item_id"], r["condition"]): r["raw_output"] for r in recs}
    assert all(raw.values())
    for it in payload["items"]:
        for key, a in it["a"].items():
            assert a["raw"] == raw[(it["id"], key.split("\x00")[1])]  # shown under each condition in the item panel
    assert payload["groups"]["mock\x00gen"]["mode"] == "generate"
