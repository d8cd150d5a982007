"""Segment extraction from per-frame scores: hysteresis, label runs, merging, minimum duration."""

from __future__ import annotations

import numpy as np
import pytest

from mgreason.errors import DataError
from mgreason.transcribe.segments import (
    SegmentParams,
    extract_segments,
    hysteresis_regions,
    runs,
    scores_to_transcript,
    smooth_probs,
)

LABELS = ["a", "b", "background"]
BG = 2
RAW = SegmentParams(smooth_s=0, high=0.6, low=0.4, min_duration_s=0, merge_gap_s=0, min_label_run_s=0)


def probs_from(fg: list[float], lab: list[int]) -> np.ndarray:
    """Per-frame probabilities: foreground mass ``fg`` on class ``lab`` (0/1), the rest background."""
    p = np.zeros((len(fg), 3))
    for t, (f, k) in enumerate(zip(fg, lab)):
        p[t, k] = f
        p[t, BG] = 1 - f
    return p


def test_runs():
    assert runs(np.array([0, 1, 1, 0, 1], bool)) == [(1, 3), (4, 5)]
    assert runs(np.array([], bool)) == []
    assert runs(np.ones(3, bool)) == [(0, 3)]


def test_hysteresis_needs_a_strong_frame_and_extends_on_weak_ones():
    s = np.array([0.1, 0.45, 0.7, 0.5, 0.45, 0.2, 0.5, 0.55, 0.1, 0.9])
    # run 1-4 holds 0.7 >= high; run 6-7 never reaches high; frame 9 alone
    assert hysteresis_regions(s, 0.6, 0.4) == [(1, 5), (9, 10)]
    mask = np.ones(10, bool)
    mask[3] = False  # a masked frame splits the region; only the part with a strong frame survives
    assert hysteresis_regions(s, 0.6, 0.4, mask) == [(1, 3), (9, 10)]


def test_one_gesture_frames_and_confidence():
    fg = [0.1, 0.1, 0.5, 0.8, 0.9, 0.7, 0.45, 0.1, 0.1, 0.1]
    p = probs_from(fg, [0] * 10)
    segs = extract_segments(p, 10.0, LABELS, BG, RAW)
    assert len(segs) == 1
    s = segs[0]
    assert (s.start, s.end, s.label) == (2, 7, "a")
    assert s.confidence == pytest.approx(np.mean([0.5, 0.8, 0.9, 0.7, 0.45]))


def test_transcript_seconds_and_source():
    fg = [0.1, 0.1, 0.5, 0.8, 0.9, 0.7, 0.45, 0.1, 0.1, 0.1]
    tr = scores_to_transcript(probs_from(fg, [0] * 10), 10.0, LABELS, id="x", background=BG, params=RAW)
    assert tr.duration_s == 1.0 and tr.fps == 10.0
    (e,) = tr.events
    assert (e.start_s, e.end_s, e.label, e.source) == (0.2, 0.7, "a", "recognizer")
    # an offset recording (a slice) keeps absolute times
    tr2 = scores_to_transcript(probs_from(fg, [0] * 10), 10.0, LABELS, id="x", background=BG, params=RAW, start_s=5.0)
    assert (tr2.events[0].start_s, tr2.events[0].end_s, tr2.duration_s) == (5.2, 5.7, 6.0)


def test_label_change_inside_a_region_splits_it():
    fg = [0.9] * 8
    lab = [0, 0, 0, 0, 1, 1, 1, 1]
    segs = extract_segments(probs_from(fg, lab), 10.0, LABELS, BG, RAW)
    assert [(s.start, s.end, s.label) for s in segs] == [(0, 4, "a"), (4, 8, "b")]


