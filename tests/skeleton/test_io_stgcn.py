import pickle

import numpy as np
import pytest

from mgreason.errors import DataError
from mgreason.skeleton.io_stgcn import read_stgcn, write_stgcn
from mgreason.skeleton.sequence import SkeletonSequence


def test_handwritten_miga_style_arrays(tmp_path, rng):
    # (N, C=3, T, V, M) with x, y, confidence; clip 1 is zero-padded after 20 frames
    N, T = 2, 30
    data = np.zeros((N, 3, T, 22, 1), dtype=np.float32)
    data[:, :2] = rng.uniform(1, 500, (N, 2, T, 22, 1))
    data[:, 2] = rng.uniform(0.1, 1.0, (N, T, 22, 1))
    data[1, :, 20:] = 0
    data[0, :, 5, 7] = 0  # one joint missing
    np.save(tmp_path / "train_data.npy", data)
    with open(tmp_path / "train_label.pkl", "wb") as f:
        pickle.dump((["a.csv", "b.csv"], [3, 31]), f)
    samples = read_stgcn(tmp_path / "train_data.npy", tmp_path / "train_label.pkl")
    assert [s.name for s in samples] == ["a.csv", "b.csv"] and [s.label for s in samples] == [3, 31]
    a, b = samples[0].sequence, samples[1].sequence
    assert a.num_frames == 30 and b.num_frames == 20
    ok = a.valid
    np.testing.assert_array_equal(a.coords[:, :, 0][ok], data[0, 0, :, :, 0][ok])
    np.testing.assert_array_equal(a.confidence, data[0, 2, :, :, 0])
    assert not a.valid[5, 7] and a.valid[5, 6] and ok.sum() == 30 * 22 - 1
    assert np.isnan(a.coords[5, 7]).all()  # missing joints carry NaN, not (0, 0)


def test_write_read_roundtrip(tmp_path, rng):
    seqs = [
        SkeletonSequence(rng.uniform(1, 9, (T, 22, 2)), rng.uniform(0.1, 1, (T, 22)), 25, "imigue22") for T in (8, 12)
    ]
    d, l = write_stgcn(tmp_path / "x_data.npy", tmp_path / "x_label.pkl", seqs, [1, 2], ["p", "q"])
    arr = np.load(d)
    assert arr.shape == (2, 3, 12, 22, 1)
    back = read_stgcn(d, l)
    for s, b in zip(seqs, back):
        np.testing.assert_allclose(b.sequence.coords, s.coords)
        np.testing.assert_allclose(b.sequence.confidence, s.confidence)
    # max_frame keeps the last frames, as the iMiGUE baseline does
    d2, l2 = write_stgcn(tmp_path / "y_data.npy", tmp_path / "y_label.pkl", seqs, [1, 2], max_frame=5)
    back2 = read_stgcn(d2, l2)
    np.testing.assert_allclose(back2[1].sequence.coords, seqs[1].coords[-5:])


def test_3d_ntu_layout(tmp_path, rng):
    s = SkeletonSequence(rng.uniform(-1, 1, (10, 25, 3)), np.ones((10, 25)), 30, "ntu25")
    d, l = write_stgcn(tmp_path / "a_data.npy", tmp_path / "a_label.pkl", [s], [4])
    assert np.load(d).shape == (1, 3, 10, 25, 1)
    (b,) = read_stgcn(d, l, layout="ntu25", fps=30)
    np.testing.assert_allclose(b.sequence.coords, s.coords, rtol=1e-6)
    assert b.sequence.valid.all()


def test_errors(tmp_path):
    np.save(tmp_path / "bad_data.npy", np.zeros((2, 3, 4, 22)))
    with pytest.raises(DataError, match="N, C, T, V, M"):
        read_stgcn(tmp_path / "bad_data.npy")
    np.save(tmp_path / "v_data.npy", np.zeros((2, 3, 4, 21, 1)))
    with pytest.raises(DataError, match="joints"):
        read_stgcn(tmp_path / "v_data.npy")
    np.save(tmp_path / "ok_data.npy", np.ones((2, 3, 4, 22, 1)))
    with open(tmp_path / "ok_label.pkl", "wb") as f:
        pickle.dump((["a"], [1]), f)
    with pytest.raises(DataError, match="1 names"):
        read_stgcn(tmp_path / "ok_data.npy", tmp_path / "ok_label.pkl")
    with pytest.raises(DataError):
        read_stgcn(tmp_path / "missing.npy")
