"""iMiGUE emotion items: the official emotion split, recognized transcripts, items with gold labels.

The annotation file is read by :mod:`mgreason.datasets.imigue_labels` (the one iMiGUE reader; its
names are re-exported here). ``win_or_lose`` is the video-level emotion label (Win = positive,
Lose = negative); the official emotion protocol trains on 102 videos and tests on 100 (both balanced).
An item is one video: its gold label and a transcript, the ground-truth annotations or a recognized
transcript (:func:`read_transcripts_dir`).

mgreason ships none of it: every function here takes paths to the user's own copy.
Missing files raise :class:`~mgreason.errors.DatasetMissingError` with instructions
(:data:`IMIGUE_OBTAIN`); malformed ones raise :class:`~mgreason.errors.DataError`
naming the file, row and column.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping, Optional, Sequence

from pydantic import ValidationError

from mgreason.datasets.imigue_labels import (
    IMIGUE_FPS,
    IMIGUE_OBTAIN,
    IMigueDataset,
    VideoInfo,
    dataset_missing,
    item_id,
    load_durations,
    load_imigue,
)
from mgreason.errors import DataError
from mgreason.taxonomy import IMIGUE
from mgreason.transcript import Transcript

__all__ = [
    "EmotionSplit",
    "load_splits",
    "read_transcripts_dir",
    "balanced_order",
    "build_items",
    # re-exported from mgreason.datasets.imigue_labels
    "IMIGUE_FPS",
    "IMIGUE_OBTAIN",
    "IMigueDataset",
    "VideoInfo",
    "item_id",
    "load_durations",
    "load_imigue",
]

MissingPolicy = Literal["error", "skip", "annotation"]


@dataclass(frozen=True)
class EmotionSplit:
    """The video ids of the emotion protocol's train and test split."""

    train: tuple[int, ...]
    test: tuple[int, ...]
    path: Optional[Path] = None

    def ids(self, split: str) -> tuple[int, ...]:
        if split == "train":
            return self.train
        if split == "test":
            return self.test
        raise ValueError(f"unknown split {split!r}; choose train or test")


# --------------------------------------------------------------------------- splits


def load_splits(path: str | Path, dataset: Optional[IMigueDataset] = None) -> EmotionSplit:
    """The emotion split from a JSON file: ``{"train": [...], "test": [...]}`` or
    ``{"emotion_video_split": {"train": [...], "test": [...]}}``.

    With ``dataset``, every id must be one of its videos.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "splits.json"
    if not path.is_file():
        raise dataset_missing(path, "iMiGUE emotion split file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read the split file: {e}", file=path) from None
    if isinstance(data, dict) and isinstance(data.get("emotion_video_split"), dict):
        data = data["emotion_video_split"]
    if not isinstance(data, dict) or not isinstance(data.get("train"), list) or not isinstance(data.get("test"), list):
        raise DataError('expected {"train": [video ids], "test": [video ids]} (or under "emotion_video_split")', file=path)
    out: dict[str, tuple[int, ...]] = {}
    for name in ("train", "test"):
        ids: list[int] = []
        for v in data[name]:
            try:
                ids.append(int(v))
            except (TypeError, ValueError):
                raise DataError(f"{name}: video id {v!r} is not an integer", file=path) from None
        if len(set(ids)) != len(ids):
            raise DataError(f"{name}: duplicate video ids", file=path)
        out[name] = tuple(ids)
    both = sorted(set(out["train"]) & set(out["test"]))
    if both:
        raise DataError(f"videos in both train and test: {both[:10]}", file=path)
    if dataset is not None:
        unknown = sorted((set(out["train"]) | set(out["test"])) - set(dataset.videos))
        if unknown:
            raise DataError(
                f"split names {len(unknown)} video(s) absent from {dataset.labels_path.name}: {unknown[:10]}", file=path
            )
    return EmotionSplit(train=out["train"], test=out["test"], path=path)


# --------------------------------------------------------------------------- recognized transcripts

_ID_RE = re.compile(r"^(?:imigue[_-]?|v(?:ideo)?[_-]?)?0*(\d+)(?:[_.-].*)?$", re.IGNORECASE)


def _video_id_of(name: str) -> Optional[int]:
    m = _ID_RE.match(name.strip())
    return int(m.group(1)) if m else None


def read_transcripts_dir(directory: str | Path) -> dict[int, Transcript]:
    """Transcripts from a directory of Transcript JSON files (``*.json``, one transcript each) and/or
    JSONL files (``*.jsonl``, one transcript per line), e.g. ``mgreason transcribe --out DIR/298.json``
    output (its ``*.meta.json`` sidecars are ignored).

    A ``.json`` file belongs to the video its file name names (``298.json``, ``0298.json``,
    ``imigue_298.json``, ``298_openpose.json``...), or failing that the one its transcript ``id`` names;
    a JSONL line to the video its ``id`` names.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError("transcripts directory not found", file=directory)
    found: dict[int, tuple[Transcript, Path]] = {}

    def add(t: Transcript, src: Path, name: str) -> None:
        vid = _video_id_of(name) if name else None
        if vid is None:
            vid = _video_id_of(t.id)
        if vid is None:
            raise DataError(f"cannot tell which video transcript {t.id!r} belongs to (no video id in its id or file name)", file=src)
        if vid in found:
            raise DataError(f"two transcripts for video {vid}: {found[vid][1].name} and {src.name}", file=src)
        found[vid] = (t, src)

    files = sorted(
        p
        for p in directory.iterdir()
        if p.is_file() and p.suffix.lower() in (".json", ".jsonl") and not p.name.lower().endswith(".meta.json")
    )
    for p in files:
        try:
            if p.suffix.lower() == ".json":
                add(Transcript.read(p), p, p.stem)
            else:
                for k, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
                    if line.strip():
                        add(Transcript.model_validate_json(line), p, "")
        except ValidationError as e:
            first = e.errors()[0]
            loc = ".".join(str(x) for x in first["loc"])
            raise DataError(f"not a transcript: {loc}: {first['msg']}", file=p) from None
        except (OSError, UnicodeDecodeError) as e:
            raise DataError(f"cannot read: {e}", file=p) from None
    if not found:
        raise DataError("no transcript files (*.json, *.jsonl) in the directory", file=directory)
    return {vid: t for vid, (t, _) in found.items()}


