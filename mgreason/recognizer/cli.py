"""`mgreason train`, `mgreason eval-model`, `mgreason model-info`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer


def _parse_sets(sets: Optional[List[str]]) -> dict:
    import yaml

    from mgreason.configio import load_yaml_text
    from mgreason.errors import MGReasonError

    out = {}
    for s in sets or []:
        if "=" not in s:
            raise MGReasonError(f"expected KEY=VALUE, got {s!r}", field="--set")
        k, v = s.split("=", 1)
        try:
            out[k.strip()] = load_yaml_text(v)  # the same bounded safe loader as config files
        except (yaml.YAMLError, ValueError):
            out[k.strip()] = v
    return out


def _passive_omp() -> None:
    """Before torch loads: idle OpenMP threads sleep instead of spinning. On a shared or busy CPU,
    spinning intra-op threads slow small-tensor training many-fold; on an idle machine it costs ~nothing."""
    import os

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _check_run_dir(run_dir: Path, force: bool) -> None:
    """Before training: the run directory is writable, and holds no earlier run unless ``--force``."""
    from mgreason.errors import MGReasonError, set_interrupt_note
    from mgreason.fileio import require_writable

    require_writable(run_dir, directory=True)
    if run_dir.is_dir() and any(run_dir.iterdir()) and not force:
        raise MGReasonError(
            "holds an earlier run (checkpoints, metrics); choose another --out, or --force to overwrite it",
            file=run_dir,
            field="--out",
        )
    set_interrupt_note(
        f"{run_dir} keeps the best checkpoint so far (best/) and the finished epochs' metrics.jsonl; "
        "training does not resume: rerun with --force to start again"
    )


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_cmd(
        config: Path = typer.Argument(..., help="training config YAML (see configs/recognizer/)"),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="output directory (default: the config's out_dir)"),
        epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="override optim.epochs"),
        device: Optional[str] = typer.Option(None, "--device", help="auto | cpu | cuda | cuda:N"),
        seed: Optional[int] = typer.Option(None, "--seed", help="override the seed"),
        data: Optional[Path] = typer.Option(None, "--data", help="override data.path: a MiGA iMiGUE or SMG release folder, PYSKL .pkl, ST-GCN directory, OpenPose directory"),
        set_: Optional[List[str]] = typer.Option(None, "--set", help="override any key, e.g. --set optim.lr=0.01"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
        force: bool = typer.Option(False, "--force", help="overwrite an earlier run in the output directory"),
    ) -> None:
        """Train a recogniser; keeps the best checkpoint (a directory) under the output directory."""
        import sys

        _passive_omp()
        from rich.console import Console

        from mgreason.recognizer.config import load_config

        console = Console(stderr=True, soft_wrap=True)  # log lines are never hard-wrapped in non-TTY output
        overrides = _parse_sets(set_)
        if epochs is not None:
            overrides["optim.epochs"] = epochs
        if device is not None:
            overrides["optim.device"] = device
        if seed is not None:
            overrides["seed"] = seed
        if out is not None:
            overrides["out_dir"] = str(out)
        if data is not None:
            overrides["data.path"] = str(data.resolve())
        cfg = load_config(config, overrides)
        _check_run_dir(cfg.resolved_out_dir(), force)
        if data is not None and cfg.data.source == "synth":
            cfg.data.source = "auto"  # --data names real data: read it whatever its format
        from mgreason.recognizer.data import load_data

        bundle = load_data(cfg)  # bad data stop here, before any progress output (one line, exit code 2)
        from mgreason.transcribe.finish import train_and_finish

        res = train_and_finish(
            cfg, data=bundle, progress=not quiet and sys.stderr.isatty(), log=lambda s: console.print(s, highlight=False)
        )
        summary = {
            "out_dir": str(res.out_dir),
            "best_checkpoint": str(res.out_dir / "best"),
            "best_epoch": res.best_epoch,
            "test_top1": round(res.test_top1, 4),
            "test_top5": round(res.test_top5, 4),
            "seconds": round(res.seconds, 1),
        }
        print(json.dumps(summary))

    @app.command("eval-model")
    def eval_cmd(
        checkpoint: Optional[Path] = typer.Argument(None, help="checkpoint directory (default: the bundled tiny-real298)"),
        config: Optional[Path] = typer.Option(None, "--config", "-c", help="data from this training config (default: the checkpoint's own)"),
        data: Optional[Path] = typer.Option(None, "--data", help="PYSKL .pkl or ST-GCN directory to evaluate on"),
        source: Optional[str] = typer.Option(None, "--source", help="synth | pyskl | stgcn (with --data)"),
        split: str = typer.Option("test", "--split", help="test | val | train"),
        confusion: bool = typer.Option(False, "--confusion", help="print the confusion matrix"),
        as_json: bool = typer.Option(False, "--json", help="print the metrics as JSON"),
    ) -> None:
        """Evaluate a checkpoint: top-1/top-5, per-class accuracy (and the confusion matrix)."""
        _passive_omp()
        import torch

        from mgreason.errors import MGReasonError
        from mgreason.recognizer.config import TrainConfig, load_config, parse_config
        from mgreason.recognizer.data import ClipDataset, load_data
        from mgreason.recognizer.inference import Recognizer
        from mgreason.recognizer.train import evaluate

        if split not in ("test", "val", "train"):
            raise MGReasonError(f"--split must be test, val or train, got {split!r}", field="--split")
        rec = Recognizer.load(checkpoint)
        if config is not None:
            cfg = load_config(config)
        else:
            cfg = parse_config(rec.config.get("training", {}).get("config") or {}, "checkpoint config.json")
        over = cfg.model_dump()
        if data is not None:
            over["data"]["path"] = data.resolve()
            over["data"]["source"] = source or ("stgcn" if data.is_dir() else "pyskl")
        elif source is not None:
            over["data"]["source"] = source
        cfg = TrainConfig.model_validate(over)
        bundle = load_data(cfg)
        clips = {"test": bundle.test, "val": bundle.val, "train": bundle.train}[split]
        if not clips:
            raise MGReasonError(f"the data have no {split!r} split", field="--split")
        if bundle.labels != rec.labels:
            raise MGReasonError(
                f"the data's {len(bundle.labels)} classes differ from the checkpoint's {len(rec.labels)}", field="--data"
            )
        ds = ClipDataset(clips, rec.layout, rec.clip_len, rec.streams, rec.use_confidence)
        loader = torch.utils.data.DataLoader(ds, batch_size=64)
        ev = evaluate(rec.model, loader, rec.labels, rec.device)
        res = ev.to_dict(rec.labels)
        if as_json:
            print(json.dumps(res, indent=1))
            return
        print(f"{split}: n={ev.n}  top-1 {ev.top1:.4f}  top-5 {ev.top5:.4f}  loss {ev.loss:.4f}")
        for name, acc in res["per_class"].items():
            print(f"  {name:60s} {'-' if acc is None else f'{acc:.3f}'}")
        if confusion:
            for row in ev.confusion:
                print(" ".join(f"{v:3d}" for v in row))

    @app.command("model-info")
    def info_cmd(
        checkpoint: Optional[Path] = typer.Argument(None, help="checkpoint directory (default: the bundled tiny-real298)"),
    ) -> None:
        """Print a checkpoint's architecture, labels, preprocessing and training summary."""
        from mgreason.recognizer.checkpoint import read_checkpoint_config
        from mgreason.recognizer.fusion import gate_spread
        from mgreason.recognizer.inference import bundled_checkpoint_path

        p = checkpoint or bundled_checkpoint_path()
        cfg = read_checkpoint_config(p)
        tr = cfg.get("training", {})
        out = {
            "path": str(p),
            "arch": cfg["arch"],
            "num_parameters": cfg.get("num_parameters"),
            "labels": cfg["labels"],
            "preprocessing": cfg["preprocessing"],
            "data": tr.get("data", {}),
            "best_epoch": tr.get("epoch"),
            "selection": tr.get("metrics"),
            "test": {k: v for k, v in (tr.get("test") or {}).items() if k in ("top1", "top5", "n", "loss")},
            "gate_spread": tr.get("gate_spread", gate_spread(tr.get("gate_per_class") or {})),
            "segmentation": cfg.get("segmentation"),  # the thresholds `mgreason transcribe` uses
        }
        print(json.dumps(out, indent=1))
