"""What was said, read into the dialogue turns the scenario templates show (``item.dialogue``).

========================  =========================================================================
file                      read as
========================  =========================================================================
``.srt``                  SubRip cues: ``1`` / ``00:00:01,000 --> 00:00:04,000`` / text lines
``.vtt``                  WebVTT cues (``WEBVTT`` header; hours optional; ``<v Name>`` voice tags)
``.json``                 the turns of docs/scenarios.md: ``[{"speaker", "text", "at"?}, ...]``
                          (or ``{"dialogue": [...]}``); ``start_s`` is accepted for ``at``
anything else             plain text, one turn per non-empty line
========================  =========================================================================

A line (or cue) ``Name: text`` is spoken by ``Name``; otherwise by ``default_speaker``. Timed turns
(SRT, WebVTT, JSON with ``at``/``start_s``) keep their start as ``at`` = ``mm:ss.s``, which the templates
print before the turn, so the model can line the words up with the gestures' timeline.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Optional

from mgreason.errors import DataError
from mgreason.transcript import format_time

__all__ = ["read_dialogue", "parse_dialogue_text", "DIALOGUE_SUFFIXES"]

DIALOGUE_SUFFIXES = (".srt", ".vtt", ".txt", ".dialogue.json")
MAX_TURNS = 2000

_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{2})[,.](\d{1,3})"
_CUE = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}")
_SPEAKER = re.compile(r"^\s*([^:\n]{1,40}?):\s+(.+)$")
_VOICE = re.compile(r"<v(?:\.[^ >]*)?\s+([^>]+)>")
_TAG = re.compile(r"</?[^>]+>")


def _seconds(h: Optional[str], m: str, s: str, frac: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(frac.ljust(3, "0")[:3]) / 1000.0


def _turn(text: str, default_speaker: str, start_s: Optional[float] = None, end_s: Optional[float] = None) -> Optional[dict[str, Any]]:
    speaker = default_speaker
    v = _VOICE.search(text)
    if v:
        speaker = v.group(1).strip()
    text = " ".join(_TAG.sub("", text).split())
    if not text:
        return None
    m = _SPEAKER.match(text)
    if m and not v:
        speaker, text = m.group(1).strip(), m.group(2).strip()
    turn: dict[str, Any] = {"speaker": speaker, "text": text}
    if start_s is not None:
        turn["at"] = format_time(start_s)
        turn["start_s"] = round(start_s, 3)
        if end_s is not None:
            turn["end_s"] = round(end_s, 3)
    return turn


def _cues(text: str, default_speaker: str, path: Path) -> list[dict[str, Any]]:
    """SubRip and WebVTT: blocks separated by blank lines, each with one ``start --> end`` line."""
    turns: list[dict[str, Any]] = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = [ln for ln in block.split("\n") if ln.strip()]
        k = next((i for i, ln in enumerate(lines) if _CUE.match(ln)), None)
        if k is None:
            continue  # WEBVTT header, NOTE / STYLE blocks, stray numbers
        g = _CUE.match(lines[k]).groups()  # type: ignore[union-attr]
        start, end = _seconds(*g[:4]), _seconds(*g[4:])
        if end < start:
            raise DataError(f"cue ends before it starts: {lines[k].strip()!r}", file=path)
        t = _turn(" ".join(lines[k + 1 :]), default_speaker, start, end)
        if t is not None:
            turns.append(t)
    if not turns:
        raise DataError("no timed cues found ('00:00:01,000 --> 00:00:04,000' lines)", file=path)
    return turns


def _json_turns(data: Any, default_speaker: str, path: Path) -> list[dict[str, Any]]:
    if isinstance(data, dict) and isinstance(data.get("dialogue"), list):
        data = data["dialogue"]
    if not isinstance(data, list):
        raise DataError('expected a list of turns [{"speaker": ..., "text": ...}] or {"dialogue": [...]}', file=path)
    turns = []
    for i, t in enumerate(data):
        if isinstance(t, str):
            t = {"text": t}
        if not isinstance(t, dict) or not isinstance(t.get("text"), str) or not t["text"].strip():
            raise DataError("a turn needs a non-empty 'text'", file=path, field=f"dialogue[{i}]")
        turn: dict[str, Any] = {"speaker": str(t.get("speaker") or default_speaker), "text": t["text"].strip()}
        if t.get("at"):
            turn["at"] = str(t["at"])
        elif isinstance(t.get("start_s"), (int, float)):
            turn["at"] = format_time(float(t["start_s"]))
        for k in ("start_s", "end_s"):
            if isinstance(t.get(k), (int, float)):
                turn[k] = float(t[k])
        turns.append(turn)
    return turns


def parse_dialogue_text(text: str, *, kind: str, default_speaker: str = "Speaker", path: Path = Path("<dialogue>")) -> list[dict[str, Any]]:
    """Turns from the text of a dialogue file; ``kind``: srt | vtt | json | text."""
    if kind in ("srt", "vtt"):
        turns = _cues(text, default_speaker, path)
    elif kind == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"line {e.lineno}, column {e.colno}: invalid JSON: {e.msg}", file=path) from None
        turns = _json_turns(data, default_speaker, path)
    else:
        turns = [t for ln in text.splitlines() if (t := _turn(ln, default_speaker)) is not None]
    if not turns:
        raise DataError("the dialogue file is empty", file=path)
    if len(turns) > MAX_TURNS:
        raise DataError(f"{len(turns)} turns; at most {MAX_TURNS} are shown to a model", file=path)
    return turns


def read_dialogue(path: str | Path, default_speaker: str = "Speaker") -> list[dict[str, Any]]:
    """The turns of a dialogue file (see the module docstring); bad input is one :class:`DataError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError("no such dialogue file", file=path, field="--dialogue") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read the dialogue: {getattr(e, 'strerror', None) or e}", file=path, field="--dialogue") from None
    suffix = path.suffix.lower()
    kind = {".srt": "srt", ".vtt": "vtt", ".json": "json"}.get(suffix, "text")
    if kind == "text" and text.lstrip().startswith("WEBVTT"):
        kind = "vtt"
    return parse_dialogue_text(text, kind=kind, default_speaker=default_speaker, path=path)
