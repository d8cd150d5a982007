"""Holm-adjusted p-values across a run's comparisons (issue 14: one family per run)."""

from __future__ import annotations

from mgreason import stats
from mgreason.eval.records import SampleRecord
from mgreason.eval.summary import comparison_summaries, with_holm


def _rec(item: str, cond: str, gold: str, pred: str) -> SampleRecord:
    return SampleRecord(
        run_id="r", scenario_id="s", messages=[], item_id=item, condition=cond, gold=gold, prediction=pred, correct=pred == gold,
        parse_ok=True, prompt_sha256="0" * 64, raw_output=pred,
    )  # fmt: skip


def _records() -> list[SampleRecord]:
    out = []
    for i in range(30):
        gold = "a" if i % 2 else "b"
        out.append(_rec(f"i{i}", "base", gold, "a"))  # half right
        out.append(_rec(f"i{i}", "good", gold, gold if i < 25 else ("b" if gold == "a" else "a")))
        out.append(_rec(f"i{i}", "same", gold, "a" if i % 3 else "b"))
    return out


def test_every_comparison_gets_the_holm_adjusted_p_of_its_family():
    comps = comparison_summaries(_records(), ["a", "b"], [("base", "good"), ("base", "same"), ("same", "good")], n_boot=200)
    raw = [c.mcnemar_p for c in comps]
    assert [c.p_holm for c in comps] == stats.holm_adjust(raw)
    assert all(c.p_holm >= c.mcnemar_p for c in comps)
    assert max(c.p_holm for c in comps) <= 1.0
    # the smallest p is multiplied by the family size (3), unless capped
    i = raw.index(min(raw))
    assert comps[i].p_holm == min(1.0, 3 * raw[i])


def test_a_single_comparison_is_unadjusted_and_missing_p_stays_missing():
    comps = comparison_summaries(_records(), ["a", "b"], [("base", "good")], n_boot=200)
    assert comps[0].p_holm == comps[0].mcnemar_p
    none_p = comps[0].model_copy(update={"mcnemar_p": None, "p_holm": None})
    out = with_holm([none_p, comps[0]])
    assert out[0].p_holm is None and out[1].p_holm == comps[0].mcnemar_p
