"""LLM backends behind one protocol (see :mod:`mgreason.backends.base`).

The registry maps a backend name to a function that imports and returns the class implementing it
(one typed table, :data:`_REGISTRY`, that readers and type checkers can follow to the class); a backend
module is imported only when its backend is created (so vLLM is imported only when used). A backend class builds
itself from ``--engine-arg`` values and options (:meth:`~mgreason.backends.base.BackendBase.from_options`),
so this module knows nothing of any backend's internals.
"""

from __future__ import annotations

import inspect
import json
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

from mgreason.backends.base import Backend, BackendResult, GenerationParams, Message, ModelInfo, Workload
from mgreason.errors import BackendError

if TYPE_CHECKING:
    from mgreason.backends.base import BackendBase

DEFAULT_BACKEND = "hf"

# A backend class, imported when it is asked for (the backend modules import torch, vLLM, openai).
BackendLoader = Callable[[], "type[BackendBase]"]


def _hf() -> type[BackendBase]:
    from mgreason.backends.hf import HFBackend

    return HFBackend


def _vllm() -> type[BackendBase]:
    from mgreason.backends.vllm_backend import VLLMBackend

    return VLLMBackend


def _openai() -> type[BackendBase]:
    from mgreason.backends.openai_backend import OpenAIBackend

    return OpenAIBackend


def _mock() -> type[BackendBase]:
    from mgreason.backends.mock import MockBackend  # deterministic, for tests only

    return MockBackend


# --backend NAME -> the class that implements it
_REGISTRY: dict[str, BackendLoader] = {"hf": _hf, "vllm": _vllm, "openai": _openai, "mock": _mock}


def register_backend(name: str, loader: BackendLoader) -> None:
    """Make ``--backend NAME`` create the class ``loader()`` returns (a :class:`BackendBase` subclass)."""
    _REGISTRY[name] = loader


def backend_names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def create_backend(
    name: str,
    model: str | None = None,
    engine_args: Optional[dict[str, Any]] = None,
    workload: Optional[Workload] = None,
    **options: Any,
) -> Backend:
    """Create a backend by name. ``model`` is an alias, a local path or a hub id (for ``openai``: the served id).

    ``engine_args`` (``--engine-arg KEY=VALUE`` on the command line) are given to the backend class,
    which decides what they mean (vLLM: ``vllm.LLM(...)`` arguments; the others: more options such as
    ``dtype``/``threads`` for hf, ``timeout``/``max_retries`` for openai). Unknown options give a
    :class:`BackendError` naming the accepted ones. ``workload`` (the run's rendered prompts, labels and
    generation budget) lets an engine size itself to the run (vLLM's ``max_model_len``).
    """
    if name not in _REGISTRY:
        raise BackendError(f"unknown backend {name!r}; choose one of: {', '.join(_REGISTRY)}", field="backend")
    cls = _REGISTRY[name]()
    options = {k: v for k, v in options.items() if v is not None}
    params = inspect.signature(cls.__init__).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        accepted = [p for p in params if p not in ("self", "model")]
        unknown = sorted(set(options) | set(engine_args or {}))
        unknown = [k for k in unknown if k not in accepted]
        if unknown:
            raise BackendError(
                f"the {name} backend does not take option(s) {', '.join(unknown)}; it takes: {', '.join(accepted) or 'none'}",
                field="backend",
            )
    return cls.from_options(model, engine_args or None, options, workload=workload)


def parse_engine_args(pairs: Optional[Sequence[str]], field: str = "--engine-arg") -> dict[str, Any]:
    """``KEY=VALUE`` strings (``-E``) as a dict; VALUE is parsed as JSON when it can be, dashes in KEY become _."""
    out: dict[str, Any] = {}
    for kv in pairs or []:
        key, sep, value = kv.partition("=")
        if not sep or not key.strip():
            raise BackendError(f"expected KEY=VALUE, got {kv!r}", field=field)
        try:
            out[key.strip().replace("-", "_")] = json.loads(value)
        except ValueError:
            out[key.strip().replace("-", "_")] = value
    return out


def __getattr__(attr: str):
    if attr == "BACKENDS":  # the registered names (kept for callers of the old constant)
        return backend_names()
    raise AttributeError(attr)


__all__ = [
    "Backend", "BackendResult", "DEFAULT_BACKEND", "GenerationParams", "Message", "ModelInfo", "backend_names",
    "create_backend", "parse_engine_args", "register_backend", "Workload",
]  # fmt: skip
