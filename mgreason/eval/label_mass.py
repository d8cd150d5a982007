"""Label mass: how much of the model's probability goes to answering with a label at all.

Logprob scoring compares the labels' log-probabilities and picks the largest. That is only meaningful
when the model would actually answer with one of the labels: a chat model asked "...? Answer:" often
starts "The player's emotional state is..." and then the label scores compare two unlikely tokens.
The label mass of one sample is the probability that the answer starts with any label,
``exp(logsumexp(label log-probs))`` (labels are whole continuations, so their events are disjoint
unless one label is a prefix of another). Per condition the summary reports its mean and 10th
percentile, and warns when the mean is below :data:`LOW_LABEL_MASS`.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Optional

LOW_LABEL_MASS = 0.5
LOW_LABEL_MASS_WARNING = "the model mostly does not answer with a label; label scores are not meaningful"


def label_mass(label_logprobs: Optional[Mapping[str, float]]) -> Optional[float]:
    """P(the answer starts with one of the labels) = exp(logsumexp over the labels); None without log-probs."""
    if not label_logprobs:
        return None
    vals = [float(v) for v in label_logprobs.values()]
    if any(math.isnan(v) for v in vals):
        return None
    m = max(vals)
    if m == -math.inf:
        return 0.0
    return min(1.0, math.exp(m) * sum(math.exp(v - m) for v in vals))


def mass_stats(values: Iterable[Optional[float]]) -> tuple[Optional[float], Optional[float]]:
    """(mean, 10th percentile) of the known label masses; (None, None) when there are none.

    The percentile interpolates linearly between order statistics (numpy's default)."""
    xs = sorted(v for v in values if v is not None)
    if not xs:
        return None, None
    mean = sum(xs) / len(xs)
    pos = 0.1 * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    p10 = xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)
    return mean, p10


def low_mass_warning(condition: str, mean: Optional[float]) -> Optional[str]:
    """The warning line for one condition, or None when its mean label mass is fine (or unknown)."""
    if mean is None or mean >= LOW_LABEL_MASS:
        return None
    return f"{condition}: mean label mass {mean:.2f} < {LOW_LABEL_MASS}: {LOW_LABEL_MASS_WARNING}"


__all__ = ["LOW_LABEL_MASS", "LOW_LABEL_MASS_WARNING", "label_mass", "low_mass_warning", "mass_stats"]
