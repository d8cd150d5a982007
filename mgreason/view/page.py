"""The viewer page: the typed report and the items' JSON through one Jinja template, with its CSS and JS
inlined, so the file works alone from ``file://`` (no network, no server)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any, Optional

from mgreason.eval.format import fmt, fmt_ci, fmt_p, fmt_signed
from mgreason.fileio import atomic_write_text
from mgreason.sweep.report_model import Report


def _asset(name: str) -> str:
    return resources.files("mgreason.view").joinpath("templates", name).read_text(encoding="utf-8")


def _env():
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(f=fmt, s=fmt_signed, p=fmt_p, ci=lambda lo, hi: fmt_ci(lo, hi))
    return env


def embed_json(data: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``: every ``<`` escaped."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def render_page(report: Report, payload: dict[str, Any]) -> str:
    from mgreason.view.forest import forest_svg

    tpl = _env().from_string(_asset("view.html.j2"))
    return tpl.render(
        r=report,
        n_items=len(payload["items"]),
        forest=forest_svg(report),
        css=_asset("view.css"),
        js=_asset("view.js"),
        data_json=embed_json(payload),
    )


def write_view(run_dir: str | Path, out: Optional[str | Path] = None, *, max_timelines: int = 100) -> Path:
    """Write the viewer page of a run or sweep directory (default: ``RUN_DIR/view.html``)."""
    from mgreason.view.data import build_payload

    run_dir = Path(run_dir)
    dest = Path(out) if out is not None else run_dir / "view.html"
    report, payload = build_payload(run_dir, max_timelines=max_timelines)
    atomic_write_text(dest, render_page(report, payload))
    return dest


__all__ = ["embed_json", "render_page", "write_view"]
