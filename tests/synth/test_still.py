"""The still tracker (issue 16): keypoints stand still while the body does, as real OpenPose output does."""

import warnings

import numpy as np
import pytest

from mgreason.errors import DataError
from mgreason.synth import GeneratorConfig, generate_session


def _still_share(seq) -> float:
    x = seq.coords[:, :8]  # body joints
    d = np.linalg.norm(np.diff(x, axis=0), axis=-1)
    with warnings.catch_warnings():  # all-NaN rows (nobody seen) are expected
        warnings.simplefilter("ignore", RuntimeWarning)
        per_frame = np.nanmedian(d, axis=1)
    sw = np.nanmedian(np.linalg.norm(seq.coords[:, 2] - seq.coords[:, 5], axis=-1))
    return float(np.nanmean(per_frame < 0.001 * sw))


def test_default_generator_is_unchanged_and_never_still():
    a = generate_session(0.3, seed=3)
    b = generate_session(0.3, seed=3, config=GeneratorConfig(still=0.0, jitter=1.0))
    np.testing.assert_array_equal(a.sequence.coords, b.sequence.coords)
    assert _still_share(a.sequence) < 0.02


def test_still_tracker_holds_keypoints_and_keeps_gestures():
    base = generate_session(0.5, seed=4, rate_per_min=6.0)
    s = generate_session(0.5, seed=4, rate_per_min=6.0, config=GeneratorConfig(still=0.12, jitter=0.4))
    assert 0.3 < _still_share(s.sequence) < 0.9
    # same people, gestures and missing joints: only the reported positions differ, and by little
    assert [e.label for e in s.transcript.events] == [e.label for e in base.transcript.events]
    np.testing.assert_array_equal(np.isnan(s.sequence.coords), np.isnan(base.sequence.coords))
    sw = np.nanmedian(np.linalg.norm(base.sequence.coords[:, 2] - base.sequence.coords[:, 5], axis=-1))
    assert np.nanmedian(np.abs(s.sequence.coords - base.sequence.coords)) < 0.05 * sw


def test_grid_puts_positions_on_the_heatmap_grid():
    s = generate_session(0.3, seed=5, config=GeneratorConfig(grid_px=1.95, jitter=0.2))
    x = s.sequence.coords[np.isfinite(s.sequence.coords)]
    np.testing.assert_allclose(x / 1.95, np.round(x / 1.95), atol=1e-3)
    d = np.abs(np.diff(s.sequence.coords[:, :8, 0], axis=0))
    d = d[np.isfinite(d)]
    assert 0.3 < np.mean(d < 0.2) < 0.95 and np.all((d < 0.01) | (d > 1.9))


def test_still_and_jitter_are_checked():
    with pytest.raises(DataError, match="still"):
        GeneratorConfig(still=2.0)
    with pytest.raises(DataError, match="jitter"):
        GeneratorConfig(jitter=-1.0)
    with pytest.raises(DataError, match="grid_px"):
        GeneratorConfig(grid_px=-1.0)
