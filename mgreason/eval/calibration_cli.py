"""``mgreason calibrate`` (registered by :mod:`mgreason.cli`): the logic lives in :mod:`mgreason.eval.calibration`
(numpy, the run records), loaded when the command runs so that the CLI's start-up does not pay for it."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

__all__ = ["register", "calibrate_cmd"]


def calibrate_cmd(
    run_dir: Path = typer.Argument(..., help="a run directory (run-scenario --out) scored with log-probs"),
    prior: Optional[Path] = typer.Option(
        None, "--prior", help="a run of the same model on the training split: its mean label log-probs per condition are the prior"
    ),
    contextual: bool = typer.Option(
        False, "--contextual", help="contextual calibration: load the run's model again and score the "
        "content-free prompts of each condition (mgreason show-prompt SCENARIO --content-free shows them)"
    ),
    scenario: Optional[Path] = typer.Option(None, "--scenario", help="--contextual: the run's scenario file, if it moved"),
    backend: Optional[str] = typer.Option(None, "--backend", "-b", help="--contextual: backend (default: the run's)"),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="--contextual: model (default: the run's)"),
    engine_arg: Optional[List[str]] = typer.Option(None, "--engine-arg", "-E", help="--contextual: backend option KEY=VALUE"),
    cache: bool = typer.Option(True, "--cache/--no-cache", help="--contextual: use the response cache"),
    n_boot: int = typer.Option(10000, "--n-boot", min=100, help="paired-bootstrap resamples"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Calibrated scoring as extra columns (prior from a training-split run; contextual calibration on
    content-free inputs; ROC AUC of the label margin). The raw results are not changed."""
    from mgreason.backends import parse_engine_args
    from mgreason.eval.calibration import contextual_for_run, load_run, write_calibrated

    fit = None
    if contextual:
        if prior is not None:
            load_run(prior)  # a clear error before the model loads (contextual_for_run checks RUN_DIR first)
        fit = contextual_for_run(
            run_dir, scenario_path=scenario, backend_name=backend, model=model,
            engine_args=parse_engine_args(engine_arg), use_cache=cache,
        )  # fmt: skip
    md, _ = write_calibrated(run_dir, prior, contextual=fit, n_boot=n_boot, seed=seed)
    print(md.read_text(encoding="utf-8"))
    print(f"wrote {md} and {md.with_suffix('.json').name}")


def register(app: typer.Typer) -> None:
    """``mgreason calibrate RUN_DIR [--prior TRAIN_RUN_DIR] [--contextual]``."""
    app.command("calibrate")(calibrate_cmd)
