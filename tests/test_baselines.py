"""Baselines: majority class and the bag-of-MG logistic regression (numpy/scipy only)."""

from __future__ import annotations

import numpy as np
import pytest

from mgreason import stats
from mgreason.baselines import (
    FEATURE_KINDS,
    BagOfMG,
    LogisticRegressionL2,
    MajorityClass,
    cv_accuracy,
    feature_names,
    fit_predict_logistic,
    mg_features,
    standardiser,
    stratified_folds,
)
from mgreason.taxonomy import IMIGUE
from mgreason.transcript import MGEvent, Transcript

LABELS = ["positive", "negative"]


def _t(events, duration=120.0, tid="x"):
    return Transcript(
        id=tid, duration_s=duration, events=[MGEvent(start_s=s, end_s=e, label=lab) for s, e, lab in events]
    )


def test_majority_class():
    assert MajorityClass(LABELS).fit(["negative", "negative", "positive"]).predict(3) == ["negative"] * 3
    assert MajorityClass(LABELS).fit(["negative", "positive"]).label_ == "positive"  # tie: first label
    with pytest.raises(RuntimeError):
        MajorityClass(LABELS).predict(1)


def test_features_by_hand():
    t = _t([(0, 2, "folding arms"), (10, 11, "folding arms"), (20, 23.5, "pressing lips"), (30, 31, "not a class")])
    i_fold, i_lips = IMIGUE.by_name("folding arms").label_id, IMIGUE.by_name("pressing lips").label_id
    c = mg_features([t], "counts")[0]
    assert c.shape == (33,) and c[i_fold] == 2 and c[i_lips] == 1 and c[-1] == 3 and c.sum() == 6
    r = mg_features([t], "rates")[0]
    assert r[i_fold] == pytest.approx(1.0) and r[-1] == pytest.approx(1.5)  # per minute of a 2-minute recording
    d = mg_features([t], "durations")[0]
    assert d[i_fold] == pytest.approx(3.0) and d[i_lips] == pytest.approx(3.5) and d[-1] == pytest.approx(6.5)
    a = mg_features([t], "all")
    assert a.shape == (1, 99) and len(feature_names("all")) == 99
    np.testing.assert_allclose(a[0], np.concatenate([c, r, d]))
    # without a known duration, the rate uses the last event's end
    assert mg_features([Transcript(id="y", events=t.events)], "rates")[0][-1] == pytest.approx(3 / (31 / 60))
    with pytest.raises(ValueError):
        mg_features([t], "bogus")  # type: ignore[arg-type]


def test_logistic_regression_optimum():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 5))
    y = (X @ np.array([1.5, -2.0, 0.0, 0.5, 0.0]) + 0.3 + rng.normal(size=80) > 0).astype(float)
    m = LogisticRegressionL2(C=0.5).fit(X, y)
    assert m.converged_
    p = m.predict_proba(X)
    # first-order optimality: X^T (p - y) + w / C = 0 and sum(p - y) = 0 (unpenalised intercept)
    np.testing.assert_allclose(X.T @ (p - y) + m.coef_ / 0.5, 0, atol=1e-5)
    assert abs(np.sum(p - y)) < 1e-5
    assert np.mean((p >= 0.5) == (y == 1)) > 0.8
    # stronger regularisation shrinks the weights
    assert np.linalg.norm(LogisticRegressionL2(C=0.01).fit(X, y).coef_) < np.linalg.norm(m.coef_)


