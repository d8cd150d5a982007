"""The iMiGUE annotation reader: ``labels_20200831.csv`` -> videos, annotations, ground-truth transcripts.

iMiGUE (Liu et al., CVPR 2021, "iMiGUE: An Identity-free Video Dataset for
Micro-Gesture Understanding and Emotion Analysis") has 359 videos of tennis players'
post-match press conferences. Its annotation file (``labels_20200831.csv`` in the
authors' repository) holds one row per micro-gesture::

    video_id,label_id,start_time,start_frame,end_time,end_frame,class,subject_id,
    subject_gender,subject_nationality,win_or_lose

``class`` is the raw iMiGUE class id (1..31, 99 = illustrative hand gesture, see
:data:`mgreason.taxonomy.IMIGUE`), times are seconds, frames are at 25 fps
(:data:`IMIGUE_FPS`), and ``win_or_lose`` is the video-level emotion label (Win =
positive, Lose = negative).

This is the package's one reader of that file (the recognizer's training data, the
real-data tests and the emotion items all use it). It depends only on the taxonomy and
transcript modules; the emotion items are built in :mod:`mgreason.datasets.imigue`.
Missing files raise :class:`~mgreason.errors.DatasetMissingError` with instructions
(:data:`IMIGUE_OBTAIN`); malformed ones raise :class:`~mgreason.errors.DataError`
naming the file, row and column.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

from pydantic import ValidationError

from mgreason.errors import DataError, DatasetMissingError
from mgreason.taxonomy import IMIGUE
from mgreason.transcript import MGEvent, Transcript

__all__ = [
    "IMIGUE_FPS",
    "IMIGUE_OBTAIN",
    "OUTCOME_TO_LABEL",
    "Annotation",
    "VideoInfo",
    "IMigueDataset",
    "ImigueVideo",
    "item_id",
    "load_imigue",
    "load_durations",
    "read_imigue_videos",
    "dataset_missing",
]

IMIGUE_FPS = 25.0
OUTCOME_TO_LABEL = {"win": "positive", "lose": "negative"}

IMIGUE_OBTAIN = (
    "iMiGUE is not shipped with mgreason. Its micro-gesture annotations (labels_20200831.csv) and its evaluation "
    "protocol (the emotion split: 102 train / 100 test video ids, in 'evaluation protocol.pdf') are published in the "
    "dataset authors' GitHub repository linuxsino/iMiGUE; the videos and skeletons need an agreement with the authors "
    "(see that repository's README). Write the split as JSON ({\"train\": [ids...], \"test\": [ids...]}), then run: "
    "mgreason imigue build-items --labels PATH/labels_20200831.csv --splits PATH/splits.json --out data/imigue"
)

REQUIRED_COLUMNS = ("video_id", "start_time", "end_time", "class", "win_or_lose")


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


def item_id(video_id: int) -> str:
    """Item / transcript id of a video: its iMiGUE id, zero-padded to 3 digits (``"009"``)."""
    return f"{int(video_id):03d}"


# --------------------------------------------------------------------------- reading


def dataset_missing(path: Path, what: str) -> DatasetMissingError:
    """The error for an absent iMiGUE file: what is missing, and how to obtain the dataset."""
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
        raise dataset_missing(path, "iMiGUE annotation file")
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
        sid_text = _opt(rec, "subject_id")
        sid = _int(sid_text, path, n, "subject_id") if sid_text else None
        if vid not in meta:
            meta[vid] = (sid, _opt(rec, "subject_gender"), _opt(rec, "subject_nationality"))
        elif sid is not None and meta[vid][0] is not None and meta[vid][0] != sid:
            raise DataError(f"row {n}: video {vid} has two subject ids ({meta[vid][0]} and {sid})", file=path)
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


@dataclass(frozen=True)
class ImigueVideo:
    """One video of the annotation file: its facts and its ground-truth transcript."""

    info: VideoInfo
    transcript: Transcript

    @property
    def video_id(self) -> int:
        return self.info.video_id

    @property
    def subject_id(self) -> Optional[int]:
        return self.info.subject_id


def read_imigue_videos(labels_csv: str | Path, fps: float = IMIGUE_FPS) -> list[ImigueVideo]:
    """Every video of the annotation file with its ground-truth transcript, sorted by video id."""
    ds = load_imigue(labels_csv, fps=fps)
    return [ImigueVideo(ds.videos[v], ds.transcript(v)) for v in ds.video_ids]
