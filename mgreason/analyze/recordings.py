"""Recordings → transcripts, once: the :class:`~mgreason.scenario.recordings.RecordingResolver` of
``run-scenario``, ``sweep``, ``validate``, ``show-prompt`` and ``analyze``.

A recording is anything ``mgreason transcribe`` reads (a video, an OpenPose directory, a ``.npz`` /
``.npy`` / PYSKL ``.pkl`` skeleton file) or a transcript JSON (used as it is). A recording's transcript
is cached under ``<cache_dir>/transcripts/`` (:func:`mgreason.fileio.cache_dir`; ``$MGREASON_TRANSCRIPT_CACHE``
overrides it), keyed by

* the recording's **content** sha256 (the file's bytes; for a directory, every file's relative path and
  bytes), so a renamed or copied recording is not transcribed again and an edited one is;
* the checkpoint's **identity** (sha256 of its ``config.json`` and weights), so a retrained or retuned
  checkpoint transcribes again;
* :data:`CACHE_VERSION` (bumped when the transcription's defaults change).

The transcript and its metadata sidecar are written atomically (``<key>.json``, ``<key>.meta.json``); a
second call with the same recording and checkpoint reads them instead of loading the recognizer.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from mgreason.errors import DataError
from mgreason.fileio import atomic_write_text, cache_dir
from mgreason.scenario.recordings import ResolvedRecording
from mgreason.transcript import Transcript

__all__ = [
    "CACHE_VERSION",
    "RecordingTranscriber",
    "checkpoint_identity",
    "content_sha256",
    "is_transcript_file",
    "resolve_checkpoint",
    "transcript_cache_dir",
]

CACHE_VERSION = 1
_CHUNK = 1 << 20
_BUNDLED_DEFAULT = "tiny-real298"  # mgreason.recognizer.inference.BUNDLED_CHECKPOINT, without importing torch (a test checks)


def transcript_cache_dir() -> Path:
    """``$MGREASON_TRANSCRIPT_CACHE``, else ``<cache_dir>/transcripts``."""
    import os

    env = os.environ.get("MGREASON_TRANSCRIPT_CACHE")
    return Path(env).expanduser() if env else cache_dir() / "transcripts"


def is_transcript_file(path: Path) -> bool:
    """A ``.json`` file that is not an OpenPose frame: read as a transcript, never transcribed."""
    return path.is_file() and path.suffix.lower() == ".json" and not path.name.endswith("_keypoints.json")


def _hash_file(h: "hashlib._Hash", path: Path) -> None:
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)


def content_sha256(path: Path) -> str:
    """sha256 of a file's bytes, or of a directory's files (relative path and bytes, sorted by path)."""
    h = hashlib.sha256()
    try:
        if path.is_dir():
            for p in sorted(q for q in path.rglob("*") if q.is_file()):
                rel = p.relative_to(path).as_posix().encode()
                h.update(len(rel).to_bytes(4, "little") + rel)
                _hash_file(h, p)
        else:
            _hash_file(h, path)
    except OSError as e:
        raise DataError(f"cannot read the recording: {e.strerror or e}", file=path) from None
    return h.hexdigest()


def _bundled_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("mgreason.recognizer")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "checkpoints"


def resolve_checkpoint(checkpoint: Optional[str | Path], base_dir: Optional[Path] = None) -> Path:
    """A checkpoint directory: None = the bundled default, a bundled name, or a path (relative to ``base_dir``)."""
    bundled = _bundled_dir()
    name = str(checkpoint if checkpoint is not None else _BUNDLED_DEFAULT)
    if "/" not in name and (bundled / name / "config.json").is_file():
        return bundled / name
    p = Path(name).expanduser()
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    if not (p / "config.json").is_file():
        known = ", ".join(sorted(d.name for d in bundled.iterdir() if (d / "config.json").is_file()))
        raise DataError(f"no recognizer checkpoint here (bundled ones: {known})", file=p, field="checkpoint")
    return p


def checkpoint_identity(path: Path) -> dict[str, Any]:
    """``{name, path, sha256}``: sha256 over the checkpoint's config.json and weight files."""
    h = hashlib.sha256()
    files = [path / "config.json"] + sorted(p for p in path.iterdir() if p.suffix in (".safetensors", ".pt", ".bin"))
    for p in files:
        h.update(p.name.encode())
        _hash_file(h, p)
    return {"name": path.name, "path": str(path), "sha256": h.hexdigest()}


