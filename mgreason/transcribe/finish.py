"""Finishing a trained checkpoint for transcription: the event-level settings in its ``config.json``.

Training (:mod:`mgreason.recognizer.train`) produces weights and, with ``calibrate``, a temperature; the
thresholds that cut per-frame scores into events (segmentation, chosen on validation recordings), the
calibrated event confidence and the coarse body-region fallback are transcription settings, so they are
chosen here, where segmentation lives. :func:`train_and_finish` is what ``mgreason train`` runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Optional

from mgreason.recognizer.config import TrainConfig
from mgreason.recognizer.data import DataBundle
from mgreason.recognizer.train import TrainResult, train


def needs_finishing(cfg: TrainConfig, calibration: Optional[dict[str, Any]]) -> bool:
    return bool(cfg.tune_segmentation or calibration is not None or cfg.coarse_below != 0)


def train_and_finish(
    cfg: TrainConfig,
    *,
    data: Optional[DataBundle] = None,
    progress: bool = True,
    log: Optional[Callable[[str], None]] = None,
    save: bool = True,
) -> TrainResult:
    """Train as ``cfg`` says, then write the best checkpoint's event-level settings (when the recipe asks)."""
    log = log or (lambda s: None)
    res = train(cfg, data=data, progress=progress, log=log, save=save)
    best = res.out_dir / "best"
    if save and res.data is not None and (best / "config.json").is_file() and needs_finishing(cfg, res.calibration):
        finish_checkpoint(best, res.data, log, tune=cfg.tune_segmentation, calibration=res.calibration,
                          coarse_below=cfg.coarse_below)  # fmt: skip
    return res


def finish_checkpoint(
    checkpoint: Path,
    data: DataBundle,
    log: Callable[[str], None],
    *,
    tune: bool = True,
    calibration: Optional[dict[str, Any]] = None,
    coarse_below: float | str = 0.0,
) -> dict[str, Any]:
    """Write the checkpoint's event-level settings into its config.json: segmentation thresholds chosen on
    the validation recordings (time-split real data; never on the recordings a result is reported on),
    the calibration temperature (``calibration``) and the coarse-fallback threshold."""
    from dataclasses import replace

    from mgreason.fileio import atomic_write_text
    from mgreason.recognizer.checkpoint import CONFIG, read_checkpoint_config
    from mgreason.recognizer.inference import Recognizer
    from mgreason.transcribe.pipeline import transcribe_sequence
    from mgreason.transcribe.segments import SegmentParams
    from mgreason.transcribe.tuning import (
        ScoredRecording,
        TuneResult,
        checkpoint_segmentation,
        tune_segmentation,
        write_checkpoint_segmentation,
    )

    rec = Recognizer.load(checkpoint)
    start = checkpoint_segmentation(rec.config)
    if calibration is not None:
        start = replace(start, temperature=float(calibration["temperature"]))
    result: Optional[TuneResult] = None
    tuned_on: dict[str, Any] = {"description": "library defaults (nothing to tune on)"}
    scored: list[Any] = []
    if (tune or coarse_below == "tune") and data.val_recordings:
        for seq, gt in data.val_recordings:
            res = transcribe_sequence(rec, seq, id=str(gt.id))
            scored.append(ScoredRecording(str(gt.id), res.scores.probs, seq.fps, gt, res.mask,
                                          float(seq.meta.get("start_s", 0.0))))  # fmt: skip
    if tune and scored:
        if any(r.gt.events for r in scored):
            result = tune_segmentation(scored, list(rec.labels), background=rec.background_index, start=start)
            tuned_on = {
                "recordings": [r.id for r in scored],
                "events": sum(len(r.gt.events) for r in scored),
                "description": f"validation span ({data.description.get('split')}) of {data.description.get('recordings')}",
            }
            log(f"segmentation tuned on the validation span: F1@0.3 {result.start_score:.3f} -> {result.score:.3f}")
    elif tune:
        log("tune_segmentation: no validation recording (needs data.time_split with a val span); skipped")
    coarse_table = None
    if coarse_below == "tune":
        coarse_below, coarse_table = _tune_coarse(scored, rec, result.params if result is not None else start)
        log(f"coarse fallback threshold chosen on the validation span: {coarse_below}")
    params: SegmentParams = replace(result.params if result is not None else start, coarse_below=float(coarse_below))
    if calibration is not None:
        params = replace(params, temperature=float(calibration["temperature"]))
    if result is not None:
        write_checkpoint_segmentation(checkpoint, replace(result, params=params), tuned_on)
    cfg = read_checkpoint_config(checkpoint)
    if result is None:
        cfg["segmentation"] = {"params": params.to_dict(), "objective": None, "tuned_on": tuned_on}
    if calibration is not None:
        cfg["calibration"] = calibration
    if coarse_table is not None:
        cfg["segmentation"]["coarse_below_tuning"] = coarse_table
    atomic_write_text(checkpoint / CONFIG, json.dumps(cfg, indent=2) + "\n")
    return cfg


COARSE_GRID = (0.0, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)


def _tune_coarse(scored: list[Any], rec: Any, params: Any) -> tuple[float, list[dict[str, float]]]:
    """The coarse-fallback threshold with the best mean of fine and coarse F1@0.3 on the validation recordings."""
    from dataclasses import replace

    from mgreason.taxonomy import coarse_label
    from mgreason.transcript_metrics import f1_at, relabel_pairs
    from mgreason.transcribe.tuning import segment_recordings

    if not scored or not any(r.gt.events for r in scored):
        return 0.0, []
    table = []
    for cb in COARSE_GRID:
        pairs = segment_recordings(scored, list(rec.labels), rec.background_index, replace(params, coarse_below=cb))
        fine = f1_at(pairs, 0.3)["f1"]
        coarse = f1_at(relabel_pairs(pairs, coarse_label), 0.3)["f1"]
        table.append({"coarse_below": cb, "fine_f1": round(fine, 4), "coarse_f1": round(coarse, 4)})
    best = max(table, key=lambda r: (r["fine_f1"] + r["coarse_f1"], -r["coarse_below"]))
    return float(best["coarse_below"]), table


__all__ = ["COARSE_GRID", "finish_checkpoint", "needs_finishing", "train_and_finish"]
