"""k-shot demonstrations (issue 14): solved examples from a named split shown before the query.

``demonstrations: {path: ../data/imigue/train.jsonl, k: 4, seed: 0}`` in a scenario draws, for every
query item, ``k`` items of that split: seeded per query item (the same draw under every condition, so a
paired comparison changes only the condition), label-balanced (round-robin over the labels in a seeded
order, as even as the split allows), never the query item itself. Each demonstration is rendered with the
scenario's user template *under the query's condition* (its own transcript for ``with_mg``, another
demonstration's for ``shuffled_mg``, none for ``without_mg``) and answered by an assistant turn holding
its gold label. Off unless the scenario sets it; the spec (and so ``config.json``) records it and
``show-prompt`` shows the turns.
"""

from __future__ import annotations

import random
from typing import Sequence

from mgreason.errors import ScenarioError
from mgreason.scenario.loader import Item


def pick_demonstrations(pool: Sequence[Item], labels: Sequence[str], k: int, seed: int, query_id: str) -> list[Item]:
    """``k`` items of ``pool`` for query ``query_id``: seeded, label-balanced, never the query itself."""
    rng = random.Random(f"mgreason-demonstrations|{seed}|{query_id}")
    by_label: dict[str, list[Item]] = {lab: [] for lab in labels}
    for it in pool:
        if it.id != query_id and it.gold in by_label:
            by_label[it.gold].append(it)
    available = sum(len(v) for v in by_label.values())
    if available < k:
        raise ScenarioError(
            f"{k} demonstrations requested but the demonstration split has only {available} other item(s)",
            field="demonstrations.k",
        )
    for v in by_label.values():
        rng.shuffle(v)
    order = list(labels)
    rng.shuffle(order)
    picked: list[Item] = []
    while len(picked) < k:
        for lab in order:
            if by_label[lab] and len(picked) < k:
                picked.append(by_label[lab].pop())
    rng.shuffle(picked)  # the label of the last demonstration must not be predictable
    return picked


__all__ = ["pick_demonstrations"]
