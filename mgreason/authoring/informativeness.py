"""Is the MG evidence of a synthetic pack informative but not decisive?

Cross-validated accuracy of the package's bag-of-MG logistic regression
(:func:`mgreason.baselines.mg_features` rates, :func:`mgreason.baselines.cv_accuracy`) and of a
nearest-centroid classifier on the same features (MG alone), of a bag-of-words logistic regression
on the subject's answers (dialogue alone) and of both together, plus the label-conditional rates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from mgreason.authoring.generators import generate_items
from mgreason.authoring.packs import get_pack
from mgreason.baselines import cv_accuracy, fit_predict_logistic, mg_features as bag_of_mg, standardiser
from mgreason.taxonomy import get_taxonomy
from mgreason.transcript import Transcript

__all__ = [
    "InformativenessReport",
    "mg_features",
    "dialogue_features",
    "label_conditional_rates",
    "measure_informativeness",
    "measure_sample",
    "measure_generator",
    "measure_held_out",
    "fit_predict_centroid",
]

_WORD = re.compile(r"[a-z']+")


def _transcript_of(item: dict[str, Any]) -> dict[str, Any]:
    t = item.get("transcript") or {}
    if hasattr(t, "model_dump"):
        t = t.model_dump()
    return t


def mg_features(items: Sequence[dict[str, Any]], taxonomy: str) -> np.ndarray:
    """Bag of MG of the items' transcripts: per-class gestures per minute plus the total rate (one row per item),
    :func:`mgreason.baselines.mg_features` with ``kind="rates"``."""
    return bag_of_mg([Transcript.model_validate(_transcript_of(it)) for it in items], "rates", get_taxonomy(taxonomy))


def _answer_text(item: dict[str, Any]) -> str:
    subject = item.get("subject")
    turns = item.get("dialogue") or []
    return " ".join(t["text"] for t in turns if subject is None or t.get("speaker") == subject)


def dialogue_features(
    items: Sequence[dict[str, Any]], vocabulary: Optional[Sequence[str]] = None, min_df: int = 2
) -> tuple[np.ndarray, list[str]]:
    """Bag of words of the subject's answers (counts; words in fewer than ``min_df`` items dropped)."""
    docs = [_WORD.findall(_answer_text(it).lower()) for it in items]
    if vocabulary is None:
        df: dict[str, int] = {}
        for d in docs:
            for w in set(d):
                df[w] = df.get(w, 0) + 1
        vocabulary = sorted(w for w, c in df.items() if c >= min_df)
    vocab = list(vocabulary)
    index = {w: i for i, w in enumerate(vocab)}
    X = np.zeros((len(items), len(vocab)))
    for r, d in enumerate(docs):
        for w in d:
            if w in index:
                X[r, index[w]] += 1.0
    return X, vocab


def fit_predict_centroid(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray) -> np.ndarray:
    """Nearest class centroid on standardised features (0/1 predictions)."""
    mean, scale = standardiser(X_train)
    Xtr, Xte = (X_train - mean) / scale, (X_test - mean) / scale
    c0, c1 = Xtr[y_train == 0].mean(axis=0), Xtr[y_train == 1].mean(axis=0)
    return (((Xte - c1) ** 2).sum(axis=1) < ((Xte - c0) ** 2).sum(axis=1)).astype(int)


_CLASSIFIERS = {"logistic": None, "centroid": fit_predict_centroid}  # None: the baselines' logistic regression


def _cv(X: np.ndarray, y: np.ndarray, model: str, folds: int, seed: int, C: float) -> float:
    return cv_accuracy(X, y, folds=folds, seed=seed, C=C, fit_predict=_CLASSIFIERS[model])


def _fit_predict(model: str, Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, C: float) -> np.ndarray:
    fp = _CLASSIFIERS[model]
    return fit_predict_logistic(Xtr, ytr, Xte, C) if fp is None else fp(Xtr, ytr, Xte)


@dataclass
class InformativenessReport:
    kind: str
    n: int
    labels: tuple[str, str]
    mg_logistic: float
    mg_centroid: float
    dialogue_logistic: float
    combined_logistic: float
    rates: dict[str, dict[str, float]] = field(default_factory=dict)
    folds: int = 5  # 0: not cross-validated, classifiers trained on a separate sample of n_train items
    n_train: int = 0

    @property
    def method(self) -> str:
        if self.folds == 0:
            return f"classifiers trained on {self.n_train} other generated items"
        return ("leave-one-out" if self.folds >= self.n else f"{self.folds}-fold") + " cross-validated"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "n": self.n,
            "labels": list(self.labels),
            "method": self.method,
            "accuracy": {
                "mg_bag_logistic": round(self.mg_logistic, 4),
                "mg_bag_nearest_centroid": round(self.mg_centroid, 4),
                "dialogue_bow_logistic": round(self.dialogue_logistic, 4),
                "mg_plus_dialogue_logistic": round(self.combined_logistic, 4),
                "chance": 0.5,
            },
            "label_conditional": {k: {m: round(v, 4) for m, v in d.items()} for k, d in self.rates.items()},
        }

    def lines(self) -> list[str]:
        out = [
            f"{self.kind}: {self.n} items, accuracy (chance 0.50), {self.method}",
            f"  MG alone, bag-of-MG logistic regression   {self.mg_logistic:.3f}",
            f"  MG alone, bag-of-MG nearest centroid      {self.mg_centroid:.3f}",
            f"  dialogue alone, bag-of-words logistic     {self.dialogue_logistic:.3f}",
            f"  MG + dialogue, logistic                   {self.combined_logistic:.3f}",
            "  label-conditional rates (mean over items):",
        ]
        for lab, d in self.rates.items():
            out.append(
                f"    {lab:<10} {d['gestures_per_min']:.2f} gestures/min, self-adaptor share {d['self_adaptor_share']:.2f}, "
                f"P(self-adaptor during the pointed answer) {d['p_self_adaptor_at_pointed_answer']:.2f}"
            )
        return out


