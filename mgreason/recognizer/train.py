"""Training loop: seeded, CPU or CUDA (AMP), per-epoch evaluation, best-checkpoint keeping.

``train(cfg)`` writes into ``cfg.resolved_out_dir()``:

* ``best/`` — the checkpoint with the best test top-1 so far (ties: lower test loss);
* ``last/`` — the checkpoint after the last epoch;
* ``metrics.jsonl`` — one JSON line per evaluated epoch (loss, top-1, top-5, per-class accuracy,
  confusion matrix, mean gate per class, seconds);
* ``config.yaml`` — the resolved training config.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch

from mgreason.errors import MGReasonError
from mgreason.recognizer.augment import build_augmentations
from mgreason.recognizer.checkpoint import save_checkpoint
from mgreason.recognizer.config import TrainConfig
from mgreason.recognizer.data import ClipDataset, DataBundle, load_data
from mgreason.recognizer.fusion import gate_collapse_warning, gate_spread
from mgreason.recognizer.model import RecognizerModel, arch_from_config, build_model

__all__ = ["train", "evaluate", "TrainResult", "EvalResult", "resolve_device", "seed_everything", "preprocessing_info"]


@dataclass
class EvalResult:
    loss: float
    top1: float
    top5: float
    per_class: list[Optional[float]]  # accuracy per class (None: no test clip of that class)
    confusion: list[list[int]]  # rows = true class, columns = predicted
    gate_per_class: dict[str, list[float]]  # class name -> mean (spatial, temporal) gate
    n: int
    probs: Optional[np.ndarray] = None

    def to_dict(self, labels: list[str]) -> dict[str, Any]:
        return {
            "loss": self.loss,
            "top1": self.top1,
            "top5": self.top5,
            "per_class": {labels[i]: a for i, a in enumerate(self.per_class)},
            "confusion": self.confusion,
            "gate_per_class": self.gate_per_class,
            "n": self.n,
        }


@dataclass
class TrainResult:
    out_dir: Path
    test_top1: float  # test split, best epoch's weights
    test_top5: float
    best_epoch: int
    selection_top1: float  # top-1 on the split that picked the best epoch (val, else test)
    epochs_run: int
    seconds: float
    history: list[dict[str, Any]] = field(default_factory=list)
    final: Optional[EvalResult] = None
    labels: list[str] = field(default_factory=list)
    calibration: Optional[dict[str, Any]] = None  # temperature scaling on the val split (cfg.calibrate)
    data: Optional[DataBundle] = field(default=None, repr=False)  # what was trained on (for finishing the checkpoint)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise MGReasonError("CUDA was requested but no CUDA device is available", field="optim.device")
    try:
        return torch.device(name)
    except RuntimeError:
        raise MGReasonError(f"unknown device {name!r}", field="optim.device") from None


def preprocessing_info(cfg: TrainConfig, coord_channels: int, train_frames: Optional[list[int]] = None) -> dict[str, Any]:
    d, m = cfg.data, cfg.model
    med = float(np.median(train_frames)) if train_frames else None
    return {
        "fps": d.fps,
        "clip_len": d.clip_len,
        # training squeezes every clip into clip_len frames; a typical (median) clip of med frames at fps
        # is seen at fps * clip_len / med frames per second: the rate for dense (per-frame) scoring
        "train_median_frames": med,
        "dense_fps": round(d.fps * d.clip_len / med, 3) if med else d.fps,
        "layout": d.layout,
        "streams": list(m.streams),
        "use_confidence": m.use_confidence,
        "coord_channels": coord_channels,
        "min_confidence": d.min_confidence,
        "sampling": "uniform segments (middle frame at test time)",
        "normalization": "joints mapped to the layout by name; centre = neck (robust median over the sequence), "
        "scale = shoulder width (median); gaps linearly filled, filled joints have confidence 0",
    }


def _loader(ds: ClipDataset, batch_size: int, shuffle: bool, seed: int, workers: int, pin: bool) -> torch.utils.data.DataLoader:
    g = torch.Generator()
    g.manual_seed(seed)
    return torch.utils.data.DataLoader(
        ds, batch_size=batch_size, shuffle=shuffle, generator=g, num_workers=workers, pin_memory=pin,
        drop_last=shuffle and len(ds) > batch_size, persistent_workers=False,
    )  # fmt: skip


@torch.no_grad()
def evaluate(
    model: RecognizerModel, loader: torch.utils.data.DataLoader, labels: list[str], device: torch.device,
    amp: bool = False, keep_probs: bool = False,
) -> EvalResult:  # fmt: skip
    model.eval()
    K = len(labels)
    conf = np.zeros((K, K), dtype=np.int64)
    loss_sum, n, top5 = 0.0, 0, 0
    gate_sum = np.zeros((K, 2))
    gate_n = np.zeros(K)
    all_probs = []
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp and device.type == "cuda"):
            out = model(x)
        logits = out.logits.float()
        loss_sum += float(torch.nn.functional.cross_entropy(logits, y, reduction="sum"))
        pred = logits.argmax(1)
        k = min(5, K)
        top5 += int((logits.topk(k, dim=1).indices == y[:, None]).any(1).sum())
        np.add.at(conf, (y.cpu().numpy(), pred.cpu().numpy()), 1)
        if out.gate is not None:
            g = out.gate.float().cpu().numpy()
            np.add.at(gate_sum, y.cpu().numpy(), g)
            np.add.at(gate_n, y.cpu().numpy(), 1)
        if keep_probs:
            all_probs.append(torch.softmax(logits, 1).cpu().numpy())
        n += len(y)
    support = conf.sum(1)
    per_class = [float(conf[i, i] / support[i]) if support[i] else None for i in range(K)]
    gates = {labels[i]: (gate_sum[i] / gate_n[i]).round(4).tolist() for i in range(K) if gate_n[i] > 0}
    return EvalResult(
        loss=loss_sum / max(n, 1),
        top1=float(np.trace(conf) / max(n, 1)),
        top5=top5 / max(n, 1),
        per_class=per_class,
        confusion=conf.tolist(),
        gate_per_class=gates,
        n=n,
        probs=np.concatenate(all_probs) if all_probs else None,
    )


def _from_checkpoint(
    cfg: TrainConfig, data: DataBundle, log: Callable[[str], None]
) -> tuple[DataBundle, dict[str, Any], dict[str, torch.Tensor]]:
    """Fine-tuning: the checkpoint's architecture, weights and class list; the data relabelled by class name
    (clips of classes the checkpoint does not know are left out, and said so)."""
    from mgreason.recognizer.checkpoint import load_checkpoint
    from mgreason.recognizer.inference import bundled_checkpoint_path

    src = str(cfg.init_checkpoint)
    path = Path(src)
    if not path.is_dir():
        if "/" in src or "\\" in src:
            raise MGReasonError("checkpoint directory not found", file=path, field="init_checkpoint")
        path = bundled_checkpoint_path(src)  # a bundled checkpoint by name (tiny-synth, ...)
    model, ck = load_checkpoint(path)
    arch = ck["arch"]
    if arch["layout"] != cfg.data.layout or int(arch["coord_channels"]) != data.coord_channels:
        raise MGReasonError(
            f"the checkpoint expects layout {arch['layout']} with {arch['coord_channels']} coordinates, the data give "
            f"{cfg.data.layout} with {data.coord_channels}", file=path, field="init_checkpoint",
        )  # fmt: skip
    ck_labels = list(ck["labels"])
    pos = {n: i for i, n in enumerate(ck_labels)}
    left_out: dict[str, int] = {}

    def relabel(clips: list[Any]) -> list[Any]:
        out = []
        for c in clips:
            name = data.labels[c.label]
            if name in pos:
                out.append(c.with_(label=pos[name]))
            else:
                left_out[name] = left_out.get(name, 0) + 1
        return out

    new = DataBundle(relabel(data.train), relabel(data.test), ck_labels, data.coord_channels, dict(data.description),
                     relabel(data.val), data.val_recordings)  # fmt: skip
    new.description.update(init_checkpoint=str(path), classes=ck_labels, left_out_unknown_classes=left_out,
                           n_train=len(new.train), n_val=len(new.val), n_test=len(new.test))  # fmt: skip
    if left_out:
        log(f"left out (classes the checkpoint does not know): {left_out}")
    if not new.train:
        raise MGReasonError("no training clip of a class the checkpoint knows", field="init_checkpoint")
    return new, arch, {k: v.detach().clone() for k, v in model.state_dict().items()}


def _lr_factor(step: int, total: int, warmup: int) -> float:
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if total <= warmup:
        return 1.0
    p = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, p)))


def train(
    cfg: TrainConfig,
    *,
    data: Optional[DataBundle] = None,
    progress: bool = True,
    log: Optional[Callable[[str], None]] = None,
    save: bool = True,
) -> TrainResult:
    """Train as ``cfg`` says; returns the best epoch's metrics (checkpoints under the out dir)."""
    t_start = time.time()
    log = log or (lambda s: None)
    o = cfg.optim
    if o.num_threads:
        torch.set_num_threads(o.num_threads)
    seed_everything(cfg.seed)
    device = resolve_device(o.device)
    amp = bool(o.amp and device.type == "cuda")
    if data is None:
        log("preparing data ...")
        data = load_data(cfg)
    init_state = None
    if cfg.init_checkpoint:
        data, arch, init_state = _from_checkpoint(cfg, data, log)
    else:
        arch = arch_from_config(cfg.model, cfg.data.layout, len(data.labels), data.coord_channels)
    labels = data.labels
    seed_everything(cfg.seed)
    model = build_model(arch).to(device)
    if init_state is not None:
        model.load_state_dict(init_state)
    temporal, spatial = build_augmentations(cfg.augment, cfg.data.layout, labels)
    common = dict(layout=cfg.data.layout, clip_len=cfg.data.clip_len, streams=cfg.model.streams,
                  use_confidence=cfg.model.use_confidence)  # fmt: skip
    train_ds = ClipDataset(data.train, temporal=temporal, spatial=spatial, train=True,
                           random_sampling=cfg.augment.random_sampling, seed=cfg.seed, **common)  # fmt: skip
    test_ds = ClipDataset(data.test, train=False, **common)
    pin = device.type == "cuda"
    train_loader = _loader(train_ds, o.batch_size, True, cfg.seed, o.num_workers, pin)
    test_loader = _loader(test_ds, max(o.batch_size, 64), False, cfg.seed, o.num_workers, pin)
    has_val = bool(data.val)
    sel_loader = (
        _loader(ClipDataset(data.val, train=False, **common), max(o.batch_size, 64), False, cfg.seed, o.num_workers, pin)
        if has_val
        else test_loader
    )
    sel_name = "val" if has_val else "test"

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim <= 1 or name.endswith(".PA") or "offset" in name else decay).append(p)
    groups = [{"params": decay, "weight_decay": o.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if o.optimizer == "sgd":
        opt = torch.optim.SGD(groups, lr=o.lr, momentum=o.momentum, nesterov=True)
    else:
        opt = torch.optim.AdamW(groups, lr=o.lr)
    steps_per_epoch = max(1, len(train_loader))
    total_steps = steps_per_epoch * o.epochs
    if o.max_steps:
        total_steps = min(total_steps, o.max_steps)
    warmup = int(round(o.warmup_epochs * steps_per_epoch))
    scaler = torch.amp.GradScaler("cuda", enabled=amp)

    out_dir = cfg.resolved_out_dir()
    prep = preprocessing_info(cfg, data.coord_channels, [c.num_frames for c in data.train])
    if save:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "config.json").write_text(json.dumps(cfg.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
        metrics_file = open(out_dir / "metrics.jsonl", "w", encoding="utf-8")
    nparams = sum(p.numel() for p in model.parameters())
    log(
        f"{cfg.name}: {len(data.train)} train / {len(data.val)} val / {len(data.test)} test clips, {len(labels)} classes, "
        f"{nparams / 1e6:.3f} M params, device {device}{' (AMP)' if amp else ''}, {o.epochs} epochs x {steps_per_epoch} steps"
    )

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    prog = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
        disable=not progress, transient=False, console=Console(stderr=True),
    )  # fmt: skip
    history: list[dict[str, Any]] = []
    best: Optional[tuple[float, float]] = None
    best_epoch, best_eval = -1, None
    best_state: Optional[dict[str, torch.Tensor]] = None
    step = 0
    stop = False
    last_eval: Optional[EvalResult] = None
    epoch = 0
    training_info = lambda ev, ep: {  # noqa: E731
        "config": cfg.model_dump(mode="json"),
        "data": data.description,
        "epoch": ep,
        "selection_split": sel_name,
        "metrics": {"top1": ev.top1, "top5": ev.top5, "loss": ev.loss, "n": ev.n, "split": sel_name} if ev else {},
        "per_class": {labels[i]: a for i, a in enumerate(ev.per_class)} if ev else {},
        "gate_per_class": ev.gate_per_class if ev else {},
        "gate_spread": gate_spread(ev.gate_per_class) if ev else None,
        "device": str(device),
        "amp": amp,
    }
    with prog:
        task = prog.add_task("train", total=total_steps, info="")
        for epoch in range(1, o.epochs + 1):
            model.train()
            train_ds.set_epoch(epoch)
            t0 = time.time()
            run_loss, run_n, seen = 0.0, 0, 0
            for x, y in train_loader:
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                for g in opt.param_groups:
                    g["lr"] = o.lr * _lr_factor(step, total_steps, warmup)
                with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
                    out = model(x)
                    parts = model.losses(out, y, o.label_smoothing)
                    loss = sum(parts.values())
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                if o.grad_clip:
                    scaler.unscale_(opt)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), o.grad_clip)
                scaler.step(opt)
                scaler.update()
                step += 1
                seen += len(y)
                run_loss += float(loss.detach()) * len(y)
                run_n += len(y)
                prog.update(task, advance=1, info=f"ep {epoch} loss {run_loss / run_n:.3f}")
                if o.max_steps and step >= o.max_steps:
                    stop = True
                    break
                if o.max_minutes and (time.time() - t_start) > o.max_minutes * 60:
                    stop = True
                    break
            train_s = time.time() - t0
            if epoch % o.eval_every == 0 or epoch == o.epochs or stop:
                ev = evaluate(model, sel_loader, labels, device, amp)
                last_eval = ev
                rec = {
                    "epoch": epoch,
                    "step": step,
                    "train_loss": run_loss / max(run_n, 1),
                    "train_seconds": round(train_s, 2),
                    "samples_per_s": round(seen / max(train_s, 1e-9), 2),
                    "lr": opt.param_groups[0]["lr"],
                    "split": sel_name,
                    **ev.to_dict(labels),
                }
                history.append(rec)
                if save:
                    metrics_file.write(json.dumps(rec) + "\n")
                    metrics_file.flush()
                key = (ev.top1, -ev.loss)
                improved = best is None or key > best
                if improved:
                    best, best_epoch, best_eval = key, epoch, ev
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                    if save:
                        save_checkpoint(out_dir / "best", model, labels, prep, training_info(ev, epoch))
                log(
                    f"epoch {epoch}: train loss {rec['train_loss']:.3f} ({rec['samples_per_s']:.0f} clips/s) | "
                    f"{sel_name} loss {ev.loss:.3f} top-1 {ev.top1:.3f} top-5 {ev.top5:.3f}{'  *best' if improved else ''}"
                )
            if stop:
                break
    if save:
        save_checkpoint(out_dir / "last", model, labels, prep, training_info(last_eval, epoch))
        metrics_file.close()
    # the test split, scored with the best epoch's weights (picked on val when there is one)
    test_eval = last_eval
    if best_state is not None:
        model.load_state_dict(best_state)
        test_eval = best_eval if not has_val else evaluate(model, test_loader, labels, device, amp)
        if save:
            info = training_info(best_eval, best_epoch)
            info["test"] = test_eval.to_dict(labels)
            info["test"].pop("confusion", None)
            save_checkpoint(out_dir / "best", model, labels, prep, info)
            (out_dir / "test_metrics.json").write_text(
                json.dumps({"epoch": best_epoch, **test_eval.to_dict(labels)}, indent=1) + "\n", encoding="utf-8"
            )
        log(f"best epoch {best_epoch} ({sel_name}): test top-1 {test_eval.top1:.3f} top-5 {test_eval.top5:.3f}")
        warning = gate_collapse_warning(best_eval.gate_per_class) if best_eval is not None else None
        if warning:
            log(f"warning: {warning}")
    calibration = None
    if save and cfg.calibrate and best_state is not None and has_val:
        ev_cal = evaluate(model, sel_loader, labels, device, amp, keep_probs=True)
        from mgreason.recognizer.calibration import calibration_report

        calibration = calibration_report(ev_cal.probs, np.array([c.label for c in data.val]))
        calibration["split"] = "val"
        log(f"temperature {calibration['temperature']:.3f} on {calibration['n']} val clips: ECE "
            f"{calibration['ece_before']:.3f} -> {calibration['ece_after']:.3f}")  # fmt: skip
    # event-level settings (segmentation thresholds, calibrated confidence, coarse fallback) are chosen by
    # mgreason.transcribe.finish.finish_checkpoint: segmentation belongs to transcribe, which imports this module
    seconds = time.time() - t_start
    return TrainResult(
        out_dir=out_dir,
        test_top1=test_eval.top1 if test_eval else float("nan"),
        test_top5=test_eval.top5 if test_eval else float("nan"),
        best_epoch=best_epoch,
        selection_top1=best_eval.top1 if best_eval else float("nan"),
        epochs_run=epoch,
        seconds=seconds,
        history=history,
        final=test_eval,
        labels=labels,
        calibration=calibration,
        data=data,
    )
