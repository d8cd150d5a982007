"""LoRA training for ``mgreason adapt`` (PEFT on the hf backend's model).

1. The examples are the scenario's own prompts for one condition (:mod:`mgreason.adapt.data`), tokenised by the
   backend's scoring path (``HFBackend._prepare``: chat template, label continuation rule), so training sees exactly
   what scoring sees; the target is the gold label's tokens (supervised fine-tuning: the summed negative
   log-likelihood of the label's tokens after the prompt).
2. A held-out validation split (grouped by the scenario's group column when declared) is scored after every epoch
   (loss of the gold label, and accuracy of the label-scoring decision); the adapter of the best validation loss is
   kept, and training stops after ``patience`` epochs without improvement.
3. Seeded (LoRA initialisation, example order, split); resumable: after every epoch the adapter, the optimizer and
   the curve are saved under ``OUT/checkpoint/``, and the same command continues from there (another configuration
   in the same OUT is refused).
"""

from __future__ import annotations

import json
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

from mgreason.adapt.data import Example, data_sha256, examples, split
from mgreason.backends.adapter import (
    AdapterCard,
    BaseModelIdentity,
    ValidationPoint,
    adapter_sha256,
    write_card,
)
from mgreason.errors import MGReasonError

CHECKPOINT = "checkpoint"


@dataclass
class Hyper:
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    lr: float = 2e-4
    epochs: int = 3
    batch_size: int = 8
    patience: int = 1
    val_fraction: float = 0.2
    target_modules: str = "all-linear"
    max_train: Optional[int] = None  # only the first N training examples (after the split), for quick runs


@dataclass
class AdaptResult:
    out: Path
    card: AdapterCard
    model: object  # the backend's model with the best adapter injected (in memory)
    resumed_from_epoch: int = 0
    seconds_per_100: Optional[float] = None
    log: list[str] = field(default_factory=list)


def _prep(backend, exs: list[Example], labels: list[str]):
    out = []
    for e in exs:
        _text, ids, conts = backend._prepare(e.messages, labels)
        out.append((list(ids), [list(c) for c in conts], labels.index(e.label)))
    return out


def _label_logprob(torch, model, ids: list[int], cont: list[int]):
    """log p(cont | ids), summed over the label's tokens. Only the positions that predict the label go through the
    LM head (``logits_to_keep``): with a 151k-token vocabulary the head over every prompt position cost about as
    much as the model's body, in the forward and in the backward pass."""
    full = torch.tensor([ids + cont[:-1]], dtype=torch.long)
    logits = model(input_ids=full, use_cache=False, logits_to_keep=len(cont)).logits[0, -len(cont):]
    logp = torch.log_softmax(logits.float(), dim=-1)
    return logp.gather(1, torch.tensor(cont, dtype=torch.long).unsqueeze(1)).sum()


def _label_scores(torch, model, ids: list[int], conts: list[list[int]]) -> list[float]:
    """Every label's log-prob after ``ids`` (no gradient): one forward when every label is one token (the usual
    case), else one forward per label."""
    if all(len(c) == 1 for c in conts):
        out = model(input_ids=torch.tensor([ids], dtype=torch.long), use_cache=False, logits_to_keep=1)
        logp = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
        return [float(logp[c[0]]) for c in conts]
    return [float(_label_logprob(torch, model, ids, c)) for c in conts]


def _evaluate(torch, model, data) -> tuple[Optional[float], Optional[float]]:
    if not data:
        return None, None
    model.eval()
    loss, right = 0.0, 0
    with torch.no_grad():
        for ids, conts, gold in data:
            scores = _label_scores(torch, model, ids, conts)
            loss -= scores[gold]
            right += int(max(range(len(scores)), key=lambda i: (scores[i], -i)) == gold)
    return loss / len(data), right / len(data)


