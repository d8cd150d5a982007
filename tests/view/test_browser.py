"""The viewer in a real browser: headless Chromium (Debian's package) opens the page from file:// and the
tests read the DOM after its scripts ran (``--dump-dom``). The page keeps its state in the URL fragment,
so each view (a filter, an item) is one URL. Skipped with a clear reason when Chromium is absent."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mgreason.view.browser import dump_dom
from mgreason.view.page import write_view

pytestmark = pytest.mark.browser


def _records(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "samples.jsonl").read_text(encoding="utf-8").splitlines()]


def _count(dom: str) -> tuple[int, int]:
    m = re.search(r'<span id="count" data-count="(\d+)" data-total="(\d+)"', dom)
    assert m, "no item count in the page"
    return int(m.group(1)), int(m.group(2))


def _rows(dom: str) -> list[str]:
    body = dom.split('<table id="itable">', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<tr data-s="[^"]*" data-id="([^"]*)"', body)


@pytest.fixture(scope="module")
def run_page(demo_run, tmp_path_factory) -> Path:
    return write_view(demo_run, tmp_path_factory.mktemp("page") / "run.html")


def test_items_table_lists_every_item(chromium, run_page, demo_run):
    dom = dump_dom(run_page, "items")
    ids = sorted({r["item_id"] for r in _records(demo_run)})
    assert _count(dom) == (len(ids), len(ids)) == (12, 12)
    assert sorted(_rows(dom)) == ids
    assert 'data-ready="1"' in dom  # the script ran to its end


def test_filters_narrow_the_table(chromium, run_page, demo_run):
    recs = _records(demo_run)
    pred = {(r["item_id"], r["condition"]): r for r in recs}
    ids = sorted({r["item_id"] for r in recs})
    flips = [i for i in ids if pred[(i, "without_mg")]["prediction"] != pred[(i, "with_mg")]["prediction"]]
    wrong = [i for i in ids if not pred[(i, "with_mg")]["correct"]]
    assert 0 < len(flips) < len(ids) and 0 < len(wrong) < len(ids)

    dom = dump_dom(run_page, "items&flips=1")
    assert _count(dom) == (len(flips), 12) and sorted(_rows(dom)) == flips
    dom = dump_dom(run_page, "items&wrong=with_mg")
    assert sorted(_rows(dom)) == wrong
    dom = dump_dom(run_page, "items&flips=1&wrong=with_mg")
    assert sorted(_rows(dom)) == sorted(set(flips) & set(wrong))
    # search by text: a phrase of one item's dialogue finds that item only
    dom = dump_dom(run_page, "items&q=" + "hard%20to%20find%20a%20rhythm")
    assert _rows(dom) == ["d01"]
    # ... and a line of the evidence finds the items whose prompts (any condition) show it
    expect = sorted({r["item_id"] for r in recs if any("rubbing eyes" in m["content"] for m in r["messages"])})
    assert "d01" in expect and sorted(_rows(dump_dom(run_page, "items&q=rubbing%20eyes"))) == expect
    dom = dump_dom(run_page, "items&sort=id&dir=-1")
    assert _rows(dom) == sorted(ids, reverse=True)


def test_item_panel_diff_contains_the_evidence(chromium, run_page, demo_run):
    recs = {(r["item_id"], r["condition"]): r for r in _records(demo_run)}
    base = recs[("d01", "without_mg")]["messages"][-1]["content"].split("\n")
    with_mg = recs[("d01", "with_mg")]["messages"][-1]["content"].split("\n")
    added = [x for x in with_mg if x not in base and x.strip()]
    assert any("rubbing eyes" in x for x in added)  # the evidence block of d01's transcript
    dom = dump_dom(run_page, "item&s=demo_press_emotion&id=d01")
    col = dom.split('data-condition="with_mg"', 1)[1].split('<div class="prompt"', 1)[0]
    ins = [re.sub(r"<[^>]+>", "", x).replace("&amp;", "&") for x in re.findall(r'<ins class="ln diff">(.*?)</ins>', col)]
    assert [x for x in ins if x.strip()] == added
    # the baseline column has no additions; the evidence is not in it
    basecol = dom.split('data-condition="without_mg"', 1)[1].split('data-condition="with_mg"', 1)[0]
    assert "<ins" not in basecol and "rubbing eyes" not in basecol
    # label probabilities as bars, the margins, and the transcript timeline (SVG) of the evidence shown
    assert dom.count('class="bar') >= 6
    assert re.search(r'<div class="timeline" data-item="d01">.*?<svg', dom, re.S)


def test_sweep_page_filters_by_model_and_shows_errors(chromium, demo_sweep, tmp_path):
    page = write_view(demo_sweep, tmp_path / "sweep.html")
    dom = dump_dom(page, "items")
    assert _count(dom) == (24, 24)
    assert "mock-a: without_mg" in dom and "mock-b: with_mg" in dom
    n_err, _ = _count(dump_dom(page, "items&errors=1"))
    assert 0 < n_err < 24  # mock-b fails every 7th request
    dom = dump_dom(page, "items&scenario=demo_press_emotion_v2&model=mock-a")
    assert _count(dom)[0] == 12 and "mock-b:" not in dom.split('<table id="itable">', 1)[1]
    ov = dump_dom(page, "overview")
    assert ov.count("— invalid</text>") == 12  # every comparison of the mock sweep has label mass < 0.5


def test_many_items_render_lazily(chromium, tmp_path):
    """600 items: the count says 600, the table holds only the first page (200 rows) until scrolled."""
    from helpers import make_items, write_scenario
    from mgreason.backends.mock import MockBackend
    from mgreason.eval.run import run_scenario
    from mgreason.scenario import load_scenario

    base = make_items(30)  # transcripts stay inside their 120 s recording for k < 30
    items = [{**base[k % 30], "id": f"m{k:04d}", "text": f"Line {k}: it was a long day."} for k in range(600)]
    sc = write_scenario(tmp_path / "sc", items=items, spec={"id": "many"})
    run = tmp_path / "run"
    run_scenario(load_scenario(sc), MockBackend(), out_dir=run, n_boot=200)
    page = write_view(run, tmp_path / "many.html", max_timelines=5)
    dom = dump_dom(page, "items")
    assert _count(dom) == (600, 600)
    assert len(_rows(dom)) == 200 and "show more (400 left)" in dom
