"""Contextual calibration (issue 14): content-free prompts of the same template, an extra column."""

from __future__ import annotations

import json
import math

import pytest

from helpers import assert_one_line_error, run_cli
from mgreason.eval.calibration import calibrate_run
from mgreason.eval.contextual import CONTENT_FREE, content_free_requests, fit_contextual, score_content_free
from mgreason.eval.plan import build_requests
from mgreason.scenario import load_scenario

from .test_calibration import LABELS, _Biased, _split, runs  # noqa: F401  (fixture)


def test_content_free_prompts_keep_the_template_and_drop_every_item_text(tmp_path):
    sc = _split(tmp_path, "s", "it", 4)
    cf = content_free_requests(sc)
    assert [(r.condition, r.item_id) for r in cf] == [
        (c, f"content-free:{t}") for c in ("without_mg", "with_mg") for t in CONTENT_FREE
    ]
    real = build_requests(sc)
    assert {r.messages[0]["content"] for r in cf} == {real[0].messages[0]["content"]}  # same system turn
    texts = {v for it in sc.items for k, v in it.fields.items() if isinstance(v, str) and len(v) > 3 and v not in LABELS}
    for r in cf:
        user = r.messages[-1]["content"]
        assert not any(t in user for t in texts), user
        assert "[gold:" not in user
    with_mg = {r.item_id: r.messages[-1]["content"] for r in cf if r.condition == "with_mg"}
    assert "N/A" in with_mg["content-free:N/A"] and "[MASK]" in with_mg["content-free:[MASK]"]
    assert len({r.prompt_sha256 for r in cf}) == len(cf)
    assert [r.prompt_sha256 for r in content_free_requests(sc, conditions=["with_mg"])] == [
        r.prompt_sha256 for r in cf if r.condition == "with_mg"
    ]


def test_offsets_are_the_log_of_the_mean_normalised_label_probability(tmp_path):
    sc = _split(tmp_path, "s", "it", 2)
    reqs = content_free_requests(sc, conditions=["with_mg"])
    lps = [{"positive": math.log(0.2), "negative": math.log(0.2)}, {"positive": math.log(0.9), "negative": math.log(0.1)},
           {"positive": math.log(0.05), "negative": math.log(0.15)}]  # fmt: skip
    fit = fit_contextual(reqs, lps, LABELS)
    mean_pos = (0.5 + 0.9 + 0.25) / 3
    assert fit.offsets["with_mg"]["positive"] == pytest.approx(math.log(mean_pos))
    assert fit.offsets["with_mg"]["negative"] == pytest.approx(math.log(1 - mean_pos))
    assert [p["text"] for p in fit.prompts] == list(CONTENT_FREE)
    with pytest.raises(Exception, match="content-free prompt"):
        fit_contextual(reqs, [lps[0], None, lps[2]], LABELS)


def test_contextual_column_recovers_evidence_a_biased_model_never_acts_on(runs, monkeypatch, capsys):
    _, test_run = runs
    raw_summary = (test_run / "summary.json").read_text()
    sc = load_scenario(json.loads((test_run / "config.json").read_text())["scenario_path"])
    fit = score_content_free(sc, _Biased())
    data = calibrate_run(test_run, None, contextual=fit, n_boot=200)
    by = {r["condition"]: r for r in data["conditions"]}
    assert by["with_mg"]["accuracy"] == pytest.approx(0.5)  # raw: always "positive"
    assert by["with_mg"]["accuracy_contextual"] == pytest.approx(1.0)
    assert by["without_mg"]["accuracy_contextual"] == pytest.approx(0.5)  # no evidence: a tie, the first label
    comp = {(c["baseline"], c["treatment"]): c for c in data["comparisons_contextual"]}
    assert comp[("without_mg", "with_mg")]["delta_acc"] == pytest.approx(0.5)
    assert len(data["contextual"]["prompts"]) == 2 * len(CONTENT_FREE)

    # the command: loads "the run's model" (here the biased mock) and writes the extra column
    import mgreason.backends as backends

    monkeypatch.setattr(backends, "create_backend", lambda *a, **k: _Biased())
    res = run_cli(["calibrate", str(test_run), "--contextual", "--no-cache", "--n-boot", "200"], monkeypatch, capsys)
    assert res.code == 0, res.err
    md = (test_run / "calibrated.md").read_text()
    assert "accuracy (contextual)" in md and "contextually calibrated" in md
    assert (test_run / "summary.json").read_text() == raw_summary


def test_a_changed_scenario_or_another_model_is_refused(runs, monkeypatch, capsys):
    _, test_run = runs
    import mgreason.backends as backends

    class _Other(_Biased):
        def model_info(self):
            info = super().model_info()
            info.dtype = "float32"
            return info

    cfg_path = test_run / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["model"]["dtype"] = "bfloat16"  # the run was scored in bf16, the model loads in fp32 now
    cfg_path.write_text(json.dumps(cfg))
    monkeypatch.setattr(backends, "create_backend", lambda *a, **k: _Other())
    res = run_cli(["calibrate", str(test_run), "--contextual", "--no-cache"], monkeypatch, capsys)
    assert_one_line_error(res, "not the run's", "dtype")
    monkeypatch.setattr(backends, "create_backend", lambda *a, **k: _Biased())
    user = next(p for p in (test_run.parent / "test").rglob("*.j2") if "user" in p.name)
    user.write_text(user.read_text() + "\nOne more line.\n")
    res = run_cli(["calibrate", str(test_run), "--contextual", "--no-cache"], monkeypatch, capsys)
    assert_one_line_error(res, "renders", "differently")


def test_offsets_missing_a_condition_are_one_clear_error(runs):
    from mgreason.errors import MGReasonError
    from mgreason.eval.contextual import ContextualFit

    _, test_run = runs
    fit = ContextualFit(offsets={"without_mg": {"positive": -0.7, "negative": -0.7}}, prompts=[])
    with pytest.raises(MGReasonError, match="no content-free scores for condition.*with_mg"):
        calibrate_run(test_run, None, contextual=fit, n_boot=200)
