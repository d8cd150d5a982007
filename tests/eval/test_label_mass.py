"""Label mass (issue 14): P(answer starts with any label), per sample, per condition (mean, p10), warned about
below 0.5 in summary.json/md and the sweep report."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from helpers import make_items, write_scenario
from mgreason.backends.base import BackendResult
from mgreason.backends.mock import MockBackend
from mgreason.eval.label_mass import LOW_LABEL_MASS_WARNING, label_mass, low_mass_warning, mass_stats
from mgreason.eval.records import RunSummary, SampleRecord
from mgreason.eval.run import run_scenario
from mgreason.scenario import load_scenario


def test_label_mass_is_log_sum_exp():
    assert label_mass({"positive": math.log(0.6), "negative": math.log(0.3)}) == pytest.approx(0.9)
    # stable for very negative log-probs
    assert label_mass({"a": -800.0, "b": -800.0}) == pytest.approx(2 * math.exp(-800.0), rel=1e-9, abs=0)
    assert label_mass({"a": -math.inf, "b": -math.inf}) == 0.0
    assert label_mass(None) is None and label_mass({}) is None


def test_mass_stats_mean_and_p10_match_numpy():
    rng = np.random.default_rng(0)
    xs = list(rng.uniform(0, 1, 37))
    mean, p10 = mass_stats(xs + [None])
    assert mean == pytest.approx(float(np.mean(xs)))
    assert p10 == pytest.approx(float(np.percentile(xs, 10)))
    assert mass_stats([None]) == (None, None)


def test_warning_threshold():
    assert low_mass_warning("with_mg", 0.49) == f"with_mg: mean label mass 0.49 < 0.5: {LOW_LABEL_MASS_WARNING}"
    assert low_mass_warning("with_mg", 0.5) is None and low_mass_warning("with_mg", None) is None


class _FixedMass(MockBackend):
    """The mock backend with log-probs that give a chosen label mass per condition: the test knows the answer."""

    def __init__(self, mass_by_condition):
        super().__init__()
        self.mass_by_condition = mass_by_condition

    def score_labels(self, prompts, labels, progress=None):
        out = []
        for messages in prompts:
            text = "\n".join(m["content"] for m in messages)
            cond = "with_mg" if "EVIDENCE" in text else "without_mg"
            m = self.mass_by_condition[cond]
            out.append(BackendResult(prompt_text=text, label_logprobs={labels[0]: math.log(0.75 * m), labels[1]: math.log(0.25 * m)}))
            if progress:
                progress(1)
        return out


def test_run_records_and_summarises_label_mass(tmp_path):
    sc = load_scenario(write_scenario(tmp_path / "s", items=make_items(6), spec={"conditions": ["without_mg", "with_mg"]}))
    res = run_scenario(sc, _FixedMass({"without_mg": 0.2, "with_mg": 0.9}), out_dir=tmp_path / "run", n_boot=200)
    recs = [SampleRecord.model_validate_json(x) for x in (res.run_dir / "samples.jsonl").read_text().splitlines()]
    for r in recs:
        assert r.label_mass == pytest.approx(0.2 if r.condition == "without_mg" else 0.9)
    summary = RunSummary.model_validate_json((res.run_dir / "summary.json").read_text())
    by = {c.condition: c for c in summary.conditions}
    assert by["without_mg"].label_mass_mean == pytest.approx(0.2) and by["without_mg"].label_mass_p10 == pytest.approx(0.2)
    assert by["with_mg"].label_mass_mean == pytest.approx(0.9)
    assert summary.warnings == [low_mass_warning("without_mg", by["without_mg"].label_mass_mean)]
    md = (res.run_dir / "summary.md").read_text()
    assert f"**Warning** — without_mg: mean label mass 0.20 < 0.5: {LOW_LABEL_MASS_WARNING}" in md
    assert "label mass mean | p10 |" in md and "| 0.200 | 0.200 |" in md and "| 0.900 | 0.900 |" in md


def test_no_warning_and_no_column_in_generate_mode(tmp_path):
    sc = load_scenario(
        write_scenario(tmp_path / "s", items=make_items(4), spec={"scoring": {"mode": "generate"}})
    )
    res = run_scenario(sc, MockBackend(reply="positive"), out_dir=tmp_path / "run", n_boot=200)
    summary = RunSummary.model_validate_json((res.run_dir / "summary.json").read_text())
    assert summary.warnings == [] and all(c.label_mass_mean is None for c in summary.conditions)
    assert "label mass" not in (res.run_dir / "summary.md").read_text()


def test_sweep_report_shows_label_mass_and_warns(tmp_path):
    from mgreason.sweep.execute import run_sweep

    write_scenario(tmp_path / "scen" / "sc_a", fmt="inline", items=make_items(4), spec={"id": "sc_a"})
    spec = {
        "id": "mass-test",
        "models": [{"name": "alpha", "backend": "mock", "model": "mock-a"}],
        "scenarios": ["scen/sc_a/scenario.yaml"],
        "conditions": ["without_mg", "with_mg"],
        "output_dir": str(tmp_path / "out"),
        "cache": "cache.sqlite",
        "n_boot": 200,
    }
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    res = run_sweep(tmp_path / "sweep.yaml", report=True, progress=False)
    md = res.report.read_text(encoding="utf-8")
    html = res.report.with_name("report.html").read_text(encoding="utf-8")
    # the mock's log-probs lie in [-5, -1] (no [gold:] marker here): its label mass is below 0.5
    assert "## Label mass per condition" in md
    # said once, naming every (model / scenario / condition) it concerns (issue 26: not one warning per cell)
    assert md.count(LOW_LABEL_MASS_WARNING) == 1 and "alpha / sc_a / without_mg (0." in md
    assert "Label mass per condition" in html and LOW_LABEL_MASS_WARNING in html
