"""LoRA adapters made by ``mgreason adapt``: the model card on disk, and loading one onto an hf model.

An adapter directory holds PEFT's ``adapter_config.json`` and ``adapter_model.safetensors`` plus
``mgreason_adapter.json`` (:class:`AdapterCard`): the base model's identity, the scenario and condition it was
trained on, the data hash, the hyper-parameters and the validation curve. Its identity for provenance and for the
response cache is the sha256 of the adapter weights (:func:`adapter_sha256`), so two adapters never share cached
answers, whatever their paths.

The adapter is injected into the loaded model without merging (``PeftModel.from_pretrained(...).get_base_model()``):
the LoRA layers run beside the frozen weights, so the scores equal those of the in-memory model right after training
(merging into bfloat16 weights would round them).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mgreason.errors import BackendError

CARD_NAME = "mgreason_adapter.json"
WEIGHTS_NAME = "adapter_model.safetensors"


class BaseModelIdentity(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    resolved: str
    sha256: Optional[str] = None
    dtype: Optional[str] = None


class ValidationPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    epoch: int
    step: int
    train_loss: float
    val_loss: Optional[float] = None
    val_accuracy: Optional[float] = None


class AdapterCard(BaseModel):
    """``mgreason_adapter.json``: what an adapter is and how it was made."""

    model_config = ConfigDict(extra="forbid")
    format: int = 1
    base_model: BaseModelIdentity
    scenario_id: str
    scenario_sha256: str
    scenario_path: str
    condition: str
    labels: list[str]
    train_items: str = Field(description="the training items file")
    data_sha256: str = Field(description="sha256 of the rendered training prompts and their gold labels, in order")
    n_train: int
    n_val: int
    val_grouped_by: Optional[str] = None
    hyperparameters: dict[str, Any]
    seed: int
    curve: list[ValidationPoint] = Field(default_factory=list)
    best_epoch: Optional[int] = None
    stopped: str = ""
    train_seconds: float = 0.0
    adapter_sha256: Optional[str] = None


def adapter_sha256(directory: str | Path) -> str:
    """sha256 of the adapter weights file (its identity)."""
    p = Path(directory) / WEIGHTS_NAME
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_card(directory: str | Path) -> AdapterCard:
    d = Path(directory)
    card = d / CARD_NAME
    if not d.is_dir():
        raise BackendError(f"adapter directory not found: {d}", field="adapter")
    for need in (card, d / WEIGHTS_NAME, d / "adapter_config.json"):
        if not need.is_file():
            raise BackendError(f"not an mgreason adapter directory: {need.name} is missing (made by mgreason adapt?)",
                               file=d, field="adapter")
    try:
        return AdapterCard.model_validate_json(card.read_text(encoding="utf-8"))
    except (ValidationError, ValueError) as e:
        raise BackendError(f"unreadable adapter card: {str(e).splitlines()[0]}", file=card, field="adapter") from None


def check_base(card: AdapterCard, info_id: str, info_sha256: Optional[str], where: Path) -> None:
    """The adapter must sit on the model it was trained on (the same weights, when their sha256 is known)."""
    b = card.base_model
    if b.sha256 and info_sha256 and b.sha256 != info_sha256:
        raise BackendError(
            f"the adapter was trained on {b.id} (weights sha256 {b.sha256[:12]}…) but --model is {info_id} "
            f"(sha256 {info_sha256[:12]}…); use --model {b.id}",
            file=where, field="adapter",
        )
    if not (b.sha256 and info_sha256) and b.id != info_id and b.resolved != info_id:
        raise BackendError(f"the adapter was trained on {b.id} but --model is {info_id}; use --model {b.id}",
                           file=where, field="adapter")


def attach_adapter(model: Any, directory: str | Path) -> Any:
    """``model`` with the adapter's LoRA layers injected (not merged); returns the model to run."""
    try:
        from peft import PeftModel
    except ImportError:
        raise BackendError('LoRA adapters need PEFT: pip install "mgreason[adapt]"', field="adapter") from None
    peft_model = PeftModel.from_pretrained(model, str(directory), is_trainable=False)
    out = peft_model.get_base_model()
    out.eval()
    return out


def adapter_info(directory: str | Path, card: AdapterCard) -> dict[str, Any]:
    """What model info records of an adapter (in config.json and the response-cache identity)."""
    return {
        "path": str(Path(directory).resolve()),
        "sha256": card.adapter_sha256 or adapter_sha256(directory),
        "scenario_id": card.scenario_id,
        "condition": card.condition,
        "data_sha256": card.data_sha256,
    }


def write_card(directory: str | Path, card: AdapterCard) -> Path:
    from mgreason.fileio import atomic_write_text

    p = Path(directory) / CARD_NAME
    atomic_write_text(p, json.dumps(card.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n")
    return p


__all__ = [
    "AdapterCard",
    "BaseModelIdentity",
    "ValidationPoint",
    "adapter_info",
    "adapter_sha256",
    "attach_adapter",
    "check_base",
    "read_card",
    "write_card",
]
