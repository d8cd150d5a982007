"""The evidence ceiling (mgreason.eval.ceiling): grouped folds, signal / no signal, training split, skips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import make_items, write_scenario
from mgreason.eval.ceiling import (
    CeilingItem,
    compute_ceiling,
    event_features,
    n_folds,
    outer_splits,
    scenario_ceiling,
)
from mgreason.scenario import load_scenario
from mgreason.transcript import Transcript

LABELS = ["positive", "negative"]


def _items(n: int, signal: bool, seed: int = 0, groups: int = 0) -> list[CeilingItem]:
    """``n`` items, half per label; with ``signal`` the count of event 'a' follows the label."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        gold = LABELS[i % 2]
        a = (6 if gold == "positive" else 1) + int(rng.integers(0, 2)) if signal else int(rng.integers(0, 6))
        ev = {"count:a": float(a), "count:b": float(rng.integers(0, 6)), "count:total": float(a + 3)}
        out.append(CeilingItem(id=f"i{i}", gold=gold, events=ev, text="", group=f"g{i % groups}" if groups else None))
    return out


def _row(c, features):
    return next(r for r in c.summary.rows if r.features == features)


def test_grouped_folds_never_split_a_group():
    y = [LABELS[i % 2] for i in range(60)]
    groups = [f"s{(i // 2) % 15}" for i in range(60)]  # 15 speakers, both labels each
    splits = outer_splits(y, groups, seed=3)
    assert len(splits) == 5
    fold_of: dict[str, set[int]] = {}
    for k, (_, test) in enumerate(splits):
        for i in test:
            fold_of.setdefault(groups[i], set()).add(k)
    assert all(len(v) == 1 for v in fold_of.values()), fold_of
    assert sorted(np.concatenate([t for _, t in splits]).tolist()) == list(range(60))


def test_grouped_ceiling_does_not_learn_the_speaker():
    # each speaker has one label and a gesture of its own: ungrouped CV learns the speaker, grouped CV cannot
    items = []
    for i in range(48):
        g = i // 4
        gold = LABELS[g % 2]
        items.append(CeilingItem(id=f"i{i}", gold=gold, events={f"count:only_{g}": 1.0}, text="", group=f"s{g}"))
    grouped = compute_ceiling(items, LABELS, group_column="speaker")
    ungrouped = compute_ceiling([CeilingItem(**{**it.__dict__, "group": None}) for it in items], LABELS)
    assert _row(ungrouped, "evidence").accuracy >= 0.9
    assert _row(grouped, "evidence").accuracy <= 0.6
    assert "StratifiedGroupKFold grouped by speaker" in grouped.summary.cv
    assert grouped.summary.grouped_by == "speaker" and not grouped.summary.notes
    assert any("no group column" in n for n in ungrouped.summary.notes)


def test_signal_and_no_signal():
    with_signal = compute_ceiling(_items(40, True), LABELS, seed=1)
    without = compute_ceiling(_items(40, False), LABELS, seed=1)
    ev = _row(with_signal, "evidence")
    assert ev.accuracy >= 0.9 and ev.ci[0] > _row(with_signal, "majority").accuracy
    assert ev.n == 40 and ev.n_correct == round(ev.accuracy * 40)
    assert _row(without, "evidence").ci[0] < 0.5
    # out-of-fold probabilities for every item, per label
    assert set(with_signal.scores) == {f"i{i}" for i in range(40)}
    assert all(abs(sum(p.values()) - 1) < 1e-9 for p in with_signal.scores.values())
    # seeded: the same numbers again
    assert compute_ceiling(_items(40, True), LABELS, seed=1).summary.rows == with_signal.summary.rows


def test_training_split_fits_there_and_tests_on_the_items():
    train, test = _items(40, True, seed=2), _items(20, True, seed=5)
    c = compute_ceiling(test, LABELS, train=train, train_name="train.jsonl")
    assert c.summary.cv.startswith("fitted on the training split train.jsonl (40 items)")
    assert _row(c, "evidence").n == 20 and _row(c, "evidence").accuracy >= 0.9


def test_too_few_items_per_class_skip_with_one_line():
    c = compute_ceiling(_items(8, True), LABELS)
    assert all(r.accuracy is None and "too few items per class" in r.skipped_reason for r in c.summary.rows)
    assert c.scores == {}
    assert n_folds(["a"] * 9 + ["b"] * 3) == 3


def test_event_features_generalise_mg_features():
    t = Transcript.model_validate(
        {"id": "t", "duration_s": 120.0, "events": [
            {"start_s": 1, "end_s": 3, "label": "Shrug"}, {"start_s": 5, "end_s": 6, "label": "shrug"},
            {"start_s": 7, "end_s": 8, "label": "lip bite"},
        ]}
    )  # fmt: skip
    f = event_features(t)
    assert f["count:shrug"] == 2 and f["seconds:shrug"] == 3 and f["per_min:shrug"] == 1.0
    assert f["count:total"] == 3 and f["seconds:total"] == 4
    assert event_features(None) == {}


def test_scenario_text_columns_and_group(tmp_path):
    items = make_items(20)
    for k, it in enumerate(items):
        it["speaker"] = f"p{k % 5}"
    sc = load_scenario(
        write_scenario(tmp_path, items=items, spec={"items": {"fields": {"group": "speaker", "text": ["context", "text"]}}})
    )
    c = scenario_ceiling(sc)
    assert [r.features for r in c.summary.rows] == ["majority", "evidence", "text", "evidence+text"]
    assert c.summary.grouped_by == "speaker" and "grouped by speaker" in c.summary.cv
    # the folds the run used: every speaker's items in exactly one test fold
    speaker = {it["id"]: it["speaker"] for it in items}
    assert sorted(i for f in c.folds for i in f) == sorted(speaker)
    assert all(len({k for k, f in enumerate(c.folds) if any(speaker[i] == s for i in f)}) == 1 for s in set(speaker.values()))
    assert all(r.accuracy is not None for r in c.summary.rows)


def test_scenario_train_path(tmp_path):
    root = tmp_path / "s"
    path = write_scenario(root, items=make_items(20), spec={"items": {"train_path": "data/train.jsonl"}})
    train = make_items(30)
    for it in train:
        it["id"] = "tr-" + it["id"]
    (root / "data" / "train.jsonl").write_text("".join(json.dumps(it) + "\n" for it in train), encoding="utf-8")
    sc = load_scenario(path)
    assert len(sc.train_items) == 30
    c = scenario_ceiling(sc)
    assert "fitted on the training split data/train.jsonl (30 items)" in c.summary.cv


def test_scenario_train_path_missing_warns_and_cross_validates(tmp_path):
    path = write_scenario(tmp_path, items=make_items(20), spec={"items": {"train_path": "data/nope.jsonl"}})
    with pytest.warns(Warning, match="items.train_path"):
        sc = load_scenario(path)
    assert sc.train_items == []
    assert "StratifiedKFold" in scenario_ceiling(sc).summary.cv
