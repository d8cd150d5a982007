"""Number formatting shared by every report (run summaries, sweep reports, benchmark tables)."""

from __future__ import annotations

import math
from typing import Any


def is_missing(x: Any) -> bool:
    """None or NaN: a number that could not be computed (e.g. accuracy over zero items)."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def fmt(x: Any, nd: int = 3) -> str:
    """``0.512``; ``n/a`` when missing."""
    return "n/a" if is_missing(x) else f"{x:.{nd}f}"


def fmt_signed(x: Any, nd: int = 3) -> str:
    """``+0.083`` / ``-0.010``; ``n/a`` when missing."""
    return "n/a" if is_missing(x) else f"{x:+.{nd}f}"


def fmt_p(p: Any) -> str:
    """A p-value: ``0.031``, or ``2.1e-05`` below 0.001; ``n/a`` when missing."""
    return "n/a" if is_missing(p) else (f"{p:.2e}" if p < 1e-3 else f"{p:.3f}")


def fmt_ci(lo: Any, hi: Any, signed: bool = True) -> str:
    """``[-0.083, +0.167]`` (signed, for deltas) or ``[0.412, 0.588]``."""
    f = fmt_signed if signed else fmt
    return f"[{f(lo)}, {f(hi)}]"


__all__ = ["fmt", "fmt_ci", "fmt_p", "fmt_signed", "is_missing"]