def adapt(
    scenario,
    backend,
    condition: str,
    out: Path,
    train_items: str,
    hp: Hyper,
    seed: int = 0,
    progress: Optional[Callable[[int, int, str], None]] = None,
) -> AdaptResult:
    """Train a LoRA adapter for ``condition`` on ``scenario``'s items; write it to ``out`` with its card."""
    import numpy as np
    import torch
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from safetensors.torch import load_file

    out = Path(out)
    labels = list(scenario.labels)
    exs = examples(scenario, condition, seed=seed)
    tr, va = split(exs, hp.val_fraction, seed)
    if hp.max_train:
        tr = tr[: hp.max_train]
    if not tr:
        raise MGReasonError("no training examples left after the validation split", field="--train")
    info = backend.model_info()
    base = BaseModelIdentity(id=info.id, resolved=info.resolved, sha256=info.sha256, dtype=info.dtype)
    dsha = data_sha256(tr) + "/" + data_sha256(va)
    config_key = {"hyper": asdict(hp), "seed": seed, "data": dsha, "base": base.model_dump(), "condition": condition,
                  "scenario": scenario.sha256}

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    train_data, val_data = _prep(backend, tr, labels), _prep(backend, va, labels)
    lcfg = LoraConfig(r=hp.rank, lora_alpha=hp.alpha, lora_dropout=hp.dropout, target_modules=hp.target_modules,
                      task_type="CAUSAL_LM")
    peft_model = get_peft_model(backend.model, lcfg)
    params = [p for p in peft_model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=hp.lr)

    ck = out / CHECKPOINT
    state: dict = {"epoch": 0, "step": 0, "curve": [], "best_loss": None, "best_epoch": None, "bad_epochs": 0,
                   "done": False, "stopped": "", "seconds": 0.0, "config": config_key}
    resumed = 0
    if (ck / "state.json").is_file():
        old = json.loads((ck / "state.json").read_text(encoding="utf-8"))
        if old.get("config") != json.loads(json.dumps(config_key)):
            raise MGReasonError("OUT holds an adapter trained with other data, settings or base model; "
                                "choose a new --out", file=out, field="--out")
        state = old
        set_peft_model_state_dict(peft_model, load_file(str(ck / "adapter_model.safetensors")))
        opt.load_state_dict(torch.load(ck / "optimizer.pt", weights_only=True))
        resumed = state["epoch"]
        torch.set_rng_state(torch.load(ck / "torch_rng.pt", weights_only=True))
    elif out.exists() and any(out.iterdir()):
        raise MGReasonError("output directory exists and is not an adapter checkpoint; choose a new --out",
                            file=out, field="--out")
    out.mkdir(parents=True, exist_ok=True)

    t_train = 0.0
    n_seen = 0
    total = hp.epochs * len(train_data)
    while not state["done"] and state["epoch"] < hp.epochs:
        epoch = state["epoch"]
        order = np.random.default_rng(seed + epoch).permutation(len(train_data))
        peft_model.train()
        t0 = time.perf_counter()
        run_loss, k = 0.0, 0
        opt.zero_grad()
        for j, i in enumerate(order):
            ids, conts, gold = train_data[int(i)]
            loss = -_label_logprob(torch, peft_model, ids, conts[gold])
            (loss / hp.batch_size).backward()
            run_loss += float(loss.detach())
            k += 1
            if k % hp.batch_size == 0 or j == len(order) - 1:
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
                opt.zero_grad()
                state["step"] += 1
            if progress:
                progress(epoch * len(train_data) + j + 1, total, f"epoch {epoch + 1}/{hp.epochs} loss {run_loss / k:.3f}")
        dt = time.perf_counter() - t0
        t_train += dt
        n_seen += len(order)
        vl, vacc = _evaluate(torch, peft_model, val_data)
        state["epoch"] = epoch + 1
        state["seconds"] = float(state["seconds"]) + dt
        state["curve"].append(ValidationPoint(epoch=epoch + 1, step=state["step"], train_loss=run_loss / max(1, k),
                                              val_loss=vl, val_accuracy=vacc).model_dump())
        improved = vl is None or state["best_loss"] is None or vl < state["best_loss"] - 1e-9
        if improved:
            state["best_loss"], state["best_epoch"], state["bad_epochs"] = vl, epoch + 1, 0
            tmp = out / ".best.partial"
            if tmp.exists():
                shutil.rmtree(tmp)
            peft_model.save_pretrained(str(tmp))
            for f in tmp.iterdir():
                f.replace(out / f.name)
            tmp.rmdir()
        else:
            state["bad_epochs"] += 1
            if state["bad_epochs"] >= hp.patience:
                state["done"], state["stopped"] = True, f"early stop after epoch {epoch + 1} (best {state['best_epoch']})"
        if state["epoch"] >= hp.epochs and not state["done"]:
            state["done"], state["stopped"] = True, f"{hp.epochs} epochs"
        # the checkpoint: this epoch's adapter, the optimizer, the curve
        ck.mkdir(exist_ok=True)
        tmpck = out / ".checkpoint.partial"
        if tmpck.exists():
            shutil.rmtree(tmpck)
        peft_model.save_pretrained(str(tmpck))
        torch.save(opt.state_dict(), tmpck / "optimizer.pt")
        torch.save(torch.get_rng_state(), tmpck / "torch_rng.pt")
        (tmpck / "state.json").write_text(json.dumps(state, indent=2), encoding="utf-8")
        shutil.rmtree(ck)
        tmpck.rename(ck)

    # in memory: the best adapter (as saved), unmerged, ready to score
    set_peft_model_state_dict(peft_model, load_file(str(out / "adapter_model.safetensors")))
    peft_model.eval()
    model = peft_model.get_base_model()
    model.eval()
    backend.model = model
    card = AdapterCard(
        base_model=base, scenario_id=scenario.id, scenario_sha256=scenario.sha256, scenario_path=str(scenario.path),
        condition=condition, labels=labels, train_items=str(train_items), data_sha256=dsha, n_train=len(tr),
        n_val=len(va), val_grouped_by=scenario.spec.items.fields.group if va and tr[0].group is not None else None,
        hyperparameters=asdict(hp), seed=seed, curve=[ValidationPoint(**p) for p in state["curve"]],
        best_epoch=state["best_epoch"], stopped=state["stopped"], train_seconds=round(float(state["seconds"]), 2),
        adapter_sha256=adapter_sha256(out),
    )
    write_card(out, card)
    per100 = 100.0 * t_train / n_seen if n_seen else None
    return AdaptResult(out=out, card=card, model=model, resumed_from_epoch=resumed, seconds_per_100=per100)


__all__ = ["AdaptResult", "Hyper", "adapt"]
