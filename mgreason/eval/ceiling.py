"""The evidence ceiling: what learned classifiers reach on the run's own items.

Beside the LLM's rows, a run reports the accuracy (Wilson 95% CI) of

* ``majority``: the most frequent training label (ties: the first label of the scenario);
* ``evidence``: a bag of event classes from the MG transcript: per class (the event label, free text or a
  taxonomy class) the count, the count per minute and the total seconds, plus the three totals; ``log1p``,
  standardised; the features of :func:`mgreason.baselines.mg_features` (``kind="all"``), generalised to any
  taxonomy or free labels;
* ``text``: a bag of words (TF-IDF of unigrams and bigrams) of the item's text columns (``items.fields.text``,
  default ``context`` and ``dialogue`` where present), when the scenario has any;
* ``evidence+text``: both.

Each learned row is an L2 logistic regression (scikit-learn) whose C is picked from
:data:`C_GRID` by an inner stratified (and grouped) CV on the training rows only. Scored out of fold:
``StratifiedGroupKFold`` grouped by ``items.fields.group`` when the scenario declares one (one group never in
two folds), else ``StratifiedKFold`` (and the report says that ungrouped CV overstates), 5 folds or fewer when a
class is small, seeded. With a declared training split (``items.train_path``, or ``demonstrations.path``) the
classifiers are fitted there once and tested on the items instead.

The out-of-fold class probabilities of the evidence row are kept in memory (:attr:`Ceiling.scores`) for the
rank correlation with the LLM's margin (:mod:`mgreason.eval.diagnostics`). No LLM is involved.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from mgreason.eval.records import CeilingRow, CeilingSummary

C_GRID: tuple[float, ...] = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)  # = baselines.DEFAULT_C_GRID
MAX_FOLDS = 5
INNER_FOLDS_SPLIT = 5  # C chosen on a training split: 5-fold, as baselines.BagOfMG does
INNER_FOLDS_CV = 3  # C chosen inside each outer training fold: 3-fold (nested CV; cost)
C_GRID_CV: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0, 10.0)  # the decades of C_GRID, for the nested CV
MIN_PER_CLASS = 5  # fewer items in the smallest class: no cross-validated row (one line says so)
DEFAULT_TEXT_COLUMNS = ("context", "dialogue")
FEATURE_SETS = ("evidence", "text", "evidence+text")


@dataclass
class CeilingItem:
    """What the ceiling reads of one item (built from :class:`mgreason.scenario.loader.Item`)."""

    id: str
    gold: str
    events: dict[str, float]  # bag-of-events features
    text: str
    group: Optional[str] = None


@dataclass
class Ceiling:
    summary: CeilingSummary
    # item id -> {label: out-of-fold probability} of the evidence classifier (empty when skipped)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    folds: list[list[str]] = field(default_factory=list)  # the test item ids of each outer fold (cross-validated)


# --------------------------------------------------------------------------- features


def _event_key(label: str, taxonomy: Any) -> str:
    if taxonomy is not None and label in taxonomy:
        return taxonomy.by_name(label).name
    return " ".join(str(label).split()).lower()


def event_features(transcript: Any) -> dict[str, float]:
    """counts, per-minute rates and total seconds per event label, plus the totals (``mg_features`` 'all')."""
    if transcript is None:
        return {}
    taxonomy = None
    if getattr(transcript, "taxonomy", None):
        try:
            from mgreason.taxonomy import get_taxonomy

            taxonomy = get_taxonomy(transcript.taxonomy)
        except Exception:  # an unknown taxonomy: free labels
            taxonomy = None
    counts: dict[str, float] = {}
    secs: dict[str, float] = {}
    for e in transcript.events:
        k = _event_key(e.label, taxonomy)
        counts[k] = counts.get(k, 0.0) + 1.0
        secs[k] = secs.get(k, 0.0) + float(e.duration_s)
    length = transcript.duration_s if transcript.duration_s else max((e.end_s for e in transcript.events), default=0.0)
    minutes = max(float(length) / 60.0, 1e-9)
    out: dict[str, float] = {}
    for k, c in counts.items():
        out[f"count:{k}"] = c
        out[f"per_min:{k}"] = c / minutes
        out[f"seconds:{k}"] = secs[k]
    total, total_s = sum(counts.values()), sum(secs.values())
    out.update({"count:total": total, "per_min:total": total / minutes, "seconds:total": total_s})
    return out


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return " ".join(_text_of(value[k]) for k in ("speaker", "text") if k in value) or " ".join(
            _text_of(v) for v in value.values()
        )
    if isinstance(value, (list, tuple)):
        return " ".join(_text_of(v) for v in value)
    return str(value)


def text_columns(spec: Any, rows: Iterable[dict]) -> list[str]:
    """The text columns the text-only row reads: ``items.fields.text``, else context/dialogue where present."""
    declared = spec.items.fields.text
    if declared is not None:
        return list(declared)
    rows = list(rows)
    return [c for c in DEFAULT_TEXT_COLUMNS if any(c in r for r in rows)]


def ceiling_items(items: Sequence[Any], spec: Any) -> list[CeilingItem]:
    """:class:`CeilingItem` per scenario item (``Item``: id, gold, transcript, fields)."""
    cols = text_columns(spec, [it.fields for it in items])
    gcol = spec.items.fields.group
    out = []
    for it in items:
        g = it.fields.get(gcol) if gcol else None
        out.append(
            CeilingItem(
                id=it.id,
                gold=it.gold,
                events=event_features(it.transcript),
                text=" \n".join(_text_of(it.fields.get(c)) for c in cols if c in it.fields),
                group=None if g is None else str(g),
            )
        )
    return out


# --------------------------------------------------------------------------- folds


def n_folds(y: Sequence[str], groups: Optional[Sequence[str]] = None) -> int:
    """Outer folds: at most 5, at most the smallest class's size (and the number of groups)."""
    counts = {}
    for v in y:
        counts[v] = counts.get(v, 0) + 1
    k = min([MAX_FOLDS, *counts.values()]) if counts else 0
    if groups is not None:
        k = min(k, len(set(groups)))
    return k


