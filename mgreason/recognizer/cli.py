"""`mgreason eval-model` and `mgreason model-info` (``mgreason train`` lives with the transcription
commands, :mod:`mgreason.transcribe.cli`: training ends with the checkpoint's transcription settings)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def eval_model_cmd(
    checkpoint: Optional[Path] = typer.Argument(None, help="checkpoint directory (default: the bundled tiny-real298)"),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="data from this training config (default: the checkpoint's own)"),
    data: Optional[Path] = typer.Option(None, "--data", help="PYSKL .pkl or ST-GCN directory to evaluate on"),
    source: Optional[str] = typer.Option(None, "--source", help="synth | pyskl | stgcn (with --data)"),
    split: str = typer.Option("test", "--split", help="test | val | train"),
    confusion: bool = typer.Option(False, "--confusion", help="print the confusion matrix"),
    as_json: bool = typer.Option(False, "--json", help="print the metrics as JSON"),
) -> None:
    """Evaluate a checkpoint: top-1/top-5, per-class accuracy (and the confusion matrix)."""
    from mgreason.recognizer.runtime import passive_omp

    passive_omp()
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

def model_info_cmd(
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


def register(app: typer.Typer) -> None:
    app.command("eval-model")(eval_model_cmd)
    app.command("model-info")(model_info_cmd)
