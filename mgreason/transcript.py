"""Timestamped micro-gesture transcripts: the evidence handed to the LLM.

A transcript is what the recognizer (or a human annotator) says happened in a
recording: a sorted list of events ``(start_s, end_s, label, confidence)``.
It is read from and written to JSON, and rendered to text for prompts.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from mgreason.fileio import atomic_write_text

Source = Literal["annotation", "recognizer", "synthetic"]

# Times are bounded: ten years of recording is far beyond any real one, and keeps every time
# printable (``format_time``) and every frame index a machine integer.
MAX_TIME_S = 315_576_000.0
MAX_TRANSCRIPT_BYTES = 64 << 20


class MGEvent(BaseModel):
    """One micro-gesture occurrence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_s: float = Field(
        ge=0, le=MAX_TIME_S, allow_inf_nan=False, description="start time in seconds from the start of the recording"
    )
    end_s: float = Field(ge=0, le=MAX_TIME_S, allow_inf_nan=False, description="end time in seconds")
    label: str = Field(min_length=1, description="canonical class name (see mgreason.taxonomy)")
    label_id: Optional[int] = Field(default=None, ge=0, description="0-based class index in the taxonomy")
    confidence: float = Field(
        default=1.0, ge=0.0, le=1.0, allow_inf_nan=False, description="detector confidence; 1.0 for annotations"
    )
    source: Source = "annotation"

    @model_validator(mode="after")
    def _check_order(self) -> "MGEvent":
        if self.end_s < self.start_s:
            raise ValueError(f"end_s ({self.end_s}) is before start_s ({self.start_s})")
        return self

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