def outer_splits(
    y: Sequence[str], groups: Optional[Sequence[str]], seed: int, k: Optional[int] = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs: StratifiedGroupKFold by ``groups`` when given, else StratifiedKFold; seeded."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    k = k or n_folds(y, groups)
    y = np.asarray(y)
    X = np.zeros((len(y), 1))
    if groups is not None:
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        return list(splitter.split(X, y, np.asarray(groups)))
    return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(X, y))


# --------------------------------------------------------------------------- model


def featurize(features: str, train: Sequence[CeilingItem], test: Sequence[CeilingItem]):
    """(X_train, X_test) for one feature set, every transform fitted on ``train`` only: the event vocabulary,
    ``log1p`` and the standardisation; the TF-IDF vocabulary and weights."""
    import scipy.sparse as sp
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.feature_extraction.text import TfidfVectorizer

    blocks_tr, blocks_te = [], []
    if "evidence" in features:
        dv = DictVectorizer(sparse=False)
        ztr = np.log1p(dv.fit_transform([r.events for r in train]))
        zte = np.log1p(dv.transform([r.events for r in test]))
        mean, sd = ztr.mean(axis=0), ztr.std(axis=0)
        sd = np.where(sd > 1e-12, sd, 1.0)
        blocks_tr.append(sp.csr_matrix((ztr - mean) / sd))
        blocks_te.append(sp.csr_matrix((zte - mean) / sd))
    if "text" in features:
        tv = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        blocks_tr.append(tv.fit_transform([r.text for r in train]))
        blocks_te.append(tv.transform([r.text for r in test]))
    if len(blocks_tr) == 1 and "text" not in features:
        return blocks_tr[0].toarray(), blocks_te[0].toarray()
    return sp.hstack(blocks_tr).tocsr(), sp.hstack(blocks_te).tocsr()


def _lr(C: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=5000, warm_start=True)


def _predict(m, X) -> np.ndarray:
    """``m.predict`` without sklearn's per-call input validation (a third of the cost on these tiny problems)."""
    z = X @ m.coef_.T + m.intercept_
    if z.shape[1] == 1:
        return m.classes_[(z[:, 0] > 0).astype(int)]
    return m.classes_[np.argmax(z, axis=1)]


