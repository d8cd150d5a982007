"""MiGA challenge releases of iMiGUE: one folder per video, read without any conversion.

A release is a directory holding one folder per video (or a single video folder)::

    0298/0298_openpose.xlsx   137 OpenPose keypoints (BODY_25 + 70 face + 2 x 21 hands) x (x, y, c),
                              pixel coordinates at 1280 x 720, one row per frame
    0298/0298_light_hand.csv  older releases: 35 joints (BODY_25 + 5 fingertips per hand) x (x, y, c)
    0298/0298_label.csv       rows ``class,start,end``: raw iMiGUE class id (1..31, 99 = illustrative,
                              which is label index 31), start and end frame (0-based, end inclusive)

Skeleton tables (both formats):

* one row per frame; the first column may be a frame number (then a row has ``3 V + 1`` values,
  otherwise ``3 V``); one header row (any non-numeric first row) is skipped;
* a frame number that repeats means **several people** in that frame: the reader keeps one person,
  the most prominent one first and then, in every frame, the one closest to that person's last
  known pose (as the OpenPose-JSON reader does); ``meta['multi_person_frames']`` counts such frames;
* a gap in the frame numbers, a row without any valid joint (empty cells, NaN or zero confidence
  everywhere) becomes a frame with every joint missing (confidence 0), listed in
  ``meta['empty_frames']``; joints with NaN coordinates or confidence are missing (confidence 0);
* a non-numeric cell, a row with another number of values, or a file without any valid joint is an
  error (:class:`~mgreason.errors.DataError`) naming the file and the row.

For ``_openpose.xlsx`` the first worksheet is read unless ``sheet`` names another one (an unknown
sheet name is an error that lists the sheets there are). Parsing a workbook is slow (about 1.7 s per
1,000 frames on a shared 2-core machine), so the parsed sequence is cached under
``$MGREASON_CACHE_DIR/skeletons`` (default ``~/.cache/mgreason``), keyed by the file's path, size and
modification time and the sheet: the next read of an unchanged file takes milliseconds (``cache=False``
reads the workbook every time).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from mgreason.errors import DataError
from mgreason.skeleton.io_openpose import _distance, _person_score
from mgreason.skeleton.layouts import get_layout
from mgreason.skeleton.mapping import build_mapping
from mgreason.skeleton.sequence import SkeletonSequence
from mgreason.transcript import MGEvent, Transcript

__all__ = [
    "MigaVideo",
    "MIGA_IMG_SHAPE",
    "read_miga_table",
    "read_miga_openpose_xlsx",
    "read_miga_light_hand_csv",
    "read_miga_labels",
    "read_miga_video",
    "read_miga_release",
    "find_miga_videos",
    "is_miga_release",
    "write_miga_light_hand_csv",
    "write_miga_labels",
]

MIGA_IMG_SHAPE = (720, 1280)  # (height, width) of the MiGA OpenPose coordinates
MIGA_FPS = 25.0
_SKELETON_SUFFIXES = (("_openpose.xlsx", "openpose137"), ("_light_hand.csv", "miga35"))
LABEL_SUFFIX = "_label.csv"


@dataclass
class MigaVideo:
    """One video of a release: its skeleton sequence and (when present) its annotations."""

    video_id: str
    sequence: SkeletonSequence
    transcript: Optional[Transcript]
    skeleton_file: Path
    label_file: Optional[Path]

    @property
    def video_number(self) -> Optional[int]:
        m = re.match(r"^\D*(\d+)", self.video_id)
        return int(m.group(1)) if m else None


# --------------------------------------------------------------------------- tables
def _num(cell: Any) -> Optional[float]:
    """A cell as a float (empty -> NaN); None when it is not a number."""
    if cell is None:
        return math.nan
    if isinstance(cell, bool):
        return None
    if isinstance(cell, (int, float)):
        return float(cell)
    s = str(cell).strip()
    if s == "":
        return math.nan
    try:
        return float(s)
    except ValueError:
        return None


def read_miga_table(
    rows: Iterable[Sequence[Any]],
    layout: str,
    *,
    file: str | Path,
    fps: float = MIGA_FPS,
    source: str = "miga",
    first_row_number: int = 1,
) -> SkeletonSequence:
    """Rows of ``[frame,] x0, y0, c0, x1, ...`` (cells as read from CSV or xlsx) -> a sequence in ``layout``.

    ``first_row_number`` is the number of the first row in the file (for error messages)."""
    lay = get_layout(layout)
    V = lay.num_joints
    width = 3 * V
    frames: list[int] = []
    people: list[np.ndarray] = []
    has_index: Optional[bool] = None
    row_no = first_row_number - 1
    for k, row in enumerate(rows):
        row_no = first_row_number + k
        cells = list(row)
        while cells and (cells[-1] is None or (isinstance(cells[-1], str) and not cells[-1].strip())):
            cells.pop()  # trailing empty cells (spreadsheets pad rows)
        if not cells:
            continue
        vals = [_num(c) for c in cells]
        if k == 0 and any(v is None for v in vals):
            continue  # header row
        bad = [i for i, v in enumerate(vals) if v is None]
        if bad:
            raise DataError(
                f"row {row_no}, column {bad[0] + 1}: not a number: {str(cells[bad[0]])[:30]!r}", file=file, field="row"
            )
        if len(vals) not in (width, width + 1):
            raise DataError(
                f"row {row_no}: {len(vals)} values, expected {width} ({V} joints x (x, y, c) of layout {lay.name}) "
                f"or {width + 1} (with a frame number first)",
                file=file, field="row",
            )  # fmt: skip
        row_has_index = len(vals) == width + 1
        if has_index is None:
            has_index = row_has_index
        elif has_index != row_has_index:
            raise DataError(
                f"row {row_no}: {len(vals)} values, but earlier rows have {width + int(has_index)}", file=file, field="row"
            )
        if has_index:
            fi = vals[0]
            if not np.isfinite(fi) or fi < 0 or fi != int(fi):
                raise DataError(f"row {row_no}: bad frame number {cells[0]!r}", file=file, field="row")
            frames.append(int(fi))
            arr = np.asarray(vals[1:], dtype=np.float64)
        else:
            frames.append(len(frames))
            arr = np.asarray(vals, dtype=np.float64)
        people.append(arr.reshape(V, 3))
    if not people:
        raise DataError("no skeleton rows", file=file)
    first = min(frames)
    T = max(frames) - first + 1
    if T > 10 * len(people) + 1000:
        raise DataError(f"frame numbers span {T} frames for {len(people)} rows", file=file, field="row")
    by_frame: dict[int, list[np.ndarray]] = {}
    for f, p in zip(frames, people):
        by_frame.setdefault(f - first, []).append(p)
    raw = np.zeros((T, V, 3), dtype=np.float32)
    ref: Optional[np.ndarray] = None
    ref_ok = np.zeros(V, dtype=bool)
    multi = 0
    for t in range(T):
        cands = by_frame.get(t)
        if not cands:
            continue
        cands = [_clean(p) for p in cands]
        if len(cands) > 1:
            multi += 1
            if ref is None:
                pick = max(cands, key=_person_score)
            else:
                d = [_distance(p, ref, ref_ok) for p in cands]
                best = int(np.argmin(d))
                pick = cands[best] if np.isfinite(d[best]) else max(cands, key=_person_score)
        else:
            pick = cands[0]
        raw[t] = pick
        ok = pick[:, 2] > 0.05
        if ok.any():
            if ref is None:
                ref = pick.copy()
            ref[ok] = pick[ok]
            ref_ok |= ok
    conf = np.clip(raw[..., 2], 0.0, 1.0)
    coords = raw[..., :2].copy()
    missing = conf <= 0
    coords[missing] = np.nan
    conf[missing] = 0.0
    if not (conf > 0).any():
        raise DataError("no valid joint in any row (all NaN, empty or zero confidence)", file=file)
    empty = [int(t) for t in np.flatnonzero(~(conf > 0).any(axis=1))]
    meta = {
        "source": source,
        "path": str(file),
        "first_frame": int(first),
        "empty_frames": empty,
        "multi_person_frames": multi,
        "img_shape": list(MIGA_IMG_SHAPE),
    }
    return SkeletonSequence(coords, conf.astype(np.float32), fps, lay.name, meta)


def _clean(p: np.ndarray) -> np.ndarray:
    """(V, 3) with NaN/inf coordinates or confidences -> that joint invalid (zeros)."""
    p = p.astype(np.float32).copy()
    bad = ~np.all(np.isfinite(p), axis=1) | (p[:, 2] <= 0)
    p[bad] = 0.0
    return p


def _map(seq: SkeletonSequence, layout: Optional[str]) -> SkeletonSequence:
    if layout is None:
        return seq
    target = get_layout(layout).name
    if target == seq.layout:
        return seq
    m = build_mapping(seq.layout, target)
    c, k = m.apply(seq.coords, seq.confidence)
    return SkeletonSequence(c, k, seq.fps, target, dict(seq.meta, mapped_from=seq.layout, missing_joints=m.missing))


def read_miga_light_hand_csv(path: str | Path, *, fps: float = MIGA_FPS, layout: Optional[str] = None) -> SkeletonSequence:
    """``<vid>_light_hand.csv`` (35 joints: BODY_25 + right then left fingertips) -> ``miga35`` (or ``layout``)."""
    path = Path(path)
    from mgreason.fileio import refuse_special_file

    refuse_special_file(path, error=DataError)  # the path rule: never a FIFO or device
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise DataError("skeleton file not found", file=path) from None
    except OSError as e:
        raise DataError(f"cannot read skeleton file: {e.strerror or e}", file=path) from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"not a readable CSV: {e}", file=path) from None
    return _map(read_miga_table(rows, "miga35", file=path, fps=fps, source="miga_light_hand"), layout)


def _cache_file(path: Path, sheet: Optional[str], fps: float) -> Optional[Path]:
    import hashlib

    from mgreason.fileio import cache_dir

    try:
        st = path.stat()
    except OSError:
        return None
    key = f"miga-xlsx-v1|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{sheet}|{fps}"
    return cache_dir() / "skeletons" / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".npz")


def read_miga_openpose_xlsx(
    path: str | Path,
    *,
    fps: float = MIGA_FPS,
    layout: Optional[str] = None,
    sheet: Optional[str] = None,
    cache: bool = True,
) -> SkeletonSequence:
    """``<vid>_openpose.xlsx`` (137 keypoints x (x, y, c)) -> ``openpose137`` (or ``layout``)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("skeleton file not found", file=path)
    cached = _cache_file(path, sheet, fps) if cache else None
    if cached is not None and cached.is_file():
        try:
            seq = SkeletonSequence.load(cached)
            seq.meta["path"] = str(path)
            return _map(seq, layout)
        except DataError:
            pass  # a damaged cache entry: read the workbook again
    seq = _read_xlsx(path, fps, sheet)
    if cached is not None:
        try:
            seq.save(cached)
        except OSError:
            pass  # a read-only or full cache directory only costs speed
    return _map(seq, layout)


