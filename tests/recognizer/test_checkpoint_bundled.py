"""The bundled tiny-synth checkpoint (synthetic-only; the default is tiny-real298, adapted from it): loads on
the CPU, classifies fresh generator clips, scores frames.

The accuracy floors below are well under what the checkpoint measured on its held-out synthetic
subjects (see its config.json, ``training.test``) and far above chance (1/32), so the test catches a
broken checkpoint or a preprocessing mismatch without being flaky.
"""

from __future__ import annotations

import numpy as np
import pytest

from mgreason.recognizer.inference import BUNDLED_CHECKPOINT, Recognizer, bundled_checkpoint_path
from mgreason.taxonomy import IMIGUE

# measured 2026-11-26 (retrained checkpoint): top-1 0.72 / top-5 0.96 on these 93 fresh clips
# (0.78 / 0.98 on 248 others: generate_clips(8, seed=7, n_subjects=12))
CLIP_TOP1_FLOOR = 0.45  # fresh synthetic people and clips, all 31 generator classes; chance is 1/32
CLIP_TOP5_FLOOR = 0.80
BACKGROUND_FLOOR = 0.3  # idle windows recognised as background (chance 1/32)


@pytest.fixture(scope="module")
def rec() -> Recognizer:
    return Recognizer.load(bundled_checkpoint_path("tiny-synth"))


def test_the_default_checkpoint_is_the_real_adapted_one():
    assert BUNDLED_CHECKPOINT == "tiny-real298" and bundled_checkpoint_path().name == "tiny-real298"
    assert Recognizer.load().path == bundled_checkpoint_path()


def test_bundled_checkpoint_is_small_and_self_describing(rec):
    p = bundled_checkpoint_path("tiny-synth")
    assert {f.name for f in p.iterdir()} >= {"model.safetensors", "config.json"}
    assert sum(f.stat().st_size for f in p.iterdir()) <= 10 * 2**20
    cfg = rec.config
    assert rec.layout == "imigue22" and rec.labels[-1] == "background" and len(rec.labels) == 32
    assert cfg["arch"]["size"] == "tiny" and cfg["arch"]["fusion"]["mode"] == "gate"
    assert cfg["preprocessing"]["fps"] == 25 and cfg["preprocessing"]["clip_len"] == rec.clip_len
    tr = cfg["training"]
    assert tr["data"]["source"] == "synth" and tr["test"]["top1"] > 0.4
    assert rec.model.training is False and next(rec.model.parameters()).device.type == "cpu"


def test_bundled_checkpoint_classifies_fresh_generator_clips(rec):
    from mgreason.synth import generate_clips

    cs = generate_clips(3, seed=2024, n_subjects=8)  # people and clips the checkpoint never saw
    scores = rec.classify(list(cs.sequences()))
    truth = [IMIGUE.by_label_id(int(i)).name for i in cs.labels]
    top1 = np.mean([s.label == t for s, t in zip(scores, truth)])
    top5 = np.mean([t in [n for n, _ in s.top(5)] for s, t in zip(scores, truth)])
    assert top1 >= CLIP_TOP1_FLOOR, top1
    assert top5 >= CLIP_TOP5_FLOOR, top5
    for s in scores[:3]:
        assert s.probs.shape == (32,) and abs(float(s.probs.sum()) - 1) < 1e-4
        assert s.gate is not None and abs(float(s.gate.sum()) - 1) < 1e-4


def test_bundled_checkpoint_recognises_idle_as_background(rec):
    from mgreason.recognizer.data import idle_windows
    from mgreason.synth import generate_session

    sess = generate_session(1.5, seed=2025, rate_per_min=2.0)
    seq = sess.sequence
    events = [(e.start_s, e.end_s) for e in sess.transcript.events]
    wins = idle_windows(seq.num_frames, events, seq.fps, (1.5, 3.0), np.random.default_rng(0))
    assert len(wins) >= 4
    labels = [s.label for s in rec.classify([seq[a:b] for a, b in wins])]
    assert np.mean([lab == "background" for lab in labels]) >= BACKGROUND_FLOOR


def test_frame_scores_over_a_long_sequence(rec):
    from mgreason.synth import generate_session

    sess = generate_session(0.75, seed=7, rate_per_min=6.0)
    seq = sess.sequence  # 45 s at 25 fps
    fs = rec.frame_scores(seq)
    T = seq.num_frames
    assert fs.probs.shape == (T, 32) and fs.logits.shape == (T, 32) and fs.features.shape[0] == T
    assert 10 < rec.dense_fps < 25
    assert rec.frame_scores(seq[:200], fps=rec.dense_fps).probs.shape == (200, 32)
    assert fs.times.shape == (T,) and fs.gate.shape == (T, 2)
    np.testing.assert_allclose(fs.probs.sum(1), 1, atol=1e-4)
    assert fs.background_index == 31
    # chunking with context gives the same scores as one pass (chunk edges on the stride grid)
    chunked = rec.frame_scores(seq, chunk_s=10.0, overlap_s=6.0)
    np.testing.assert_allclose(chunked.logits, fs.logits, atol=2e-3)
    # a sequence at another frame rate is scored at its own frames
    half = seq[::2]
    fh = rec.frame_scores(half)
    assert fh.probs.shape == (half.num_frames, 32) and fh.fps == pytest.approx(12.5)
    # gestures score less background than the idle stretches around them
    bg = fs.probs[:, fs.background_index]
    inside = np.zeros(T, bool)
    for e in sess.transcript.events:
        inside[int(e.start_s * seq.fps) : int(e.end_s * seq.fps)] = True
    if inside.any() and (~inside).any():
        assert bg[inside].mean() < bg[~inside].mean()


def test_model_info_reports_segmentation_and_gate(monkeypatch, capsys):
    import json

    from helpers import run_cli

    res = run_cli(["model-info"], monkeypatch, capsys)
    assert res.code == 0, res.err
    info = json.loads(res.out)
    assert info["segmentation"]["params"]["high"] >= info["segmentation"]["params"]["low"]
    assert info["gate_spread"] > 0.1  # a gate that weighs classes differently (not collapsed)