def choose_C(
    X, y: Sequence[str], groups: Optional[Sequence[str]], seed: int, inner: int, grid: Sequence[float] = C_GRID
) -> float:
    """C from ``grid`` by ``inner``-fold stratified (grouped) CV accuracy on these rows; ties: the
    smallest C (the strongest regularisation). 1.0 when the rows are too few to split."""
    y = np.asarray(y)
    k = min(inner, n_folds(list(y), groups))
    if k < 2:
        return 1.0
    correct = np.zeros(len(grid))
    for tr, te in outer_splits(list(y), groups, seed, k):
        if len(set(y[tr])) < 2:
            continue
        m = _lr(grid[0])
        for j, C in enumerate(grid):  # ascending C, each fit warm-started from the previous one
            m.set_params(C=C).fit(X[tr], y[tr])
            correct[j] += float(np.sum(_predict(m, X[te]) == y[te]))
    return float(grid[int(np.argmax(correct))])


def _fit_predict(
    features: str, train: Sequence[CeilingItem], test: Sequence[CeilingItem], labels: Sequence[str], seed: int,
    inner: int, grid: Sequence[float] = C_GRID, grouped: bool = True,
) -> np.ndarray:
    """Class probabilities (``labels`` order) for ``test`` of the feature set's model fitted on ``train``.
    ``grouped``: the inner CV that picks C is grouped (it imitates the outer split: grouped when the test rows'
    groups never occur in training)."""
    Xtr, Xte = featurize(features, train, test)
    y = [r.gold for r in train]
    groups = [r.group for r in train] if grouped and all(r.group is not None for r in train) else None
    if len(set(y)) < 2:  # one class only: it is the answer
        out = np.zeros((len(test), len(labels)))
        out[:, list(labels).index(y[0])] = 1.0
        return out
    C = choose_C(Xtr, y, groups, seed, inner, grid)
    m = _lr(C).fit(Xtr, np.asarray(y))
    p = m.predict_proba(Xte)
    classes = list(m.classes_)
    out = np.zeros((len(test), len(labels)))
    for j, lab in enumerate(labels):
        if lab in classes:
            out[:, j] = p[:, classes.index(lab)]
    return out


def _majority(y: Sequence[str], labels: Sequence[str]) -> str:
    counts = {lab: 0 for lab in labels}
    for v in y:
        counts[v] = counts.get(v, 0) + 1
    best = max(counts.values())
    return next(lab for lab in labels if counts[lab] == best)


def _row(features: str, gold: Sequence[str], pred: Sequence[str], labels: Sequence[str], cv: str, grouped_by) -> CeilingRow:
    from mgreason import stats

    n = len(gold)
    k = sum(g == p for g, p in zip(gold, pred))
    lo, hi = stats.wilson_ci(k, n)
    return CeilingRow(
        features=features,
        accuracy=k / n,
        ci=(lo, hi),
        n=n,
        n_correct=k,
        macro_f1=stats.macro_f1(list(gold), list(pred), labels),
        cv=cv,
        grouped_by=grouped_by,
    )


# --------------------------------------------------------------------------- the ceiling


