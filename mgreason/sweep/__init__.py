"""Resumable batch sweeps: models × scenarios × conditions, one subprocess per model, a
response cache keyed by model identity, and a comparison report.

* :mod:`mgreason.sweep.spec` -- the sweep file (pydantic)
* :mod:`mgreason.sweep.manifest` -- the plan (every cell) and the cell state on disk
* :mod:`mgreason.eval.cache` -- SQLite (WAL) response cache
* :mod:`mgreason.sweep.execute` -- the orchestrator; :mod:`mgreason.sweep.worker` -- one model
* :mod:`mgreason.sweep.report` -- Markdown / HTML / forest plot
"""

from __future__ import annotations

from mgreason.sweep.spec import ModelEntry, SweepError, SweepSpec, load_sweep

__all__ = ["ModelEntry", "SweepError", "SweepSpec", "load_sweep", "run_sweep", "write_report"]


def __getattr__(name: str):  # lazy: the CLI imports this package at start-up
    if name == "run_sweep":
        from mgreason.sweep.execute import run_sweep

        return run_sweep
    if name == "write_report":
        from mgreason.sweep.report import write_report

        return write_report
    raise AttributeError(name)
