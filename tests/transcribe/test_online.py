"""Per-frame scores computed once (chunked, convolutional in time) equal the reference computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mgreason.transcribe.online import (
    frame_scores,
    model_input,
    naive_frame_scores,
    receptive_radius,
)

ATOL = 2e-4


def _reference_logits(rec, seq) -> np.ndarray:
    """One forward pass of the network over the whole prepared recording."""
    _, x = model_input(rec, seq)
    with torch.no_grad():
        return rec.model.dense(x[None]).logits[0].T.numpy()


def test_receptive_field_is_local_and_smaller_than_the_overlap(tiny_rec):
    r = receptive_radius(tiny_rec)
    from mgreason.transcribe.online import auto_overlap_frames

    assert 0 < r < auto_overlap_frames(tiny_rec)  # the default overlap covers it
    # perturbing frames beyond the radius leaves an output frame unchanged; inside it, it does not
    torch.manual_seed(0)
    x = torch.randn(1, tiny_rec.model.in_channels, 600, 22)
    with torch.no_grad():
        base = tiny_rec.model.dense(x).logits[0, :, 300]
        far = x.clone()
        far[:, :, : 300 - r - 1] += 5.0
        far[:, :, 300 + r + 1 :] -= 5.0
        assert torch.allclose(tiny_rec.model.dense(far).logits[0, :, 300], base, atol=1e-5)
        near = x.clone()
        near[:, :, 300 - r // 2 : 300 - r // 4] += torch.randn(near[:, :, 300 - r // 2 : 300 - r // 4].shape)
        assert not torch.allclose(tiny_rec.model.dense(near).logits[0, :, 300], base, atol=1e-5)


def test_chunked_scores_equal_one_pass(tiny_rec, short_session):
    seq = short_session.sequence  # 1000 frames
    ref = _reference_logits(tiny_rec, seq)
    one = frame_scores(tiny_rec, seq, chunk_s=1e6)
    assert one.logits.shape == (seq.num_frames, tiny_rec.num_classes)
    np.testing.assert_allclose(one.logits, ref, atol=ATOL)
    seen = []
    for chunk_s, overlap_s in ((6.0, 8.0), (10.0, None), (13.0, None), (2.0, None)):
        ch = frame_scores(tiny_rec, seq, chunk_s=chunk_s, overlap_s=overlap_s, progress=lambda d, t: seen.append((d, t)))
        np.testing.assert_allclose(ch.logits, ref, atol=ATOL)
        np.testing.assert_allclose(ch.probs.sum(1), 1.0, atol=1e-5)
    assert seen[-1] == (seq.num_frames, seq.num_frames)
    assert one.times[0] == 0.0 and one.times[-1] == pytest.approx((seq.num_frames - 1) / seq.fps)


def test_without_enough_overlap_chunks_differ(tiny_rec, short_session):
    """The equality above is not vacuous: chunks without context do change frames near their edges."""
    seq = short_session.sequence
    ref = _reference_logits(tiny_rec, seq)
    bad = frame_scores(tiny_rec, seq, chunk_s=4.0, overlap_s=0.0)
    assert np.abs(bad.logits - ref).max() > 1e-3


def test_matches_the_recognizers_own_frame_scores(tiny_rec, short_session):
    seq = short_session.sequence
    mine = frame_scores(tiny_rec, seq, chunk_s=10.0)
    theirs = tiny_rec.frame_scores(seq)
    np.testing.assert_allclose(mine.logits, theirs.logits, atol=ATOL)
    np.testing.assert_allclose(mine.probs, theirs.probs, atol=1e-4)
    assert mine.labels == theirs.labels


def test_other_frame_rate_is_scored_at_the_input_frames(tiny_rec, short_session):
    from mgreason.skeleton.preprocess import resample

    seq30 = resample(short_session.sequence[:500], 30.0)
    fs = frame_scores(tiny_rec, seq30, chunk_s=8.0)
    assert fs.probs.shape == (seq30.num_frames, tiny_rec.num_classes)
    assert fs.fps == 30.0
    np.testing.assert_allclose(np.diff(fs.times), 1 / 30.0, atol=1e-9)


def test_naive_window_equals_clip_forward(tiny_rec, short_session):
    seq = short_session.sequence[: tiny_rec.clip_len]  # exactly one window
    fs, n = naive_frame_scores(tiny_rec, seq)
    assert n == 1
    _, x = model_input(tiny_rec, seq)
    with torch.no_grad():
        p = torch.softmax(tiny_rec.model(x[None]).logits, 1)[0].numpy()
    np.testing.assert_allclose(fs.probs, np.repeat(p[None], seq.num_frames, 0), atol=1e-5)


def test_naive_windows_cover_every_frame(tiny_rec, short_session):
    seq = short_session.sequence[:300]
    W, S = tiny_rec.clip_len, tiny_rec.model.temporal_stride
    fs, n = naive_frame_scores(tiny_rec, seq)
    assert n == len(range(0, 300 - W + 1, S)) + (1 if (300 - W) % S else 0)
    assert fs.probs.shape == (300, tiny_rec.num_classes)
    np.testing.assert_allclose(fs.probs.sum(1), 1.0, atol=1e-5)
    # a frame covered by one window only (the first) carries exactly that window's softmax
    _, x = model_input(tiny_rec, seq)
    with torch.no_grad():
        p0 = torch.softmax(tiny_rec.model(x[None, :, :W]).logits, 1)[0].numpy()
    np.testing.assert_allclose(fs.probs[0], p0, atol=1e-5)
    # a recording shorter than one window is one (resampled) clip
    short, n = naive_frame_scores(tiny_rec, seq[:20])
    assert n == 1 and short.probs.shape == (20, tiny_rec.num_classes)
    # max_windows times a slice only
    _, n = naive_frame_scores(tiny_rec, seq, max_windows=3)
    assert n == 3


def test_dense_is_much_less_work_than_naive(tiny_rec, short_session):
    """Work, not wall time (tests do not time): network frames processed per output frame."""
    seq = short_session.sequence
    W, S = tiny_rec.clip_len, tiny_rec.model.temporal_stride
    naive_frames = W / S  # every frame is pushed through the network clip_len / stride times
    from mgreason.transcribe.online import DEFAULT_CHUNK_S, auto_overlap_frames

    chunk = DEFAULT_CHUNK_S * tiny_rec.fps
    dense_frames = (chunk + 2 * auto_overlap_frames(tiny_rec)) / chunk  # chunk + context on both sides
    assert naive_frames / dense_frames >= 5
