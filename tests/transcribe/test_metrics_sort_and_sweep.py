"""Issue 30, item 12: event matching is sort-and-sweep (linear in the events plus their overlaps), and
gives exactly what comparing every pair gave: the all-pairs rules are kept here as the reference and
compared on random recordings with ties, zero-length, identical, touching and very long events."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pytest

from mgreason.taxonomy import IMIGUE
from mgreason.transcribe import metrics as M
from mgreason.transcript import MGEvent, Transcript


def _events(rng: np.random.Generator, n: int, ncls: int, long: bool) -> list[MGEvent]:
    out, t = [], 0.0
    for i in range(n):
        t += float(rng.choice([0.0, 0.3, 1.0, 2.5]))
        d = float(rng.choice([0.0, 0.5, 1.0, 3.0] + ([60.0] if long else [])))
        out.append(MGEvent(start_s=round(t, 1), end_s=round(t + d, 1), label=IMIGUE.names[int(rng.integers(ncls))],
                           confidence=float(rng.choice([0.2, 0.5, 0.9])), source="recognizer"))
    return out


def _cases(n_cases: int = 25):
    rng = np.random.default_rng(30)
    for k in range(n_cases):
        gt = _events(rng, int(rng.integers(0, 40)), 4, long=k % 3 == 0)
        pred = _events(rng, int(rng.integers(0, 40)), 4, long=k % 4 == 0)
        if k % 5 == 0:
            pred = pred + list(gt[:5])  # exact copies: identical intervals and ties
        yield pred, gt


# ---- the all-pairs reference (the code before issue 30) -----------------------------------------
def _match_all_pairs(pred, gt, threshold) -> tuple[list[bool], list[Optional[int]]]:
    order = sorted(range(len(pred)), key=lambda i: -pred[i].confidence)
    used = [False] * len(gt)
    tp: list[bool] = [False] * len(pred)
    which: list[Optional[int]] = [None] * len(pred)
    gl = [M._norm_label(g.label) for g in gt]
    for i in order:
        p = pred[i]
        cand = [j for j in range(len(gt)) if gl[j] == M._norm_label(p.label) and not used[j]]
        if not cand:
            continue
        ious = np.array([M.tiou((p.start_s, p.end_s), (gt[j].start_s, gt[j].end_s)) for j in cand])
        k = int(np.argmax(ious))
        if ious[k] >= threshold - 1e-12:
            used[cand[k]] = True
            tp[i] = True
            which[i] = cand[k]
    return tp, which


def _segmental_all_pairs(pred, gt, k) -> tuple[int, int]:
    g = sorted(gt, key=lambda e: (e.start_s, e.end_s))
    gl = [M._norm_label(e.label) for e in g]
    hits = [False] * len(g)
    tp = fp = 0
    for p in sorted(pred, key=lambda e: (e.start_s, e.end_s)):
        lab = M._norm_label(p.label)
        ious = np.array([M.tiou((p.start_s, p.end_s), (e.start_s, e.end_s)) if gl[j] == lab else 0.0 for j, e in enumerate(g)])
        if ious.size == 0:
            fp += 1
            continue
        j = int(np.argmax(ious))
        if ious[j] >= k - 1e-12 and not hits[j]:
            tp += 1
            hits[j] = True
        else:
            fp += 1
    return tp, fp


def _levenshtein_all_pairs(a, b) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y))
        prev = cur
    return prev[-1]


# ---- the comparisons ------------------------------------------------------------------------------
@pytest.mark.parametrize("threshold", [0.1, 0.3, 0.5, 0.7, 1.0])
def test_match_events_equals_all_pairs(threshold):
    for pred, gt in _cases():
        assert M.match_events(pred, gt, threshold) == _match_all_pairs(pred, gt, threshold)


@pytest.mark.parametrize("k", [0.1, 0.25, 0.5, 0.75])
def test_segmental_f1_equals_all_pairs(k):
    for pred, gt in _cases():
        got = M.segmental_f1([(Transcript(id="p", events=pred), Transcript(id="g", events=gt))], k)
        tp, fp = _segmental_all_pairs(pred, gt, k)
        assert (got["tp"], got["n_pred"]) == (tp, tp + fp)


def test_edit_distance_equals_the_quadratic_recurrence():
    rng = np.random.default_rng(1)
    for _ in range(60):
        a = [str(x) for x in rng.integers(0, 4, int(rng.integers(0, 30)))]
        b = [str(x) for x in rng.integers(0, 4, int(rng.integers(0, 30)))]
        assert M._levenshtein(a, b) == _levenshtein_all_pairs(a, b)


@pytest.mark.parametrize("level", ["fine", "coarse", "class-agnostic"])
def test_chance_f1_equals_matching_each_draw(level):
    """chance_f1's fast path equals drawing the labels and matching every draw with match_events."""
    fn = M._level_fn(level)
    for pred, gt in list(_cases(8)):
        pairs = [(Transcript(id="p", events=pred), Transcript(id="g", events=gt))]
        got = M.chance_f1(pairs, 0.3, level=level, draws=20, seed=3)
        if not gt or not pred:
            continue
        pred, gt = pairs[0][0].events, pairs[0][1].events  # in the transcripts' (sorted) order, as drawn
        names, counts = np.unique(np.array([e.label for e in gt], dtype=object), return_counts=True)
        rng = np.random.default_rng(3)
        vals = []
        for _ in range(20):
            drawn = names[rng.choice(len(names), len(pred), p=counts / counts.sum())]
            p2 = [e.model_copy(update={"label": fn(str(lab))}) for e, lab in zip(pred, drawn)]
            g2 = [e.model_copy(update={"label": fn(e.label)}) for e in gt]
            flags, _ = _match_all_pairs(p2, g2, 0.3)
            vals.append(M._prf(sum(flags), len(pred), len(gt))["f1"])
        assert got == pytest.approx(float(np.mean(vals)), abs=1e-12)


def test_matching_touches_only_overlapping_events(monkeypatch):
    """The class of the fix, without timing anything: 2,000 events in sequence are matched with
    tIoU computed for overlapping pairs only (a few per event), not for 4,000,000 pairs."""
    n = 2000
    gt = [MGEvent(start_s=2.0 * i, end_s=2.0 * i + 1.0, label="a", confidence=1.0) for i in range(n)]
    pred = [MGEvent(start_s=2.0 * i + 0.2, end_s=2.0 * i + 1.1, label="a", confidence=0.5) for i in range(n)]
    near = M._overlaps(pred, gt)
    assert sum(len(idx) for idx, _ in near) <= 3 * n
    calls = []
    monkeypatch.setattr(M, "tiou", lambda a, b: calls.append(1) or 0.0)
    flags, _ = M.match_events(pred, gt, 0.5)
    assert all(flags) and not calls  # no per-pair Python tIoU at all
