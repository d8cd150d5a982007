"""Training examples for ``mgreason adapt``: exactly the prompts run-scenario sends, with the gold label as target."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Optional, Sequence

from mgreason.errors import MGReasonError
from mgreason.eval.plan import build_requests
from mgreason.scenario.loader import Scenario


@dataclass(frozen=True)
class Example:
    item_id: str
    messages: list  # the chat messages, as run-scenario renders them
    label: str  # the gold label: the target continuation
    group: Optional[str]
    prompt_sha256: str


def examples(scenario: Scenario, condition: str, seed: int = 0) -> list[Example]:
    """One example per item under ``condition`` (a shuffled condition shuffles among these items, seeded)."""
    names = [c.name for c in scenario.conditions]
    if condition not in names:
        raise MGReasonError(f"unknown condition {condition!r}; the scenario has: {', '.join(names)}",
                            file=scenario.path, field="--condition")
    gcol = scenario.spec.items.fields.group
    by_id = {it.id: it for it in scenario.items}
    out = []
    for r in build_requests(scenario, seed=seed):
        if r.condition != condition:
            continue
        if r.gold is None:
            raise MGReasonError(f"item {r.item_id} has no gold label: adaptation needs labelled items",
                                file=scenario.items_path or scenario.path, field="items")
        g = by_id[r.item_id].fields.get(gcol) if gcol else None
        out.append(Example(r.item_id, list(r.messages), r.gold, None if g is None else str(g), r.prompt_sha256))
    return out


def data_sha256(exs: Sequence[Example]) -> str:
    h = hashlib.sha256()
    for e in exs:
        h.update(f"{e.item_id}\t{e.prompt_sha256}\t{e.label}\n".encode())
    return h.hexdigest()


def split(exs: Sequence[Example], val_fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """A held-out validation split for early stopping: grouped by the scenario's group column when it has one (a
    person is never on both sides), else stratified by label; seeded."""
    if val_fraction <= 0:
        return list(exs), []
    import numpy as np
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    idx = np.arange(len(exs))
    y = [e.label for e in exs]
    if all(e.group is not None for e in exs):
        groups = [e.group for e in exs]
        if len(set(groups)) < 2:
            raise MGReasonError("a grouped validation split needs at least 2 groups", field="--val-fraction")
        tr, va = next(GroupShuffleSplit(n_splits=1, test_size=val_fraction, random_state=seed).split(idx, y, groups))
    else:
        counts = {lab: y.count(lab) for lab in set(y)}
        strat = y if min(counts.values()) >= 2 else None
        tr, va = train_test_split(idx, test_size=val_fraction, random_state=seed, stratify=strat)
    return [exs[i] for i in sorted(tr)], [exs[i] for i in sorted(va)]


__all__ = ["Example", "data_sha256", "examples", "split"]
