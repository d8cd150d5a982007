"""How `mgreason view` scales: a run of N items (the 12 demo press-conference items repeated with new ids
and a varied answer line, 3 conditions, mock backend), the page's build time and file size, and its load
time in headless Chromium.

    python benchmarks/bench_view.py --n 10000 [--out benchmarks/results/view.md]

Load time is measured in the page itself (performance.now() at the end of its script, written into the DOM
as data-ready-ms) and, from outside, as the wall time of `chromium --dump-dom` minus that of an empty page
(browser start-up). Rendering is lazy: the items table holds the first 200 rows, the rest on scroll.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--max-timelines", type=int, default=100)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    from mgreason.backends.mock import MockBackend
    from mgreason.eval.run import run_scenario
    from mgreason.scenario import load_scenario
    from mgreason.view.browser import dump_dom
    from mgreason.view.page import write_view

    import json

    tmp = Path(tempfile.mkdtemp(prefix="bench-view-"))
    demo = [json.loads(x) for x in (REPO / "scenarios" / "data" / "demo_press_emotion.jsonl").read_text().splitlines() if x.strip()]
    items = tmp / "items.jsonl"
    with items.open("w", encoding="utf-8") as f:
        for k in range(args.n):
            it = json.loads(json.dumps(demo[k % len(demo)]))
            it["id"] = f"x{k:05d}"
            it["dialogue"].append({"speaker": "Player", "text": f"Thank you. (press conference {k})"})
            if isinstance(it.get("transcript"), dict):
                it["transcript"]["id"] = it["id"]
            f.write(json.dumps(it) + "\n")
    src = (REPO / "scenarios" / "demo_press_emotion.yaml").read_text(encoding="utf-8")
    src = src.replace("path: data/demo_press_emotion.jsonl", f"path: {items}")
    src = re.sub(r"\.\./prompts/", str(REPO / "prompts") + "/", src)
    sc_path = tmp / "scenario.yaml"
    sc_path.write_text(src, encoding="utf-8")
    t0 = time.perf_counter()
    sc = load_scenario(sc_path)
    run_scenario(sc, MockBackend(), out_dir=tmp / "run", n_boot=200, ceiling=False)
    t_run = time.perf_counter() - t0
    n_rec = sum(1 for _ in (tmp / "run" / "samples.jsonl").open())

    t0 = time.perf_counter()
    page = write_view(tmp / "run", tmp / "view.html", max_timelines=args.max_timelines)
    t_build = time.perf_counter() - t0
    size = page.stat().st_size
    samples_size = (tmp / "run" / "samples.jsonl").stat().st_size

    empty = tmp / "empty.html"
    empty.write_text("<!doctype html><html><body>x</body></html>", encoding="utf-8")
    walls, inner, item_walls = [], [], []
    base = []
    for _ in range(3):
        t0 = time.perf_counter()
        dump_dom(empty)
        base.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        dom = dump_dom(page, "items", budget_ms=1000)
        walls.append(time.perf_counter() - t0)
        m = re.search(r'data-ready-ms="([\d.]+)"', dom)
        inner.append(float(m.group(1)) if m else float("nan"))
        assert re.search(rf'data-count="{args.n}"', dom), "the page does not show every item"
        t0 = time.perf_counter()
        dump_dom(page, f"item&s={sc.id}&id=" + sc.items[args.n // 2].id, budget_ms=1000)
        item_walls.append(time.perf_counter() - t0)
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    try:
        load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip().split("load average:")[1].strip()
    except Exception:  # pragma: no cover
        load = "?"
    lines = [
        f"# mgreason view with {args.n} items",
        "",
        f"The demo items repeated to {args.n} (new ids, one varied line), {len(sc.conditions)} conditions, mock backend: {n_rec} records "
        f"(samples.jsonl {samples_size / 1e6:.1f} MB; run {t_run:.1f} s).",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| page build (`mgreason view`, {args.max_timelines} timelines max) | {t_build:.1f} s |",
        f"| page size | {size / 1e6:.1f} MB |",
        f"| script done (performance.now() at its end, median of 3) | {med(inner):.0f} ms |",
        f"| `chromium --dump-dom` of #items minus an empty page (median of 3) | {med(walls) - med(base):.2f} s |",
        f"| `chromium --dump-dom` of one item's panel minus an empty page (median of 3) | {med(item_walls) - med(base):.2f} s |",
        f"| empty page (browser start-up) | {med(base):.2f} s |",
        "",
        f"Load average during the measurement: {load} (2-core machine shared with other jobs: timings are upper bounds).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
