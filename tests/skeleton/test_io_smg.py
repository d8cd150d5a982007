"""SMG release folders: fixture files written from the format description (see io_smg)."""

import csv

import numpy as np
import pytest

from mgreason.errors import DataError
from mgreason.skeleton.io_smg import is_smg_release, read_smg_release, read_smg_sample, read_smg_skeleton


def _joint_values(t: int, offset: float = 0.0) -> list[float]:
    vals = []
    for j in range(25):
        world = [0.1 * (j % 5) + offset + 0.001 * t, 0.2 * (j // 5), 2.0]
        orient = [1.0, 0.0, 0.0, 0.0]
        pixel = [300.0 + 10 * (j % 5) + 100 * offset, 100.0 + 20 * (j // 5)]
        vals += world + orient + pixel + [0.0, 0.0]
    return vals


def _write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def _sample(root, n: int, T: int = 40, labels=True):
    sid = f"Sample{n:04d}"
    d = root / sid
    _write(d / f"{sid}_skeleton.csv", [_joint_values(t) for t in range(T)])
    _write(d / f"{sid}_data.csv", [[T, 30, 4000]])
    if labels:
        _write(d / f"{sid}_finelabels.csv", [[3, 2, 11], [17, 20, 30]])
    return d


def test_skeleton_world_and_pixel(tmp_path):
    d = _sample(tmp_path, 1)
    p = d / "Sample0001_skeleton.csv"
    s = read_smg_skeleton(p)
    assert s.layout == "ntu25" and s.coords.shape == (40, 25, 3) and s.valid.all()
    np.testing.assert_allclose(s.coords[0, 1], [0.1, 0.0, 2.0], atol=1e-6)
    px = read_smg_skeleton(p, coords="pixel")
    assert px.num_channels == 2
    np.testing.assert_allclose(px.coords[0, 6], [310.0, 120.0])


def test_sample_labels_fps_and_release(tmp_path):
    _sample(tmp_path, 1)
    _sample(tmp_path, 36)
    assert is_smg_release(tmp_path)
    samples = read_smg_release(tmp_path)
    assert [s.sample_id for s in samples] == ["Sample0001", "Sample0036"] and samples[1].subject == 36
    t = samples[0].transcript
    assert t.taxonomy == "smg" and [e.label_id for e in t.events] == [2, 16]
    assert t.events[0].start_s == pytest.approx(2 / 30) and t.events[0].end_s == pytest.approx(12 / 30)
    assert samples[0].sequence.fps == 30.0


def test_several_people_and_missing_joints(tmp_path):
    rows = [_joint_values(t) for t in range(5)]
    rows[2] = _joint_values(2, offset=5.0) + _joint_values(2)  # a second person first: the tracked one is kept
    rows[3] = [0.0] * 275  # nobody tracked
    p = _write(tmp_path / "S_skeleton.csv", rows)
    s = read_smg_skeleton(p)
    assert s.meta["multi_person_frames"] == 1 and s.meta["empty_frames"] == [3]
    assert s.coords[2, 0, 0] == pytest.approx(0.002, abs=1e-6)


def test_bad_input_names_file_and_row(tmp_path):
    rows = [_joint_values(t) for t in range(3)]
    rows[1] = rows[1][:100]
    p = _write(tmp_path / "a_skeleton.csv", rows)
    with pytest.raises(DataError, match=r"a_skeleton.csv: row: row 2: 100 values, expected 275"):
        read_smg_skeleton(p)
    d = _sample(tmp_path / "rel", 2, labels=False)
    with pytest.raises(DataError, match="label file missing") as e:
        read_smg_sample(d)
    assert "Sample0002_finelabels.csv" in str(e.value)
    _write(d / "Sample0002_finelabels.csv", [[18, 1, 4]])
    with pytest.raises(DataError, match="row 1: unknown SMG label 18"):
        read_smg_sample(d)
