"""F1 at fine / coarse / class-agnostic level with chance levels; calibrated confidence and coarse fallback."""

from __future__ import annotations

import numpy as np
import pytest

from mgreason.errors import DataError
from mgreason.taxonomy import IMIGUE, coarse_label
from mgreason.transcript_metrics import chance_f1, evaluate, f1_at, relabel_pairs
from mgreason.transcribe.segments import SegmentParams, extract_segments
from mgreason.transcript import MGEvent, Transcript


def _t(events, source="annotation", id="r"):
    return Transcript(id=id, events=[MGEvent(start_s=a, end_s=b, label=l, confidence=c, source=source)
                                     for a, b, l, c in events])  # fmt: skip


def test_levels_fine_coarse_agnostic_and_chance():
    gt = _t([(1, 3, "touching jaw", 1), (10, 12, "shaking shoulders", 1), (20, 22, "folding arms", 1)])
    # right times; one right class, one wrong class of the same group, one coarse fallback, one spurious event
    pred = _t([(1, 3, "touching jaw", 0.9), (10, 12, "moving torso", 0.8), (20, 22, "upper limb (coarse)", 0.5),
               (30, 31, "touching jaw", 0.4)], source="recognizer")  # fmt: skip
    r = evaluate([(pred, gt)], thresholds=(0.3,))
    lv = {k: v[0.3] for k, v in r.levels.items()}
    assert lv["fine"]["tp"] == 1 and lv["coarse"]["tp"] == 3 and lv["class-agnostic"]["tp"] == 3
    assert lv["fine"]["f1"] == pytest.approx(2 / 7) and lv["coarse"]["f1"] == pytest.approx(6 / 7)
    assert lv["class-agnostic"]["chance"] == lv["class-agnostic"]["f1"]
    # the ground truth has one class per group here, so both chance levels agree
    assert lv["fine"]["chance"] == pytest.approx(lv["coarse"]["chance"])
    assert 0 < lv["fine"]["chance"] < lv["class-agnostic"]["f1"]
    text = r.render()
    assert "class-agnostic" in text and "chance" in text
    d = r.to_dict()
    assert d["levels"]["coarse"]["0.3"]["tp"] == 3


def test_chance_matches_a_slow_reference():
    rng = np.random.default_rng(3)
    names = [IMIGUE.names[k] for k in (3, 7, 10, 19, 31)]
    gt = _t([(10 * i, 10 * i + 2, names[rng.integers(0, 5)], 1) for i in range(12)])
    pred = _t([(10 * i + 1 + rng.uniform(-0.5, 0.5), 10 * i + 2.5, names[rng.integers(0, 5)], float(rng.random()))
               for i in range(15)], source="recognizer")  # fmt: skip
    pairs = [(pred, gt)]
    fast = chance_f1(pairs, 0.3, "coarse", draws=50, seed=7)
    # reference: the same draws, scored with the ordinary matcher
    labels = [e.label for e in gt.events]
    u, c = np.unique(np.array(labels, dtype=object), return_counts=True)
    r = np.random.default_rng(7)
    ref = []
    for _ in range(50):
        k = r.choice(len(u), len(pred.events), p=c / c.sum())
        p2 = pred.model_copy(update={"events": [e.model_copy(update={"label": str(u[j])}) for e, j in zip(pred.events, k)]})
        ref.append(f1_at(relabel_pairs([(p2, gt)], coarse_label), 0.3)["f1"])
    assert fast == pytest.approx(float(np.mean(ref)), abs=1e-12)


def test_perfect_timing_single_class_chance_is_one():
    gt = _t([(1, 2, "touching jaw", 1), (5, 6, "touching jaw", 1)])
    pred = _t([(1, 2, "moving torso", 0.5), (5, 6, "touching jaw", 0.5)], source="recognizer")
    assert chance_f1([(pred, gt)], 0.3) == pytest.approx(1.0)


def _probs(T=100, K=4, bg=3):
    """Frames 20-60: a gesture, split between classes 0 and 1 (same group) -> uncertain fine class."""
    p = np.zeros((T, K))
    p[:, bg] = 1.0
    p[20:60] = [0.45, 0.40, 0.05, 0.10]
    return p


LABELS = ["touching jaw", "touching or scratching facial parts", "folding arms", "background"]


def test_default_segments_unchanged_and_temperature_changes_only_confidence():
    p = _probs()
    base = extract_segments(p, 25.0, LABELS, background=3, params=SegmentParams(smooth_s=0))
    assert len(base) == 1 and base[0].label == "touching jaw" and base[0].confidence == pytest.approx(0.45)
    hot = extract_segments(p, 25.0, LABELS, background=3, params=SegmentParams(smooth_s=0, temperature=2.0))
    assert (hot[0].start, hot[0].end, hot[0].label) == (base[0].start, base[0].end, base[0].label)
    # among gestures: 0.45 / 0.9 = 0.5, flattened by T = 2
    q = np.sqrt(np.array([0.45, 0.40, 0.05]) / 0.9)
    assert hot[0].confidence == pytest.approx(q[0] / q.sum())


def test_coarse_fallback_when_the_fine_class_is_uncertain():
    p = _probs()
    seg = extract_segments(p, 25.0, LABELS, background=3, params=SegmentParams(smooth_s=0, coarse_below=0.6))
    assert seg[0].label == "head-hand (coarse)" and seg[0].confidence == pytest.approx(0.85 / 0.9)
    sure = p.copy()
    sure[20:60] = [0.85, 0.0, 0.05, 0.10]
    seg = extract_segments(sure, 25.0, LABELS, background=3, params=SegmentParams(smooth_s=0, coarse_below=0.6))
    assert seg[0].label == "touching jaw"
    with pytest.raises(DataError, match="temperature"):
        SegmentParams(temperature=0.0)
