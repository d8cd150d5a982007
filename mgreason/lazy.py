"""Lazy package exports (PEP 562): the one way a package offers names that live in heavy submodules.

A package lists ``name -> submodule`` and sets ``__getattr__ = lazy_exports(__name__, {...})``; the submodule
(torch, scipy, MediaPipe behind it) is imported the first time one of its names is used, so
``import mgreason.<package>`` and the CLI start-up stay cheap.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that loads ``exports[name]`` on first use and caches the value."""
    exports = dict(exports)

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__


__all__ = ["lazy_exports"]
