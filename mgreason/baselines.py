"""Non-LLM baselines for video-level emotion from micro-gesture transcripts.

* :class:`MajorityClass` -- always the most frequent training label (ties: the first
  label in the given label order).
* :class:`BagOfMG` -- a bag-of-micro-gestures L2-regularised logistic regression on
  per-class counts, rates (per minute) or total durations (or all three), trained
  with ``scipy.optimize`` (no scikit-learn). The regularisation strength is chosen by
  seeded stratified k-fold cross-validation on the training set only.

Both answer with label strings, so their predictions go through the same
:mod:`mgreason.stats` functions as the LLM conditions (paired with them item by item).

The pieces are the package's one bag-of-MG feature extractor (:func:`mg_features`) and one
cross-validated logistic regression (:class:`LogisticRegressionL2`, :func:`stratified_folds`,
:func:`cv_accuracy`); the synthetic packs' informativeness check
(:mod:`mgreason.authoring.informativeness`) uses them too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Literal, Optional, Sequence

import numpy as np
from scipy import optimize
from scipy.special import expit, log_expit

from mgreason.taxonomy import IMIGUE, Taxonomy
from mgreason.transcript import Transcript

FeatureKind = Literal["counts", "rates", "durations", "all"]
FEATURE_KINDS: tuple[str, ...] = ("counts", "rates", "durations", "all")
DEFAULT_C_GRID: tuple[float, ...] = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)

__all__ = [
    "MajorityClass",
    "BagOfMG",
    "LogisticRegressionL2",
    "mg_features",
    "feature_names",
    "stratified_folds",
    "standardiser",
    "fit_predict_logistic",
    "cv_accuracy",
    "FEATURE_KINDS",
]


# --------------------------------------------------------------------------- majority


@dataclass
class MajorityClass:
    labels: Sequence[str]
    label_: Optional[str] = None

    def fit(self, y: Sequence[str]) -> "MajorityClass":
        counts = Counter(y)
        if not counts:
            raise ValueError("no training labels")
        best = max(counts.values())
        self.label_ = next(lab for lab in self.labels if counts.get(lab, 0) == best)
        return self

    def predict(self, n: int) -> list[str]:
        if self.label_ is None:
            raise RuntimeError("fit first")
        return [self.label_] * n


# --------------------------------------------------------------------------- features


def _class_index(taxonomy: Taxonomy, label: str, label_id: Optional[int]) -> Optional[int]:
    if label in taxonomy:
        return taxonomy.by_name(label).label_id
    if label_id is not None and 0 <= label_id < len(taxonomy):
        return label_id
    return None


def _per_class(t: Transcript, taxonomy: Taxonomy) -> tuple[np.ndarray, np.ndarray, float]:
    k = len(taxonomy)
    counts = np.zeros(k)
    durs = np.zeros(k)
    for e in t.events:
        i = _class_index(taxonomy, e.label, e.label_id)
        if i is None:
            continue  # a label outside the taxonomy carries no feature
        counts[i] += 1
        durs[i] += e.duration_s
    length = t.duration_s if t.duration_s else max((e.end_s for e in t.events), default=0.0)
    return counts, durs, float(length)


def feature_names(kind: FeatureKind, taxonomy: Taxonomy = IMIGUE) -> list[str]:
    names = taxonomy.names
    blocks = {
        "counts": [f"count:{n}" for n in names] + ["count:total"],
        "rates": [f"per_min:{n}" for n in names] + ["per_min:total"],
        "durations": [f"seconds:{n}" for n in names] + ["seconds:total"],
    }
    if kind == "all":
        return blocks["counts"] + blocks["rates"] + blocks["durations"]
    return blocks[kind]


def mg_features(transcripts: Sequence[Transcript], kind: FeatureKind = "counts", taxonomy: Taxonomy = IMIGUE) -> np.ndarray:
    """Raw (untransformed) bag-of-MG features, one row per transcript: per-class values plus a total.

    counts: events per class; rates: events per minute of recording; durations: total seconds per class.
    """
    if kind not in FEATURE_KINDS:
        raise ValueError(f"kind must be one of {FEATURE_KINDS}, got {kind!r}")
    rows = []
    for t in transcripts:
        counts, durs, length = _per_class(t, taxonomy)
        minutes = max(length / 60.0, 1e-9)
        blocks = {
            "counts": np.append(counts, counts.sum()),
            "rates": np.append(counts, counts.sum()) / minutes,
            "durations": np.append(durs, durs.sum()),
        }
        rows.append(np.concatenate([blocks["counts"], blocks["rates"], blocks["durations"]]) if kind == "all" else blocks[kind])
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), -1)


# --------------------------------------------------------------------------- logistic regression


@dataclass
class LogisticRegressionL2:
    """Binary logistic regression, ``loss = sum log-loss + ||w||^2 / (2 C)`` (intercept not penalised),
    minimised by Newton-CG (analytic gradient and Hessian-vector products). Deterministic (zero start)."""

    C: float = 1.0
    max_iter: int = 1000
    tol: float = 1e-8
    coef_: np.ndarray = field(default_factory=lambda: np.zeros(0))
    intercept_: float = 0.0
    converged_: bool = False

    def fit(self, X: np.ndarray, y: np.ndarray) -> "LogisticRegressionL2":
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if X.ndim != 2 or len(X) != len(y):
            raise ValueError("X must be 2-D with one row per label")
        if self.C <= 0:
            raise ValueError("C must be > 0")
        s = 2.0 * y - 1.0  # ±1
        lam = 1.0 / self.C

        def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
            w, b = theta[:-1], theta[-1]
            # einsum, not BLAS: these products are tiny, and multithreaded BLAS on a busy
            # machine can make each one orders of magnitude slower
            z = s * (np.einsum("ij,j->i", X, w) + b)
            loss = -np.sum(log_expit(z)) + 0.5 * lam * float(np.dot(w, w))
            g = -s * expit(-z)  # d loss / d (Xw + b)
            grad = np.append(np.einsum("ij,i->j", X, g) + lam * w, g.sum())
            return float(loss), grad

        def hessp(theta: np.ndarray, v: np.ndarray) -> np.ndarray:
            w, b = theta[:-1], theta[-1]
            p = expit(np.einsum("ij,j->i", X, w) + b)
            d = p * (1.0 - p) * (np.einsum("ij,j->i", X, v[:-1]) + v[-1])
            return np.append(np.einsum("ij,i->j", X, d) + lam * v[:-1], d.sum())

        # Newton-CG: a handful of iterations, each a few tiny matrix-vector products
        # (L-BFGS-B's compiled core calls multithreaded BLAS, pathologically slow on a busy CPU)
        res = optimize.minimize(
            fun,
            np.zeros(X.shape[1] + 1),
            jac=True,
            hessp=hessp,
            method="Newton-CG",
            options={"maxiter": self.max_iter, "xtol": self.tol},
        )
        # Newton-CG may report "precision loss" at the optimum: judge convergence by the gradient
        grad_max = float(np.max(np.abs(fun(res.x)[1])))
        self.coef_, self.intercept_ = res.x[:-1], float(res.x[-1])
        self.converged_ = bool(res.success) or grad_max <= 1e-6 * max(1.0, len(y))
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return np.einsum("ij,j->i", np.asarray(X, dtype=np.float64), self.coef_) + self.intercept_

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """P(y = 1) per row."""
        return expit(self.decision_function(X))


def stratified_folds(y: Sequence[int], k: int, seed: int) -> list[np.ndarray]:
    """``k`` disjoint index arrays, each class spread evenly over them, seeded."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    offset = 0
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            folds[(j + offset) % k].append(int(i))
        offset += len(idx)
    return [np.sort(np.asarray(f, dtype=np.int64)) for f in folds]