def compute_ceiling(
    items: Sequence[CeilingItem],
    labels: Sequence[str],
    *,
    train: Optional[Sequence[CeilingItem]] = None,
    train_name: str = "",
    group_column: Optional[str] = None,
    has_evidence: bool = True,
    seed: int = 0,
) -> Ceiling:
    """The ceiling rows for ``items``: out of fold (grouped by ``group_column`` when the items carry groups),
    or fitted on ``train`` and tested on ``items``."""
    t0 = time.perf_counter()
    labels = list(labels)
    items = list(items)
    gold = [r.gold for r in items]
    notes: list[str] = []
    sets = [s for s in FEATURE_SETS if _available(s, items, train, has_evidence)]

    if train:
        train = list(train)
        cv = f"fitted on the training split {train_name} ({len(train)} items), tested on the {len(items)} items"
        shared = 0
        if group_column:
            seen = {r.group for r in train}
            shared = len({r.group for r in items if r.group is not None and r.group in seen})
            if shared:
                notes.append(
                    f"{shared} {group_column} value(s) of the items also occur in the training split (as the split "
                    "defines it), so C is chosen by an ungrouped inner CV, as the split is ungrouped"
                )
            else:
                cv += f"; C chosen by an inner CV grouped by {group_column}"
        maj = _majority([r.gold for r in train], labels)
        rows = [_row("majority", gold, [maj] * len(items), labels, cv, None)]
        scores: dict[str, dict[str, float]] = {}
        train_gold = [r.gold for r in train]
        smallest = min((train_gold.count(lab) for lab in labels if lab in train_gold), default=0)
        for s in sets:
            if smallest < MIN_PER_CLASS:
                rows.append(_skipped(s, cv, f"too few training items per class (smallest: {smallest} < {MIN_PER_CLASS})"))
                continue
            with _quiet():
                proba = _fit_predict(s, train, items, labels, seed, INNER_FOLDS_SPLIT, grouped=not shared)
            pred = [labels[int(i)] for i in np.argmax(proba, axis=1)]
            rows.append(_row(s, gold, pred, labels, cv, None))
            if s == "evidence":
                scores = {r.id: dict(zip(labels, map(float, p))) for r, p in zip(items, proba)}
        return Ceiling(
            CeilingSummary(
                rows=rows, grouped_by=None, cv=cv, mode="train_split", n_items=len(items), notes=notes,
                seconds=round(time.perf_counter() - t0, 3),
            ),
            scores,
        )  # fmt: skip

    groups = [r.group for r in items] if group_column else None
    if group_column and any(g is None for g in groups or []):
        missing = sum(g is None for g in groups or [])
        notes.append(f"{missing} item(s) have no {group_column!r} value: each counts as its own group")
        groups = [g if g is not None else f"\0{r.id}" for g, r in zip(groups or [], items)]
        items = [replace(r, group=g) for r, g in zip(items, groups)]  # the inner CV sees the same groups
    k = n_folds(gold, groups)
    if groups is None:
        notes.append(
            "no group column (items.fields.group): folds are not grouped, so items of one speaker/subject can be in "
            "both training and test folds and the ceiling may be overstated"
        )
    kind = "StratifiedGroupKFold" if groups is not None else "StratifiedKFold"
    cv = f"{k}-fold {kind}" + (f" grouped by {group_column}" if groups is not None else "") + f", seed {seed}"
    smallest = min(gold.count(lab) for lab in labels if lab in gold)  # a label no item has is no class here
    if k < 2 or smallest < MIN_PER_CLASS:
        why = (
            f"too few items per class for cross-validation (smallest class: {smallest} item(s), need {MIN_PER_CLASS})"
            if smallest < MIN_PER_CLASS
            else f"too few groups for cross-validation ({len(set(groups or []))})"
        )
        rows = [_skipped("majority", cv, why, group_column)] + [_skipped(s, cv, why, group_column) for s in sets]
        return Ceiling(
            CeilingSummary(rows=rows, grouped_by=group_column, cv=cv, mode="cv", n_items=len(items), notes=notes + [why],
                           seconds=round(time.perf_counter() - t0, 3)),
        )  # fmt: skip

    splits = outer_splits(gold, groups, seed, k)
    maj_pred = [""] * len(items)
    for tr, te in splits:
        m = _majority([gold[i] for i in tr], labels)
        for i in te:
            maj_pred[i] = m
    rows = [_row("majority", gold, maj_pred, labels, cv, group_column)]
    scores = {}
    for s in sets:
        proba = np.zeros((len(items), len(labels)))
        with _quiet():
            for tr, te in splits:
                proba[te] = _fit_predict(s, [items[i] for i in tr], [items[i] for i in te], labels, seed, INNER_FOLDS_CV, C_GRID_CV)
        pred = [labels[int(i)] for i in np.argmax(proba, axis=1)]
        rows.append(_row(s, gold, pred, labels, cv, group_column))
        if s == "evidence":
            scores = {r.id: dict(zip(labels, map(float, p))) for r, p in zip(items, proba)}
    return Ceiling(
        CeilingSummary(
            rows=rows, grouped_by=group_column, cv=cv, mode="cv", n_items=len(items), notes=notes,
            seconds=round(time.perf_counter() - t0, 3),
        ),
        scores,
        [[items[i].id for i in te] for _, te in splits],
    )  # fmt: skip


