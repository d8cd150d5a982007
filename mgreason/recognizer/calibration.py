"""Confidence that means something: temperature scaling and expected calibration error (ECE).

Temperature scaling (Guo et al., ICML 2017) divides the logits by one scalar ``T`` fitted on held-out
(validation) clips by minimising the negative log-likelihood; the ranking of classes is unchanged, only
how sure the model says it is. ECE is the gap between confidence and accuracy, weighted over
``bins`` equal-width confidence bins. A checkpoint keeps its temperature in
``config.json -> segmentation.params.temperature`` (used for event confidences, see
:mod:`mgreason.transcribe.segments`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from mgreason.errors import DataError

__all__ = ["fit_temperature", "expected_calibration_error", "apply_temperature", "calibration_report"]

T_RANGE = (0.05, 20.0)


def _logits(probs_or_logits: np.ndarray, from_probs: bool) -> np.ndarray:
    x = np.asarray(probs_or_logits, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise DataError(f"expected (N, K) scores with N > 0, got shape {x.shape}", field="scores")
    return np.log(np.clip(x, 1e-12, None)) if from_probs else x


def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax of ``logits / temperature`` (rows)."""
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _nll(logits: np.ndarray, y: np.ndarray, t: float) -> float:
    p = apply_temperature(logits, t)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None))))


def fit_temperature(scores: np.ndarray, labels: np.ndarray, *, from_probs: bool = True) -> float:
    """The temperature that minimises the NLL of ``labels`` (bounded search over log T in [0.05, 20])."""
    z = _logits(scores, from_probs)
    y = np.asarray(labels, dtype=np.int64)
    if y.shape != (z.shape[0],) or y.min() < 0 or y.max() >= z.shape[1]:
        raise DataError("labels must be (N,) class indices of the scores", field="labels")
    res = minimize_scalar(lambda lt: _nll(z, y, float(np.exp(lt))), bounds=np.log(T_RANGE), method="bounded",
                          options={"xatol": 1e-4})  # fmt: skip
    return float(np.exp(res.x))


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """ECE of top-1 predictions: sum over equal-width confidence bins of |accuracy - confidence| x share."""
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(ece)


def calibration_report(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Fit the temperature on ``(probs, labels)`` and report NLL, ECE and top-1 before and after."""
    z = _logits(probs, True)
    y = np.asarray(labels, dtype=np.int64)
    t = fit_temperature(z, y, from_probs=False)
    after = apply_temperature(z, t)
    before = apply_temperature(z, 1.0)
    return {
        "temperature": round(t, 4),
        "n": int(len(y)),
        "top1": round(float((before.argmax(1) == y).mean()), 4),
        "nll_before": round(_nll(z, y, 1.0), 4),
        "nll_after": round(_nll(z, y, t), 4),
        "ece_before": round(expected_calibration_error(before, y, bins), 4),
        "ece_after": round(expected_calibration_error(after, y, bins), 4),
        "bins": bins,
    }