def standardiser(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations of training data (a constant column gets scale 1)."""
    mean = Z.mean(axis=0)
    sd = Z.std(axis=0)
    return mean, np.where(sd > 1e-12, sd, 1.0)


FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def fit_predict_logistic(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, C: float = 1.0) -> np.ndarray:
    """Standardise on the training rows, fit :class:`LogisticRegressionL2`, predict 0/1 for the test rows."""
    mean, scale = standardiser(X_train)
    m = LogisticRegressionL2(C=C).fit((X_train - mean) / scale, y_train)
    return (m.predict_proba((X_test - mean) / scale) >= 0.5).astype(int)


def cv_accuracy(
    X: np.ndarray,
    y: Sequence[int],
    *,
    folds: int = 5,
    seed: int = 0,
    C: float = 1.0,
    fit_predict: Optional[FitPredict] = None,
) -> float:
    """Stratified ``folds``-fold cross-validated accuracy (:func:`stratified_folds`; ``folds == len(y)``
    is leave-one-out) of ``fit_predict(X_train, y_train, X_test) -> 0/1 predictions``, by default
    :func:`fit_predict_logistic` with ``C``. A fold whose training rows hold a single class counts as
    wrong (no classifier can be fitted)."""
    X = np.asarray(X, dtype=np.float64)
    yy = np.asarray(y, dtype=int)
    if fit_predict is None:
        def fit_predict(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
            return fit_predict_logistic(a, b, c, C)
    correct = 0
    for test_idx in stratified_folds(yy, folds, seed):
        if len(test_idx) == 0:
            continue
        train_idx = np.setdiff1d(np.arange(len(yy)), test_idx)
        if len(np.unique(yy[train_idx])) < 2:
            continue
        pred = fit_predict(X[train_idx], yy[train_idx].astype(np.float64), X[test_idx])
        correct += int(np.sum(pred == yy[test_idx]))
    return correct / len(yy)


@dataclass
class BagOfMG:
    """Bag-of-micro-gestures classifier: features → ``log1p`` → standardised (training mean / sd) →
    L2 logistic regression. ``C`` is picked from ``c_grid`` by ``cv_folds``-fold stratified
    cross-validated accuracy on the training data (ties: the smallest C, i.e. the strongest
    regularisation); pass ``C`` to fix it."""

    labels: Sequence[str]  # (positive class, negative class): labels[0] is y = 1
    kind: FeatureKind = "counts"
    taxonomy: Taxonomy = IMIGUE
    C: Optional[float] = None
    c_grid: Sequence[float] = DEFAULT_C_GRID
    cv_folds: int = 5
    seed: int = 0
    # fitted
    C_: float = float("nan")
    cv_accuracy_: dict[float, float] = field(default_factory=dict)
    mean_: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scale_: np.ndarray = field(default_factory=lambda: np.ones(0))
    model_: Optional[LogisticRegressionL2] = None

    def _y(self, y: Sequence[str]) -> np.ndarray:
        if len(self.labels) != 2:
            raise ValueError("BagOfMG is a binary classifier: give exactly two labels")
        bad = sorted({v for v in y if v not in self.labels})
        if bad:
            raise ValueError(f"labels {bad} are not in {list(self.labels)}")
        return np.asarray([1.0 if v == self.labels[0] else 0.0 for v in y])

    def _raw(self, transcripts: Sequence[Transcript]) -> np.ndarray:
        return np.log1p(mg_features(transcripts, self.kind, self.taxonomy))

    def fit(self, transcripts: Sequence[Transcript], y: Sequence[str]) -> "BagOfMG":
        yy = self._y(y)
        Z = self._raw(transcripts)
        if self.C is not None:
            self.C_ = float(self.C)
        else:
            scores = {
                float(c): cv_accuracy(Z, yy.astype(int), folds=self.cv_folds, seed=self.seed, C=c) for c in self.c_grid
            }
            self.cv_accuracy_ = scores
            best = max(scores.values())
            self.C_ = min(c for c, s in scores.items() if s == best)
        self.mean_, self.scale_ = standardiser(Z)
        self.model_ = LogisticRegressionL2(C=self.C_).fit((Z - self.mean_) / self.scale_, yy)
        return self

    def predict_proba(self, transcripts: Sequence[Transcript]) -> np.ndarray:
        """P(labels[0]) per transcript."""
        if self.model_ is None:
            raise RuntimeError("fit first")
        return self.model_.predict_proba((self._raw(transcripts) - self.mean_) / self.scale_)

    def predict(self, transcripts: Sequence[Transcript]) -> list[str]:
        p = self.predict_proba(transcripts)
        return [self.labels[0] if v >= 0.5 else self.labels[1] for v in p]

    def top_features(self, n: int = 8) -> list[tuple[str, float]]:
        """The ``n`` features with the largest |coefficient| (standardised scale; > 0 favours labels[0])."""
        if self.model_ is None:
            raise RuntimeError("fit first")
        names = feature_names(self.kind, self.taxonomy)
        order = np.argsort(-np.abs(self.model_.coef_), kind="stable")[:n]
        return [(names[i], float(self.model_.coef_[i])) for i in order]
