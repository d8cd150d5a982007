"""Per-recording frame-label CSVs into :class:`~mgreason.transcript.Transcript` objects, and back.

SMG-style per-recording CSV: rows ``label,start,end`` in frames, labels 1-based by default
(``SampleXXXX_finelabels.csv``, MiGA ``<id>_label.csv``); a header row is optional.

The iMiGUE annotation file (``labels_20200831.csv``, all videos in one file) is read by
:mod:`mgreason.datasets.imigue_labels`.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Optional

from mgreason.errors import DataError
from mgreason.taxonomy import SMG, Taxonomy, get_taxonomy
from mgreason.transcript import MGEvent, Transcript

__all__ = ["read_frame_labels", "read_smg_labels", "write_frame_labels"]


def _open_csv(path: Path) -> list[list[str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return [row for row in csv.reader(f) if row and any(c.strip() for c in row)]
    except OSError as e:
        raise DataError(f"cannot read label file: {e.strerror or e}", file=path) from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"not a readable CSV: {e}", file=path) from None


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
