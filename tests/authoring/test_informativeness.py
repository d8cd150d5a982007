"""The informativeness check of the synthetic packs: evidence that is informative but not decisive (MG alone
well above chance, dialogue alone near chance), with the baselines' cross-validated logistic regression."""

from __future__ import annotations

import numpy as np
import pytest

from mgreason.authoring import generators as g
from mgreason.authoring import informativeness as inf
from mgreason.baselines import cv_accuracy


@pytest.mark.parametrize("kind", sorted(g.PACKS))
def test_mg_evidence_is_informative_but_not_decisive(kind):
    rep = inf.measure_generator(kind, n=1200, seed=0)
    # MG alone: clearly better than chance, far from perfect
    assert 0.63 <= rep.mg_logistic <= 0.82, rep.lines()
    assert 0.60 <= rep.mg_centroid <= 0.82, rep.lines()
    # the dialogue alone is ambiguous
    assert 0.42 <= rep.dialogue_logistic <= 0.62, rep.lines()
    assert rep.mg_logistic >= rep.dialogue_logistic + 0.08
    neg, pos = g.get_pack(kind).labels
    r = rep.rates
    assert r[pos]["gestures_per_min"] > r[neg]["gestures_per_min"]
    assert r[pos]["self_adaptor_share"] > r[neg]["self_adaptor_share"]
    assert r[pos]["p_self_adaptor_at_pointed_answer"] > r[neg]["p_self_adaptor_at_pointed_answer"]
    # overlap: a good share of the non-cue label still shows a self-adaptor at the pointed answer
    assert r[neg]["p_self_adaptor_at_pointed_answer"] > 0.25


@pytest.mark.parametrize("kind", sorted(g.PACKS))
def test_held_out_measure_on_a_small_pack(kind):
    train = inf.measure_sample(kind, 600, seed=1)
    test = g.generate_items(kind, 200, seed=7)
    rep = inf.measure_held_out(train, test, kind)
    assert rep.folds == 0 and rep.n_train == 600 and rep.n == 200
    assert "trained on 600 other generated items" in rep.lines()[0]
    assert 0.6 <= rep.mg_logistic <= 0.85 and 0.38 <= rep.dialogue_logistic <= 0.65, rep.lines()


def test_cv_accuracy_sanity_for_both_classifiers():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 200)
    X_sep = np.c_[y * 5.0 + rng.normal(size=400), rng.normal(size=400)]
    X_noise = rng.normal(size=(400, 3))
    for fp in (None, inf.fit_predict_centroid):
        assert cv_accuracy(X_sep, y, fit_predict=fp) > 0.95
        assert 0.38 < cv_accuracy(X_noise, y, fit_predict=fp) < 0.62


def test_mg_features_are_the_baselines_rates():
    items = g.generate_items("interview", 6, seed=1)
    X = inf.mg_features(items, "imigue")
    t = items[0]["transcript"]
    minutes = t["duration_s"] / 60.0
    assert X.shape == (6, 33)  # 32 iMiGUE classes + the total rate
    assert X[0, -1] == pytest.approx(len(t["events"]) / minutes)
    first = t["events"][0]
    assert X[0, first["label_id"]] >= 1.0 / minutes - 1e-12
