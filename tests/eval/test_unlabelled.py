"""Statistics of unlabelled runs: answer distributions, agreement, margin shifts; never accuracy."""

from __future__ import annotations

import math

import pytest

from mgreason.eval.records import SampleRecord
from mgreason.eval.unlabelled import label_probs, margin, mean_shift, unlabelled_markdown, unlabelled_summary

LABELS = ["calm", "stressed"]


def rec(item: str, cond: str, pred, lp=None) -> SampleRecord:
    return SampleRecord(
        run_id="r", scenario_id="s", item_id=item, condition=cond, prompt_sha256="x", messages=[],
        label_logprobs=lp, prediction=pred, gold=None, correct=None, parse_ok=pred is not None,
    )  # fmt: skip


def test_label_probs_and_margin():
    lp = {"calm": math.log(0.2), "stressed": math.log(0.05)}
    assert label_probs(lp, LABELS) == pytest.approx({"calm": 0.8, "stressed": 0.2})
    assert margin(lp, LABELS) == pytest.approx(math.log(4))
    assert label_probs(None, LABELS) is None and margin({"calm": -1.0}, LABELS) is None


def test_mean_shift_is_the_paired_mean_with_a_bracketing_ci():
    d, (lo, hi), p = mean_shift([0, 0, 0, 0], [1, 2, 3, 4], n_boot=500, seed=1)
    assert d == pytest.approx(2.5) and 1.0 <= lo <= 2.5 <= hi <= 4.0 and p < 0.05
    assert mean_shift([], []) == (None, (None, None), None)


def test_distributions_agreement_and_shift():
    lp = lambda m: {"calm": m, "stressed": 0.0}  # noqa: E731  margin m
    records = [
        rec("a", "without_mg", "calm", lp(1.0)), rec("a", "with_mg", "stressed", lp(-1.0)),
        rec("b", "without_mg", "calm", lp(2.0)), rec("b", "with_mg", "calm", lp(1.0)),
        rec("c", "without_mg", None), rec("c", "with_mg", "calm", lp(0.5)),
    ]  # fmt: skip
    s = unlabelled_summary(records, LABELS, ["without_mg", "with_mg"], [("without_mg", "with_mg")], n_boot=200)
    w, t = s.conditions
    assert w.counts == {"calm": 2, "stressed": 0} and w.n_no_answer == 1
    assert t.counts == {"calm": 2, "stressed": 1} and t.n_no_answer == 0
    (c,) = s.comparisons
    assert c.n == 3 and c.agreement == pytest.approx(1 / 3)
    assert c.changes == {"calm -> stressed": 1, "no answer -> calm": 1}
    assert c.margin_shift == pytest.approx(-1.5)  # (-2 + -1) / 2 over the items with log-probs in both
    text = "\n".join(unlabelled_markdown(s))
    assert "no accuracy" in text and "| without_mg → with_mg | 3 | 0.333 |" in text
