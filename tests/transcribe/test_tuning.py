"""Segmentation tuning: the search finds thresholds that separate real gestures from confident noise,
checkpoints carry their tuned parameters, and ``transcribe`` uses them unless an option overrides."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from helpers import assert_one_line_error, run_cli
from mgreason.errors import DataError
from mgreason.transcribe.segments import SegmentParams
from mgreason.transcribe.tuning import (
    ScoredRecording,
    checkpoint_segmentation,
    segment_recordings,
    tune_segmentation,
)
from mgreason.transcript import MGEvent, Transcript

LABELS = ["a", "b", "background"]
FPS = 25.0


def _recording(seed: int) -> ScoredRecording:
    """60 s: four true 2-s gestures where P(not background) is 0.99, and eight 1-s bumps of
    over-confident noise where it is 0.8 (labelled 'b', never in the ground truth)."""
    rng = np.random.default_rng(seed)
    T = int(60 * FPS)
    p = np.zeros((T, 3))
    p[:, 2] = 0.95
    p[:, 0] = p[:, 1] = 0.025
    events = []
    for k, t0 in enumerate((5.0, 17.0, 31.0, 47.0)):
        a, b = int(t0 * FPS), int((t0 + 2.0) * FPS)
        p[a:b] = [0.98, 0.01, 0.01]
        events.append(MGEvent(start_s=t0, end_s=t0 + 2.0, label="a", source="annotation"))
    for t0 in rng.choice(np.arange(9.0, 45.0, 4.0), size=8, replace=False):
        if any(abs(t0 - e.start_s) < 3.0 for e in events):
            continue
        a, b = int(t0 * FPS), int((t0 + 1.0) * FPS)
        p[a:b] = [0.05, 0.75, 0.2]
    gt = Transcript(id=f"r{seed}", fps=FPS, duration_s=60.0, events=events)
    return ScoredRecording(id=gt.id, probs=p, fps=FPS, gt=gt)


def test_tuning_learns_to_ignore_confident_noise():
    recs = [_recording(s) for s in range(3)]
    start = SegmentParams()  # high 0.6: the noise bumps (0.8) become false positives
    before = tune_segmentation(recs, LABELS, background=2, start=start, grid={"high": (0.6,), "low": (0.4,)})
    assert before.score == pytest.approx(before.start_score) and before.params == start
    assert before.score < 0.8
    res = tune_segmentation(recs, LABELS, background=2, start=start)
    assert res.score == pytest.approx(1.0)
    assert 0.8 <= res.params.high < 0.99  # at or above the (smoothed) noise peak, below the real gestures
    assert res.start_score == pytest.approx(before.score) and res.evaluations > 10 and res.history
    # the tuned parameters reproduce the score
    pairs = segment_recordings(recs, LABELS, 2, res.params)
    assert all([e.label for e in p.events] == ["a"] * 4 for p, _ in pairs)
    # deterministic
    again = tune_segmentation(recs, LABELS, background=2, start=start)
    assert again.params == res.params and again.score == res.score


def test_tuning_rejects_unusable_input():
    rec = _recording(0)
    with pytest.raises(DataError, match="no recordings"):
        tune_segmentation([], LABELS, background=2)
    empty = ScoredRecording(id="e", probs=rec.probs, fps=FPS, gt=Transcript(id="e", events=[]))
    with pytest.raises(DataError, match="no event"):
        tune_segmentation([empty], LABELS, background=2)
    with pytest.raises(DataError, match="do not match 2 labels"):
        tune_segmentation([rec], LABELS[:2], background=None)
    with pytest.raises(DataError, match="unknown segmentation parameter"):
        tune_segmentation([rec], LABELS, background=2, grid={"threshold": (0.5,)})


def test_checkpoint_segmentation_block():
    assert checkpoint_segmentation({}) == SegmentParams()
    prm = checkpoint_segmentation({"segmentation": {"params": {"high": 0.9, "low": 0.8}}})
    assert prm.high == 0.9 and prm.low == 0.8 and prm.smooth_s == SegmentParams().smooth_s
    with pytest.raises(DataError, match="unknown segmentation parameter"):
        checkpoint_segmentation({"segmentation": {"params": {"hi": 0.9}}})
    with pytest.raises(DataError, match="low <= high"):
        checkpoint_segmentation({"segmentation": {"params": {"high": 0.5, "low": 0.9}}})


def test_bundled_checkpoint_carries_tuned_parameters(checkpoint_dir):
    cfg = json.loads((checkpoint_dir / "config.json").read_text())
    if "segmentation" not in cfg:
        pytest.skip("the bundled checkpoint is not installed (random-weight stand-in)")
    from mgreason.recognizer.inference import Recognizer

    rec = Recognizer.load(checkpoint_dir)
    assert checkpoint_segmentation(rec.config) == SegmentParams(**cfg["segmentation"]["params"])
    assert checkpoint_segmentation(rec.config) != SegmentParams()
    assert cfg["segmentation"]["score"] > cfg["segmentation"]["start_score"]


# ---------------------------------------------------------------------------- CLI
def test_tune_cli_writes_parameters_that_transcribe_then_uses(tmp_path, short_session, checkpoint_dir, monkeypatch, capsys):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(checkpoint_dir, ckpt)
    cfg = json.loads((ckpt / "config.json").read_text())
    cfg.pop("segmentation", None)  # start from the library defaults
    (ckpt / "config.json").write_text(json.dumps(cfg))

    short_session.sequence.save(tmp_path / "s.npz")
    gt = tmp_path / "gt" / "s.json"
    gt.parent.mkdir()
    gt.write_text(short_session.transcript.model_copy(update={"id": "s"}).model_dump_json())
    res = run_cli(["transcribe", tmp_path / "s.npz", "-o", tmp_path / "pred" / "s.json", "-c", ckpt, "--threads", "1",
                   "--scores", tmp_path / "scores" / "s.npz", "-q"], monkeypatch, capsys)  # fmt: skip
    assert res.code == 0, res.err
    meta = json.loads((tmp_path / "pred" / "s.meta.json").read_text())
    assert meta["segmentation"] == SegmentParams().to_dict()

    res = run_cli(["tune-segmentation", tmp_path / "scores", tmp_path / "gt", "-c", ckpt, "--restarts", "1",
                   "--write", "--describe", "test", "--json", tmp_path / "tune.json"], monkeypatch, capsys)  # fmt: skip
    assert res.code == 0, res.err
    assert "start:" in res.out and "tuned:" in res.out
    found = json.loads((tmp_path / "tune.json").read_text())
    block = json.loads((ckpt / "config.json").read_text())["segmentation"]
    assert block["params"] == found["params"] and block["tuned_on"]["recordings"] == ["s"]
    assert block["tuned_on"]["description"] == "test" and block["score"] >= block["start_score"]

    # transcribe now uses the checkpoint's parameters; an option overrides one field
    res = run_cli(["transcribe", tmp_path / "s.npz", "-o", tmp_path / "t2.json", "-c", ckpt, "--threads", "1", "-q",
                   "--min-duration", "0.25"], monkeypatch, capsys)  # fmt: skip
    assert res.code == 0, res.err
    used = json.loads((tmp_path / "t2.meta.json").read_text())["segmentation"]
    assert used == {**block["params"], "min_duration_s": 0.25}


def test_tune_cli_bad_input(tmp_path, checkpoint_dir, monkeypatch, capsys):
    (tmp_path / "x.npz").write_bytes(b"not a zip")
    (tmp_path / "x.json").write_text(Transcript(id="x", events=[]).model_dump_json())
    res = run_cli(["tune-segmentation", tmp_path / "x.npz", tmp_path / "x.json", "-c", checkpoint_dir], monkeypatch, capsys)
    assert_one_line_error(res, "x.npz", "cannot read scores")
    np.savez(tmp_path / "y.npz", probs=np.zeros((10, 3)), labels=np.array(["a", "b", "background"]), fps=25.0)
    res = run_cli(["tune-segmentation", tmp_path / "y.npz", tmp_path / "x.json", "-c", checkpoint_dir], monkeypatch, capsys)
    assert_one_line_error(res, "label lists differ")
    np.savez(tmp_path / "z.npz", probs=np.zeros((10, 3)))
    res = run_cli(["tune-segmentation", tmp_path / "z.npz", tmp_path / "x.json", "-c", checkpoint_dir], monkeypatch, capsys)
    assert_one_line_error(res, "z.npz", "transcribe --scores")
    res = run_cli(["tune-segmentation", tmp_path, tmp_path / "x.json", "-c", checkpoint_dir], monkeypatch, capsys)
    assert_one_line_error(res, "both be files or both be directories")