def _available(features: str, items, train, has_evidence: bool) -> bool:
    rows = list(items) + list(train or [])
    if "evidence" in features and not (has_evidence and any(r.events for r in rows)):
        return False
    if "text" in features and not any(r.text.strip() for r in rows):
        return False
    return True


def _skipped(features: str, cv: str, why: str, grouped_by: Optional[str] = None) -> CeilingRow:
    return CeilingRow(features=features, cv=cv, grouped_by=grouped_by, skipped_reason=why)


class _quiet:
    """sklearn's convergence/deprecation chatter and BLAS threads off while fitting (tiny problems: one thread
    is faster, much faster on a busy machine)."""

    def __enter__(self):
        from threadpoolctl import threadpool_limits

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore")
        self._t = threadpool_limits(1)
        self._t.__enter__()
        return self

    def __exit__(self, *exc):
        self._t.__exit__(*exc)
        self._w.__exit__(*exc)
        return False


def scenario_ceiling(scenario: Any, seed: int = 0, item_ids: Optional[Sequence[str]] = None) -> Ceiling:
    """The ceiling of a loaded scenario's items (``item_ids``: only those, e.g. a run with ``--limit``)."""
    spec = scenario.spec
    items = list(scenario.items)
    if item_ids is not None:
        keep = set(item_ids)
        items = [it for it in items if it.id in keep]
    train_items = list(getattr(scenario, "train_items", []) or [])
    train_name = spec.items.train_path or ""
    if not train_items and getattr(scenario, "demo_items", None):
        train_items = list(scenario.demo_items)
        train_name = spec.demonstrations.path if spec.demonstrations else ""
    notes: list[str] = []
    if train_items:
        ids = {it.id for it in items}
        shared = [it for it in train_items if it.id in ids]
        if shared:  # never fit on a test item: leave the shared ones out of training
            train_items = [it for it in train_items if it.id not in ids]
            notes.append(
                f"{len(shared)} item id(s) of the training split are also items of this run: left out of training"
                + ("" if train_items else "; nothing left, so cross-validated instead")
            )
    has_evidence = spec.items.fields.transcript is not None
    all_rows = items + train_items
    cols = text_columns(spec, [it.fields for it in all_rows])
    spec_for_text = spec if spec.items.fields.text is not None else _with_text(spec, cols)
    ceiling = compute_ceiling(
        ceiling_items(items, spec_for_text),
        scenario.labels,
        train=ceiling_items(train_items, spec_for_text) if train_items else None,
        train_name=Path(train_name).name if Path(str(train_name)).is_absolute() else str(train_name),
        group_column=spec.items.fields.group,
        has_evidence=has_evidence,
        seed=seed,
    )
    ceiling.summary.notes[:0] = notes
    return ceiling


def _with_text(spec: Any, cols: list[str]) -> Any:
    fields = spec.items.fields.model_copy(update={"text": cols})
    return spec.model_copy(update={"items": spec.items.model_copy(update={"fields": fields})})


def evidence_row(summary: Optional[CeilingSummary]) -> Optional[CeilingRow]:
    """The evidence-only row with a number, if any."""
    if summary is None:
        return None
    return next((r for r in summary.rows if r.features == "evidence" and r.accuracy is not None), None)


def majority_row(summary: Optional[CeilingSummary]) -> Optional[CeilingRow]:
    if summary is None:
        return None
    return next((r for r in summary.rows if r.features == "majority" and r.accuracy is not None), None)


__all__ = [
    "C_GRID",
    "Ceiling",
    "CeilingItem",
    "ceiling_items",
    "compute_ceiling",
    "event_features",
    "evidence_row",
    "majority_row",
    "n_folds",
    "outer_splits",
    "scenario_ceiling",
    "text_columns",
]
