"""Recognizer.frame_scores, the package's one per-frame scorer: chunked with automatic overlap from the
measured receptive field, equal to one pass over the whole recording, with gate, features and progress."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mgreason.errors import DataError
from mgreason.recognizer.inference import Recognizer, bundled_checkpoint_path

ATOL = 2e-4


@pytest.fixture(scope="module")
def rec() -> Recognizer:
    return Recognizer.load(bundled_checkpoint_path("tiny-synth"))  # stride 4, fusion gate


@pytest.fixture(scope="module")
def seq():
    from mgreason.synth import generate_session

    return generate_session(40 / 60, seed=3, rate_per_min=10).sequence  # 1000 frames at 25 fps


def _reference(rec, seq):
    """One forward pass of the network over the whole prepared recording: logits (T, K), gate (T, 2)."""
    _, x = rec.model_input(seq)
    with torch.no_grad():
        out = rec.model.dense(x[None])
    return out.logits[0].T.numpy(), out.gate[0].T.numpy()


def test_receptive_field_is_local_and_smaller_than_the_overlap(rec):
    r = rec.receptive_radius()
    st = rec.model.temporal_stride
    ov = rec.overlap_frames()
    assert 0 < r < ov and ov % st == 0 and ov >= rec.fps
    assert rec.overlap_frames() == ov  # measured once
    # perturbing frames beyond the radius leaves an output frame unchanged; inside it, it does not
    torch.manual_seed(0)
    x = torch.randn(1, rec.model.in_channels, 600, 22)
    with torch.no_grad():
        base = rec.model.dense(x).logits[0, :, 300]
        far = x.clone()
        far[:, :, : 300 - r - 1] += 5.0
        far[:, :, 300 + r + 1 :] -= 5.0
        assert torch.allclose(rec.model.dense(far).logits[0, :, 300], base, atol=1e-5)
        near = x.clone()
        near[:, :, 300 - r // 2 : 300 - r // 4] += torch.randn(near[:, :, 300 - r // 2 : 300 - r // 4].shape)
        assert not torch.allclose(rec.model.dense(near).logits[0, :, 300], base, atol=1e-5)


def test_chunked_scores_equal_one_pass(rec, seq):
    ref, ref_gate = _reference(rec, seq)
    one = rec.frame_scores(seq, chunk_s=1e6)
    T, K = seq.num_frames, rec.num_classes
    assert one.logits.shape == (T, K) and one.gate.shape == (T, 2) and one.features.shape[0] == T
    np.testing.assert_allclose(one.logits, ref, atol=ATOL)
    np.testing.assert_allclose(one.gate, ref_gate, atol=ATOL)
    seen = []
    for chunk_s, overlap_s in ((6.0, 8.0), (10.0, None), (13.0, None), (2.0, None)):
        ch = rec.frame_scores(seq, chunk_s=chunk_s, overlap_s=overlap_s, progress=lambda d, t: seen.append((d, t)))
        np.testing.assert_allclose(ch.logits, ref, atol=ATOL)
        np.testing.assert_allclose(ch.gate, ref_gate, atol=ATOL)
        np.testing.assert_allclose(ch.features, one.features, atol=1e-3)
        np.testing.assert_allclose(ch.probs.sum(1), 1.0, atol=1e-5)
    assert seen[-1] == (T, T) and len(seen) > 4
    assert [d for d, _ in seen[:3]] == sorted(d for d, _ in seen[:3])
    assert one.times[0] == 0.0 and one.times[-1] == pytest.approx((T - 1) / seq.fps)


def test_without_enough_overlap_chunks_differ(rec, seq):
    """The equality above is not vacuous: chunks without context do change frames near their edges."""
    ref, _ = _reference(rec, seq)
    bad = rec.frame_scores(seq, chunk_s=4.0, overlap_s=0.0)
    assert np.abs(bad.logits - ref).max() > 1e-3


def test_features_can_be_left_out(rec, seq):
    fs = rec.frame_scores(seq[:300], features=False)
    full = rec.frame_scores(seq[:300])
    assert fs.features.shape == (300, 0) and full.features.shape[1] > 0
    np.testing.assert_array_equal(fs.logits, full.logits)
    np.testing.assert_array_equal(fs.gate, full.gate)


def test_other_frame_rate_is_scored_at_the_input_frames(rec, seq):
    from mgreason.skeleton.preprocess import resample

    seq30 = resample(seq[:500], 30.0)
    fs = rec.frame_scores(seq30, chunk_s=8.0)
    assert fs.probs.shape == (seq30.num_frames, rec.num_classes) and fs.gate.shape == (seq30.num_frames, 2)
    assert fs.fps == 30.0
    np.testing.assert_allclose(np.diff(fs.times), 1 / 30.0, atol=1e-9)


def test_scoring_rate_and_bad_arguments(rec, seq):
    assert rec.scoring_rate() == rec.scoring_rate("model") == rec.fps == 25.0
    assert rec.scoring_rate("dense") == rec.dense_fps < 25.0
    assert rec.scoring_rate("12.5") == 12.5
    for bad in ("fast", 0, -3.0, float("nan")):
        with pytest.raises(DataError, match="frame rate"):
            rec.scoring_rate(bad)
    with pytest.raises(DataError, match="chunk_s > 0"):
        rec.frame_scores(seq[:50], chunk_s=0.0)
    with pytest.raises(DataError, match="overlap_s >= 0"):
        rec.frame_scores(seq[:50], overlap_s=-1.0)