# --------------------------------------------------------------------------- items

_MG_NAMES = frozenset(c.name for c in IMIGUE.classes if c.is_mg)


def balanced_order(video_ids: Sequence[int], labels: Mapping[int, str]) -> list[int]:
    """Videos interleaved positive, negative, positive, ... (each sorted by id), so that the first
    N items of an items file (``--limit N``) are balanced too."""
    pos = sorted(v for v in video_ids if labels[v] == "positive")
    neg = sorted(v for v in video_ids if labels[v] == "negative")
    out: list[int] = []
    for i in range(max(len(pos), len(neg))):
        out += [v for v in (pos[i : i + 1] + neg[i : i + 1])]
    return out


def build_items(
    dataset: IMigueDataset,
    video_ids: Sequence[int],
    *,
    split: Optional[str] = None,
    transcripts: Optional[Mapping[int, Transcript]] = None,
    missing: MissingPolicy = "error",
) -> list[dict[str, Any]]:
    """Scenario items (one per video) with gold labels and inline transcripts.

    Without ``transcripts`` every item shows its ground-truth annotation transcript. With
    ``transcripts`` (video id → Transcript, e.g. from :func:`read_transcripts_dir`) those
    replace the annotations; a video without one is an error (``missing="error"``), left out
    (``"skip"``) or keeps its annotations (``"annotation"``). ``transcript_source`` records
    which was used.
    """
    if missing not in ("error", "skip", "annotation"):
        raise ValueError(f"missing must be error, skip or annotation, got {missing!r}")
    ids = [int(v) for v in video_ids]
    for v in ids:
        dataset._video(v)
    if transcripts is not None and missing == "error":
        absent = [v for v in ids if v not in transcripts]
        if absent:
            raise DataError(
                f"no recognized transcript for {len(absent)} of {len(ids)} videos (e.g. {absent[:8]}); "
                "use --missing skip or --missing annotation to proceed without them"
            )
    labels = {v: dataset.label(v) for v in ids}
    items: list[dict[str, Any]] = []
    for v in balanced_order(ids, labels):
        if transcripts is not None and v in transcripts:
            t = transcripts[v].model_copy(update={"id": item_id(v)})
            source = "recognized"
        elif transcripts is not None and missing == "skip":
            continue
        else:
            t = dataset.transcript(v)
            source = "annotation"
        info = dataset.videos[v]
        items.append(
            {
                "id": item_id(v),
                "video_id": v,
                "label": labels[v],
                "split": split,
                "subject_id": info.subject_id,
                "duration_s": round(t.duration_s, 3) if t.duration_s is not None else None,
                "n_events": len(t.events),
                "n_mg_events": sum(1 for e in t.events if e.label in _MG_NAMES),
                "transcript_source": source,
                "transcript": json.loads(t.model_dump_json(exclude_none=True)),
            }
        )
    return items
