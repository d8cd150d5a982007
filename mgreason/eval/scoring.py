"""Turn backend outputs into predictions: argmax over label log-probs, or parse a generated answer."""

from __future__ import annotations

import re
from typing import Mapping, Optional, Sequence

from mgreason.scenario.spec import LabelSpec


def _norm(s: str) -> str:
    return " ".join(re.sub(r"[^\w\s-]", " ", s.lower()).split())


def parse_answer(text: Optional[str], labels: Sequence[LabelSpec]) -> Optional[str]:
    """Map a generated answer to a label name, or None when it names no label.

    An exact answer (after lower-casing and stripping punctuation) wins; otherwise
    the label (or alias) mentioned first, as a whole word or phrase, is taken;
    at the same position the longer name wins ("very negative" over "negative").
    """
    if text is None:
        return None
    norm = _norm(text)
    if not norm:
        return None
    keys: list[tuple[str, str]] = []
    for lab in labels:
        for key in [lab.name, *lab.aliases]:
            keys.append((_norm(key), lab.name))
    for key, name in keys:
        if norm == key:
            return name
    best: Optional[tuple[int, int, str]] = None
    for key, name in keys:
        if not key:
            continue
        m = re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", norm)
        if m:
            cand = (m.start(), -len(key), name)
            if best is None or cand < best:
                best = cand
    return best[2] if best else None


def scores_every_label(label_logprobs: Optional[Mapping[str, float]], labels: Sequence[str]) -> bool:
    """Whether a logprob answer scores exactly the label set (what makes it a prediction, and a cacheable answer)."""
    return bool(label_logprobs) and set(label_logprobs) == set(labels)


def argmax_label(label_logprobs: dict[str, float], labels: Sequence[str]) -> str:
    """The label with the highest log-probability; ties go to the earlier label in the label set."""
    return max(labels, key=lambda lab: (label_logprobs[lab], -labels.index(lab)))
