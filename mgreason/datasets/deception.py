"""What the real deception readers (:mod:`.dolos`, :mod:`.rlt`) share: labels, items, speaker-disjoint splits.

A reader returns a :class:`DeceptionData`: one item per clip (a dict with the gold label, the speaker
``group``, analysis-only columns such as ``gender``, and a MUMIN transcript), the splits (the release's
protocols and a speaker-disjoint split made here) and notes on what was repaired. Writing the items and the
scenario is the authoring side's job (:mod:`mgreason.authoring.real_data`).

Columns that identify the clip or leak the answer (``clip``, ``participant``, ``episode``, ``gender``...) stay
in the items file for analysis; the shipped templates never show them (:data:`HIDDEN_COLUMNS`).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from mgreason.errors import DataError
from mgreason.transcript import Transcript

LABELS = ("truthful", "deceptive")
# spellings of the two labels in the releases (compared lower-case, stripped)
LABEL_VARIANTS: dict[str, str] = {
    "truth": "truthful", "true": "truthful", "truthful": "truthful",
    "deception": "deceptive", "deceptive": "deceptive", "lie": "deceptive", "lying": "deceptive", "false": "deceptive",
}
# item columns a prompt must never show (identity, setting, verdict, confounds)
HIDDEN_COLUMNS = ("clip", "participant", "group", "episode", "show", "gender", "label", "source_label", "url")

# the speaker-disjoint split: fractions of the items per part (train: demonstrations; dev: choosing k; test)
SPLIT_FRACTIONS: dict[str, float] = {"train": 0.6, "dev": 0.15, "test": 0.25}


def parse_label(value: Any, file: Path, row: int, column: str) -> str:
    """``truthful`` or ``deceptive`` from a release's spelling; anything else is a one-line error
    (``column`` as the message shows it: a sheet's letter, or a CSV's quoted name)."""
    key = str(value if value is not None else "").strip().lower()
    if key in LABEL_VARIANTS:
        return LABEL_VARIANTS[key]
    raise DataError(
        f"row {row}, column {column}: unknown label {value!r} (expected truth/deception, truthful/deceptive, lie)",
        file=file,
    )


@dataclass
class DeceptionData:
    """A reader's result: items (dicts, one per clip), splits (name → part → item ids), notes."""

    name: str  # the scenario id the authoring side writes: deception_dolos, deception_rlt
    dataset: str  # dolos | rlt
    items: list[dict[str, Any]]
    splits: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    has_dialogue: bool = False  # items carry a ``statement`` (what the person said)

    def items_of(self, split: str, part: str) -> list[dict[str, Any]]:
        ids = set(self.splits[split][part])
        return [it for it in self.items if it["id"] in ids]


def make_item(
    item_id: str, label: str, group: str, transcript: Transcript, **columns: Any
) -> dict[str, Any]:
    """One scenario item: id, gold label, speaker group, analysis columns, counts and the inline transcript."""
    n_obs = len(transcript.observed_labels())
    return {
        "id": item_id,
        "label": label,
        "group": group,
        **columns,
        "duration_s": transcript.duration_s,
        "n_events": len(transcript.timed_events),
        "n_observed": n_obs,
        "transcript": transcript.model_dump(mode="json", exclude_none=True),
    }


