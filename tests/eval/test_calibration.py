"""Calibrated scoring as extra columns (issue 14): a prior fitted on a training-split run, ROC AUC of the margin."""

from __future__ import annotations

import json
import math

import pytest

from helpers import assert_one_line_error, make_items, run_cli, write_scenario
from mgreason.backends.base import BackendResult
from mgreason.backends.mock import MockBackend
from mgreason.eval.calibration import apply_prior, calibrate_run, fit_prior, roc_auc
from mgreason.eval.records import SampleRecord
from mgreason.eval.run import run_scenario
from mgreason.scenario import load_scenario

LABELS = ["positive", "negative"]


def rec(item, cond, gold, lp_pos, lp_neg, error=None):
    return SampleRecord(
        run_id="r", scenario_id="s", item_id=item, condition=cond, prompt_sha256="0" * 64, messages=[],
        label_logprobs=None if error else {"positive": lp_pos, "negative": lp_neg},
        prediction=None if error else ("positive" if lp_pos >= lp_neg else "negative"),
        gold=gold, correct=False, parse_ok=error is None, error=error,
    )


def test_prior_is_the_mean_label_logprob_per_condition_and_errors_are_skipped():
    recs = [rec("a", "c", "positive", -1.0, -3.0), rec("b", "c", "negative", -2.0, -4.0), rec("x", "c", "positive", 0, 0, error="boom")]
    assert fit_prior(recs, LABELS) == {"c": {"positive": -1.5, "negative": -3.5}}


def test_apply_prior_moves_the_argmax_and_keeps_errors():
    prior = {"c": {"positive": -1.5, "negative": -3.5}}
    recs = [rec("a", "c", "positive", -1.0, -3.0), rec("b", "c", "negative", -2.0, -3.6), rec("x", "c", "positive", 0, 0, error="e")]
    out = apply_prior(recs, LABELS, prior)
    # raw: both answered positive; calibrated: margin -1.0-(-1.5)=0.5 vs -3.0+3.5=0.5 -> tie -> first label;
    # b: -0.5 vs -0.1 -> negative (right)
    assert [r.prediction for r in out] == ["positive", "negative", None]
    assert [r.correct for r in out] == [True, True, False]
    assert recs[1].prediction == "positive"  # the input records are not changed


def test_roc_auc_counts_ties_as_half():
    recs = [rec("a", "c", "positive", -1, -2), rec("b", "c", "negative", -1, -2), rec("c", "c", "negative", -3, -1)]
    assert roc_auc(recs, LABELS) == pytest.approx(0.75)
    assert roc_auc(recs[:1], LABELS) is None and roc_auc(recs, LABELS + ["neutral"]) is None


class _Biased(MockBackend):
    """Always prefers 'positive' by 2 nats; the item's own evidence (its gold marker) moves the margin by ±0.5:
    the raw argmax never changes, a prior fitted on other items recovers the evidence."""

    def score_labels(self, prompts, labels, progress=None):
        out = []
        for messages in prompts:
            text = "\n".join(m["content"] for m in messages)
            shift = 0.5 if "[gold:positive]" in text else (-0.5 if "[gold:negative]" in text else 0.0)
            out.append(BackendResult(prompt_text=text, label_logprobs={"positive": math.log(0.6) + shift, "negative": math.log(0.6) - 2.0}))
            if progress:
                progress(1)
        return out


def _split(tmp_path, name, prefix, n):
    items = make_items(n)
    for it in items:
        it["id"] = f"{prefix}{it['id']}"
        it["transcript"]["events"][0]["label"] = f"[gold:{it['label']}]"
    return load_scenario(
        write_scenario(tmp_path / name, items=items, spec={"conditions": ["without_mg", "with_mg"], "transcripts": {"source": "inline", "labels": "any"}})
    )


@pytest.fixture
def runs(tmp_path):
    train, test = _split(tmp_path, "train", "tr", 8), _split(tmp_path, "test", "te", 6)
    a = run_scenario(train, _Biased(), out_dir=tmp_path / "train_run", n_boot=200).run_dir
    b = run_scenario(test, _Biased(), out_dir=tmp_path / "test_run", n_boot=200).run_dir
    return a, b


def test_calibrated_view_recovers_the_evidence_and_leaves_the_raw_summary_alone(runs, monkeypatch, capsys):
    train_run, test_run = runs
    raw_summary = (test_run / "summary.json").read_text()
    res = run_cli(["calibrate", str(test_run), "--prior", str(train_run), "--n-boot", "200"], monkeypatch, capsys)
    assert res.code == 0, res.err
    data = json.loads((test_run / "calibrated.json").read_text())
    by = {r["condition"]: r for r in data["conditions"]}
    assert by["with_mg"]["accuracy"] == pytest.approx(0.5)  # raw: always "positive"
    assert by["with_mg"]["accuracy_calibrated"] == pytest.approx(1.0)
    assert by["with_mg"]["roc_auc"] == pytest.approx(1.0) and by["without_mg"]["roc_auc"] == pytest.approx(0.5)
    comp = {(c["baseline"], c["treatment"]): c for c in data["comparisons_calibrated"]}
    assert comp[("without_mg", "with_mg")]["delta_acc"] == pytest.approx(0.5)
    assert "accuracy (prior-calibrated)" in (test_run / "calibrated.md").read_text()
    assert (test_run / "summary.json").read_text() == raw_summary


def test_without_prior_only_the_auc(runs):
    _, test_run = runs
    data = calibrate_run(test_run, None, n_boot=200)
    assert all(r["accuracy_calibrated"] is None for r in data["conditions"]) and data["comparisons_calibrated"] == []


def test_bad_input_is_one_line(runs, tmp_path, monkeypatch, capsys):
    train_run, test_run = runs
    res = run_cli(["calibrate", str(test_run), "--prior", str(test_run)], monkeypatch, capsys)
    assert_one_line_error(res, "shares 6 item(s)", "training split")
    res = run_cli(["calibrate", str(tmp_path / "nowhere")], monkeypatch, capsys)
    assert_one_line_error(res, "not a run directory")