def test_short_label_flicker_is_absorbed():
    # 10 frames of a with a 1-frame b blip: with min_label_run 0.3 s (3 frames) the blip goes to a
    fg = [0.9] * 10
    lab = [0, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    p = probs_from(fg, lab)
    prm = SegmentParams(smooth_s=0, high=0.6, low=0.4, min_duration_s=0, merge_gap_s=0, min_label_run_s=0.3)
    segs = extract_segments(p, 10.0, LABELS, BG, prm)
    assert [(s.start, s.end, s.label) for s in segs] == [(0, 10, "a")]
    # confidence: mean p(a) = (9 * 0.9 + 0) / 10
    assert segs[0].confidence == pytest.approx(0.81)


def test_merge_same_label_across_short_gap_only():
    fg = [0.9, 0.9, 0.9, 0.1, 0.1, 0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.9, 0.9]
    p = probs_from(fg, [0] * len(fg))
    prm = SegmentParams(smooth_s=0, high=0.6, low=0.4, min_duration_s=0, merge_gap_s=0.2, min_label_run_s=0)
    segs = extract_segments(p, 10.0, LABELS, BG, prm)
    # gap of 2 frames (0.2 s) merges, gap of 4 frames does not
    assert [(s.start, s.end) for s in segs] == [(0, 8), (12, 14)]
    # the merged segment's confidence averages all its frames, the gap included
    assert segs[0].confidence == pytest.approx((6 * 0.9 + 2 * 0.1) / 8)


def test_no_merge_across_different_labels_or_masked_frames():
    fg = [0.9, 0.9, 0.9, 0.1, 0.9, 0.9, 0.9]
    prm = SegmentParams(smooth_s=0, high=0.6, low=0.4, min_duration_s=0, merge_gap_s=0.5, min_label_run_s=0)
    segs = extract_segments(probs_from(fg, [0, 0, 0, 0, 1, 1, 1]), 10.0, LABELS, BG, prm)
    assert [s.label for s in segs] == ["a", "b"]
    fg2 = [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]
    mask = np.array([1, 1, 1, 0, 1, 1, 1], bool)
    segs = extract_segments(probs_from(fg2, [0] * 7), 10.0, LABELS, BG, prm, mask=mask)
    assert [(s.start, s.end) for s in segs] == [(0, 3), (4, 7)]


def test_min_duration_drops_short_segments():
    fg = [0.9, 0.9, 0.1, 0.1, 0.9, 0.9, 0.9, 0.9, 0.9, 0.1]
    prm = SegmentParams(smooth_s=0, high=0.6, low=0.4, min_duration_s=0.3, merge_gap_s=0, min_label_run_s=0)
    segs = extract_segments(probs_from(fg, [0] * 10), 10.0, LABELS, BG, prm)
    assert [(s.start, s.end) for s in segs] == [(4, 9)]


def test_smoothing_removes_a_single_frame_spike():
    fg = [0.05] * 20
    fg[10] = 0.95
    p = probs_from(fg, [0] * 20)
    assert len(extract_segments(p, 25.0, LABELS, BG, RAW)) == 1
    smoothed = SegmentParams(smooth_s=0.1, high=0.6, low=0.4, min_duration_s=0, merge_gap_s=0, min_label_run_s=0)
    assert extract_segments(p, 25.0, LABELS, BG, smoothed) == []
    ps = smooth_probs(p, 25.0, 0.1)
    assert np.allclose(ps.sum(1), 1.0)


def test_no_background_class_uses_max_probability():
    p = np.array([[0.5, 0.5], [0.9, 0.1], [0.95, 0.05], [0.5, 0.5]])
    segs = extract_segments(p, 10.0, ["a", "b"], None, RAW)
    assert [(s.start, s.end, s.label) for s in segs] == [(0, 4, "a")]


def test_all_background_gives_empty_transcript():
    p = probs_from([0.05] * 50, [0] * 50)
    tr = scores_to_transcript(p, 25.0, LABELS, id="quiet", background=BG)
    assert tr.events == [] and tr.duration_s == 2.0
    assert "no micro-gestures" in tr.render()


def test_bad_parameters_and_shapes():
    with pytest.raises(DataError, match="low <= high"):
        SegmentParams(high=0.3, low=0.5)
    with pytest.raises(DataError, match="non-negative"):
        SegmentParams(min_duration_s=-1)
    with pytest.raises(DataError, match="do not match"):
        extract_segments(np.zeros((5, 2)), 10.0, LABELS, BG)
    with pytest.raises(DataError, match="mask"):
        extract_segments(np.zeros((5, 3)), 10.0, LABELS, BG, mask=np.ones(4, bool))


def test_one_label_per_region_when_not_splitting():
    # 6 frames of a (p=.9) then 4 of b (p=.9): mean p(a) = .54 > mean p(b) = .36 -> one "a" segment
    fg = [0.9] * 10
    lab = [0] * 6 + [1] * 4
    prm = SegmentParams(smooth_s=0, high=0.6, low=0.4, min_duration_s=0, merge_gap_s=0, split_regions=False)
    segs = extract_segments(probs_from(fg, lab), 10.0, LABELS, BG, prm)
    assert [(s.start, s.end, s.label) for s in segs] == [(0, 10, "a")]
    assert segs[0].confidence == pytest.approx(0.54)
