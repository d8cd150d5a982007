"""The naive sliding-window baseline equals clip-level forward passes and costs far more work than the
dense scorer (:meth:`Recognizer.frame_scores`, tested in tests/recognizer/test_inference.py)."""

from __future__ import annotations

import numpy as np
import torch

from mgreason.recognizer.inference import DEFAULT_CHUNK_S
from mgreason.transcribe.online import naive_frame_scores


def test_naive_window_equals_clip_forward(tiny_rec, short_session):
    seq = short_session.sequence[: tiny_rec.clip_len]  # exactly one window
    fs, n = naive_frame_scores(tiny_rec, seq)
    assert n == 1
    _, x = tiny_rec.model_input(seq)
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
    _, x = tiny_rec.model_input(seq)
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
    chunk = DEFAULT_CHUNK_S * tiny_rec.fps
    dense_frames = (chunk + 2 * tiny_rec.overlap_frames()) / chunk  # chunk + context on both sides
    assert naive_frames / dense_frames >= 5
