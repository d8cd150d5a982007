"""Which transcript each item shows under each condition.

``own`` shows the item's transcript; ``shuffled`` shows another item's transcript,
chosen by a seeded derangement (no item keeps its own), so the control keeps the
kind and amount of evidence but breaks its link to the item; ``degraded`` shows the
item's own transcript with seeded recognizer-like errors (:mod:`mgreason.degrade`).
"""

from __future__ import annotations

import random
from typing import Optional

from mgreason.degrade import DegradeResult, class_frequencies, degrade, item_seed
from mgreason.errors import ScenarioError
from mgreason.scenario.loader import Item
from mgreason.scenario.spec import ConditionSpec
from mgreason.transcript import Transcript


def derangement(ids: list[str], seed: int) -> dict[str, str]:
    """A seeded permutation of ``ids`` with no fixed point (needs len(ids) >= 2)."""
    if len(ids) < 2:
        raise ValueError("a derangement needs at least two items")
    rng = random.Random(f"mgreason-shuffle-{seed}")
    order = sorted(ids)
    # Sattolo's algorithm: a uniformly random cyclic permutation, never a fixed point.
    perm = list(order)
    for i in range(len(perm) - 1, 0, -1):
        j = rng.randrange(i)
        perm[i], perm[j] = perm[j], perm[i]
    return dict(zip(order, perm))


def evidence_sources(
    items: list[Item], conditions: list[ConditionSpec], seed: int
) -> dict[str, dict[str, Optional[str]]]:
    """condition name → item id → id of the item whose transcript is shown (None: no evidence)."""
    with_transcript = [it.id for it in items if it.transcript is not None]
    shuffled = [c.name for c in conditions if c.evidence != "none" and c.transcript == "shuffled"]
    if shuffled and len(with_transcript) < 2:
        raise ScenarioError(
            f"condition {shuffled[0]} shows another item's transcript, so it needs at least 2 items with "
            f"transcripts; got {len(with_transcript)} (raise --limit)",
            field="conditions",
        )
    shuffle = derangement(with_transcript, seed) if len(with_transcript) >= 2 else {}
    out: dict[str, dict[str, Optional[str]]] = {}
    for cond in conditions:
        m: dict[str, Optional[str]] = {}
        for it in items:
            if cond.evidence == "none" or it.transcript is None:
                m[it.id] = None
            elif cond.transcript in ("own", "degraded"):  # degraded: the item's own transcript, with errors
                m[it.id] = it.id
            else:
                m[it.id] = shuffle[it.id]
        out[cond.name] = m
    return out


def transcript_of(items: list[Item], item_id: Optional[str]) -> Optional[Transcript]:
    if item_id is None:
        return None
    for it in items:
        if it.id == item_id:
            return it.transcript
    raise KeyError(item_id)


def degraded_seed(seed: int, condition: str, item_id: str) -> int:
    """The seed of one item's degraded transcript under one condition (stable across runs and processes)."""
    return item_seed("mgreason-degrade", seed, condition, item_id)


def degraded_transcript(
    items: list[Item], cond: ConditionSpec, item_id: str, seed: int, dataset: Optional[list[Item]] = None
) -> DegradeResult:
    """``item_id``'s transcript degraded as ``cond`` says; spurious and frequency-confused labels are drawn
    from the class frequencies of all the transcripts of ``dataset`` (default: ``items``; pass the scenario's
    full item list so that ``--limit`` does not change a video's degraded transcript)."""
    source = transcript_of(items, item_id)
    if source is None or cond.degrade is None:
        raise ValueError(f"condition {cond.name} does not degrade a transcript of item {item_id}")
    freq = _class_freq(dataset if dataset is not None else items)
    return degrade(source, cond.degrade, degraded_seed(seed, cond.name, item_id), class_freq=freq)


_FREQ_CACHE: dict[tuple[int, int], tuple[list[Item], dict[str, float]]] = {}


def _class_freq(items: list[Item]) -> dict[str, float]:
    key = (id(items), len(items))
    hit = _FREQ_CACHE.get(key)
    if hit is not None and hit[0] is items:
        return hit[1]
    freq = class_frequencies([it.transcript for it in items])
    _FREQ_CACHE.clear()
    _FREQ_CACHE[key] = (items, freq)
    return freq


def evidence_transcript(
    items: list[Item], cond: ConditionSpec, item_id: Optional[str], seed: int, dataset: Optional[list[Item]] = None
) -> Optional[Transcript]:
    """The transcript a prompt shows: ``item_id``'s (from :func:`evidence_sources`), degraded for a
    ``transcript: degraded`` condition (class frequencies from ``dataset``, default ``items``)."""
    if item_id is None:
        return None
    if cond.transcript == "degraded":
        return degraded_transcript(items, cond, item_id, seed, dataset).transcript
    return transcript_of(items, item_id)
