"""Where sample records and failed attempts live while an evaluation runs.

:class:`RecordStore` (``samples.jsonl``) and :class:`AttemptLog` (``attempts.jsonl``) are append-and-fsync
files: a kill loses at most the batch in flight, and reading repairs a torn last line and drops duplicate
cells. :class:`MemoryStore` / :class:`MemoryAttempts` are the in-process equivalents used by ``run-scenario``,
which writes its run directory only once everything is answered. The engine works with either.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from pydantic import ValidationError

from mgreason.eval.records import SampleRecord
from mgreason.fileio import atomic_write_text, fsync_dir

CellKey = tuple[str, str, int]  # (condition, item_id, repeat) within one (model, scenario)


# --------------------------------------------------------------------------- durable files


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def append_lines(path: Path, lines: list[str]) -> None:
    """Append whole lines and fsync before returning (one write per batch)."""
    if not lines:
        return
    new = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(line.rstrip("\n") + "\n" for line in lines).encode("utf-8")
    fd = os.open(str(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    finally:
        os.close(fd)
    if new:
        fsync_dir(path.parent)


def read_jsonl(path: Path, parse: Callable[[dict], Any]) -> tuple[list[Any], int]:
    """Parsed lines of a JSONL file and the number of lines dropped (torn or invalid)."""
    if not path.exists():
        return [], 0
    raw = path.read_bytes()
    out, bad = [], 0
    for chunk in raw.split(b"\n"):
        if not chunk.strip():
            continue
        try:
            out.append(parse(json.loads(chunk.decode("utf-8"))))
        except (ValueError, UnicodeDecodeError, ValidationError, TypeError, KeyError):
            bad += 1
    if raw and not raw.endswith(b"\n") and bad == 0:
        bad = -1  # the last line is whole but lacks its newline: rewrite to add it
    return out, bad


# --------------------------------------------------------------------------- stores


class RecordStore:
    """``samples.jsonl`` of one (model, scenario): exactly one record per finished cell."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def load(self, repair: bool = True) -> dict[CellKey, SampleRecord]:
        recs, bad = read_jsonl(self.path, SampleRecord.model_validate)
        out: dict[CellKey, SampleRecord] = {}
        dups = 0
        for r in recs:
            key = (r.condition, r.item_id, r.repeat)
            if key in out:
                dups += 1
                continue
            out[key] = r
        if repair and (bad or dups):
            atomic_write_text(self.path, "".join(r.model_dump_json() + "\n" for r in out.values()))
        return out

    def append(self, records: Iterable[SampleRecord]) -> None:
        append_lines(self.path, [r.model_dump_json() for r in records])

    def drop(self, keys: set[CellKey]) -> int:
        """Remove the records of ``keys`` (used by ``--retry-failed``); returns how many."""
        recs = self.load(repair=True)
        keep = {k: r for k, r in recs.items() if k not in keys}
        if len(keep) != len(recs):
            atomic_write_text(self.path, "".join(r.model_dump_json() + "\n" for r in keep.values()))
        return len(recs) - len(keep)


@dataclass
class Attempts:
    count: int = 0
    last_error: Optional[str] = None


def _attempt(d: dict) -> dict:
    return {"condition": str(d["condition"]), "item_id": str(d["item_id"]), "repeat": int(d["repeat"]), "error": d.get("error")}


class AttemptLog:
    """``attempts.jsonl``: one line per failed attempt of a cell."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def load(self, repair: bool = True) -> dict[CellKey, Attempts]:
        rows, bad = read_jsonl(self.path, _attempt)
        if repair and bad:
            atomic_write_text(self.path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        out: dict[CellKey, Attempts] = {}
        for r in rows:
            a = out.setdefault((r["condition"], r["item_id"], r["repeat"]), Attempts())
            a.count += 1
            a.last_error = r["error"]
        return out

    def append(self, failures: list[tuple[CellKey, int, str]]) -> None:
        append_lines(
            self.path,
            [
                json.dumps(
                    {"condition": c, "item_id": i, "repeat": r, "attempt": n, "error": err}, ensure_ascii=False
                )
                for (c, i, r), n, err in failures
            ],
        )

    def drop(self, keys: set[CellKey]) -> None:
        rows, _ = read_jsonl(self.path, _attempt)
        keep = [r for r in rows if (r["condition"], r["item_id"], r["repeat"]) not in keys]
        if len(keep) != len(rows):
            atomic_write_text(self.path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in keep))


class MemoryStore:
    """Records kept in memory (same interface as :class:`RecordStore`)."""

    def __init__(self) -> None:
        self.records: dict[CellKey, SampleRecord] = {}

    def load(self, repair: bool = True) -> dict[CellKey, SampleRecord]:
        return dict(self.records)

    def append(self, records: Iterable[SampleRecord]) -> None:
        for r in records:
            self.records.setdefault((r.condition, r.item_id, r.repeat), r)


class MemoryAttempts:
    """Failed attempts kept in memory (same interface as :class:`AttemptLog`)."""

    def __init__(self) -> None:
        self.attempts: dict[CellKey, Attempts] = {}

    def load(self, repair: bool = True) -> dict[CellKey, Attempts]:
        return dict(self.attempts)

    def append(self, failures: list[tuple[CellKey, int, str]]) -> None:
        for key, n, err in failures:
            a = self.attempts.setdefault(key, Attempts())
            a.count, a.last_error = n, err


__all__ = ["AttemptLog", "Attempts", "CellKey", "MemoryAttempts", "MemoryStore", "RecordStore", "append_lines",
           "atomic_write_json", "read_jsonl"]