class Transcript(BaseModel):
    """All micro-gesture events of one recording, sorted by start time."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    fps: Optional[float] = Field(default=None, gt=0, allow_inf_nan=False, description="frame rate of the source recording")
    duration_s: Optional[float] = Field(
        default=None, ge=0, le=MAX_TIME_S, allow_inf_nan=False, description="length of the recording in seconds"
    )
    layout: Optional[str] = Field(default=None, description="skeleton joint layout of the source, e.g. imigue22")
    taxonomy: Optional[str] = Field(default=None, description="class taxonomy of the labels, e.g. imigue")
    events: list[MGEvent] = Field(default_factory=list)

    @field_validator("events")
    @classmethod
    def _inside_duration_then_sort(cls, events: list[MGEvent], info: ValidationInfo) -> list[MGEvent]:
        # checked in the file's order, so the index is the one the user sees in the file
        duration = info.data.get("duration_s")
        if duration is not None:
            for i, e in enumerate(events):
                if e.end_s > duration + 1e-6:
                    raise ValueError(
                        f"events[{i}] ends at {e.end_s:.3f}s, after the recording's duration_s={duration:.3f}s"
                    )
        return sorted(events, key=lambda e: (e.start_s, e.end_s, e.label))

    def label_problems(self) -> list[str]:
        """What is wrong with the transcript's taxonomy and labels: an unknown taxonomy, or event
        labels that are no class of it (by canonical name or short alias). Without a ``taxonomy``,
        a label must be a class of some known taxonomy. Empty when everything is known."""
        from mgreason.taxonomy import COARSE_SUFFIX, TAXONOMIES, get_taxonomy

        if self.taxonomy is not None:
            try:
                taxonomies = [get_taxonomy(self.taxonomy)]
            except KeyError:
                return [f"unknown taxonomy {self.taxonomy!r} (known: {', '.join(TAXONOMIES)})"]
        else:
            taxonomies = list(TAXONOMIES.values())
        def known(label: str) -> bool:
            if label.endswith(COARSE_SUFFIX):  # a recognizer's body-region fallback, e.g. "head-hand (coarse)"
                group = label[: -len(COARSE_SUFFIX)]
                return any(group == c.body_part for t in taxonomies for c in t.classes)
            return any(label in t for t in taxonomies)

        unknown = sorted({e.label for e in self.events if not known(e.label)})
        if not unknown:
            return []
        where = f"the {taxonomies[0].name} taxonomy" if self.taxonomy is not None else "any known taxonomy"
        shown = ", ".join(repr(u) for u in unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        return [f"gesture label{'s' if len(unknown) > 1 else ''} {shown} not in {where}"]

    # ---- I/O -------------------------------------------------------------
    @classmethod
    def read(cls, path: str | Path) -> "Transcript":
        """A transcript JSON file (a regular file of at most :data:`MAX_TRANSCRIPT_BYTES`, UTF-8);
        a missing, special, oversized, non-UTF-8 or too deeply nested one is one
        :class:`~mgreason.errors.DataError` line; invalid content raises pydantic's ``ValidationError``."""
        from mgreason.errors import DataError
        from mgreason.fileio import read_input_bytes

        path = Path(path)
        data = read_input_bytes(path, error=DataError, max_bytes=MAX_TRANSCRIPT_BYTES)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise DataError(f"not UTF-8 text (byte {e.start})", file=path) from None
        try:
            return cls.model_validate_json(text)  # a ValidationError is the caller's to word
        except RecursionError:
            raise DataError("invalid transcript: JSON nested too deep", file=path) from None

    def write(self, path: str | Path) -> None:
        atomic_write_text(Path(path), self.model_dump_json(indent=2, exclude_none=True) + "\n")

    # ---- rendering ---------------------------------------------------------
    def render(self, show_confidence: Optional[bool] = None, empty: str = "(no micro-gestures observed)") -> str:
        """One line per event: ``00:06.7–00:10.3  touching or scratching head  (0.83)``.

        Confidence is shown by default for recognizer output and hidden for annotations.
        """
        if not self.events:
            return empty
        lines = []
        for e in self.events:
            show = show_confidence if show_confidence is not None else e.source == "recognizer"
            line = f"{format_time(e.start_s)}–{format_time(e.end_s)}  {e.label}"
            if show:
                line += f"  ({e.confidence:.2f})"
            lines.append(line)
        return "\n".join(lines)

    def aggregate(self) -> list[tuple[str, int, float]]:
        """Per-class ``(label, count, total duration in seconds)``, most frequent first."""
        counts: Counter[str] = Counter()
        durations: dict[str, float] = defaultdict(float)
        for e in self.events:
            counts[e.label] += 1
            durations[e.label] += e.duration_s
        return sorted(((k, counts[k], durations[k]) for k in counts), key=lambda t: (-t[1], -t[2], t[0]))

    def render_aggregate(self, empty: str = "(no micro-gestures observed)") -> str:
        """Counts and total durations per class instead of a timeline."""
        agg = self.aggregate()
        if not agg:
            return empty
        lines = [f"{label}: {n}× (total {dur:.1f} s)" for label, n, dur in agg]
        if self.duration_s:
            lines.append(f"recording length: {self.duration_s:.1f} s, {len(self.events)} micro-gestures in all")
        return "\n".join(lines)


def format_time(seconds: float) -> str:
    """``mm:ss.s`` (``h:mm:ss.s`` past one hour); a time that is not finite prints as ``?``."""
    if not math.isfinite(seconds):
        return "?"
    tenths = int(round(seconds * 10))
    h, rem = divmod(tenths, 36000)
    m, rem = divmod(rem, 600)
    s, t = divmod(rem, 10)
    if h:
        return f"{h}:{m:02d}:{s:02d}.{t}"
    return f"{m:02d}:{s:02d}.{t}"


def write_transcripts_jsonl(transcripts: list[Transcript], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for t in transcripts:
            f.write(t.model_dump_json(exclude_none=True) + "\n")


def load_transcript_json(data: str | bytes | dict) -> Transcript:
    if isinstance(data, (str, bytes)):
        data = json.loads(data)
    return Transcript.model_validate(data)
