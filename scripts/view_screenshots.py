"""Screenshots of `mgreason view` for the README: the overview and one item's page, in headless Chromium.

    python scripts/view_screenshots.py RUN_OR_SWEEP_DIR [--item SCENARIO/ITEM] [--out docs/images] [--prefix view]

writes OUT/PREFIX-overview.png and OUT/PREFIX-item.png (the page itself is written to a temporary file).
Without --item, the first item whose answer flips between the primary pair of conditions (else the first
item) is shown. Needs Debian's chromium (scripts/install_chromium.sh).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--item", default=None, help="SCENARIO/ITEM_ID (default: the first flip)")
    ap.add_argument("--out", type=Path, default=Path("docs/images"))
    ap.add_argument("--prefix", default="view")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=1000)
    ap.add_argument("--item-height", type=int, default=1500)
    ap.add_argument("--max-timelines", type=int, default=100)
    args = ap.parse_args()

    from urllib.parse import quote

    from mgreason.view.browser import screenshot
    from mgreason.view.data import build_payload
    from mgreason.view.page import render_page

    report, payload = build_payload(args.run_dir, max_timelines=args.max_timelines)
    if args.item:
        sid, item_id = args.item.split("/", 1)
    else:
        chosen = None
        for it in payload["items"]:
            row = report.items[it["s"]].items.get(it["id"])
            if row is not None and row.flips(report.model_names, report.primary):
                chosen = it
                break
        chosen = chosen or payload["items"][0]
        sid, item_id = chosen["s"], chosen["id"]
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "view.html"
        page.write_text(render_page(report, payload), encoding="utf-8")
        size = (args.width, args.height)
        a = screenshot(page, args.out / f"{args.prefix}-overview.png", "overview", size=size)
        b = screenshot(page, args.out / f"{args.prefix}-item.png", f"item&s={quote(sid)}&id={quote(item_id)}",
                       size=(args.width, args.item_height))  # fmt: skip
    print(a)
    print(b)


if __name__ == "__main__":
    main()