def _read_xlsx(path: Path, fps: float, sheet: Optional[str]) -> SkeletonSequence:
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - a main dependency
        raise DataError("reading .xlsx needs openpyxl (pip install openpyxl)", file=path) from None
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # zipfile.BadZipFile, KeyError, InvalidFileException, ...
        raise DataError(f"not a readable .xlsx workbook: {type(e).__name__}: {e}", file=path) from None
    try:
        names = list(wb.sheetnames)
        if sheet is not None and sheet not in names:
            raise DataError(f"no worksheet {sheet!r} (sheets: {', '.join(names) or 'none'})", file=path, field="sheet")
        if not names:
            raise DataError("the workbook has no worksheet", file=path, field="sheet")
        name = sheet if sheet is not None else names[0]
        ws = wb[name]
        where = f"{path}[{name}]"
        seq = read_miga_table(ws.iter_rows(values_only=True), "openpose137", file=where, fps=fps, source="miga_openpose_xlsx")
    finally:
        wb.close()
    seq.meta["path"] = str(path)
    seq.meta["sheet"] = name
    return seq


# --------------------------------------------------------------------------- labels
def read_miga_labels(
    path: str | Path, *, fps: float = MIGA_FPS, id: Optional[str] = None, inclusive_end: bool = True
) -> Transcript:
    """``<vid>_label.csv``: rows ``class,start,end`` (raw iMiGUE class, frames) -> a ground-truth transcript.

    Class 99 (illustrative gestures) is label index 31. An optional header row is skipped; the end
    frame belongs to the gesture (the event ends at ``(end + 1) / fps``)."""
    from mgreason.taxonomy import IMIGUE

    path = Path(path)
    from mgreason.fileio import refuse_special_file

    refuse_special_file(path, error=DataError)  # the path rule: never a FIFO or device
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise DataError("label file not found", file=path) from None
    except OSError as e:
        raise DataError(f"cannot read label file: {e.strerror or e}", file=path) from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"not a readable CSV: {e}", file=path) from None
    events = []
    for line, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if len(cells) < 3:
            raise DataError(f"row {line}: expected class,start,end, got {len(cells)} value(s)", file=path, field="row")
        try:
            raw, a, b = (float(c) for c in cells[:3])
        except ValueError:
            if line == 1:
                continue  # header
            raise DataError(f"row {line}: non-numeric value in {cells[:3]}", file=path, field="row") from None
        if raw != int(raw) or a != int(a) or b != int(b):
            raise DataError(f"row {line}: class and frames must be whole numbers, got {cells[:3]}", file=path, field="row")
        try:
            cls = IMIGUE.by_raw_id(int(raw))
        except KeyError:
            raise DataError(f"row {line}: unknown iMiGUE class {int(raw)} (1..31 or 99)", file=path, field="class") from None
        a, b = int(a), int(b)
        if a < 0 or b < a:
            raise DataError(f"row {line}: bad frame range {a}..{b}", file=path, field="row")
        end = (b + 1) / fps if inclusive_end else max(b, a + 1) / fps
        events.append(MGEvent(start_s=a / fps, end_s=end, label=cls.name, label_id=cls.label_id, source="annotation"))
    events.sort(key=lambda e: (e.start_s, e.end_s))
    return Transcript(id=id or path.stem.removesuffix("_label"), fps=fps, taxonomy="imigue", events=events)


