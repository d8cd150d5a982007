"""Tests for mgreason.stats (paired statistics for with/without-evidence comparisons)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mgreason import stats as S
from mgreason.stats import (
    accuracy,
    compare_conditions,
    condition_metrics,
    holm_adjust,
    macro_f1,
    mcnemar_exact,
    paired_bootstrap,
    uar,
    wilson_ci,
)

statsmodels = pytest.importorskip("statsmodels")
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar  # noqa: E402
from statsmodels.stats.multitest import multipletests  # noqa: E402
from statsmodels.stats.proportion import proportion_confint  # noqa: E402

LABELS = ["A", "B", "C", "D", "E"]
# Hand example: gold A A B B C, pred A B B None D
GOLD = ["A", "A", "B", "B", "C"]
PRED = ["A", "B", "B", None, "D"]


def _realistic(n: int = 200, acc_a: float = 0.50, acc_b: float = 0.75, seed: int = 123):
    rng = np.random.default_rng(seed)
    labels = ["pos", "neg", "neu", "mix"]
    gold = [labels[i] for i in rng.integers(0, len(labels), n)]

    def noisy(acc: float, fail: float) -> list:
        out = []
        for g in gold:
            r = rng.random()
            if r < fail:
                out.append(None)
            elif r < fail + acc:
                out.append(g)
            else:
                out.append(rng.choice([x for x in labels if x != g]))
        return out

    return gold, noisy(acc_a, 0.05), noisy(acc_b, 0.02), labels


# --------------------------------------------------------------------------- Wilson


@pytest.mark.parametrize(
    "k,n,alpha",
    [(0, 10, 0.05), (10, 10, 0.05), (3, 10, 0.05), (57, 200, 0.05), (1, 1, 0.05), (140, 200, 0.01), (5, 37, 0.1)],
)
def test_wilson_matches_statsmodels(k, n, alpha):
    lo, hi = wilson_ci(k, n, alpha)
    elo, ehi = proportion_confint(k, n, alpha=alpha, method="wilson")
    assert lo == pytest.approx(elo, abs=1e-12)
    assert hi == pytest.approx(ehi, abs=1e-12)


def test_wilson_hand_value_and_empty():
    # k=5, n=10, z=1.959964: center 0.5, half = z/(1+z^2/10) * sqrt(0.025 + z^2/400)
    z = 1.959963984540054
    half = z / (1 + z * z / 10) * math.sqrt(0.025 + z * z / 400)
    lo, hi = wilson_ci(5, 10)
    assert lo == pytest.approx(0.5 - half, abs=1e-12)
    assert hi == pytest.approx(0.5 + half, abs=1e-12)
    assert lo == pytest.approx(0.236593, abs=1e-6)
    assert all(math.isnan(x) for x in wilson_ci(0, 0))


def test_wilson_rejects_bad_input():
    with pytest.raises(ValueError):
        wilson_ci(11, 10)
    with pytest.raises(ValueError):
        wilson_ci(1, 10, alpha=0)


# --------------------------------------------------------------------------- point metrics


def test_accuracy_none_is_wrong():
    assert accuracy(GOLD, PRED) == pytest.approx(2 / 5)
    assert accuracy(["A", "B"], [None, None]) == 0.0
    assert accuracy(["A", "B"], ["A", "B"]) == 1.0


def test_macro_f1_hand_computed():
    # A: tp1 gold2 pred1 -> 2/3; B: tp1 gold2 pred2 -> 1/2; C: gold1 pred0 -> 0;
    # D: gold0 pred1 -> 0 (present, counts); E absent everywhere -> excluded.
    # None at item 3 is not a predicted label but costs B's recall.
    assert macro_f1(GOLD, PRED, LABELS) == pytest.approx((2 / 3 + 1 / 2 + 0 + 0) / 4)  # 7/24


def test_macro_f1_excludes_labels_absent_from_gold_and_pred():
    # Adding unused labels to the label set must not change the score.
    assert macro_f1(GOLD, PRED, ["A", "B", "C", "D"]) == pytest.approx(7 / 24)
    assert macro_f1(GOLD, PRED, LABELS + ["F", "G"]) == pytest.approx(7 / 24)


def test_macro_f1_none_does_not_count_as_prediction():
    # gold A B, pred A None: A f1=1, B f1=0 (recall cost) -> 0.5
    assert macro_f1(["A", "B"], ["A", None], ["A", "B"]) == pytest.approx(0.5)
    # Replacing None by a wrong label A: A: tp1 gold1 pred2 -> 2/3; B: 0 -> 1/3
    assert macro_f1(["A", "B"], ["A", "A"], ["A", "B"]) == pytest.approx(1 / 3)
    assert macro_f1(["A", "B", "B"], [None, None, None], ["A", "B"]) == 0.0


def test_macro_f1_out_of_set_prediction_is_wrong_not_a_label():
    # "Z" is not a scenario label: wrong, and Z is not averaged in.
    assert macro_f1(["A", "B"], ["A", "Z"], ["A", "B"]) == pytest.approx(0.5)


def test_uar_hand_computed():
    # labels present in gold: A (1/2), B (1/2), C (0/1); D/E not in gold -> excluded
    assert uar(GOLD, PRED, LABELS) == pytest.approx(1 / 3)
    # imbalanced: gold A A A B, pred A A A A -> recall A=1, B=0 -> 0.5 (accuracy 0.75)
    assert uar(["A", "A", "A", "B"], ["A", "A", "A", "A"], ["A", "B", "C"]) == pytest.approx(0.5)
    assert uar(["A", "B"], [None, "B"], ["A", "B"]) == pytest.approx(0.5)


def test_gold_outside_labels_rejected():
    with pytest.raises(ValueError, match="gold"):
        macro_f1(["A", "X"], ["A", "A"], ["A", "B"])


def test_condition_metrics():
    m = condition_metrics(GOLD, PRED, LABELS)
    assert (m.n, m.n_correct, m.n_parse_fail) == (5, 2, 1)
    assert m.accuracy == pytest.approx(0.4)
    elo, ehi = proportion_confint(2, 5, alpha=0.05, method="wilson")
    assert (m.acc_ci_low, m.acc_ci_high) == (pytest.approx(elo), pytest.approx(ehi))
    assert m.macro_f1 == pytest.approx(7 / 24)
    assert m.uar == pytest.approx(1 / 3)
    d = m.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["n_correct"] == 2 and d["macro_f1"] == pytest.approx(7 / 24)


# --------------------------------------------------------------------------- McNemar


def _from_table(n11, n10, n01, n00):
    a = [True] * n11 + [True] * n10 + [False] * n01 + [False] * n00
    b = [True] * n11 + [False] * n10 + [True] * n01 + [False] * n00
    return a, b


@pytest.mark.parametrize(
    "table",
    [(10, 5, 1, 4), (30, 0, 9, 11), (5, 7, 7, 1), (20, 3, 12, 5), (0, 0, 0, 3), (40, 25, 40, 10), (1, 1, 0, 0)],
)
def test_mcnemar_matches_statsmodels(table):
    n11, n10, n01, n00 = table
    a, b = _from_table(*table)
    r = mcnemar_exact(a, b)
    assert (r.b, r.c, r.n) == (n10, n01, sum(table))
    expected = sm_mcnemar(np.array([[n11, n10], [n01, n00]]), exact=True).pvalue
    assert r.p_value == pytest.approx(min(1.0, expected), rel=1e-12, abs=1e-15)


def test_mcnemar_hand_computed():
    # b=1, c=5: P[X<=1], X~Bin(6,.5) = 7/64 -> p = 14/64
    a, b = _from_table(3, 1, 5, 2)
    r = mcnemar_exact(a, b)
    assert (r.b, r.c) == (1, 5)
    assert r.p_value == pytest.approx(14 / 64)
    # no discordant pairs
    assert mcnemar_exact([True, False], [True, False]).p_value == 1.0
    # b=c=3 -> 2*P[X<=3] > 1 -> capped at 1
    a, b = _from_table(0, 3, 3, 0)
    assert mcnemar_exact(a, b).p_value == 1.0


def test_mcnemar_direction():
    # a correct where b wrong counts in b; a wrong where b correct counts in c
    r = mcnemar_exact([True, True, False], [False, True, True])
    assert (r.b, r.c) == (1, 1)
    r = mcnemar_exact([True, True, True], [False, False, True])
    assert (r.b, r.c) == (2, 0)


# --------------------------------------------------------------------------- bootstrap


def _naive_deltas(gold, pa, pb, labels, metric, n_boot, seed):
    """Loop reference using the same index stream as the vectorised implementation."""
    idx = np.concatenate(list(S._bootstrap_indices(len(gold), n_boot, seed)))
    f = (lambda g, p: accuracy(g, p)) if metric == "accuracy" else (lambda g, p: macro_f1(g, p, labels))
    out = []
    for row in idx:
        g = [gold[i] for i in row]
        out.append(f(g, [pb[i] for i in row]) - f(g, [pa[i] for i in row]))
    return np.array(out)


@pytest.mark.parametrize("metric", ["accuracy", "macro_f1"])
def test_bootstrap_vectorised_matches_loop(metric):
    gold, pa, pb, labels = _realistic(n=40)
    fast = S._bootstrap_deltas(gold, pa, pb, labels, metric, 300, 7)
    slow = _naive_deltas(gold, pa, pb, labels, metric, 300, 7)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)
    r = paired_bootstrap(gold, pa, pb, labels, metric, n_boot=300, seed=7)
    lo, hi = np.quantile(slow, [0.025, 0.975])
    assert (r.ci_low, r.ci_high) == (pytest.approx(lo), pytest.approx(hi))


def test_bootstrap_resamples_items_pairwise():
    # b is right exactly where a is wrong and vice versa; an unpaired resample would
    # give a wide spread, a paired one keeps delta = (#b-right - #a-right)/n per draw.
    gold = ["A"] * 10
    pa = ["A"] * 5 + ["B"] * 5
    pb = ["B"] * 5 + ["A"] * 5
    reps = S._bootstrap_deltas(gold, pa, pb, ["A", "B"], "accuracy", 500, 0)
    idx = np.concatenate(list(S._bootstrap_indices(10, 500, 0)))
    expected = ((idx >= 5).sum(1) - (idx < 5).sum(1)) / 10
    np.testing.assert_allclose(reps, expected)


@pytest.mark.parametrize("metric", ["accuracy", "macro_f1"])
def test_bootstrap_deterministic_and_seed_sensitive(metric):
    gold, pa, pb, labels = _realistic()
    r1 = paired_bootstrap(gold, pa, pb, labels, metric, n_boot=2000, seed=42)
    r2 = paired_bootstrap(gold, pa, pb, labels, metric, n_boot=2000, seed=42)
    r3 = paired_bootstrap(gold, pa, pb, labels, metric, n_boot=2000, seed=43)
    assert r1 == r2
    np.testing.assert_array_equal(
        S._bootstrap_deltas(gold, pa, pb, labels, metric, 2000, 42),
        S._bootstrap_deltas(gold, pa, pb, labels, metric, 2000, 42),
    )
    # another seed draws other resamples (the CI of a discrete metric may still coincide)
    assert not np.array_equal(
        S._bootstrap_deltas(gold, pa, pb, labels, metric, 2000, 42),
        S._bootstrap_deltas(gold, pa, pb, labels, metric, 2000, 43),
    )
    assert r1.delta == r3.delta
    assert (r1.metric, r1.n, r1.n_boot, r1.seed) == (metric, 200, 2000, 42)


@pytest.mark.parametrize("metric", ["accuracy", "macro_f1"])
def test_bootstrap_point_estimate_and_ci(metric):
    gold, pa, pb, labels = _realistic()
    r = paired_bootstrap(gold, pa, pb, labels, metric, n_boot=5000, seed=0)
    f = accuracy if metric == "accuracy" else (lambda g, p: macro_f1(g, p, labels))
    assert r.delta == pytest.approx(f(gold, pb) - f(gold, pa))
    assert r.ci_low < r.delta < r.ci_high
    # a clearly better treatment (~0.50 -> ~0.75 on 200 items) has a CI above 0
    assert r.ci_low > 0


@pytest.mark.parametrize("metric", ["accuracy", "macro_f1"])
def test_bootstrap_identical_predictions(metric):
    gold, pa, _, labels = _realistic()
    r = paired_bootstrap(gold, pa, list(pa), labels, metric, n_boot=1000, seed=3)
    assert (r.delta, r.ci_low, r.ci_high) == (0.0, 0.0, 0.0)


def test_bootstrap_clearly_better_small_case():
    # 30 items; b fixes 12 of a's errors and breaks none
    labels = ["x", "y"]
    gold = ["x", "y"] * 15
    pa = [("y" if g == "x" else "x") if i < 12 else g for i, g in enumerate(gold)]
    pb = list(gold)
    r = paired_bootstrap(gold, pa, pb, labels, "accuracy", n_boot=4000, seed=1)
    assert r.delta == pytest.approx(12 / 30)
    assert r.ci_low > 0.2 and r.ci_high <= 12 / 30 + 0.25
    # and the reverse comparison is clearly negative
    r2 = paired_bootstrap(gold, pb, pa, labels, "accuracy", n_boot=4000, seed=1)
    assert r2.delta == pytest.approx(-12 / 30) and r2.ci_high < 0


def test_bootstrap_alpha_widens_interval():
    gold, pa, pb, labels = _realistic()
    r95 = paired_bootstrap(gold, pa, pb, labels, "accuracy", n_boot=3000, seed=0, alpha=0.05)
    r99 = paired_bootstrap(gold, pa, pb, labels, "accuracy", n_boot=3000, seed=0, alpha=0.01)
    assert r99.ci_low < r95.ci_low and r99.ci_high > r95.ci_high


def test_bootstrap_rejects_bad_input():
    with pytest.raises(ValueError, match="length"):
        paired_bootstrap(["A", "B"], ["A"], ["A", "B"], ["A", "B"], "accuracy")
    with pytest.raises(ValueError, match="metric"):
        paired_bootstrap(["A"], ["A"], ["A"], ["A"], "f2")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        paired_bootstrap([], [], [], ["A"], "accuracy")


# --------------------------------------------------------------------------- compare_conditions


def test_compare_conditions_bundle():
    gold, pa, pb, labels = _realistic()
    cmp = compare_conditions(gold, pa, pb, labels, "no_evidence", "with_evidence", n_boot=2000, seed=5)
    assert (cmp.name_a, cmp.name_b, cmp.n) == ("no_evidence", "with_evidence", 200)
    assert cmp.acc_a == pytest.approx(accuracy(gold, pa))
    assert cmp.acc_b == pytest.approx(accuracy(gold, pb))
    assert cmp.delta_acc == paired_bootstrap(gold, pa, pb, labels, "accuracy", n_boot=2000, seed=5)
    assert cmp.delta_macro_f1 == paired_bootstrap(gold, pa, pb, labels, "macro_f1", n_boot=2000, seed=5)
    ca = [p == g for g, p in zip(gold, pa)]
    cb = [p == g for g, p in zip(gold, pb)]
    assert cmp.mcnemar == mcnemar_exact(ca, cb)
    assert cmp.mcnemar.c > cmp.mcnemar.b  # b (treatment) fixes more than it breaks
    d = cmp.to_dict()
    json.loads(json.dumps(d, allow_nan=False))
    assert d["delta_acc"]["metric"] == "accuracy"
    assert d["mcnemar"]["p_value"] == pytest.approx(cmp.mcnemar.p_value)


def test_compare_conditions_length_mismatch():
    with pytest.raises(ValueError, match="length mismatch"):
        compare_conditions(["A", "B"], ["A", "B"], ["A"], ["A", "B"], "a", "b", n_boot=10)
    with pytest.raises(ValueError, match="length mismatch"):
        mcnemar_exact([True, False], [True])
    with pytest.raises(ValueError, match="length mismatch"):
        accuracy(["A"], ["A", "B"])


# --------------------------------------------------------------------------- Holm


@pytest.mark.parametrize(
    "pvals",
    [
        [0.01, 0.04, 0.03, 0.005],
        [0.2, 0.01, 0.5, 0.01, 0.04],
        [0.9, 0.8, 0.7],
        [0.001],
        [0.04, 0.03, 0.02, 0.01, 0.6, 0.0],
    ],
)
def test_holm_matches_statsmodels(pvals):
    expected = multipletests(pvals, method="holm")[1]
    np.testing.assert_allclose(holm_adjust(pvals), expected, rtol=0, atol=1e-12)


def test_holm_hand_computed():
    # sorted 0.01, 0.02, 0.04 -> 0.03, 0.04, 0.04 (monotone), back in input order
    assert holm_adjust([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert holm_adjust([0.5, 0.6]) == pytest.approx([1.0, 1.0])
    assert holm_adjust([]) == []
    with pytest.raises(ValueError):
        holm_adjust([0.1, float("nan")])


def test_roc_auc_equals_the_pairwise_count_with_ties_as_half():
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(2, 40))
        gold = list(rng.choice(["pos", "neg"], n))
        score = list(rng.choice([0.0, 1.0, 2.0, 0.5], n))  # many ties
        pos = [s for s, g in zip(score, gold) if g == "pos"]
        neg = [s for s, g in zip(score, gold) if g == "neg"]
        got = S.roc_auc(gold, score, positive="pos")
        if not pos or not neg:
            assert math.isnan(got)
            continue
        ref = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg) / (len(pos) * len(neg))
        assert got == pytest.approx(ref, abs=1e-12)