def test_logistic_regression_matches_sklearn_when_available():
    sk = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4))
    y = (rng.random(60) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    ours = LogisticRegressionL2(C=0.3).fit(X, y)
    ref = sk.LogisticRegression(C=0.3, tol=1e-10, max_iter=10000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_[0], atol=1e-4)
    assert ours.intercept_ == pytest.approx(ref.intercept_[0], abs=1e-4)


def test_stratified_folds():
    y = [0] * 51 + [1] * 51
    folds = stratified_folds(y, 5, seed=3)
    allidx = np.sort(np.concatenate(folds))
    np.testing.assert_array_equal(allidx, np.arange(102))
    for f in folds:
        n1 = sum(y[i] for i in f)
        assert abs(n1 - (len(f) - n1)) <= 1 and 20 <= len(f) <= 21
    assert all((a == b).all() for a, b in zip(folds, stratified_folds(y, 5, seed=3)))
    assert any((a != b).any() for a, b in zip(folds, stratified_folds(y, 5, seed=4)) if len(a) == len(b))


def test_cv_accuracy_folds_and_leave_one_out():
    rng = np.random.default_rng(1)
    y = np.array([0] * 7 + [1] * 5)
    X = rng.normal(size=(12, 2)) + y[:, None] * 3.0
    seen = []

    def spy(Xtr, ytr, Xte):
        seen.append((len(Xtr), len(Xte), sorted(set(ytr.tolist()))))
        return fit_predict_logistic(Xtr, ytr, Xte)

    acc = cv_accuracy(X, y, folds=len(y), fit_predict=spy)  # leave-one-out: 12 fits on 11 rows each
    assert seen == [(11, 1, [0.0, 1.0])] * 12 and acc > 0.8
    assert cv_accuracy(X, y, folds=3, seed=2) == cv_accuracy(X, y, folds=3, seed=2)
    # a fold whose training rows hold one class cannot be fitted: it counts as wrong
    y1 = np.array([0] * 11 + [1])
    assert cv_accuracy(X, y1, folds=12, fit_predict=lambda a, b, c: np.zeros(len(c), int)) == 11 / 12
    mean, scale = standardiser(np.array([[1.0, 5.0], [3.0, 5.0]]))
    np.testing.assert_allclose(mean, [2.0, 5.0]) and np.testing.assert_allclose(scale, [1.0, 1.0])


def test_bag_of_mg_learns_a_planted_signal():
    rng = np.random.default_rng(7)
    ts, ys = [], []
    for i in range(60):
        pos = i % 2 == 0
        k = int(rng.integers(3, 8)) if pos else int(rng.integers(0, 2))
        ev = [(10.0 * j, 10.0 * j + 1, "head up") for j in range(k)]
        ev += [(5.0 + 10 * j, 6.0 + 10 * j, "touching jaw") for j in range(int(rng.integers(0, 5)))]
        ts.append(_t(ev, duration=200.0, tid=str(i)))
        ys.append("positive" if pos else "negative")
    for kind in FEATURE_KINDS:
        m = BagOfMG(LABELS, kind=kind, seed=0).fit(ts, ys)
        assert stats.accuracy(ys, m.predict(ts)) > 0.9
        assert max(m.cv_accuracy_.values()) > 0.8
    top = BagOfMG(LABELS, kind="counts").fit(ts, ys).top_features(1)[0]
    assert top[0] == "count:head up" and top[1] > 0
    with pytest.raises(ValueError, match="not in"):
        BagOfMG(LABELS).fit(ts, ["happy"] * len(ts))


# --------------------------------------------------------------------------- real iMiGUE (skipped without it)


@pytest.fixture(scope="module")
def imigue_split(imigue_dir):
    from mgreason.datasets.imigue import load_imigue, load_splits

    ds = load_imigue(imigue_dir / "labels_20200831.csv")
    sp = load_splits(imigue_dir / "splits.json", ds)
    train = ([ds.transcript(v) for v in sp.train], [ds.label(v) for v in sp.train])
    test = ([ds.transcript(v) for v in sp.test], [ds.label(v) for v in sp.test])
    return train, test


def test_logistic_regression_above_majority_on_imigue_train(imigue_split):
    (tr_t, tr_y), (te_t, te_y) = imigue_split
    maj = MajorityClass(LABELS).fit(tr_y)
    maj_acc = stats.accuracy(tr_y, maj.predict(len(tr_y)))
    assert maj_acc == 0.5  # 51 / 51
    report = []
    for kind in FEATURE_KINDS:
        m = BagOfMG(LABELS, kind=kind, seed=0).fit(tr_t, tr_y)
        train_acc = stats.accuracy(tr_y, m.predict(tr_t))
        assert train_acc > maj_acc, kind
        test_acc = stats.accuracy(te_y, m.predict(te_t))
        assert 0.0 <= test_acc <= 1.0
        # deterministic: the same seed gives the same model
        again = BagOfMG(LABELS, kind=kind, seed=0).fit(tr_t, tr_y)
        assert again.C_ == m.C_ and np.array_equal(again.predict_proba(te_t), m.predict_proba(te_t))
        report.append(f"{kind}: C={m.C_:g} train {train_acc:.3f} test {test_acc:.3f}")
    print("; ".join(report))  # the test numbers live in benchmarks/results/imigue_emotion.md
