"""SMG (Spontaneous Micro-Gesture) release: ``SampleNNNN/SampleNNNN_{skeleton,data,finelabels}.csv``.

* ``_skeleton.csv``: one row per frame, no header; Kinect v2, 25 joints in the Kinect order
  (SpineBase, SpineMid, Neck, Head, ShoulderLeft, ... ThumbRight = layout ``ntu25``), 11 values per
  joint: world x, y, z (metres), the joint orientation (4 values), the colour-image pixel x, y and two
  more values this reader does not use. ``coords='world'`` (default) gives 3D coordinates,
  ``coords='pixel'`` the 2D image position. A row of ``k x 275`` values holds ``k`` people: the reader
  keeps one (the one with most tracked joints first, then the one closest to that person's last pose).
  A joint whose values are all 0 or not finite is missing (confidence 0); a row without any valid
  joint is a missing frame (``meta['empty_frames']``).
* ``_data.csv``: one row ``numFrames,fps,maxDepth``; the fps is taken from it.
* ``_finelabels.csv``: rows ``label,start,end`` (SMG label 1..17, frames, end inclusive).

Bad input (a missing file, a non-numeric cell, a wrong number of values) is a
:class:`~mgreason.errors.DataError` naming the file and the row.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

import numpy as np

from mgreason.errors import DataError
from mgreason.skeleton.sequence import SkeletonSequence
from mgreason.transcript import MGEvent, Transcript

__all__ = ["SmgSample", "read_smg_skeleton", "read_smg_data", "read_smg_finelabels", "read_smg_sample",
           "read_smg_release", "is_smg_release", "SMG_VALUES_PER_JOINT"]  # fmt: skip

SMG_JOINTS = 25
SMG_VALUES_PER_JOINT = 11
SMG_FPS = 30.0
_SAMPLE_RE = re.compile(r"^Sample(\d+)$", re.IGNORECASE)


@dataclass
class SmgSample:
    sample_id: str
    sequence: SkeletonSequence
    transcript: Optional[Transcript]
    skeleton_file: Path
    label_file: Optional[Path]

    @property
    def subject(self) -> Optional[int]:
        """SMG has one subject per sample folder; the sample number identifies it."""
        m = _SAMPLE_RE.match(self.sample_id)
        return int(m.group(1)) if m else None


def _rows(path: Path, what: str) -> list[list[str]]:
    from mgreason.fileio import refuse_special_file

    refuse_special_file(path, error=DataError)  # the path rule: never a FIFO or device
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return [r for r in csv.reader(f)]
    except FileNotFoundError:
        raise DataError(f"{what} not found", file=path) from None
    except OSError as e:
        raise DataError(f"cannot read {what}: {e.strerror or e}", file=path) from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"not a readable CSV: {e}", file=path) from None


def _floats(row: list[str], line: int, path: Path) -> np.ndarray:
    out = np.empty(len(row), dtype=np.float64)
    for i, c in enumerate(row):
        s = c.strip()
        if s == "":
            out[i] = math.nan
            continue
        try:
            out[i] = float(s)
        except ValueError:
            raise DataError(f"row {line}, column {i + 1}: not a number: {s[:30]!r}", file=path, field="row") from None
    return out


def read_smg_data(path: str | Path) -> dict[str, float]:
    """``_data.csv`` -> ``{'num_frames', 'fps', 'max_depth'}``."""
    path = Path(path)
    rows = [r for r in _rows(path, "sample data file") if any(c.strip() for c in r)]
    if not rows:
        raise DataError("empty sample data file (expected numFrames,fps,maxDepth)", file=path)
    row = rows[-1]
    if len(row) < 2:
        raise DataError(f"row {len(rows)}: expected numFrames,fps,maxDepth", file=path, field="row")
    v = _floats(row[:3], len(rows), path)
    if not (np.isfinite(v[1]) and v[1] > 0):
        raise DataError(f"row {len(rows)}: bad fps {row[1]!r}", file=path, field="fps")
    return {"num_frames": float(v[0]), "fps": float(v[1]), "max_depth": float(v[2]) if len(v) > 2 else math.nan}


def read_smg_skeleton(
    path: str | Path, *, fps: float = SMG_FPS, coords: Literal["world", "pixel"] = "world"
) -> SkeletonSequence:
    """``_skeleton.csv`` -> a ``ntu25`` sequence (3D world or 2D pixel coordinates)."""
    path = Path(path)
    rows = _rows(path, "skeleton file")
    width = SMG_JOINTS * SMG_VALUES_PER_JOINT
    sel = slice(0, 3) if coords == "world" else slice(7, 9)
    C = 3 if coords == "world" else 2
    frames: list[list[np.ndarray]] = []
    for line, row in enumerate(rows, start=1):
        while row and not row[-1].strip():
            row = row[:-1]
        if not row:
            frames.append([])
            continue
        v = _floats(row, line, path)
        if len(v) % width != 0:
            raise DataError(
                f"row {line}: {len(v)} values, expected {width} (25 joints x 11) or a multiple (several people)",
                file=path, field="row",
            )  # fmt: skip
        people = []
        for k in range(len(v) // width):
            j = v[k * width : (k + 1) * width].reshape(SMG_JOINTS, SMG_VALUES_PER_JOINT)
            ok = np.all(np.isfinite(j[:, :9]), axis=1) & np.any(j[:, :9] != 0, axis=1)
            xyz = j[:, sel].astype(np.float32)
            xyz[~ok] = np.nan
            people.append(np.concatenate([xyz, ok[:, None].astype(np.float32)], axis=1))
        frames.append(people)
    if not frames:
        raise DataError("no skeleton rows", file=path)
    T = len(frames)
    out = np.full((T, SMG_JOINTS, C), np.nan, dtype=np.float32)
    conf = np.zeros((T, SMG_JOINTS), dtype=np.float32)
    last: Optional[np.ndarray] = None
    multi = 0
    for t, people in enumerate(frames):
        if not people:
            continue
        if len(people) > 1:
            multi += 1
        if last is None or len(people) == 1:
            pick = max(people, key=lambda p: p[:, -1].sum()) if last is None else people[0]
        else:
            def dist(p: np.ndarray) -> float:
                both = (p[:, -1] > 0) & np.all(np.isfinite(last), axis=1)
                return float(np.nanmedian(np.linalg.norm(p[both, :C] - last[both], axis=1))) if both.any() else np.inf

            pick = min(people, key=dist)
        out[t] = pick[:, :C]
        conf[t] = pick[:, -1]
        if (pick[:, -1] > 0).any():
            last = np.where((pick[:, -1] > 0)[:, None], pick[:, :C], last if last is not None else np.nan)
    if not (conf > 0).any():
        raise DataError("no valid joint in any row (all zero or NaN)", file=path)
    meta = {
        "source": "smg",
        "path": str(path),
        "coords": coords,
        "empty_frames": [int(t) for t in np.flatnonzero(~(conf > 0).any(axis=1))],
        "multi_person_frames": multi,
    }
    return SkeletonSequence(out, conf, fps, "ntu25", meta)


def read_smg_finelabels(path: str | Path, *, fps: float = SMG_FPS, id: Optional[str] = None) -> Transcript:
    """``_finelabels.csv``: rows ``label,start,end`` (SMG labels 1..17, frames, end inclusive)."""
    from mgreason.taxonomy import SMG

    path = Path(path)
    events = []
    for line, row in enumerate(_rows(path, "label file"), start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if len(cells) < 3:
            raise DataError(f"row {line}: expected label,start,end", file=path, field="row")
        try:
            lab, a, b = (float(c) for c in cells[:3])
        except ValueError:
            if line == 1:
                continue
            raise DataError(f"row {line}: non-numeric value in {cells[:3]}", file=path, field="row") from None
        try:
            cls = SMG.by_label_id(int(lab) - 1)
        except KeyError:
            raise DataError(f"row {line}: unknown SMG label {int(lab)} (1..{len(SMG.names)})", file=path, field="label") from None
        if lab != int(lab) or a < 0 or b < a:
            raise DataError(f"row {line}: bad label or frame range {cells[:3]}", file=path, field="row")
        events.append(
            MGEvent(start_s=a / fps, end_s=(b + 1) / fps, label=cls.name, label_id=cls.label_id, source="annotation")
        )
    events.sort(key=lambda e: (e.start_s, e.end_s))
    return Transcript(id=id or path.stem.removesuffix("_finelabels"), fps=fps, taxonomy="smg", events=events)


def read_smg_sample(
    folder: str | Path, *, coords: Literal["world", "pixel"] = "world", require_labels: bool = True
) -> SmgSample:
    folder = Path(folder)
    sid = folder.name
    skel = folder / f"{sid}_skeleton.csv"
    if not skel.is_file():
        raise DataError("skeleton file missing", file=skel)
    data_file = folder / f"{sid}_data.csv"
    fps = read_smg_data(data_file)["fps"] if data_file.is_file() else SMG_FPS
    seq = read_smg_skeleton(skel, fps=fps, coords=coords)
    seq.meta["video_id"] = sid
    lab = folder / f"{sid}_finelabels.csv"
    transcript = None
    if lab.is_file():
        transcript = read_smg_finelabels(lab, fps=fps, id=sid)
    elif require_labels:
        raise DataError("label file missing (every sample needs SampleNNNN_finelabels.csv to train)", file=lab)
    return SmgSample(sid, seq, transcript, skel, lab if transcript is not None else None)


def _sample_dirs(root: Path) -> list[Path]:
    if _SAMPLE_RE.match(root.name) and (root / f"{root.name}_skeleton.csv").exists():
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and _SAMPLE_RE.match(p.name))


def is_smg_release(root: str | Path) -> bool:
    root = Path(root)
    return root.is_dir() and bool(_sample_dirs(root))


def read_smg_release(
    root: str | Path, *, coords: Literal["world", "pixel"] = "world", require_labels: bool = True
) -> list[SmgSample]:
    root = Path(root)
    if not root.is_dir():
        raise DataError("release directory not found", file=root)
    dirs = _sample_dirs(root)
    if not dirs:
        raise DataError("no SampleNNNN folder", file=root)
    return [read_smg_sample(d, coords=coords, require_labels=require_labels) for d in dirs]
