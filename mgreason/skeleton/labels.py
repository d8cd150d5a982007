"""Ground-truth micro-gesture labels into :class:`~mgreason.transcript.Transcript` objects.

* iMiGUE ``labels_20200831.csv`` (one row per annotation, all videos): columns
  ``video_id,label_id,start_time,start_frame,end_time,end_frame,class,subject_id,
  subject_gender,subject_nationality,win_or_lose``; times in seconds, frames at
  25 fps, ``class`` is the raw iMiGUE id (1..31, 99 = illustrative gestures).
* SMG-style per-recording CSV: rows ``label,start,end`` in frames, labels 1-based by
  default (``SampleXXXX_finelabels.csv``, MiGA ``<id>_label.csv``); a header row is
  optional.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from mgreason.errors import DataError
from mgreason.taxonomy import IMIGUE, SMG, Taxonomy, get_taxonomy
from mgreason.transcript import MGEvent, Transcript

__all__ = [
    "ImigueVideo",
    "read_imigue_labels",
    "read_imigue_videos",
    "read_frame_labels",
    "read_smg_labels",
    "write_frame_labels",
    "IMIGUE_FPS",
]

IMIGUE_FPS = 25.0
IMIGUE_COLUMNS = ("video_id", "start_time", "end_time", "class", "subject_id")


@dataclass(frozen=True)
class ImigueVideo:
    """One iMiGUE video: its annotations and video-level facts."""

    video_id: int
    subject_id: int
    gender: str
    nationality: str
    outcome: str  # "win" (positive emotion) or "lose" (negative)
    transcript: Transcript


def _open_csv(path: Path) -> list[list[str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return [row for row in csv.reader(f) if row and any(c.strip() for c in row)]
    except OSError as e:
        raise DataError(f"cannot read label file: {e.strerror or e}", file=path) from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"not a readable CSV: {e}", file=path) from None


def read_imigue_videos(path: str | Path, fps: float = IMIGUE_FPS) -> list[ImigueVideo]:
    """Every video of the iMiGUE label CSV, sorted by video id."""
    path = Path(path)
    rows = _open_csv(path)
    if not rows:
        raise DataError("empty label file", file=path)
    header = [h.strip() for h in rows[0]]
    missing = [c for c in IMIGUE_COLUMNS if c not in header]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}", file=path, field="header")
    col = {h: i for i, h in enumerate(header)}

    def get(row: list[str], name: str, line: int) -> str:
        i = col.get(name)
        if i is None:
            return ""
        if i >= len(row):
            raise DataError(f"line {line}: only {len(row)} columns", file=path, field=name)
        return row[i].strip()

    events: dict[int, list[MGEvent]] = {}
    info: dict[int, tuple[int, str, str, str]] = {}
    for line, row in enumerate(rows[1:], start=2):
        try:
            vid = int(get(row, "video_id", line))
            start, end = float(get(row, "start_time", line)), float(get(row, "end_time", line))
            raw = int(get(row, "class", line))
            subj = int(get(row, "subject_id", line))
        except ValueError as e:
            raise DataError(f"line {line}: {e}", file=path) from None
        try:
            cls = IMIGUE.by_raw_id(raw)
        except KeyError:
            raise DataError(f"line {line}: unknown iMiGUE class {raw}", file=path, field="class") from None
        if start < 0 or end < start:
            raise DataError(f"line {line}: bad time range {start}..{end}", file=path, field="start_time")
        events.setdefault(vid, []).append(
            MGEvent(start_s=start, end_s=end, label=cls.name, label_id=cls.label_id, source="annotation")
        )
        outcome = get(row, "win_or_lose", line).lower()
        facts = (subj, get(row, "subject_gender", line), get(row, "subject_nationality", line), outcome)
        if vid in info and info[vid][0] != subj:
            raise DataError(f"line {line}: video {vid} has two subject ids", file=path, field="subject_id")
        info.setdefault(vid, facts)
    videos = []
    for vid in sorted(events):
        subj, gender, nat, outcome = info[vid]
        t = Transcript(id=str(vid), fps=fps, taxonomy="imigue", events=events[vid])
        videos.append(ImigueVideo(vid, subj, gender, nat, outcome, t))
    return videos


def read_imigue_labels(path: str | Path, fps: float = IMIGUE_FPS) -> list[Transcript]:
    """One ground-truth transcript per video (id = the video id as text), sorted by video id."""
    return [v.transcript for v in read_imigue_videos(path, fps)]


def read_frame_labels(
    path: str | Path,
    *,
    fps: float,
    taxonomy: Taxonomy | str = SMG,
    one_based: bool = True,
    id: Optional[str] = None,
    inclusive_end: bool = True,
) -> Transcript:
    """A ``label,start,end`` CSV in frames (SMG ``finelabels``, MiGA ``_label.csv``).

    ``one_based``: labels count from 1 (SMG); otherwise they are 0-based label ids.
    For iMiGUE pass ``taxonomy='imigue'`` and the raw class ids are read (99 allowed).
    ``inclusive_end``: the end frame belongs to the gesture, so the event ends at
    ``(end + 1) / fps``.
    """
    path = Path(path)
    tax = get_taxonomy(taxonomy) if isinstance(taxonomy, str) else taxonomy
    if fps <= 0:
        raise DataError(f"fps must be positive, got {fps}", field="fps")
    rows = _open_csv(path)
    events = []
    for line, row in enumerate(rows, start=1):
        if len(row) < 3:
            raise DataError(f"line {line}: expected label,start,end", file=path)
        try:
            lab, a, b = int(float(row[0])), int(float(row[1])), int(float(row[2]))
        except ValueError:
            if line == 1:  # header
                continue
            raise DataError(f"line {line}: non-numeric value in {row[:3]}", file=path) from None
        try:
            if tax.name == "imigue":
                cls = tax.by_raw_id(lab)
            else:
                cls = tax.by_label_id(lab - 1 if one_based else lab)
        except KeyError:
            raise DataError(f"line {line}: unknown {tax.name} label {lab}", file=path, field="label") from None
        if a < 0 or b < a:
            raise DataError(f"line {line}: bad frame range {a}..{b}", file=path, field="start")
        end = (b + 1) / fps if inclusive_end else b / fps
        events.append(MGEvent(start_s=a / fps, end_s=end, label=cls.name, label_id=cls.label_id, source="annotation"))
    return Transcript(id=id or path.stem, fps=fps, taxonomy=tax.name, events=events)


def read_smg_labels(path: str | Path, *, fps: float = 30.0, id: Optional[str] = None) -> Transcript:
    """SMG ``SampleXXXX_finelabels.csv`` (1-based SMG labels, frames; Kinect v2 nominally 30 fps)."""
    return read_frame_labels(path, fps=fps, taxonomy=SMG, one_based=True, id=id)


def write_frame_labels(
    transcript: Transcript,
    path: str | Path,
    *,
    taxonomy: Taxonomy | str = SMG,
    one_based: bool = True,
    fps: Optional[float] = None,
    header: bool = False,
) -> Path:
    """Inverse of :func:`read_frame_labels` (end frame inclusive)."""
    tax = get_taxonomy(taxonomy) if isinstance(taxonomy, str) else taxonomy
    fps = fps or transcript.fps
    if not fps:
        raise DataError("fps is needed to write frame labels", field="fps")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if header:
            w.writerow(["label", "start", "end"])
        for e in transcript.events:
            cls = tax.by_name(e.label)
            lab = cls.raw_id if tax.name == "imigue" else cls.label_id + int(one_based)
            a = int(round(e.start_s * fps))
            b = max(a, int(round(e.end_s * fps)) - 1)
            w.writerow([lab, a, b])
    return path