def label_conditional_rates(items: Sequence[dict[str, Any]], kind: str) -> dict[str, dict[str, float]]:
    pack = get_pack(kind)
    cues = set(pack.mg.cue_classes)
    pointed = pack.settings[0].critical  # the same in every setting of a pack
    out: dict[str, dict[str, float]] = {}
    for lab in pack.labels:
        sub = [it for it in items if it["label"] == lab]
        if not sub:
            continue
        rates, shares, crit = [], [], []
        for it in sub:
            t = _transcript_of(it)
            ev = t.get("events") or []
            minutes = max((t.get("duration_s") or 60.0) / 60.0, 1e-6)
            rates.append(len(ev) / minutes)
            n_cue = sum(e["label"] in cues for e in ev)
            shares.append(n_cue / len(ev) if ev else 0.0)
            answers = [tu for tu in it["dialogue"] if tu["speaker"] == it["subject"]]
            setting_crit = answers[min(pointed, len(answers) - 1)]
            crit.append(
                float(any(e["label"] in cues and e["start_s"] < setting_crit["end_s"] + 1.0 and e["end_s"] > setting_crit["start_s"] for e in ev))
            )
        out[lab] = {
            "gestures_per_min": float(np.mean(rates)),
            "self_adaptor_share": float(np.mean(shares)),
            "p_self_adaptor_at_pointed_answer": float(np.mean(crit)),
        }
    return out


def measure_informativeness(
    items: Sequence[dict[str, Any]], kind: str, folds: int = 5, seed: int = 0, C: float = 1.0
) -> InformativenessReport:
    """How far the MG evidence and the dialogue each go towards the label (see module docstring);
    ``C``: inverse L2 strength of the logistic regressions."""
    with _single_threaded_blas():
        return _measure(items, kind, folds, seed, C)


def _single_threaded_blas():
    """These fits are small: a multi-threaded BLAS only thrashes (10x slower on a busy 2-core machine)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _measure(items: Sequence[dict[str, Any]], kind: str, folds: int, seed: int, C: float) -> InformativenessReport:
    pack = get_pack(kind)
    y = np.array([pack.labels.index(it["label"]) for it in items])
    Xm = mg_features(items, pack.mg.taxonomy)
    Xd, _ = dialogue_features(items)
    folds = min(folds, len(items))
    return InformativenessReport(
        kind=kind,
        n=len(items),
        labels=pack.labels,
        mg_logistic=_cv(Xm, y, "logistic", folds, seed, C),
        mg_centroid=_cv(Xm, y, "centroid", folds, seed, C),
        dialogue_logistic=_cv(Xd, y, "logistic", folds, seed, C),
        combined_logistic=_cv(np.hstack([Xm, Xd]), y, "logistic", folds, seed, C),
        rates=label_conditional_rates(items, kind),
        folds=folds,
    )


def measure_sample(kind: str, n: int = 2000, seed: int = 0) -> list[dict[str, Any]]:
    """A large sample of the generator, disjoint from the packs written with any integer seed."""
    return generate_items(kind, n, seed=f"{seed}-measure")


def measure_generator(kind: str, n: int = 2000, seed: int = 0) -> InformativenessReport:
    """Informativeness of the generator itself: 5-fold CV on :func:`measure_sample`."""
    return measure_informativeness(measure_sample(kind, n, seed), kind, folds=5, seed=seed)


def measure_held_out(
    train: Sequence[dict[str, Any]], test: Sequence[dict[str, Any]], kind: str, C: float = 1.0
) -> InformativenessReport:
    """Classifiers fitted on ``train`` (e.g. :func:`measure_sample`), accuracy on ``test`` (e.g. a written pack):
    how informative the evidence in a small pack is, without the noise of fitting on the pack itself."""
    pack = get_pack(kind)
    ytr = np.array([pack.labels.index(it["label"]) for it in train])
    yte = np.array([pack.labels.index(it["label"]) for it in test])
    Mtr, Mte = mg_features(train, pack.mg.taxonomy), mg_features(test, pack.mg.taxonomy)
    Dtr, vocab = dialogue_features(train)
    Dte, _ = dialogue_features(test, vocab)

    def acc(model: str, Xtr: np.ndarray, Xte: np.ndarray) -> float:
        return float((_fit_predict(model, Xtr, ytr, Xte, C) == yte).mean())

    with _single_threaded_blas():
        return InformativenessReport(
            kind=kind,
            n=len(test),
            labels=pack.labels,
            mg_logistic=acc("logistic", Mtr, Mte),
            mg_centroid=acc("centroid", Mtr, Mte),
            dialogue_logistic=acc("logistic", Dtr, Dte),
            combined_logistic=acc("logistic", np.hstack([Mtr, Dtr]), np.hstack([Mte, Dte])),
            rates=label_conditional_rates(test, kind),
            folds=0,
            n_train=len(train),
        )