def read_groups(path: Path, id_column: str = "id", group_column: str = "subject") -> dict[str, str]:
    """A ``--groups`` CSV: clip id → speaker (columns ``id`` and ``subject``); ids compared without extension."""
    import csv

    if not path.is_file():
        raise DataError("groups file not found", file=path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = [h.strip() for h in (reader.fieldnames or [])]
            for col in (id_column, group_column):
                if col not in header:
                    raise DataError(f"row 1: no {col!r} column (columns: {', '.join(header) or 'none'})", file=path)
            out: dict[str, str] = {}
            for n, row in enumerate(reader, 2):
                row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
                cid, grp = clip_key(row[id_column]), row[group_column]
                if not cid or not grp:
                    raise DataError(f"row {n}, column {id_column if not cid else group_column!r}: empty", file=path)
                if cid in out and out[cid] != grp:
                    raise DataError(f"row {n}, column {id_column!r}: clip {cid!r} given two subjects", file=path)
                out[cid] = grp
    except UnicodeDecodeError as e:
        raise DataError(f"not UTF-8 text (byte {e.start})", file=path) from None
    return out


def clip_key(name: str) -> str:
    """A clip name as a key: stripped, spaces removed, without a video extension (``trial_lie_001.mp4``)."""
    key = "".join(str(name).split())
    for ext in (".mp4", ".avi", ".mov", ".mkv", ".txt"):
        if key.lower().endswith(ext):
            return key[: -len(ext)]
    return key


def speaker_disjoint_split(
    items: Sequence[Mapping[str, Any]], seed: int = 0, fractions: Mapping[str, float] = SPLIT_FRACTIONS
) -> dict[str, list[str]]:
    """Parts (``train``/``dev``/``test``) with no speaker ``group`` in two parts, seeded, label-balanced.

    Groups are shuffled with the seed, then placed largest first, each into the part with the most room left
    after adding it (target size minus size, as a fraction of all items) less half the distance of the part's
    deception rate from the dataset's. Within a part
    the ids alternate truthful / deceptive, so the first N items of a part are balanced too."""
    by_group: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for it in items:
        by_group[str(it["group"])].append(it)
    groups = sorted(by_group)
    random.Random(f"mgreason-speaker-split|{seed}").shuffle(groups)
    groups.sort(key=lambda g: -len(by_group[g]))  # stable: equal sizes keep the seeded order
    total = len(items)
    n_dec = sum(1 for it in items if it["label"] == "deceptive")
    target = {p: f * total for p, f in fractions.items()}
    size: Counter[str] = Counter()
    dec: Counter[str] = Counter()
    parts: dict[str, list[str]] = {p: [] for p in fractions}
    for g in groups:
        members = by_group[g]
        g_dec = sum(1 for it in members if it["label"] == "deceptive")

        def score(p: str) -> float:
            deficit = (target[p] - size[p] - len(members)) / max(total, 1)  # room left after adding the group
            # label balance after adding the group, relative to the dataset's deception rate
            rate = (dec[p] + g_dec) / (size[p] + len(members))
            return deficit - 0.5 * abs(rate - n_dec / max(total, 1))

        best = max(parts, key=score)
        parts[best].append(g)
        size[best] += len(members)
        dec[best] += g_dec
    out: dict[str, list[str]] = {}
    for p, gs in parts.items():
        members = [it for g in gs for it in by_group[g]]
        out[p] = balanced_ids(members)
    return out


def balanced_ids(items: Sequence[Mapping[str, Any]]) -> list[str]:
    """Item ids alternating the labels (each in file order), so that any prefix is about balanced."""
    lists = [[str(it["id"]) for it in items if it["label"] == lab] for lab in LABELS]
    out: list[str] = []
    for i in range(max((len(v) for v in lists), default=0)):
        out += [v[i] for v in lists if i < len(v)]
    return out


def describe_split(items: Sequence[Mapping[str, Any]], split: Mapping[str, list[str]]) -> str:
    """``train 1000 items (540 deceptive) from 120 speakers; ...`` for reports."""
    by_id = {str(it["id"]): it for it in items}
    parts = []
    for p, ids in split.items():
        its = [by_id[i] for i in ids]
        parts.append(
            f"{p} {len(its)} items ({sum(1 for it in its if it['label'] == 'deceptive')} deceptive) "
            f"from {len({it['group'] for it in its})} speakers"
        )
    return "; ".join(parts)


def group_overlap(items: Sequence[Mapping[str, Any]], split: Mapping[str, list[str]]) -> int:
    """How many speakers appear in more than one part of ``split``."""
    by_id = {str(it["id"]): it for it in items}
    seen: dict[str, set[str]] = defaultdict(set)
    for p, ids in split.items():
        for i in ids:
            if i in by_id:
                seen[str(by_id[i]["group"])].add(p)
    return sum(1 for ps in seen.values() if len(ps) > 1)


__all__ = [
    "HIDDEN_COLUMNS", "LABELS", "LABEL_VARIANTS", "SPLIT_FRACTIONS", "DeceptionData", "balanced_ids", "clip_key",
    "describe_split", "group_overlap", "make_item", "parse_label", "read_groups", "speaker_disjoint_split",
]
