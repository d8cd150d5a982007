"""Small copies of the real deception releases' layouts (issue 24), written from their documentation."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any, Optional, Sequence

from mgreason.mumin import CODES, RLT_COLUMNS

DOLOS_GENERAL = [
    "Video URL", "File name of the video clip ", 'Label "truth" or "deception"', "Start time in the episode",
    "End time in the episode", "Name of the game show", "Participants name", "Participants gender",
]
DOLOS_CODES = [c for c in CODES if c.dolos]


def dolos_header(drop: Optional[str] = None) -> list[list[Any]]:
    """The three header rows of Dolos.xlsx (group / sub-group / field), with the sheet's invisible characters."""
    g: list[Any] = ["General Information"] + [None] * (len(DOLOS_GENERAL) - 1)
    s: list[Any] = [None] * len(DOLOS_GENERAL)
    f: list[Any] = list(DOLOS_GENERAL)
    last = None
    for c in DOLOS_CODES:
        if c.code == drop:
            continue
        sub, field = c.dolos  # type: ignore[misc]
        if sub != last:
            g.append("Gaze" if sub == "Gaze" else f"Group of {sub}")
            s.append(None if sub == "Gaze" else sub + "\u200b")
            last = sub
        else:
            g.append(None)
            s.append(None)
        f.append(field.replace(" ", "\xa0", 1) + "\u200b")
    return [g, s, f]


def dolos_row(clip: str, label: str, start: Any, end: Any, name: str, gender: str, cells: dict[str, Any]) -> list[Any]:
    row: list[Any] = ["https://example.org/v", clip, label, start, end, "Some Show", name, gender]
    return row + [cells.get(c.code, 0) for c in DOLOS_CODES]


def write_dolos(root: Path, rows: Sequence[Sequence[Any]], header: Optional[list[list[Any]]] = None, protocols: bool = True) -> Path:
    import openpyxl

    root.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in (header or dolos_header()):
        ws.append(r)
    for r in rows:
        ws.append(list(r))
    wb.save(root / "Dolos.xlsx")
    if protocols:
        (root / "training_protocols").mkdir(exist_ok=True)
        clips = [str(r[1]) for r in rows]
        with (root / "training_protocols" / "train_fold1.csv").open("w", newline="") as f:
            csv.writer(f).writerows([[c, "x", "male"] for c in clips[: len(clips) // 2]])
        with (root / "training_protocols" / "test_fold1.csv").open("w", newline="") as f:
            csv.writer(f).writerows([[c, "x", "male"] for c in clips[len(clips) // 2 :]] + [["NOT_A_CLIP", "x", "male"]])
    return root


def dolos_fixture(root: Path) -> Path:
    """12 clips of 6 speakers (one named by first name only), 6 truthful / 6 deceptive, with interval typos."""
    t = dt.time
    rows = []
    speakers = [("Ann Smith", "female"), ("Bob Jones", "male"), ("Cara Lee", "female"), ("Dan Ray", "male"),
                ("Eve Hart", "female"), ("Finn Ode", "male")]
    for k in range(12):
        name, gender = speakers[k % 6]
        if k == 6:
            name = "Ann"  # first name only: joins "Ann Smith" of the same episode
        lab = ["truth", "deception", "Truth ", "lie"][k % 4]
        clip = f"XX_WILTY_EP{k % 6 + 1}_{'truth' if 'ru' in lab else 'lie'}{k}"
        cells = {
            "smile": "[2:10,2:11]",
            "gaze-side": "[[2:06,2:07],[2:10,2:11]]",
            "head-nod": "[2.08, 2.09]" if k % 2 else 0,
            "laughter": 1 if k % 3 == 0 else 0,
            "hand-scratching": "[9:00,9:01]" if k == 5 else 0,  # far outside the clip: kept as presence only
        }
        rows.append(dolos_row(clip, lab, t(2, 6), t(2, 11), name, gender, cells))
    return write_dolos(root, rows)


def write_rlt(
    root: Path, n: int = 12, transcriptions: bool = True, extra: Optional[dict[str, str]] = None, drop: Optional[str] = None
) -> Path:
    """A Real-Life Trial release: Annotation/All_Gestures_Deceptive and Truthful.csv (+ Transcription/)."""
    (root / "Annotation").mkdir(parents=True, exist_ok=True)
    cols = [c for c in RLT_COLUMNS if c != drop]
    rows = []
    for k in range(n):
        lie = k % 2 == 0
        clip = f"trial_{'lie' if lie else 'truth'}_{k + 1:03d}"
        vals = {c: "1" if (i + k) % 5 == 0 else "0" for i, c in enumerate(cols)}
        vals.update(extra or {})
        rows.append([f"{clip}.mp4", *[vals[c] for c in cols], "deceptive" if lie else "truthful"])
        if transcriptions:
            d = root / "Transcription" / ("Deceptive" if lie else "Truthful")
            d.mkdir(parents=True, exist_ok=True)
            (d / f"{clip}.txt").write_text(f"I was at home that night, statement {k}.\n", encoding="utf-8")
    with (root / "Annotation" / "All_Gestures_Deceptive and Truthful.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", *cols, "class"])
        w.writerows(rows)
    return root


def write_groups(path: Path, n: int = 12, per: int = 3) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "subject"])
        for k in range(n):
            w.writerow([f"trial_{'lie' if k % 2 == 0 else 'truth'}_{k + 1:03d}.mp4", f"S{k // per}"])
    return path
