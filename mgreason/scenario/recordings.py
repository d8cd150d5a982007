"""Items whose evidence is a recording (``transcripts: {source: recognizer}``): the contract between the
scenario loader and whatever turns recordings into transcripts.

The scenario layer never imports the recognizer: a layer above both (:mod:`mgreason.analyze.recordings`,
used by ``run-scenario``, ``sweep``, ``validate``, ``show-prompt`` and ``analyze``) implements
:class:`RecordingResolver` and hands it to :func:`mgreason.scenario.load_scenario`, which gets
transcripts back, plus what the run's ``config.json`` records about each one (:attr:`ResolvedRecording.provenance`:
the recording's content hash, the checkpoint's identity, the transcript's hash).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Protocol, Sequence

from mgreason.transcript import Transcript

__all__ = ["RecordingResolver", "ResolvedRecording", "NO_RESOLVER_HINT"]

NO_RESOLVER_HINT = (
    "the items are recordings (transcripts.source: recognizer), which are transcribed by `mgreason run-scenario`, "
    "`sweep`, `validate`, `show-prompt` and `analyze`; from Python pass "
    "load_scenario(..., recordings=mgreason.analyze.recordings.RecordingTranscriber())"
)


@dataclass
class ResolvedRecording:
    """The transcript of one recording, and where it came from."""

    transcript: Transcript
    transcript_path: Optional[Path] = None  # the cached transcript file (or the transcript JSON given)
    provenance: dict[str, Any] = field(default_factory=dict)  # recording, recording_sha256, checkpoint, transcript_sha256


class RecordingResolver(Protocol):
    def resolve(
        self, recordings: Sequence[Path], *, checkpoint: Optional[str], base_dir: Path
    ) -> list[ResolvedRecording]:
        """One transcript per recording, in order (``checkpoint``: the spec's ``transcripts.checkpoint``,
        a bundled name or a directory relative to ``base_dir``). Bad input raises
        :class:`~mgreason.errors.MGReasonError` naming the recording."""
        ...
