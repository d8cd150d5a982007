"""Recording -> transcript: checks, gap detection, per-frame scores once, segments, metadata.

:func:`transcribe_file` is what ``mgreason transcribe`` runs (load the checkpoint, read any input with
:func:`~mgreason.transcribe.inputs.load_input`, transcribe, time each stage); :func:`write_outputs` writes
the transcript, its metadata sidecar and the optional text rendering and per-frame scores.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from mgreason.errors import DataError
from mgreason.fileio import atomic_path, atomic_write_text
from mgreason.skeleton.sequence import SkeletonSequence
from mgreason.transcribe.inputs import Gap, LoadedInput, check_usable, find_gaps, load_input
from mgreason.transcribe.segments import SegmentParams, scores_to_transcript
from mgreason.transcript import Transcript

__all__ = [
    "TranscribeResult",
    "transcribe_sequence",
    "transcribe_input",
    "transcribe_file",
    "RecognizerLoader",
    "write_outputs",
    "meta_path_for",
    "DEFAULT_MIN_GAP_S",
    "process_age_s",
]

DEFAULT_MIN_GAP_S = 0.5


@dataclass
class TranscribeResult:
    transcript: Transcript
    meta: dict[str, Any]
    gaps: list[Gap]
    mask: np.ndarray
    scores: Any = None  # FrameScores
    timings: dict[str, float] = field(default_factory=dict)
    input: Optional[LoadedInput] = None  # what transcribe_input / transcribe_file read
    started: Optional[float] = None  # perf_counter() of the process's start, when known (the CLI's)


def _label_ids(labels: list[str]) -> tuple[dict[str, int], Optional[str]]:
    from mgreason.taxonomy import IMIGUE

    ids: dict[str, int] = {}
    fg = [lab for lab in labels if lab != "background"]
    for lab in fg:
        try:
            ids[lab] = IMIGUE.by_name(lab).label_id
        except KeyError:
            pass
    return ids, ("imigue" if fg and len(ids) == len(fg) else None)


def process_age_s() -> Optional[float]:
    """Seconds since this process started (Linux ``/proc``; ``None`` elsewhere): the start-up a user pays
    before the command's own code runs (the interpreter, imports)."""
    import os

    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of proc(5), counted from the state field (3)
        with open("/proc/uptime", "rb") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


def meta_path_for(out: str | Path) -> Path:
    """``transcript.json`` -> ``transcript.meta.json`` (the sidecar with gaps, parameters, timings)."""
    out = Path(out)
    name = out.name[: -len(".json")] if out.name.endswith(".json") else out.name
    return out.with_name(name + ".meta.json")