@dataclass
class RecordingTranscriber:
    """Transcribes recordings on demand, through the transcript cache (see the module docstring).

    ``on_event(kind, path, seconds)`` is told about each recording: ``"cached"``, ``"transcribed"``
    or ``"transcript"`` (a transcript JSON given as the recording)."""

    cache_root: Optional[Path] = None
    on_event: Optional[Callable[[str, Path, float], None]] = None
    progress: Optional[Callable[[str], Callable[[int, Optional[int]], None]]] = None
    timings: dict[str, float] = field(default_factory=lambda: {"hash": 0.0, "load_model": 0.0, "transcribe": 0.0})
    _models: dict[str, Any] = field(default_factory=dict, repr=False)

    def _root(self) -> Path:
        return Path(self.cache_root) if self.cache_root is not None else transcript_cache_dir()

    def _checkpoint(self, checkpoint: Optional[str], base_dir: Path) -> tuple[Path, dict[str, Any]]:
        ck = resolve_checkpoint(checkpoint, base_dir)
        return ck, checkpoint_identity(ck)

    def _recognizer(self, ck: Path, ident: dict[str, Any]) -> Any:
        rec = self._models.get(ident["sha256"])
        if rec is None:
            t0 = time.perf_counter()  # the import (torch) is part of what loading the recognizer costs
            from mgreason.recognizer.inference import Recognizer

            rec = Recognizer.load(ck)
            self.timings["load_model"] += time.perf_counter() - t0
            self._models[ident["sha256"]] = rec
        return rec

    def resolve(
        self, recordings: Sequence[Path], *, checkpoint: Optional[str] = None, base_dir: Path = Path(".")
    ) -> list[ResolvedRecording]:
        out: list[ResolvedRecording] = []
        ck_cache: Optional[tuple[Path, dict[str, Any]]] = None
        for rec_path in recordings:
            rec_path = Path(rec_path)
            if not rec_path.exists():
                raise DataError("no such file or directory", file=rec_path)
            if is_transcript_file(rec_path):
                out.append(self._read_transcript(rec_path))
                continue
            if ck_cache is None:
                ck_cache = self._checkpoint(checkpoint, base_dir)
            out.append(self._one(rec_path, *ck_cache))
        return out

    def _read_transcript(self, path: Path) -> ResolvedRecording:
        from pydantic import ValidationError

        from mgreason.configio import format_validation_error

        try:
            data = path.read_bytes()
            tr = Transcript.model_validate_json(data)
        except ValidationError as e:
            raise DataError(f"not a transcript JSON: {format_validation_error(e)}", file=path) from None
        except OSError as e:
            raise DataError(f"cannot read: {e.strerror or e}", file=path) from None
        if self.on_event:
            self.on_event("transcript", path, 0.0)
        prov = {"recording": str(path), "kind": "transcript", "transcript_sha256": hashlib.sha256(data).hexdigest()}
        return ResolvedRecording(tr, path, prov)

    def _one(self, path: Path, ck: Path, ident: dict[str, Any]) -> ResolvedRecording:
        from mgreason.transcribe.inputs import input_kind

        kind = input_kind(path)  # an unsupported input fails before anything is hashed or loaded
        t0 = time.perf_counter()
        rec_sha = content_sha256(path)
        self.timings["hash"] += time.perf_counter() - t0
        key = hashlib.sha256(
            json.dumps({"recording": rec_sha, "checkpoint": ident["sha256"], "version": CACHE_VERSION}).encode()
        ).hexdigest()
        tpath = self._root() / key[:2] / f"{key}.json"
        rid = path.name if path.is_dir() else path.stem
        cached = tpath.is_file()
        if cached:
            try:
                tr = Transcript.read(tpath)
            except Exception:  # a damaged cache entry is recomputed, never an error
                cached = False
        t1 = time.perf_counter()
        if not cached:
            tr = self._transcribe(path, ck, ident, tpath)
        secs = time.perf_counter() - t1
        if tr.id != rid:
            tr = tr.model_copy(update={"id": rid})
        if self.on_event:
            self.on_event("cached" if cached else "transcribed", path, secs)
        prov = {
            "recording": str(path),
            "kind": kind,
            "recording_sha256": rec_sha,
            "checkpoint": {k: ident[k] for k in ("name", "sha256")},
            "transcript_sha256": hashlib.sha256(tpath.read_bytes()).hexdigest(),
            "transcript": str(tpath),
            "cached": cached,
        }
        return ResolvedRecording(tr, tpath, prov)

    def _transcribe(self, path: Path, ck: Path, ident: dict[str, Any], tpath: Path) -> Transcript:
        rec = self._recognizer(ck, ident)
        t0 = time.perf_counter()
        from mgreason.transcribe.inputs import load_input
        from mgreason.transcribe.pipeline import meta_path_for, transcribe_input

        loaded = load_input(path, progress=self.progress("reading video") if self.progress else None)
        res = transcribe_input(rec, loaded, progress=self.progress("scoring") if self.progress else None)
        self.timings["transcribe"] += time.perf_counter() - t0
        res.meta["input"]["kind"] = loaded.kind
        res.meta["checkpoint_identity"] = ident
        tpath.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(meta_path_for(tpath), json.dumps(res.meta, indent=2) + "\n")
        res.transcript.write(tpath)  # last: its presence marks a complete entry
        return res.transcript
