"""`mgreason view` (registered by :mod:`mgreason.cli`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mgreason.fileio import output_option


def view_cmd(
    run_dir: Path = typer.Argument(..., help="a run directory (runs/<id>/) or a sweep directory (holds sweep.json)"),
    out: Optional[Path] = output_option(None, "--out", "-o", help="the HTML file (default: RUN_DIR/view.html)"),
    open_: bool = typer.Option(False, "--open", help="open the page in the default browser"),
    max_timelines: int = typer.Option(
        100, "--max-timelines", min=0, help="draw at most this many transcript timelines (each adds ~20-40 kB and ~0.3-1 s)"
    ),
) -> None:
    """One self-contained HTML page (no network, no server; works from file://) to see every answer:
    summary tables, flags, forest plot; a sortable, filterable items table; per item the prompts of each
    condition side by side with the difference highlighted, label probabilities, margins, the transcript
    timeline and the raw output."""
    import time

    from rich.console import Console

    from mgreason.view.page import write_view

    t0 = time.perf_counter()
    dest = write_view(run_dir, out, max_timelines=max_timelines)
    console = Console(stderr=True, soft_wrap=True)
    size = dest.stat().st_size
    console.print(f"wrote {dest} ({size / 1e6:.2f} MB, {time.perf_counter() - t0:.1f} s)", highlight=False)
    print(dest.resolve().as_uri())
    if open_:
        import webbrowser

        webbrowser.open(dest.resolve().as_uri())


def register(app: typer.Typer) -> None:
    app.command("view")(view_cmd)


__all__ = ["register", "view_cmd"]
