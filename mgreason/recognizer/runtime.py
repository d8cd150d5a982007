"""Process settings for the recognizer's torch work, applied before torch loads."""

from __future__ import annotations

import os

__all__ = ["passive_omp"]


def passive_omp() -> None:
    """Before torch loads: idle OpenMP threads sleep instead of spinning. On a shared or busy CPU,
    spinning intra-op threads slow small-tensor training many-fold; on an idle machine it costs ~nothing."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
