import numpy as np
import pytest

from .geometry import head_center, shoulder_width
from mgreason.errors import DataError
from mgreason.skeleton.sequence import SkeletonSequence
from mgreason.synth import generate_session
from mgreason.taxonomy import IMIGUE
from mgreason.transcript import Transcript

pytestmark = pytest.mark.filterwarnings("ignore:(Mean of empty slice|All-NaN slice):RuntimeWarning")


def _check_transcript(s):
    tr = s.transcript
    assert tr.fps == s.sequence.fps and tr.layout == "imigue22" and tr.taxonomy == "imigue"
    assert tr.duration_s == pytest.approx(s.sequence.duration_s)
    assert tr.events, "a session has gestures"
    prev_end = 0.0
    for e in tr.events:
        assert e.source == "synthetic" and e.confidence == 1.0
        assert IMIGUE.by_label_id(e.label_id).name == e.label
        assert e.start_s >= prev_end and e.end_s > e.start_s
        prev_end = e.end_s
    assert prev_end <= tr.duration_s


def test_session_shape_and_transcript():
    s = generate_session(1.0, seed=3)
    assert isinstance(s.sequence, SkeletonSequence)
    assert s.sequence.num_frames == 1500 and s.sequence.layout == "imigue22"
    _check_transcript(s)
    assert s.sequence.valid.mean() > 0.7


def test_session_is_deterministic():
    a, b = generate_session(0.5, seed=9), generate_session(0.5, seed=9)
    np.testing.assert_array_equal(a.sequence.coords, b.sequence.coords)
    assert a.transcript == b.transcript
    c = generate_session(0.5, seed=10)
    assert c.transcript != a.transcript


def _event_mask(tr, T, fps, pad=0.0):
    m = np.zeros(T, dtype=bool)
    for e in tr.events:
        m[max(0, int((e.start_s - pad) * fps)) : int((e.end_s + pad) * fps) + 1] = True
    return m


def test_head_touches_happen_when_the_transcript_says():
    s = generate_session(2.0, seed=4, classes=[4], rate_per_min=8, class_weights="uniform")
    _check_transcript(s)
    c, fps = s.sequence.coords.astype(float), s.sequence.fps
    sw = shoulder_width(c)
    hand = c[:, 12:22]  # fingertips of both hands
    dist = np.nanmin(np.linalg.norm(hand - head_center(c)[:, None], axis=-1), axis=1) / sw
    near = []
    for e in s.transcript.events:
        a, b = int(e.start_s * fps), int(e.end_s * fps)
        core = dist[a + (b - a) // 3 : b - (b - a) // 3]  # the middle third: hand at the head
        near.append(np.nanmedian(core))
    idle = ~_event_mask(s.transcript, len(dist), fps, pad=1.0)
    assert idle.sum() > 10 * fps
    idle_dist = np.nanmedian(dist[idle])
    assert np.median(near) < 0.5 and idle_dist > 0.9
    assert np.mean(np.array(near) < 0.7) >= 0.8


def test_head_up_raises_the_nose():
    s = generate_session(2.0, seed=6, classes=["head up"], rate_per_min=8, class_weights="uniform")
    c, fps = s.sequence.coords.astype(float), s.sequence.fps
    sw = shoulder_width(c)
    # nose height above the ears (image y grows downwards): larger when the chin is up
    lift = (np.nanmean(c[:, [10, 11], 1], axis=1) - c[:, 0, 1]) / sw
    during = [np.nanmedian(lift[int(e.start_s * fps) + 15 : int(e.end_s * fps) - 15]) for e in s.transcript.events]
    idle = np.nanmedian(lift[~_event_mask(s.transcript, len(lift), fps, pad=1.0)])
    assert np.mean(np.array(during) > idle) >= 0.75


def test_subject_option_and_errors(tmp_path):
    s = generate_session(0.3, seed=1, subject=2, n_subjects=5, id="abc")
    assert s.transcript.id == "abc" and s.sequence.meta["subject"] == 2
    seq_path, tr_path = s.write(tmp_path)
    assert SkeletonSequence.load(seq_path).num_frames == s.sequence.num_frames
    assert Transcript.read(tr_path) == s.transcript
    with pytest.raises(DataError):
        generate_session(0.3, subject=7, n_subjects=5)
    with pytest.raises(DataError):
        generate_session(-1)
    with pytest.raises(DataError):
        generate_session(0.3, class_weights="popular")
