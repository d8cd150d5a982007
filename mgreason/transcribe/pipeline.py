"""Recording -> transcript: checks, gap detection, per-frame scores once, segments, metadata."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from mgreason.errors import DataError
from mgreason.skeleton.sequence import SkeletonSequence
from mgreason.transcribe.inputs import Gap, LoadedInput, check_usable, find_gaps
from mgreason.transcribe.segments import SegmentParams, scores_to_transcript
from mgreason.transcript import Transcript

__all__ = ["TranscribeResult", "transcribe_sequence", "transcribe_input", "meta_path_for", "DEFAULT_MIN_GAP_S"]

DEFAULT_MIN_GAP_S = 0.5


@dataclass
class TranscribeResult:
    transcript: Transcript
    meta: dict[str, Any]
    gaps: list[Gap]
    mask: np.ndarray
    scores: Any = None  # FrameScores
    timings: dict[str, float] = field(default_factory=dict)


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
    if loaded.notes:
        res.meta["notes"] = list(loaded.notes)
    return res