def transcribe_sequence(
    rec: Any,
    seq: SkeletonSequence,
    *,
    id: str,
    params: Optional[SegmentParams] = None,
    min_gap_s: float = DEFAULT_MIN_GAP_S,
    chunk_s: Optional[float] = None,
    overlap_s: Optional[float] = None,
    model_fps: Optional[float | str] = None,
    progress: Any = None,
    path: Optional[str | Path] = None,
) -> TranscribeResult:
    """Transcribe one skeleton sequence with a loaded :class:`~mgreason.recognizer.Recognizer`
    (segmentation: ``params``, else the checkpoint's tuned parameters, else the defaults)."""
    from mgreason.recognizer.inference import DEFAULT_CHUNK_S
    from mgreason.transcribe.online import describe
    from mgreason.transcribe.tuning import checkpoint_segmentation

    prm = params or checkpoint_segmentation(rec.config)
    rate = rec.scoring_rate(model_fps)
    check_usable(seq, rec.layout, path=path)
    gaps, mask = find_gaps(seq, min_gap_s)
    if not mask.any():
        raise DataError("no usable frame: the whole recording is unreadable or shows nobody", file=path)
    t0 = time.perf_counter()
    fs = rec.frame_scores(
        seq,
        chunk_s=chunk_s or DEFAULT_CHUNK_S,
        overlap_s=overlap_s,
        fps=rate,
        features=False,
        progress=progress,
    )
    t1 = time.perf_counter()
    ids, taxonomy = _label_ids(list(rec.labels))
    tr = scores_to_transcript(
        fs.probs,
        seq.fps,
        list(rec.labels),
        id=id,
        background=rec.background_index,
        params=prm,
        mask=mask,
        start_s=float(seq.meta.get("start_s", 0.0)),
        layout=seq.layout,
        taxonomy=taxonomy,
        label_ids=ids,
    )
    t2 = time.perf_counter()
    valid_frames = int(seq.valid.any(axis=1).sum())
    meta: dict[str, Any] = {
        "id": id,
        "input": {
            "path": str(path) if path is not None else seq.meta.get("path"),
            "layout": seq.layout,
            "fps": seq.fps,
            "frames": seq.num_frames,
            "duration_s": round(seq.duration_s, 4),
            "frames_with_person": valid_frames,
        },
        "model": dict(describe(rec), scoring_fps=rate),
        "segmentation": prm.to_dict(),
        "min_gap_s": min_gap_s,
        "gaps": [g.to_dict() for g in gaps],
        "unreadable_s": round(sum(g.end_s - g.start_s for g in gaps if g.reason == "unreadable"), 4),
        "no_person_s": round(sum(g.end_s - g.start_s for g in gaps if g.reason == "no person"), 4),
        "events": len(tr.events),
        "timings_s": {"scores": round(t1 - t0, 3), "segments": round(t2 - t1, 3)},
    }
    for key in ("detector", "img_shape", "decode_errors", "source", "entry", "bad_files"):
        if key in seq.meta:
            meta["input"][key] = seq.meta[key]
    return TranscribeResult(tr, meta, gaps, mask, fs, {"scores": t1 - t0, "segments": t2 - t1})


def transcribe_input(rec: Any, loaded: LoadedInput, **kw: Any) -> TranscribeResult:
    res = transcribe_sequence(rec, loaded.sequence, id=kw.pop("id", None) or loaded.id, path=loaded.path, **kw)
    res.meta["input"]["kind"] = loaded.kind
    if "video" in loaded.sequence.meta:  # what the video reader did (frames processed, sizes, timings)
        res.meta["input"]["video"] = loaded.sequence.meta["video"]
    if loaded.notes:
        res.meta["notes"] = list(loaded.notes)
    res.input = loaded
    return res


