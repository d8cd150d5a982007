import numpy as np
import pytest

from mgreason.errors import DataError
from mgreason.skeleton.layouts import get_layout
from mgreason.skeleton.preprocess import fill_missing, normalize, preprocess, resample, sanitize, smooth
from mgreason.skeleton.sequence import SkeletonSequence

L = get_layout("imigue22")


def _body(T=40, scale=200.0, offset=(600.0, 300.0), rng=None):
    """A still imigue22 pose in pixels (shoulder width = scale) with a little noise."""
    base = np.zeros((22, 2))
    base[L.index("neck")] = [0, 0]
    base[L.index("right_shoulder")] = [-0.5, 0.02]
    base[L.index("left_shoulder")] = [0.5, 0.02]
    base[L.index("nose")] = [0, -0.3]
    for side, sx in (("right", -1), ("left", 1)):
        base[L.index(f"{side}_elbow")] = [0.7 * sx, 0.6]
        base[L.index(f"{side}_wrist")] = [0.3 * sx, 0.8]
        base[L.index(f"{side}_eye")] = [0.1 * sx, -0.4]
        base[L.index(f"{side}_ear")] = [0.25 * sx, -0.38]
        for k, f in enumerate(("thumb", "index", "middle", "ring", "pinky")):
            base[L.index(f"{side}_{f}_tip")] = [0.3 * sx - 0.05 * sx * k, 1.0]
    coords = base[None] * scale + np.asarray(offset)
    coords = np.repeat(coords, T, 0)
    if rng is not None:
        coords = coords + rng.normal(0, 1.0, coords.shape)
    return SkeletonSequence(coords, np.full((T, 22), 0.8), 25, "imigue22")


def test_sanitize_handles_nan_inf_and_bad_confidence():
    s = _body()
    s.coords[3, 4] = [np.inf, 1]
    s.coords[4, 5, 1] = np.nan
    s.coords[6, 6] = [1e12, 0]
    s.confidence[5, 7] = np.nan
    s.confidence[7, 8] = 3.0
    s.confidence[8, 9] = 0.1
    out = sanitize(s, min_confidence=0.2)
    for t, v in ((3, 4), (4, 5), (6, 6), (5, 7), (8, 9)):
        assert out.confidence[t, v] == 0 and np.all(np.isnan(out.coords[t, v])), (t, v)
    assert out.confidence[7, 8] == 1.0
    assert np.isfinite(out.confidence).all()


def test_fill_missing_interpolates_and_is_finite():
    s = _body()
    x = np.linspace(0, 39, 40)
    s.coords[:, 4, 0] = 600 + x  # the wrist moves linearly
    s.confidence[10:15, 4] = 0
    s.coords[10:15, 4] = np.nan
    s.confidence[:, 12] = 0  # a fingertip never seen
    s.coords[:, 12] = np.inf
    s.confidence[0:3, 0] = 0  # nose missing at the start
    out = fill_missing(s)
    assert np.isfinite(out.coords).all()
    np.testing.assert_allclose(out.coords[10:15, 4, 0], 600 + x[10:15], atol=1e-3)
    # the never-seen fingertip sits on its parent (the right wrist)
    np.testing.assert_allclose(out.coords[:, 12], out.coords[:, 4])
    np.testing.assert_allclose(out.coords[0:3, 0], np.repeat(out.coords[3:4, 0], 3, 0))  # held
    # filled joints stay marked as unobserved unless asked otherwise
    assert np.all(out.confidence[10:15, 4] == 0) and np.all(out.confidence[:, 12] == 0)
    assert np.all(fill_missing(s, fill_confidence=0.05).confidence[10:15, 4] == pytest.approx(0.05))
    assert out.meta["filled_fraction"] > 0


def test_fill_missing_max_gap():
    s = _body()
    s.confidence[5:25, 4] = 0  # a 20-frame gap
    s.confidence[30:32, 4] = 0  # a 2-frame gap
    out = fill_missing(s, max_gap=5)
    # long gaps fall back to the parent joint (elbow), short ones are interpolated
    np.testing.assert_allclose(out.coords[10, 4], out.coords[10, 3])
    np.testing.assert_allclose(out.coords[31, 4], s.coords[29, 4], atol=2.0)


def test_fill_missing_all_invalid_sequence():
    s = _body(T=5)
    s.confidence[:] = 0
    out = fill_missing(s)
    assert np.isfinite(out.coords).all() and np.all(out.confidence == 0)


def test_normalize_center_and_scale(rng):
    s = _body(scale=300, offset=(700, 250), rng=rng)
    out = normalize(s)
    neck = out.coords[:, L.index("neck")]
    assert np.abs(np.median(neck, axis=0)).max() < 0.01
    width = np.linalg.norm(out.coords[:, 2] - out.coords[:, 5], axis=-1)
    assert np.median(width) == pytest.approx(1.0, abs=0.01)
    # the same pose at another scale/offset normalises to the same thing
    other = normalize(_body(scale=120, offset=(100, 500), rng=rng))
    np.testing.assert_allclose(np.median(other.coords, 0), np.median(out.coords, 0), atol=0.03)
    # whole-body motion is kept with sequence-level normalisation, removed per frame
    moving = _body(scale=200)
    moving.coords[:] += np.linspace(0, 100, 40)[:, None, None]
    assert np.ptp(normalize(moving).coords[:, 1, 0]) == pytest.approx(0.5, abs=0.01)
    assert np.ptp(normalize(moving, per_frame=True).coords[:, 1, 0]) < 1e-4


def test_normalize_without_neck_or_shoulders():
    s = _body()
    s.confidence[:, [1, 2, 5]] = 0  # neck and shoulders never seen
    out = normalize(s)
    ok = out.valid
    assert np.isfinite(out.coords[ok]).all()
    assert np.abs(out.coords[ok]).max() < 10


def test_smooth_reduces_jitter_and_keeps_invalid(rng):
    s = _body(rng=rng)
    s.coords += rng.normal(0, 5, s.coords.shape)
    s.confidence[20, 3] = 0
    out = smooth(s, 2.0)
    assert np.std(np.diff(out.coords[:, 0, 0])) < 0.5 * np.std(np.diff(s.coords[:, 0, 0]))
    assert not out.valid[20, 3] and out.valid[21, 3]


def test_resample_and_preprocess():
    s = _body(T=60)
    s.coords[:, 4, 0] = np.arange(60.0)
    r = resample(s, 12.5)
    assert r.fps == 12.5 and r.num_frames == 30
    np.testing.assert_allclose(r.coords[:, 4, 0], np.arange(0, 60, 2.0))
    with pytest.raises(DataError):
        resample(s, 0)
    s.coords[7, 3] = np.nan
    s.confidence[9, 10] = np.inf
    p = preprocess(s, fps=30.0, smooth_sigma=1.0)
    assert p.fps == 30 and np.isfinite(p.coords).all() and np.isfinite(p.confidence).all()
