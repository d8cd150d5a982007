"""LLM backends behind one protocol (see :mod:`mgreason.backends.base`)."""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Optional

from mgreason.backends.base import Backend, BackendResult, GenerationParams, Message, ModelInfo
from mgreason.errors import BackendError

BACKENDS = ("hf", "vllm", "openai", "mock")
DEFAULT_BACKEND = "hf"

# name -> (module, class); imported lazily so that e.g. vllm is only imported when used
_CLASSES = {
    "hf": ("mgreason.backends.hf", "HFBackend"),
    "vllm": ("mgreason.backends.vllm_backend", "VLLMBackend"),
    "openai": ("mgreason.backends.openai_backend", "OpenAIBackend"),
    "mock": ("mgreason.backends.mock", "MockBackend"),
}


def create_backend(
    name: str, model: str | None = None, engine_args: Optional[dict[str, Any]] = None, **options: Any
) -> Backend:
    """Create a backend by name. ``model`` is an alias, a local path or a hub id (for ``openai``: the served id).

    ``engine_args`` (``--engine-arg KEY=VALUE`` on the command line) go to ``vllm.LLM(...)``
    for the ``vllm`` backend; for the other backends they are merged into ``options``
    (e.g. ``dtype``/``threads`` for hf, ``timeout``/``max_retries``/``structured`` for openai).
    Unknown options give a :class:`BackendError` naming the accepted ones.
    """
    if name not in _CLASSES:
        raise BackendError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}", field="backend")
    module, cls_name = _CLASSES[name]
    cls = getattr(importlib.import_module(module), cls_name)
    options = {k: v for k, v in options.items() if v is not None}
    params = inspect.signature(cls.__init__).parameters
    accepted = [p for p in params if p not in ("self", "model") and params[p].kind is not inspect.Parameter.VAR_KEYWORD]
    if engine_args:
        if name == "vllm":
            # the backend's own options (label_scoring) may come through --engine-arg too
            own = {k: v for k, v in engine_args.items() if k in accepted and k != "engine_args"}
            rest = {k: v for k, v in engine_args.items() if k not in own}
            options.update(own)
            if rest:
                options["engine_args"] = rest
        else:
            clash = sorted(set(engine_args) & set(options))
            if clash:
                raise BackendError(f"option(s) given twice: {', '.join(clash)}", field="--engine-arg")
            options.update(engine_args)
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise BackendError(
                f"the {name} backend does not take option(s) {', '.join(unknown)}; it takes: {', '.join(accepted) or 'none'}",
                field="backend",
            )
    return cls(model, **options)


__all__ = ["Backend", "BackendResult", "GenerationParams", "Message", "ModelInfo", "create_backend", "BACKENDS"]
