"""Real-Life Trial (Pérez-Rosas et al., ICMI 2015): the release's annotations as items with MUMIN transcripts.

``--root`` is the release folder: ``Annotation/All_Gestures_Deceptive and Truthful.csv`` (columns ``id``, e.g.
``trial_lie_001.mp4``, the 39 binary MUMIN codes of :data:`mgreason.mumin.RLT_COLUMNS`, and ``class``,
``deceptive``/``truthful``) and, when present, ``Transcription/{Deceptive,Truthful}/trial_lie_001.txt`` (what
the person said: the item's ``statement``). The codes have no times: every code is a presence-only event.

The release has no speaker ids. ``groups`` (``--groups``: a CSV with columns ``id`` and ``subject``) supplies
them; without it every clip is its own group, and the reader's split is by clip, not by speaker (the notes
say so: one trial alone has 33 clips, so such a split leaks speakers).
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any, Optional

from mgreason.datasets.deception import DeceptionData, clip_key, make_item, parse_label, speaker_disjoint_split
from mgreason.errors import DataError, DatasetMissingError
from mgreason.mumin import BY_RLT, RLT_COLUMNS
from mgreason.transcript import MGEvent, Transcript

ANNOTATION = Path("Annotation") / "All_Gestures_Deceptive and Truthful.csv"
RLT_OBTAIN = (
    "The Real-Life Trial corpus (Pérez-Rosas et al., ICMI 2015) is distributed by the University of Michigan's "
    "LIT lab (Real-life Deception Detection 2016); unpack it and pass the folder holding Annotation/ (and "
    "Transcription/) as --root."
)


def _read_statement(root: Path, clip: str, label: str) -> Optional[str]:
    folder = root / "Transcription"
    for sub in ("Deceptive" if label == "deceptive" else "Truthful", "Deceptive", "Truthful"):
        p = folder / sub / f"{clip}.txt"
        if p.is_file():
            try:
                raw = p.read_bytes()
            except OSError as e:
                raise DataError(f"cannot read: {e.strerror or e}", file=p) from None
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")  # the release's transcripts are not all UTF-8
            return " ".join(text.split())
    return None


def load_rlt(root: str | Path, *, groups: Optional[dict[str, str]] = None, seed: int = 0) -> DeceptionData:
    """Items (one per clip, ids ``rlt-001``... in file order), presence-only MUMIN transcripts, the statement
    when ``Transcription/`` has it, and a split (``speaker``: train / dev / test) by ``groups`` (else by clip)."""
    root = Path(root)
    path = root / ANNOTATION
    if not root.is_dir():
        raise DatasetMissingError(f"Real-Life Trial folder not found. {RLT_OBTAIN}", file=root)
    if not path.is_file():
        raise DatasetMissingError(f"annotation file not found. {RLT_OBTAIN}", file=path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"not UTF-8 text (byte {e.start})", file=path) from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise DataError("empty file", file=path)
    header = [h.strip() for h in rows[0]]
    index = {h: i for i, h in enumerate(header)}
    for col in ("id", *RLT_COLUMNS, "class"):
        if col not in index:
            raise DataError(f"row 1: no {col!r} column (the release's 39 code columns are in mgreason.mumin.RLT_COLUMNS)", file=path)
    with_dialogue = (root / "Transcription").is_dir()
    notes: Counter[str] = Counter()
    items: list[dict[str, Any]] = []
    clips: list[str] = []
    for n, row in enumerate(rows[1:], 2):
        if not any(c.strip() for c in row):
            continue
        row = row + [""] * (len(header) - len(row))
        clip = clip_key(row[index["id"]])
        if not clip:
            raise DataError(f"row {n}, column 'id': empty", file=path)
        label = parse_label(row[index["class"]], path, n, "'class'")
        events = []
        for col in RLT_COLUMNS:
            v = row[index[col]].strip()
            if v in ("1", "1.0"):
                events.append(MGEvent(start_s=0.0, end_s=0.0, label=BY_RLT[col].name, presence=True))
            elif v not in ("0", "0.0", ""):
                raise DataError(f"row {n}, column {col!r}: expected 0 or 1, got {v!r}", file=path)
        item_id = f"rlt-{len(items) + 1:03d}"
        columns: dict[str, Any] = {"clip": clip, "source_label": row[index["class"]].strip()}
        if with_dialogue:
            statement = _read_statement(root, clip, label)
            if statement is None:
                notes["clips without a transcription file"] += 1
            columns["statement"] = statement or ""
        group = groups.get(clip) if groups is not None else clip
        if group is None:
            raise DataError(f"no subject for clip {clip!r} (row {n} of {path.name})", file="--groups")
        t = Transcript(id=item_id, taxonomy="mumin", events=events)
        items.append(make_item(item_id, label, group, t, **columns))
        clips.append(clip)
    if not items:
        raise DataError("no clips below the header row", file=path)
    if len(set(clips)) != len(clips):
        dup = next(c for c, k in Counter(clips).items() if k > 1)
        raise DataError(f"column 'id': clip {dup!r} appears twice", file=path)
    note_lines = [f"read {len(items)} clips from {ANNOTATION.as_posix()}" + (" with transcriptions" if with_dialogue else "")]
    note_lines += [f"{k}: {v}" for k, v in sorted(notes.items())]
    if groups is None:
        note_lines.append("no --groups: every clip is its own speaker group, so the split is by clip and NOT speaker-disjoint")
    return DeceptionData(
        name="deception_rlt", dataset="rlt", items=items, splits={"speaker": speaker_disjoint_split(items, seed=seed)},
        notes=note_lines, has_dialogue=with_dialogue,
    )


__all__ = ["ANNOTATION", "RLT_OBTAIN", "load_rlt"]
