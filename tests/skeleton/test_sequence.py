import numpy as np
import pytest

from mgreason.errors import DataError
from mgreason.skeleton.sequence import SkeletonSequence


def _seq(rng, T=50, V=22):
    return SkeletonSequence(rng.normal(size=(T, V, 2)), rng.uniform(0, 1, (T, V)), 25.0, "imigue22", {"id": "x"})


def test_validation():
    with pytest.raises(DataError):
        SkeletonSequence(np.zeros((5, 21, 2)), np.zeros((5, 21)), 25, "imigue22")
    with pytest.raises(DataError):
        SkeletonSequence(np.zeros((5, 22, 2)), np.zeros((5, 21)), 25, "imigue22")
    with pytest.raises(DataError):
        SkeletonSequence(np.zeros((5, 22, 2)), np.zeros((5, 22)), 0, "imigue22")
    with pytest.raises(DataError):
        SkeletonSequence(np.zeros((5, 22, 2)), np.zeros((5, 22)), 25, "unknown")
    s = SkeletonSequence(np.zeros((5, 22, 2), dtype=np.float64), np.ones((5, 22)), 25, "imigue22")
    assert s.coords.dtype == np.float32 and s.confidence.dtype == np.float32


def test_slicing_and_time(rng):
    s = _seq(rng)
    part = s[10:20]
    assert part.num_frames == 10 and part.meta["start_s"] == pytest.approx(0.4)
    np.testing.assert_array_equal(part.coords, s.coords[10:20])
    assert part.times[0] == pytest.approx(0.4)
    half = s[::2]
    assert half.fps == 12.5 and half.num_frames == 25
    w = s.slice_time(1.0, 1.5)
    np.testing.assert_array_equal(w.coords, s.coords[25:38])
    assert s.duration_s == pytest.approx(2.0)


def test_valid_and_joint(rng):
    s = _seq(rng)
    s.confidence[3, 4] = 0
    s.coords[5, 4, 0] = np.nan
    assert not s.valid[3, 4] and not s.valid[5, 4] and s.valid[6, 4]
    wrist = s.joint("right_wrist")
    assert np.isnan(wrist[3]).all() and np.isnan(wrist[5]).all()


def test_array_roundtrip(rng):
    s = _seq(rng)
    a = s.to_array()
    assert a.shape == (50, 22, 3)
    back = SkeletonSequence.from_array(a, "imigue22", 25.0)
    np.testing.assert_array_equal(back.coords[back.valid], s.coords[s.valid])
    np.testing.assert_array_equal(back.confidence, s.confidence)


def test_npz_roundtrip(tmp_path, rng):
    s = _seq(rng)
    s.meta["subject"] = np.int64(3)
    p = tmp_path / "a.npz"
    s.save(p)
    t = SkeletonSequence.load(p)
    np.testing.assert_array_equal(t.coords, s.coords)
    np.testing.assert_array_equal(t.confidence, s.confidence)
    assert t.layout == "imigue22" and t.fps == 25.0 and t.meta == {"id": "x", "subject": 3}
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DataError):
        SkeletonSequence.load(bad)
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(DataError, match="missing"):
        SkeletonSequence.load(tmp_path / "other.npz")


def test_concatenate(rng):
    a, b = _seq(rng, T=5), _seq(rng, T=7)
    c = SkeletonSequence.concatenate([a, b])
    assert c.num_frames == 12
    np.testing.assert_array_equal(c.coords[5:], b.coords)