class RecognizerLoader:
    """Imports torch and loads a checkpoint in a background thread, so that reading the input (MediaPipe,
    which releases the GIL, on a video) overlaps it; :meth:`get` waits for it. One loader serves a
    whole batch of inputs (the checkpoint is loaded once). A checkpoint directory without ``config.json``
    is loaded at once, so its error comes before any input is read."""

    def __init__(self, checkpoint: Optional[str | Path] = None, background: bool = True):
        import threading

        self.checkpoint = checkpoint
        self.load_s = 0.0  # seconds the loading took (in the background thread)
        self.reported = False  # load_s went into a transcript's timings (the first of a batch)
        self._rec: Any = None
        self._error: Optional[BaseException] = None
        self._thread: Optional[threading.Thread] = None
        if checkpoint is not None and not (Path(checkpoint) / "config.json").is_file():
            background = False
        if background:
            self._thread = threading.Thread(target=self._load, name="mgreason-load-recognizer", daemon=True)
            self._thread.start()
        else:
            self._load()
            if self._error is not None:
                raise self._error

    def _load(self) -> None:
        t0 = time.perf_counter()
        try:
            from mgreason.recognizer.inference import Recognizer

            self._rec = Recognizer.load(self.checkpoint)
        except BaseException as e:  # handed to get()
            self._error = e
        self.load_s = time.perf_counter() - t0

    def get(self) -> Any:
        """The loaded :class:`~mgreason.recognizer.Recognizer` (waits for the background thread)."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            raise self._error
        return self._rec


def transcribe_file(
    path: str | Path,
    *,
    checkpoint: Optional[str | Path] = None,
    segmentation: Optional[dict[str, float]] = None,
    id: Optional[str] = None,
    min_gap_s: float = DEFAULT_MIN_GAP_S,
    chunk_s: Optional[float] = None,
    threads: Optional[int] = None,
    read_progress: Any = None,
    score_progress: Optional[Callable[[LoadedInput, int, Optional[int]], None]] = None,
    started: Optional[float] = None,
    loader: Optional[RecognizerLoader] = None,
    **load: Any,
) -> TranscribeResult:
    """Load the checkpoint (``None``: the bundled one; in a background thread while the input is read, or
    from ``loader``, which a batch shares), read ``path`` with :func:`~mgreason.transcribe.inputs.load_input`
    (``load``: its keyword arguments, e.g. ``fps``, ``layout``, ``video_options``) and transcribe it with the
    checkpoint's segmentation parameters updated by ``segmentation``. The metadata's ``timings_s`` gains
    ``load_model`` (the loading's own time, overlapped with the reading), ``model_wait`` (what the reading
    did not hide), ``read_input`` and ``total``, and ``realtime_factor`` (recording seconds per second of
    this call) is added. ``score_progress(input, frames done, frames expected)`` reports the scoring.
    ``started``: the ``time.perf_counter()`` of the process's start (the CLI's), which adds ``startup``
    (interpreter and imports before this call) to the timings."""
    t0 = time.perf_counter()
    if loader is None:
        loader = RecognizerLoader(checkpoint)
    loaded = load_input(path, progress=read_progress, **load)
    t1 = time.perf_counter()
    rec = loader.get()
    t2 = time.perf_counter()
    from mgreason.transcribe.online import threads as torch_threads
    from mgreason.transcribe.tuning import checkpoint_segmentation

    prm = dataclasses.replace(
        checkpoint_segmentation(rec.config, rec.path / "config.json" if rec.path else None), **(segmentation or {})
    )
    with torch_threads(threads or 1):  # one thread: a small network's first pass costs seconds on two (OpenMP)
        progress = None if score_progress is None else (lambda done, total: score_progress(loaded, done, total))
        res = transcribe_input(rec, loaded, id=id, params=prm, min_gap_s=min_gap_s, chunk_s=chunk_s, progress=progress)
    t3 = time.perf_counter()
    load_s = 0.0 if loader.reported else loader.load_s
    loader.reported = True
    res.timings.update({"load_model": load_s, "model_wait": t2 - t1, "read_input": t1 - t0, "total": t3 - t0})
    res.meta["timings_s"].update({"load_model": round(load_s, 3), "model_wait": round(t2 - t1, 3),
                                  "read_input": round(t1 - t0, 3), "total": round(t3 - t0, 3)})  # fmt: skip
    res.meta["realtime_factor"] = round(loaded.sequence.duration_s / max(t3 - t0, 1e-9), 2)
    if started is not None:
        res.timings["startup"] = t0 - started
        res.meta["timings_s"]["startup"] = round(t0 - started, 3)
    res.started = started
    return res


def write_outputs(
    res: TranscribeResult, out: str | Path, *, text: Optional[str | Path] = None, scores: Optional[str | Path] = None
) -> Path:
    """Write the transcript to ``out`` and its metadata to :func:`meta_path_for` ``(out)`` (returned); with
    ``text``, the text rendering (``'-'``: standard output); with ``scores``, the per-frame class
    probabilities (``.npz``: ``times``, ``probs``, ``labels``, ``mask``, ``fps``). Each file atomically."""
    t0 = time.perf_counter()
    out = Path(out)
    res.transcript.write(out)
    meta_path = meta_path_for(out)
    if text is not None:
        rendering = res.transcript.render()
        if str(text) == "-":
            print(rendering)
        else:
            atomic_write_text(Path(text), rendering + "\n")
    if scores is not None:
        with atomic_path(Path(scores)) as tmp_scores:
            np.savez_compressed(
                tmp_scores,
                times=res.scores.times.astype(np.float32),
                probs=res.scores.probs.astype(np.float32),
                labels=np.array(res.scores.labels),
                mask=res.mask,
                fps=np.float64(res.meta["input"]["fps"]),
            )
    t1 = time.perf_counter()
    res.meta["timings_s"]["write"] = round(t1 - t0, 3)  # the metadata itself is written last, after this
    if res.started is not None:  # process start to the last output (the metadata's own write excluded)
        res.meta["timings_s"]["process"] = round(t1 - res.started, 3)
    atomic_write_text(meta_path, json.dumps(res.meta, indent=2) + "\n")
    return meta_path
