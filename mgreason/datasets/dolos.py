"""DOLOS (Guo et al., ICCV 2023): the annotation release as items with MUMIN transcripts.

``--root`` holds ``Dolos.xlsx`` (MUMIN codes as time intervals in the episode) and/or ``train_dolos.xlsx``
(the same codes as 0/1), and optionally ``training_protocols/*.csv``. Both sheets have three header rows
(group / sub-group / field); a code column is named by its sub-group and field (``Gaze / Up``), because
several fields repeat (``Exaggerated Opening`` under Eyes and under Mouth Openness).

Times. The episode times of a clip (start, end) and of the code intervals are minutes:seconds. Excel read
many ``m:ss`` cells as ``h:mm`` (a time of day, or past 24 hours a duration): those are read back as
minutes:seconds; ``12.03`` (a number) is 12:03 and ``27.2`` is 27:20. An interval cell holds one
``[m:ss,m:ss]`` or a list of them; the typing slips of the release are read too (``.``, ``;`` or a full-width
comma for ``:``, stray brackets, spaces, ``!`` for ``1``). Interval times become seconds from the clip's
start. An interval that is reversed or lies more than :data:`SPAN_TOLERANCE_S` outside the clip, and every
code of a clip whose end is before its start, is kept as a presence-only event (the code was annotated, its
time is unusable) and counted in the notes; a cell that is a number other than 0 (``1``) is a presence-only
event too. A text cell with no readable interval is an error naming the file, row and column.

Speakers. ``group`` is the participant: names are compared without case and spacing; a first name alone
(``Lee``) joins the one full name with that first name in the same episode, else the one in the whole sheet,
else stays its own speaker. ``--groups`` overrides it (CSV ``id,subject`` with clip names).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Optional

from mgreason.datasets.deception import DeceptionData, clip_key, make_item, parse_label, speaker_disjoint_split
from mgreason.errors import DataError, DatasetMissingError
from mgreason.mumin import BY_DOLOS, CODES, header_key
from mgreason.transcript import MGEvent, Transcript

DOLOS_OBTAIN = (
    "DOLOS's annotations (Dolos.xlsx, train_dolos.xlsx, training_protocols/) are in the authors' repository "
    "NMS05/Audio-Visual-Deception-Detection-DOLOS-Dataset-and-Parameter-Efficient-Crossmodal-Learning "
    "(folders 'DOLOS Dataset' and 'training_protocols'); put them in one folder and pass it as --root."
)
SPAN_TOLERANCE_S = 2.0  # an interval up to this far outside the clip is clipped to it

_GENERAL = {
    "url": "video url",
    "clip": "file name of the video clip",
    "label": 'label "truth" or "deception"',
    "start": "start time in the episode",
    "end": "end time in the episode",
    "show": "name of the game show",
    "participant": "participants name",
    "gender": "participants gender",
}
_REQUIRED = ("clip", "label")

_TIME_TOKEN = re.compile(r"(\d{1,3})\s*(?:[:.;,]\s*){1,2}(\d{2})(?!\d)")
_TRANSLATE = str.maketrans({"：": ":", "，": ",", "【": "[", "】": "]", "；": ";", "。": ".", "!": "1"})
_EPISODE = re.compile(r"EP\s*(\d+)", re.IGNORECASE)


def _col(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i + 1)


def _read_sheet(path: Path) -> list[tuple[Any, ...]]:
    try:
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            return [tuple(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
        finally:
            wb.close()
    except (OSError, ValueError, KeyError) as e:
        raise DataError(f"cannot read the spreadsheet: {e}", file=path) from None
    except Exception as e:  # zip / xml errors of a damaged file
        raise DataError(f"cannot read the spreadsheet: {type(e).__name__}: {e}", file=path) from None


def _columns(rows: list[tuple[Any, ...]], path: Path) -> tuple[dict[str, int], dict[int, Any]]:
    """General-information columns by role, and code columns → MUMIN code (from the three header rows)."""
    if len(rows) < 3:
        raise DataError("expected three header rows (group / sub-group / field)", file=path)
    width = max(len(r) for r in rows[:3])
    head = [list(r) + [None] * (width - len(r)) for r in rows[:3]]
    general: dict[str, int] = {}
    codes: dict[int, Any] = {}
    group = sub = None
    wanted = {v: k for k, v in _GENERAL.items()}
    for i in range(width):
        g, s, f = (head[0][i], head[1][i], head[2][i])
        if g is not None and str(g).strip():
            group, sub = header_key(str(g)), None
        if s is not None and str(s).strip():
            sub = header_key(str(s))
        if f is None or not str(f).strip():
            continue
        field = header_key(str(f))
        if field in wanted:
            general[wanted[field]] = i
            continue
        if group in (None, "general information"):
            continue  # an unknown general column (kept out of the items)
        code = BY_DOLOS.get((sub or group or "", field))  # a group without sub-groups (Gaze) names itself
        if code is None:
            raise DataError(
                f"row 3, column {_col(i)}: unknown MUMIN code column {sub or group!r} / {field!r} "
                "(the DOLOS sheet's codes are listed in mgreason.mumin)",
                file=path,
            )
        codes[i] = code
    for role in _REQUIRED:
        if role not in general:
            raise DataError(f"row 3: no {_GENERAL[role]!r} column", file=path)
    present = {c.code for c in codes.values()}
    missing = [c for c in CODES if c.dolos and c.code not in present]
    if missing:
        c = missing[0]
        raise DataError(
            f"row 3: the code column {c.dolos[0]!r} / {c.dolos[1]!r} is missing"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
            file=path,
        )
    return general, codes


def episode_seconds(value: Any, path: Path, row: int, column: str) -> Optional[float]:
    """A minutes:seconds time of the DOLOS sheet in seconds (see the module doc for Excel's misreadings);
    None when the cell is empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        value = value.time()
    if isinstance(value, dt.time):
        if value.second or value.microsecond:  # a real h:mm:ss
            return value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
        return value.hour * 60 + value.minute  # "m:ss" read as "h:mm"
    if isinstance(value, dt.timedelta):
        total = value.total_seconds()
        if total % 60:
            return total
        return total / 60  # "mm:ss" past 24 "hours"
    if isinstance(value, bool):
        raise DataError(f"row {row}, column {column}: not a time: {value!r}", file=path)
    if isinstance(value, (int, float)):
        minutes = int(value)
        secs = round((value - minutes) * 100)
        if secs >= 60:
            raise DataError(f"row {row}, column {column}: not minutes.seconds: {value!r}", file=path)
        return minutes * 60 + secs
    text = str(value).translate(_TRANSLATE).strip()
    parts = re.split(r"\s*[:.;]\s*", text)
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        raise DataError(f"row {row}, column {column}: not a time: {value!r}", file=path) from None
    if len(nums) == 2 and nums[1] < 60:
        return nums[0] * 60 + nums[1]
    if len(nums) == 3 and nums[1] < 60 and nums[2] < 60:
        return nums[0] * 3600 + nums[1] * 60 + nums[2]
    raise DataError(f"row {row}, column {column}: not a time (minutes:seconds): {value!r}", file=path)


def parse_intervals(value: Any, path: Path, row: int, column: str) -> Optional[list[tuple[float, float]]]:
    """A code cell: ``None`` when the code is absent (0, empty), ``[]`` when present without times (a number
    other than 0), else the intervals in episode seconds. Unreadable text is a one-line error."""
    if value is None:
        return None
    if isinstance(value, bool):
        return [] if value else None
    if isinstance(value, (int, float)):
        return None if value == 0 else []
    text = str(value).translate(_TRANSLATE).strip()
    if not text or text in ("0", "0.0"):
        return None
    if text in ("1", "1.0"):
        return []
    tokens = _TIME_TOKEN.findall(text)
    if not tokens or len(tokens) % 2:
        raise DataError(
            f"row {row}, column {column}: unreadable interval {str(value)!r} "
            "(expected [m:ss,m:ss] or [[m:ss,m:ss],...], or 0)",
            file=path,
        )
    secs: list[float] = []
    for m, s in tokens:
        if int(s) >= 60:
            raise DataError(f"row {row}, column {column}: unreadable interval {str(value)!r} (seconds {s} ≥ 60)", file=path)
        secs.append(int(m) * 60 + int(s))
    return list(zip(secs[::2], secs[1::2]))


def _name_key(name: str) -> str:
    return " ".join(str(name).lower().replace(".", " ").split())


def speaker_groups(rows: list[tuple[str, str, str]]) -> dict[str, str]:
    """clip → speaker from (clip, participant name, episode). A first name alone joins the one full name with
    that first name in the same episode, else the one in the whole sheet; when several full names share it,
    they and the first name become one speaker (``david mitchell / david o'doherty``): grouping too much never
    lets a speaker into two parts of a split, grouping too little would."""
    full_by_episode: dict[tuple[str, str], set[str]] = defaultdict(set)
    full_all: dict[str, set[str]] = defaultdict(set)
    for _, name, ep in rows:
        key = _name_key(name)
        if " " in key:
            first = key.split()[0]
            full_by_episode[(ep, first)].add(key)
            full_all[first].add(key)
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    keys: dict[str, str] = {}
    for clip, name, ep in rows:
        key = _name_key(name) or "unknown"
        keys[clip] = key
        find(key)
        if " " not in key:
            cands = full_by_episode.get((ep, key)) or full_all.get(key) or set()
            for c in cands:
                parent[find(c)] = find(key)
    members: dict[str, set[str]] = defaultdict(set)
    for key in parent:
        members[find(key)].add(key)
    names = {root: " / ".join(sorted(k for k in ks if " " in k) or sorted(ks)) for root, ks in members.items()}
    return {clip: names[find(key)] for clip, key in keys.items()}


def _find(root: Path, name: str) -> Optional[Path]:
    for p in (root / name, root / "DOLOS Dataset" / name):
        if p.is_file():
            return p
    return None


def read_protocols(root: Path, known: set[str]) -> tuple[dict[str, dict[str, list[str]]], int]:
    """The paper's protocols as splits of clip keys (3 folds; long/short; male/female), and how many listed
    clips are not in the sheet."""
    folder = root / "training_protocols"
    if not folder.is_dir():
        return {}, 0
    lists: dict[str, list[str]] = {}
    unknown = 0
    for p in sorted(folder.glob("*.csv")):
        ids: list[str] = []
        with p.open(newline="", encoding="utf-8-sig") as f:
            for row in csv.reader(f):
                if not row or not row[0].strip():
                    continue
                key = clip_key(row[0])
                if key in known:
                    ids.append(key)
                else:
                    unknown += 1
        lists[p.stem] = ids
    splits: dict[str, dict[str, list[str]]] = {}
    for k in (1, 2, 3):
        if f"train_fold{k}" in lists and f"test_fold{k}" in lists:
            splits[f"fold{k}"] = {"train": lists[f"train_fold{k}"], "test": lists[f"test_fold{k}"]}
    for name in ("long", "short", "male", "female"):
        if name in lists:
            splits[name] = {"all": lists[name]}
    return splits, unknown


def load_dolos(root: str | Path, *, groups: Optional[dict[str, str]] = None, seed: int = 0) -> DeceptionData:
    """Items (one per clip, in sheet order, ids ``dolos-0001``...) with MUMIN transcripts, the protocols and a
    speaker-disjoint split (``speaker``: train / dev / test)."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetMissingError(f"DOLOS folder not found. {DOLOS_OBTAIN}", file=root)
    path = _find(root, "Dolos.xlsx") or _find(root, "train_dolos.xlsx")
    if path is None:
        raise DatasetMissingError(f"no Dolos.xlsx or train_dolos.xlsx in the folder. {DOLOS_OBTAIN}", file=root)
    rows = _read_sheet(path)
    general, codes = _columns(rows, path)
    notes: Counter[str] = Counter()
    parsed: list[dict[str, Any]] = []
    seen: dict[str, int] = {}  # clip -> sheet row
    for r_index, row in enumerate(rows[3:], 4):
        row = tuple(row) + (None,) * (max(codes) + 1 - len(row))
        cell = lambda role: row[general[role]] if role in general else None  # noqa: E731
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
            continue
        raw_clip = cell("clip")
        clip = clip_key(str(raw_clip or ""))
        if not clip:
            raise DataError(f"row {r_index}, column {_col(general['clip'])}: no clip name", file=path)
        if clip in seen:  # the release names two different clips YW_WILTY_EP46_truth1: keep both, told apart
            notes["clip names used twice (the second kept as NAME#2)"] += 1
            clip = f"{clip}#2"
        seen[clip] = r_index
        label = parse_label(cell("label"), path, r_index, _col(general["label"]))
        start = episode_seconds(cell("start"), path, r_index, _col(general["start"])) if "start" in general else None
        end = episode_seconds(cell("end"), path, r_index, _col(general["end"])) if "end" in general else None
        span_ok = start is not None and end is not None and end > start
        if start is not None and end is not None and not span_ok:
            notes["clips whose end is not after their start (all codes kept without times)"] += 1
        duration = (end - start) if span_ok else None  # type: ignore[operator]
        events: list[MGEvent] = []
        for i, code in codes.items():
            ivs = parse_intervals(row[i], path, r_index, _col(i))
            if ivs is None:
                continue
            placed = False
            for a, b in ivs:
                if not span_ok:
                    break
                if b < a:
                    notes["reversed intervals (kept as presence-only)"] += 1
                    continue
                s0, e0 = a - start, b - start  # type: ignore[operator]
                if s0 < -SPAN_TOLERANCE_S or e0 > duration + SPAN_TOLERANCE_S:  # type: ignore[operator]
                    notes[f"intervals more than {SPAN_TOLERANCE_S:g} s outside their clip (kept as presence-only)"] += 1
                    continue
                s0, e0 = min(max(s0, 0.0), duration), min(max(e0, 0.0), duration)  # type: ignore[type-var]
                events.append(MGEvent(start_s=s0, end_s=e0, label=code.name))
                placed = True
            if not placed:
                if ivs:
                    pass  # every interval unusable: counted above
                else:
                    notes["cells marked present without times"] += 1
                events.append(MGEvent(start_s=0.0, end_s=duration or 0.0, label=code.name, presence=True))
        parsed.append(
            {
                "clip": clip,
                "label": label,
                "source_label": str(cell("label")).strip(),
                "participant": " ".join(str(cell("participant") or "").split()),
                "episode": (m.group(0).upper().replace(" ", "") if (m := _EPISODE.search(clip)) else ""),
                "gender": str(cell("gender") or "").strip().lower() or None,
                "duration": duration,
                "events": events,
            }
        )
    if not parsed:
        raise DataError("no clips below the three header rows", file=path)
    speaker = speaker_groups([(p["clip"], p["participant"], p["episode"]) for p in parsed])
    if groups is not None:
        absent = [p["clip"] for p in parsed if p["clip"] not in groups]
        if absent:
            raise DataError(f"no subject for {len(absent)} clip(s), e.g. {absent[0]!r}", file="--groups")
        speaker = {p["clip"]: groups[p["clip"]] for p in parsed}
    items = []
    for n, p in enumerate(parsed, 1):
        item_id = f"dolos-{n:04d}"
        t = Transcript(id=item_id, duration_s=p["duration"], taxonomy="mumin", events=p["events"])
        items.append(
            make_item(
                item_id, p["label"], speaker[p["clip"]], t, clip=p["clip"], participant=p["participant"],
                episode=p["episode"], gender=p["gender"], source_label=p["source_label"],
            )
        )
    by_clip = {it["clip"]: it["id"] for it in items}
    protocols, unknown = read_protocols(root, set(by_clip))
    splits = {"speaker": speaker_disjoint_split(items, seed=seed)}
    for name, parts in protocols.items():
        splits[f"protocol_{name}"] = {part: [by_clip[c] for c in ids] for part, ids in parts.items()}
    note_lines = [f"read {len(items)} clips from {path.name}" + (" (codes as 0/1: presence only)" if path.name.startswith("train") else "")]
    note_lines += [f"{k}: {v}" for k, v in sorted(notes.items())]
    if unknown:
        note_lines.append(f"protocol rows naming clips absent from the sheet: {unknown}")
    return DeceptionData(name="deception_dolos", dataset="dolos", items=items, splits=splits, notes=note_lines)


__all__ = ["DOLOS_OBTAIN", "SPAN_TOLERANCE_S", "episode_seconds", "load_dolos", "parse_intervals", "speaker_groups"]
