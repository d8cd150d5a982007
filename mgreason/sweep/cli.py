"""`mgreason sweep` and `mgreason report` (registered by :mod:`mgreason.cli`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def sweep_cmd(
    sweep_file: Path = typer.Argument(..., help="sweep YAML file (see sweeps/cpu-demo.yaml)"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="run directory (default: the file's output_dir)"),
    retries: Optional[int] = typer.Option(None, "--retries", min=0, help="override the file's retries"),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="run again the cells that failed after every retry"),
    report: bool = typer.Option(True, "--report/--no-report", help="write the report when the sweep ends"),
    dry_run: bool = typer.Option(False, "--dry-run", help="validate everything and print the plan; run nothing"),
    max_parallel: Optional[int] = typer.Option(
        None, "--max-parallel", min=1, max=4096,
        help="model workers at once (default: the file's max_parallel, else as many as the declared resources "
        "allow, else 1)",
    ),
    executor: Optional[str] = typer.Option(None, "--executor", help="local (default) or ray"),
    address: Optional[str] = typer.Option(
        None, "--address", help="--executor ray: the Ray cluster to join (default: a local Ray instance)"
    ),
) -> None:
    """Run (or resume) a sweep: every model × scenario × condition × item × repeat, one process per model.

    Interrupted (even with kill -9)? Run the same command again: it resumes, with no lost and no duplicated records. Exit code 0 when every cell was answered, 1 when some failed (--retry-failed runs only those again).
    """
    from rich.console import Console

    from mgreason.sweep.execute import plan_sweep, run_sweep
    from mgreason.sweep.manifest import build_manifest

    console = Console(stderr=True, soft_wrap=True)  # long paths stay on one line in logs and pipes
    if dry_run:
        plan = plan_sweep(sweep_file, out=out, retries=retries)
        reps = int(plan.spec.repeats or 1)
        print(f"sweep {plan.spec.id}: output {plan.out}; cache {plan.cache_path or 'off'}")
        for s in plan.scenarios:
            print(f"  scenario {s.id}: {len(s.item_ids)} items × {len(s.conditions)} conditions × {reps} repeats "
                  f"({', '.join(s.conditions)})")
        for m in plan.spec.models:
            res = f", resources {m.resources.model_dump(exclude_none=True)}" if m.resources else ""
            print(f"  model {m.name}: backend {m.backend}, model {m.model or '(default)'}{res}")
        done = 0
        if (plan.out / "sweep.json").exists():
            done = sum(1 for c in build_manifest(plan).cells if c.status != "pending")
        print(f"{plan.n_cells} cells; {done} already finished")
        return
    from mgreason.errors import set_interrupt_note

    set_interrupt_note(
        "the records answered so far are kept (models/*/*/samples.jsonl, written as they come); run the same "
        f"command again (mgreason sweep {sweep_file}) to resume: nothing is lost or computed twice"
    )
    res = run_sweep(sweep_file, out=out, retries=retries, retry_failed=retry_failed, report=report, console=console,
                    max_parallel=max_parallel, executor=executor, ray_address=address)
    console.print(
        f"sweep finished in {res.seconds:.1f} s: {res.total} cells, {res.done} answered, {res.failed} failed, "
        f"{res.pending} not run; this run computed {res.computed} request(s), {res.cached} from the cache",
        highlight=False,
    )
    for model, err in res.model_errors.items():
        console.print(f"[red]model {model} did not finish:[/] {err}", highlight=False)
    if res.report is not None:
        print(res.report.read_text(encoding="utf-8"))
        console.print(
            f"wrote {res.report} , {res.report.with_suffix('.html')} and {res.report.parent / 'report_forest.png'}",
            highlight=False,
        )
    if not res.ok:
        # failed answers never reach the response cache or count as done: a rerun asks only for them
        again = f"mgreason sweep {sweep_file}" + (f" --out {out}" if out is not None else "")
        retry = (
            f"{again} --retry-failed runs only those again" if res.failed
            else f"{again} runs only those"
        )  # fmt: skip
        from rich.markup import escape

        console.print(
            "[red]error:[/] " + escape(
                f"{res.failed + res.pending} of {res.total} cell(s) have no answer ({res.failed} failed after every "
                f"retry, {res.pending} not run), listed in the report and in {res.out / 'manifest.jsonl'}; {retry}"
            ),
            highlight=False,
        )
        raise SystemExit(1)

def report_cmd(
    run_dir: Path = typer.Argument(..., help="a sweep directory (holds sweep.json) or a run directory (runs/<id>/)"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="write the report here (default: RUN_DIR)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="do not print the Markdown"),
) -> None:
    """Comparison report of a sweep or a single run: Markdown + static HTML (with a forest plot) + report.json."""
    from rich.console import Console

    from mgreason.sweep.report import write_report

    import json

    from mgreason.sweep.execute import _RunLock

    if not (run_dir / "sweep.json").is_file():
        md = write_report(run_dir, out=out)  # its own one-line error: not a sweep run directory
    else:
        with _RunLock(run_dir):  # the sweep's lock: never beside a running sweep's or report's writes
            md = write_report(run_dir, out=out)
    if not quiet:
        print(md.read_text(encoding="utf-8"))
    console = Console(stderr=True, soft_wrap=True)
    console.print(
        f"wrote {md}, {md.with_suffix('.html')}, {md.parent / 'report_forest.png'} and {md.with_suffix('.json')}",
        highlight=False,
    )
    corrupt = json.loads(md.with_suffix(".json").read_text(encoding="utf-8")).get("corrupt_records") or []
    if corrupt:
        n = sum(c["lines"] for c in corrupt)
        from rich.markup import escape

        console.print(
            f"[red]error:[/] {n} corrupt record line(s) in "
            + escape(", ".join(f"{c['file']} ({c['lines']})" for c in corrupt))
            + "; their cells count as not run: run the sweep again to recompute them",
            highlight=False,
        )
        raise SystemExit(1)


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep_cmd)
    app.command("report")(report_cmd)


__all__ = ["register", "report_cmd", "sweep_cmd"]
