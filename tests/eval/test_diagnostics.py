"""Margins, ties, AUC, the paired shift and the flags (mgreason.eval.diagnostics)."""

import pytest

from mgreason.eval import diagnostics as d

LABELS = ["pos", "neg"]


def test_margins_and_ties():
    lp = {"pos": -1.0, "neg": -2.5}
    assert d.label_margin(lp, LABELS) == 1.5
    assert d.gold_margin(lp, "neg") == -1.5
    assert d.is_tie({"pos": -1.0, "neg": -1.0}) is True and d.is_tie(lp) is False and d.is_tie(None) is None
    assert d.one_vs_rest_margin({"a": -1.0, "b": -3.0, "c": -2.0}, "c") == -1.0


def test_margin_auc_two_and_three_labels():
    golds = ["pos", "pos", "neg", "neg"]
    lps = [{"pos": 0.0, "neg": -3.0}, {"pos": 0.0, "neg": -2.0}, {"pos": -2.0, "neg": 0.0}, {"pos": -1.0, "neg": 0.0}]
    assert d.margin_auc(golds, lps, LABELS) == 1.0
    assert d.margin_auc(golds, list(reversed(lps)), LABELS) == 0.0
    three = ["a", "b", "c"]
    lps3 = [{"a": 0.0, "b": -1.0, "c": -1.0}, {"a": -1.0, "b": 0.0, "c": -1.0}, {"a": -1.0, "b": -1.0, "c": 0.0}]
    assert d.margin_auc(three, lps3, three) == 1.0
    assert d.margin_auc(golds, [None] * 4, LABELS) is None


def test_mean_shift_ci_and_p():
    base, treat = [0.0] * 30, [1.0 + 0.1 * (i % 3) for i in range(30)]
    mean, lo, hi, p = d.mean_shift(base, treat, n_boot=500, seed=0)
    assert mean == pytest.approx(1.1) and lo > 0.9 and hi < 1.3 and p == pytest.approx(1 / 500)
    assert d.mean_shift([0.0] * 5, [0.0] * 5, n_boot=50)[3] == 1.0


def test_top_label_and_flags():
    top, share = d.top_label(["a"] * 19 + ["b"])
    assert (top, share) == ("a", 0.95)
    flags = d.condition_flags("with_mg", top, share, 3, 20, "with_mg: mean label mass 0.20 < 0.5")
    assert flags[0] == "with_mg: constant answer: 'a' on 95% of 20 items"
    assert "3 of 20 items have exactly tied label scores" in flags[2]
    assert d.condition_flags("x", "a", 0.9, 0, 20) == []


def test_spearman_constant_is_none():
    assert d.spearman([1, 1, 1], [1, 2, 3]) == (None, None)
    rho, p = d.spearman([1, 2, 3, 4], [2, 4, 6, 8])
    assert rho == pytest.approx(1.0)
