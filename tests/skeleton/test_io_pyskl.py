import os
import pickle

import numpy as np
import pytest

from mgreason.errors import DataError
from mgreason.skeleton.io_pyskl import (
    annotation_to_sequence,
    read_pyskl,
    safe_pickle_load,
    sequence_to_annotation,
    write_pyskl,
)
from mgreason.skeleton.sequence import SkeletonSequence


def _seq(rng, T):
    c = rng.uniform(0, 700, (T, 22, 2)).astype(np.float32)
    k = rng.uniform(0.05, 1, (T, 22)).astype(np.float32)
    k[0, 3] = 0
    c[0, 3] = np.nan
    return SkeletonSequence(c, k, 25.0, "imigue22")


def test_write_read_roundtrip(tmp_path, rng):
    seqs = [_seq(rng, T) for T in (30, 45, 12)]
    anns = [sequence_to_annotation(s, label=i, frame_dir=f"v_{i}", subject=i + 10) for i, s in enumerate(seqs)]
    split = {"train": ["v_0", "v_1"], "test": ["v_2"]}
    path = write_pyskl(tmp_path / "d.pkl", anns, split)
    anns2, split2 = read_pyskl(path)
    assert split2 == split
    assert [a["frame_dir"] for a in anns2] == ["v_0", "v_1", "v_2"]
    for a, s, i in zip(anns2, seqs, range(3)):
        assert a["keypoint"].shape == (1, s.num_frames, 22, 2) and a["keypoint"].dtype == np.float32
        assert a["keypoint_score"].shape == (1, s.num_frames, 22)
        assert a["total_frames"] == s.num_frames and a["label"] == i and a["subject"] == i + 10
        assert a["img_shape"] == (720, 1280)
        assert a["keypoint"][0, 0, 3].tolist() == [0.0, 0.0]  # invalid joints written as 0
        back = annotation_to_sequence(a)
        np.testing.assert_array_equal(back.coords[s.valid], s.coords[s.valid])
        np.testing.assert_array_equal(back.confidence, s.confidence)
        assert not back.valid[0, 3]


def test_default_split_and_plain_list(tmp_path, rng):
    anns = [sequence_to_annotation(_seq(rng, 5), 0, "a")]
    anns2, split = read_pyskl(write_pyskl(tmp_path / "x.pkl", anns))
    assert split == {"all": ["a"]}
    with open(tmp_path / "list.pkl", "wb") as f:
        pickle.dump(anns, f)
    anns3, split3 = read_pyskl(tmp_path / "list.pkl")
    assert len(anns3) == 1 and split3 == {}


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda a: a.pop("keypoint"), "annotations[0]"),
        (lambda a: a.update(total_frames=99), "annotations[0].total_frames"),
        (lambda a: a.update(keypoint=np.zeros((5, 22, 2))), "annotations[0].keypoint"),
        (lambda a: a.update(keypoint_score=np.zeros((1, 4, 22))), "annotations[0].keypoint_score"),
        (lambda a: a.update(label="x"), "annotations[0].label"),
    ],
)
def test_invalid_annotations(tmp_path, rng, change, field):
    a = sequence_to_annotation(_seq(rng, 5), 0, "a")
    change(a)
    with open(tmp_path / "bad.pkl", "wb") as f:
        pickle.dump({"split": {}, "annotations": [a]}, f)
    with pytest.raises(DataError) as e:
        read_pyskl(tmp_path / "bad.pkl")
    assert e.value.field == field


def test_split_must_name_known_clips(tmp_path, rng):
    anns = [sequence_to_annotation(_seq(rng, 5), 0, "a")]
    with pytest.raises(DataError, match="unknown frame_dir"):
        write_pyskl(tmp_path / "x.pkl", anns, {"train": ["b"]})


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_unpickler_refuses_code(tmp_path):
    p = tmp_path / "evil.pkl"
    with open(p, "wb") as f:
        pickle.dump({"split": {}, "annotations": [_Evil()]}, f)
    with pytest.raises(DataError, match="not allowed"):
        safe_pickle_load(p)
    (tmp_path / "trunc.pkl").write_bytes(p.read_bytes()[:10])
    with pytest.raises(DataError):
        read_pyskl(tmp_path / "trunc.pkl")
