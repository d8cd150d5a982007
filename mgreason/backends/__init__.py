"""LLM backends behind one protocol (see :mod:`mgreason.backends.base`)."""

from __future__ import annotations

from typing import Any

from mgreason.backends.base import Backend, BackendResult, GenerationParams, Message, ModelInfo
from mgreason.errors import BackendError

BACKENDS = ("hf", "mock")
DEFAULT_BACKEND = "hf"


def create_backend(name: str, model: str | None = None, **options: Any) -> Backend:
    """Create a backend by name. ``model`` is an alias, a local path or a hub id."""
    if name == "hf":
        from mgreason.backends.hf import HFBackend

        return HFBackend(model, **options)
    if name == "mock":
        from mgreason.backends.mock import MockBackend

        return MockBackend(model, **options)
    raise BackendError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}", field="backend")


__all__ = ["Backend", "BackendResult", "GenerationParams", "Message", "ModelInfo", "create_backend", "BACKENDS"]