# --------------------------------------------------------------------------- folders
def _skeleton_file(folder: Path) -> Optional[tuple[Path, str]]:
    for suffix, layout in _SKELETON_SUFFIXES:
        hits = sorted(folder.glob(f"*{suffix}"))
        if hits:
            return hits[0], layout
    return None


def find_miga_videos(root: str | Path) -> list[Path]:
    """Video folders of a release (``root`` itself when it is one), sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise DataError("release directory not found", file=root)
    if _skeleton_file(root) is not None:
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and _skeleton_file(p) is not None)


def is_miga_release(root: str | Path) -> bool:
    root = Path(root)
    return root.is_dir() and bool(find_miga_videos(root))


def read_miga_video(
    folder: str | Path,
    *,
    fps: float = MIGA_FPS,
    layout: Optional[str] = None,
    require_labels: bool = True,
    sheet: Optional[str] = None,
) -> MigaVideo:
    """One video folder. Prefers ``_openpose.xlsx`` (137 keypoints) over ``_light_hand.csv``."""
    folder = Path(folder)
    found = _skeleton_file(folder)
    if found is None:
        raise DataError("no <vid>_openpose.xlsx or <vid>_light_hand.csv in the folder", file=folder)
    skel, _ = found
    vid = skel.name.split("_")[0] if "_" in skel.name else folder.name
    if skel.name.endswith(".xlsx"):
        seq = read_miga_openpose_xlsx(skel, fps=fps, layout=layout, sheet=sheet)
    else:
        seq = read_miga_light_hand_csv(skel, fps=fps, layout=layout)
    label_file = folder / f"{vid}{LABEL_SUFFIX}"
    transcript = None
    if label_file.is_file():
        transcript = read_miga_labels(label_file, fps=fps, id=vid)
        last = max((e.end_s for e in transcript.events), default=0.0)
        if last > seq.duration_s + 1.0 / fps + 1e-6:
            raise DataError(
                f"annotations run to {last:.2f} s but the skeleton has {seq.num_frames} frames ({seq.duration_s:.2f} s)",
                file=label_file, field="end",
            )  # fmt: skip
    elif require_labels:
        raise DataError("label file missing (every video folder needs <vid>_label.csv to train)", file=label_file)
    else:
        label_file = None
    seq.meta["video_id"] = vid
    return MigaVideo(vid, seq, transcript, skel, label_file)


def read_miga_release(
    root: str | Path,
    *,
    fps: float = MIGA_FPS,
    layout: Optional[str] = None,
    require_labels: bool = True,
    sheet: Optional[str] = None,
) -> list[MigaVideo]:
    """Every video folder under ``root`` (or ``root`` itself)."""
    folders = find_miga_videos(root)
    if not folders:
        raise DataError("no MiGA video folder (<vid>/<vid>_openpose.xlsx or <vid>_light_hand.csv)", file=root)
    return [read_miga_video(f, fps=fps, layout=layout, require_labels=require_labels, sheet=sheet) for f in folders]


# --------------------------------------------------------------------------- writers (fixtures, conversions)
def write_miga_light_hand_csv(seq: SkeletonSequence, path: str | Path, *, frame_column: bool = True) -> Path:
    """Write a ``_light_hand.csv`` (the sequence is mapped to ``miga35``; missing joints are 0,0,0)."""
    m = build_mapping(seq.layout, "miga35")
    coords, conf = m.apply(seq.coords, seq.confidence)
    ok = (conf > 0) & np.all(np.isfinite(coords), axis=-1)
    coords = np.where(ok[..., None], coords, 0.0)
    conf = np.where(ok, conf, 0.0)
    raw = np.concatenate([coords, conf[..., None]], axis=-1).reshape(len(coords), -1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        for t, r in enumerate(raw):
            vals = [f"{v:.3f}" for v in r]
            w.writerow(([str(t)] if frame_column else []) + vals)
    return path


def write_miga_labels(transcript: Transcript, path: str | Path, *, fps: Optional[float] = None) -> Path:
    """Write a ``_label.csv`` (raw iMiGUE class, start frame, inclusive end frame)."""
    from mgreason.taxonomy import IMIGUE

    fps = fps or transcript.fps or MIGA_FPS
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        for e in transcript.events:
            a = int(round(e.start_s * fps))
            b = max(a, int(round(e.end_s * fps)) - 1)
            w.writerow([IMIGUE.by_name(e.label).raw_id, a, b])
    return path
