"""iMiGUE adapter: annotations → per-video transcripts → emotion items with gold labels.

iMiGUE (Liu et al., CVPR 2021, "iMiGUE: An Identity-free Video Dataset for
Micro-Gesture Understanding and Emotion Analysis") has 359 videos of tennis players'
post-match press conferences. Its annotation file (``labels_20200831.csv`` in the
authors' repository) holds one row per micro-gesture::

    video_id,label_id,start_time,start_frame,end_time,end_frame,class,subject_id,
    subject_gender,subject_nationality,win_or_lose

``class`` is the raw iMiGUE class id (1..31, 99 = illustrative hand gesture, see
:data:`mgreason.taxonomy.IMIGUE`), times are seconds, frames are at 25 fps, and
``win_or_lose`` is the video-level emotion label (Win = positive, Lose = negative).
The official emotion protocol trains on 102 videos and tests on 100 (both balanced).

mgreason ships none of it: every function here takes paths to the user's own copy.
Missing files raise :class:`~mgreason.errors.DatasetMissingError` with instructions
(:data:`IMIGUE_OBTAIN`); malformed ones raise :class:`~mgreason.errors.DataError`
naming the file, row and column.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping, Optional, Sequence

from pydantic import ValidationError

from mgreason.errors import DataError, DatasetMissingError
from mgreason.taxonomy import IMIGUE
from mgreason.transcript import MGEvent, Transcript
from mgreason.scenario.loader import write_items  # noqa: F401 - re-exported (the shipped packs' writer)

IMIGUE_FPS = 25.0
LABELS = ("positive", "negative")
OUTCOME_TO_LABEL = {"win": "positive", "lose": "negative"}

IMIGUE_OBTAIN = (
    "iMiGUE is not shipped with mgreason. Its micro-gesture annotations (labels_20200831.csv) and its evaluation "
    "protocol (the emotion split: 102 train / 100 test video ids, in 'evaluation protocol.pdf') are published in the "
    "dataset authors' GitHub repository linuxsino/iMiGUE; the videos and skeletons need an agreement with the authors "
    "(see that repository's README). Write the split as JSON ({\"train\": [ids...], \"test\": [ids...]}), then run: "
    "mgreason imigue build-items --labels PATH/labels_20200831.csv --splits PATH/splits.json --out data/imigue"
)

REQUIRED_COLUMNS = ("video_id", "start_time", "end_time", "class", "win_or_lose")

MissingPolicy = Literal["error", "skip", "annotation"]


@dataclass(frozen=True)
class Annotation:
    """One row of the annotation CSV."""

    video_id: int
    row: int  # 1-based data row in the CSV (for error messages and tests)
    start_s: float
    end_s: float
    start_frame: Optional[int]
    end_frame: Optional[int]
    raw_class: int  # iMiGUE's own id: 1..31 or 99
    label_id: int  # 0-based index in mgreason.taxonomy.IMIGUE
    label: str  # canonical class name


@dataclass(frozen=True)
class VideoInfo:
    video_id: int
    outcome: str  # "Win" / "Lose" as in the CSV
    label: str  # "positive" / "negative"
    subject_id: Optional[int]
    subject_gender: Optional[str]
    subject_nationality: Optional[str]
    n_annotations: int
    last_end_s: float


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


@dataclass
class IMigueDataset:
    """All annotations and video-level labels of one copy of iMiGUE."""

    labels_path: Path
    videos: dict[int, VideoInfo]
    annotations: dict[int, list[Annotation]]
    durations: dict[int, float] = field(default_factory=dict)  # known recording lengths, seconds
    fps: float = IMIGUE_FPS

    @property
    def video_ids(self) -> list[int]:
        return sorted(self.videos)

    def label(self, video_id: int) -> str:
        return self._video(video_id).label

    def _video(self, video_id: int) -> VideoInfo:
        try:
            return self.videos[int(video_id)]
        except KeyError:
            raise DataError(f"no video {video_id} in the annotations", file=self.labels_path) from None

    def duration(self, video_id: int) -> float:
        """The recording length: known (``durations``) or else the end of the last annotation."""
        info = self._video(video_id)
        return float(self.durations.get(info.video_id, info.last_end_s))

    def transcript(self, video_id: int) -> Transcript:
        """The ground-truth transcript of one video: every annotation, iMiGUE class names and ids."""
        info = self._video(video_id)
        events = [
            MGEvent(
                start_s=a.start_s,
                end_s=a.end_s,
                label=a.label,
                label_id=a.label_id,
                confidence=1.0,
                source="annotation",
            )
            for a in self.annotations[info.video_id]
        ]
        try:
            return Transcript(
                id=item_id(info.video_id),
                fps=self.fps,
                duration_s=self.duration(info.video_id),
                taxonomy=IMIGUE.name,
                events=events,
            )
        except ValidationError as e:
            first = e.errors()[0]
            raise DataError(f"video {info.video_id}: {first['msg']}", file=self.labels_path) from None

    def transcripts(self, video_ids: Optional[Iterable[int]] = None) -> dict[int, Transcript]:
        ids = self.video_ids if video_ids is None else [int(v) for v in video_ids]
        return {v: self.transcript(v) for v in ids}


def item_id(video_id: int) -> str:
    """Item / transcript id of a video: its iMiGUE id, zero-padded to 3 digits (``"009"``)."""
    return f"{int(video_id):03d}"


# --------------------------------------------------------------------------- reading


def _missing(path: Path, what: str) -> DatasetMissingError:
    return DatasetMissingError(f"{what} not found. {IMIGUE_OBTAIN}", file=path)


def _int(value: str, path: Path, row: int, col: str) -> int:
    try:
        f = float(value)
        if f != int(f):
            raise ValueError
        return int(f)
    except (TypeError, ValueError):
        raise DataError(f"row {row}: column {col!r} is not an integer: {value!r}", file=path) from None


def _float(value: str, path: Path, row: int, col: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DataError(f"row {row}: column {col!r} is not a number: {value!r}", file=path) from None


def _opt(rec: Mapping[str, Any], col: str) -> Optional[str]:
    v = rec.get(col)
    if v is None:
        return None
    v = str(v).strip()
    return v or None


def load_imigue(
    labels_csv: str | Path,
    durations: Optional[Mapping[int, float]] = None,
    fps: float = IMIGUE_FPS,
) -> IMigueDataset:
    """Read iMiGUE's annotation CSV (any path).

    ``durations`` (video id → seconds) gives recording lengths where known; otherwise a
    video's length is taken as the end of its last annotation. Rows with only frames
    (empty ``start_time`` / ``end_time``) get times ``frame / fps``.
    """
    path = Path(labels_csv)
    if path.is_dir():
        path = path / "labels_20200831.csv"
    if not path.is_file():
        raise _missing(path, "iMiGUE annotation file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read the annotation file: {e}", file=path) from None
    reader = csv.DictReader(text.splitlines())
    cols = [c.strip() for c in (reader.fieldnames or [])]
    reader.fieldnames = cols
    absent = [c for c in REQUIRED_COLUMNS if c not in cols]
    if absent:
        raise DataError(
            f"not an iMiGUE annotation file: missing column(s) {', '.join(absent)} "
            f"(expected video_id,label_id,start_time,start_frame,end_time,end_frame,class,subject_id,...,win_or_lose)",
            file=path,
        )
    annotations: dict[int, list[Annotation]] = {}
    outcome: dict[int, str] = {}
    meta: dict[int, tuple[Optional[int], Optional[str], Optional[str]]] = {}
    for n, rec in enumerate(reader, start=1):
        if not any((v or "").strip() for v in rec.values() if isinstance(v, str)):
            continue  # blank line
        vid = _int(rec["video_id"], path, n, "video_id")
        raw = _int(rec["class"], path, n, "class")
        try:
            cls = IMIGUE.by_raw_id(raw)
        except KeyError:
            raise DataError(f"row {n}: unknown iMiGUE class id {raw} (expected 1..31 or 99)", file=path) from None
        sf = _int(rec["start_frame"], path, n, "start_frame") if _opt(rec, "start_frame") else None
        ef = _int(rec["end_frame"], path, n, "end_frame") if _opt(rec, "end_frame") else None
        if _opt(rec, "start_time"):
            start = _float(rec["start_time"], path, n, "start_time")
        elif sf is not None:
            start = sf / fps
        else:
            raise DataError(f"row {n}: neither start_time nor start_frame is given", file=path)
        if _opt(rec, "end_time"):
            end = _float(rec["end_time"], path, n, "end_time")
        elif ef is not None:
            end = ef / fps
        else:
            raise DataError(f"row {n}: neither end_time nor end_frame is given", file=path)
        if start < 0 or end < start:
            raise DataError(f"row {n}: bad interval {start}–{end} s (video {vid})", file=path)
        wl = (_opt(rec, "win_or_lose") or "").lower()
        if wl not in OUTCOME_TO_LABEL:
            raise DataError(f"row {n}: win_or_lose must be Win or Lose, got {rec['win_or_lose']!r}", file=path)
        if vid in outcome and outcome[vid] != wl:
            raise DataError(f"row {n}: video {vid} is labelled both {outcome[vid]} and {wl}", file=path)
        outcome[vid] = wl
        if vid not in meta:
            sid = _opt(rec, "subject_id")
            meta[vid] = (
                _int(sid, path, n, "subject_id") if sid else None,
                _opt(rec, "subject_gender"),
                _opt(rec, "subject_nationality"),
            )
        annotations.setdefault(vid, []).append(
            Annotation(
                video_id=vid,
                row=n,
                start_s=start,
                end_s=end,
                start_frame=sf,
                end_frame=ef,
                raw_class=raw,
                label_id=cls.label_id,
                label=cls.name,
            )
        )
    if not annotations:
        raise DataError("the annotation file has no rows", file=path)
    videos: dict[int, VideoInfo] = {}
    for vid, anns in annotations.items():
        anns.sort(key=lambda a: (a.start_s, a.end_s, a.row))
        sid, gender, nat = meta[vid]
        videos[vid] = VideoInfo(
            video_id=vid,
            outcome=outcome[vid].capitalize(),
            label=OUTCOME_TO_LABEL[outcome[vid]],
            subject_id=sid,
            subject_gender=gender,
            subject_nationality=nat,
            n_annotations=len(anns),
            last_end_s=max(a.end_s for a in anns),
        )
    known = {int(k): float(v) for k, v in (durations or {}).items()}
    for vid, d in known.items():
        if vid in videos and videos[vid].last_end_s > d + 1.0 / fps:
            raise DataError(
                f"video {vid}: known duration {d:.2f} s is shorter than its last annotation "
                f"({videos[vid].last_end_s:.2f} s)",
                file=path,
            )
    return IMigueDataset(labels_path=path, videos=videos, annotations=annotations, durations=known, fps=fps)


def load_durations(path: str | Path) -> dict[int, float]:
    """Recording lengths from a CSV with columns ``video_id,duration_s`` (or a JSON object id → seconds)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("durations file not found", file=path)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return {int(k): float(v) for k, v in data.items()}
        except (ValueError, AttributeError, TypeError) as e:
            raise DataError(f"expected a JSON object video_id → seconds: {e}", file=path) from None
    rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
    if not rows or not {"video_id", "duration_s"} <= set(rows[0]):
        raise DataError("expected a CSV with columns video_id,duration_s", file=path)
    return {_int(r["video_id"], path, i, "video_id"): _float(r["duration_s"], path, i, "duration_s") for i, r in enumerate(rows, 1)}


def load_splits(path: str | Path, dataset: Optional[IMigueDataset] = None) -> EmotionSplit:
    """The emotion split from a JSON file: ``{"train": [...], "test": [...]}`` or
    ``{"emotion_video_split": {"train": [...], "test": [...]}}``.

    With ``dataset``, every id must be one of its videos.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "splits.json"
    if not path.is_file():
        raise _missing(path, "iMiGUE emotion split file")
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


_MG_NAMES = frozenset(c.name for c in IMIGUE.classes if c.is_mg)




def read_items(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.is_file():
        raise _missing(path, "iMiGUE items file")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def items_transcripts(items: Sequence[Mapping[str, Any]]) -> list[Transcript]:
    return [Transcript.model_validate(it["transcript"]) for it in items]
