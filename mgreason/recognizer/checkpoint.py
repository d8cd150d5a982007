"""A checkpoint is a directory: ``model.safetensors`` (the weights) + ``config.json``.

``config.json``::

    {
      "format": "mgreason-recognizer", "format_version": 1,
      "arch": {...},                    # everything needed to rebuild the network (see model.py)
      "labels": ["turtling neck", ..., "background"],
      "layout": "imigue22",
      "preprocessing": {"fps": 25, "clip_len": 48, "streams": [...], "use_confidence": true,
                        "coord_channels": 2, "min_confidence": 0.0, "normalization": "..."},
      "training": {"config": {...}, "data": {...}, "metrics": {...}, "gate_per_class": {...}},
      "package_version": "...", "created": "..."
    }

Loading needs nothing but these two files and runs on the CPU by default.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Optional

import torch

from mgreason.errors import DataError
from mgreason.recognizer.model import RecognizerModel

__all__ = ["save_checkpoint", "load_checkpoint", "read_checkpoint_config", "FORMAT", "FORMAT_VERSION"]

FORMAT = "mgreason-recognizer"
FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def save_checkpoint(
    path: str | Path,
    model: RecognizerModel,
    labels: list[str],
    preprocessing: dict[str, Any],
    training: Optional[dict[str, Any]] = None,
) -> Path:
    """Write ``path/model.safetensors`` and ``path/config.json`` (atomically per file)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if len(labels) != model.num_classes:
        raise ValueError(f"{len(labels)} labels for a model with {model.num_classes} classes")
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    tmp = path / (WEIGHTS + ".tmp")
    save_file(state, str(tmp), metadata={"format": FORMAT, "format_version": str(FORMAT_VERSION)})
    tmp.replace(path / WEIGHTS)
    try:
        from importlib.metadata import version

        pkg = version("mgreason")
    except Exception:  # pragma: no cover
        pkg = "unknown"
    cfg = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "arch": model.arch,
        "labels": list(labels),
        "layout": model.layout,
        "preprocessing": dict(preprocessing),
        "training": training or {},
        "num_parameters": int(sum(p.numel() for p in model.parameters())),
        "package_version": pkg,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    tmpc = path / (CONFIG + ".tmp")
    tmpc.write_text(json.dumps(cfg, indent=2, default=_json_default) + "\n", encoding="utf-8")
    tmpc.replace(path / CONFIG)
    return path


def _json_default(o: Any) -> Any:
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "model_dump"):
        return o.model_dump(mode="json")
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def read_checkpoint_config(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_dir():
        raise DataError("a checkpoint is a directory holding model.safetensors and config.json", file=path)
    cfile = path / CONFIG
    if not cfile.is_file():
        raise DataError("checkpoint has no config.json", file=path)
    try:
        cfg = json.loads(cfile.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise DataError(f"unreadable config.json: {e}", file=cfile) from None
    except RecursionError:
        raise DataError("unreadable config.json: JSON nested too deep", file=cfile) from None
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
        raise DataError(f"not an {FORMAT} checkpoint config", file=cfile)
    if int(cfg.get("format_version", 0)) > FORMAT_VERSION:
        raise DataError(f"checkpoint format version {cfg['format_version']} is newer than this package supports", file=cfile)
    for key in ("arch", "labels", "preprocessing"):
        if key not in cfg:
            raise DataError(f"config.json lacks {key!r}", file=cfile)
    return cfg


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[RecognizerModel, dict[str, Any]]:
    """``(model in eval mode on device, config dict)``."""
    from safetensors.torch import load_file

    path = Path(path)
    cfg = read_checkpoint_config(path)
    wfile = path / WEIGHTS
    if not wfile.is_file():
        raise DataError("checkpoint has no model.safetensors", file=path)
    try:
        model = RecognizerModel(cfg["arch"])
    except (KeyError, TypeError, ValueError) as e:
        raise DataError(f"cannot rebuild the network from config.json: {e}", file=path / CONFIG) from None
    try:
        state = load_file(str(wfile), device="cpu")
    except Exception as e:  # safetensors raises its own error types
        raise DataError(f"unreadable weights: {e}", file=wfile) from None
    for name, tensor in state.items():  # NaN / inf weights give all-NaN scores, i.e. silently no events
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise DataError(f"weights hold NaN or infinite values (tensor {name!r}); the checkpoint is corrupt", file=wfile)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise DataError(
            f"weights do not match the architecture (missing {list(missing)[:3]}, unexpected {list(unexpected)[:3]})",
            file=wfile,
        )
    model.to(device).eval()
    return model, cfg
