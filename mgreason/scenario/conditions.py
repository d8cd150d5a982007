"""Which transcript each item shows under each condition.

``own`` shows the item's transcript; ``shuffled`` shows another item's transcript,
chosen by a seeded derangement (no item keeps its own), so the control keeps the
kind and amount of evidence but breaks its link to the item.
"""

from __future__ import annotations

import random
from typing import Optional

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
            elif cond.transcript == "own":
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
