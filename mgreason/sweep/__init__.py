"""Resumable batch sweeps: models × scenarios × conditions, one subprocess per model, a
response cache keyed by model identity, and a comparison report.

* :mod:`mgreason.sweep.spec` -- the sweep file (pydantic)
* :mod:`mgreason.sweep.manifest` -- the plan (every cell) and the cell state on disk
* :mod:`mgreason.eval.cache` -- SQLite (WAL) response cache
* :mod:`mgreason.sweep.execute` -- the orchestrator; :mod:`mgreason.sweep.worker` -- one model
* :mod:`mgreason.sweep.report` -- Markdown / HTML / forest plot
"""

from __future__ import annotations

from mgreason.lazy import lazy_exports

__all__ = ["ModelEntry", "SweepError", "SweepSpec", "load_sweep", "run_sweep", "write_report"]


_SPEC = "mgreason.sweep.spec"
__getattr__ = lazy_exports(  # the CLI imports this package at start-up: everything loads on first use
    __name__,
    {"ModelEntry": _SPEC, "SweepError": _SPEC, "SweepSpec": _SPEC, "load_sweep": _SPEC,
     "run_sweep": "mgreason.sweep.execute", "write_report": "mgreason.sweep.report"},
)
