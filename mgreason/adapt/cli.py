"""``mgreason adapt``: a LoRA adapter on a scenario's own prompts for one condition (registered by mgreason.cli)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mgreason.errors import MGReasonError, set_interrupt_note
from mgreason.fileio import output_option

__all__ = ["adapt_cmd", "register"]


def adapt_cmd(
    scenario: Path = typer.Argument(..., help="scenario YAML whose prompts and labels the adapter learns"),
    train: Path = typer.Option(..., "--train", help="training items (same columns as the scenario's items; labelled)"),
    condition: str = typer.Option(..., "--condition", help="the condition whose prompts it trains on (with_mg, without_mg, shuffled_mg, ...)"),
    out: Path = output_option(..., "--out", "-o", directory=True, help="adapter directory (run the same command again to resume)"),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="base model (default: the embedded SmolLM2)"),
    dtype: Optional[str] = typer.Option(None, "--dtype", help="base model dtype (default: the hf backend's choice)"),
    epochs: int = typer.Option(3, "--epochs", min=1, max=1000),
    lr: float = typer.Option(2e-4, "--lr", min=1e-7, max=1.0),
    rank: int = typer.Option(8, "--rank", min=1, max=1024, help="LoRA rank"),
    alpha: int = typer.Option(16, "--alpha", min=1, max=4096, help="LoRA alpha"),
    batch_size: int = typer.Option(8, "--batch-size", min=1, max=4096, help="examples per optimizer step"),
    val_fraction: float = typer.Option(0.2, "--val-fraction", min=0.0, max=0.9, help="held-out validation share (grouped by the scenario's group column when declared)"),
    patience: int = typer.Option(1, "--patience", min=1, max=100, help="epochs without a better validation loss before stopping"),
    max_train: Optional[int] = typer.Option(None, "--max-train", min=1, help="only the first N training examples"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Teach a model to read a scenario's evidence: LoRA on exactly the prompts run-scenario sends for one condition, the gold label as target; score it with run-scenario --adapter OUT."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from mgreason.adapt.train import Hyper, adapt
    from mgreason.backends import create_backend
    from mgreason.scenario import load_scenario

    console = Console(stderr=True)
    sc = load_scenario(scenario, items_path=train)
    set_interrupt_note(f"the finished epochs are kept in {out}/checkpoint; run the same command again to resume")
    opts = {"dtype": dtype} if dtype else {}
    be = create_backend("hf", model, **opts)
    if be.name != "hf":  # pragma: no cover - create_backend("hf") always is
        raise MGReasonError("adapt needs the hf backend", field="--backend")
    hp = Hyper(rank=rank, alpha=alpha, lr=lr, epochs=epochs, batch_size=batch_size, patience=patience,
               val_fraction=val_fraction, max_train=max_train)
    with Progress(TextColumn("[bold]adapt"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), TextColumn("{task.description}"), console=console) as prog:
        task = prog.add_task("", total=None)

        def tick(done: int, total: int, what: str) -> None:
            prog.update(task, completed=done, total=total, description=what)

        res = adapt(sc, be, condition, out, str(train), hp, seed=seed, progress=tick)
    c = res.card
    for p in c.curve:
        vl = "—" if p.val_loss is None else f"{p.val_loss:.4f}"
        va = "—" if p.val_accuracy is None else f"{p.val_accuracy:.3f}"
        console.print(f"epoch {p.epoch}: train loss {p.train_loss:.4f}, validation loss {vl}, accuracy {va}", highlight=False)
    console.print(
        f"adapter for {c.scenario_id} / {c.condition} on {c.base_model.id}: {c.n_train} training and {c.n_val} validation "
        f"examples; best epoch {c.best_epoch} ({c.stopped}); {c.train_seconds:.1f} s of training"
        + (f", {res.seconds_per_100:.1f} s per 100 examples" if res.seconds_per_100 else "")
        + f"\nwrote {out} (adapter sha256 {c.adapter_sha256[:12]}…); score it: mgreason run-scenario {scenario} "
        f"--model {model or c.base_model.id} --adapter {out}",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("adapt")(adapt_cmd)
