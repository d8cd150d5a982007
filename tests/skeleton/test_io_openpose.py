import json

import numpy as np
import pytest

from mgreason.errors import DataError
from mgreason.skeleton.io_openpose import read_openpose_dir, write_openpose_dir
from mgreason.skeleton.layouts import get_layout
from mgreason.skeleton.sequence import SkeletonSequence


def _person(offset_x: float, scale: float = 1.0, hands: bool = True) -> dict:
    """A plausible OpenPose person: body joints on a grid around offset_x."""
    body = np.zeros((25, 3))
    for j in range(19):
        body[j] = [offset_x + 10 * scale * (j % 5), 100 + 20 * scale * (j // 5), 0.8]
    face = np.column_stack([np.full(70, offset_x), np.full(70, 50.0), np.full(70, 0.7)])
    hand = np.column_stack([np.full(21, offset_x + 5), np.full(21, 300.0), np.full(21, 0.5)])
    return {
        "person_id": [-1],
        "pose_keypoints_2d": body.ravel().tolist(),
        "face_keypoints_2d": face.ravel().tolist(),
        "hand_left_keypoints_2d": hand.ravel().tolist() if hands else [],
        "hand_right_keypoints_2d": hand.ravel().tolist() if hands else [],
    }


def _write(d, frame: int, people: list, raw: str | None = None):
    p = d / f"vid_{frame:012d}_keypoints.json"
    p.write_text(raw if raw is not None else json.dumps({"version": 1.3, "people": people}))
    return p


def test_reads_frames_people_and_bad_files(tmp_path):
    d = tmp_path / "op"
    d.mkdir()
    _write(d, 0, [_person(100)])
    _write(d, 1, [])  # nobody detected
    # two people: the tracked one (near x=100) and a bigger one elsewhere, listed first
    _write(d, 2, [_person(600, scale=2.0), _person(102)])
    _write(d, 3, [_person(104)], raw='{"version": 1.3, "people": [{"pose_keypoints_2d": [1.0, 2.0')  # truncated
    _write(d, 4, [], raw=json.dumps({"version": 1.3, "people": [{"pose_keypoints_2d": [1.0, 2.0, 0.5]}]}))
    # frame 5 is absent from the numbering
    _write(d, 6, [_person(106, hands=False)])
    with pytest.warns(UserWarning, match="unreadable"):
        s = read_openpose_dir(d)
    assert s.layout == "openpose137" and s.num_frames == 7
    assert s.meta["bad_files"] == ["vid_000000000003_keypoints.json", "vid_000000000004_keypoints.json"]
    assert s.meta["empty_frames"] == [1]
    assert s.meta["missing_frames"] == [3, 4, 5]
    assert s.meta["multi_person_frames"] == 1
    for t in (1, 3, 4, 5):
        assert np.all(s.confidence[t] == 0) and np.all(np.isnan(s.coords[t]))
    # the same person is kept in frame 2 (x ~ 102, not the bigger person at 600)
    assert s.coords[2, 0, 0] == pytest.approx(102)
    assert s.coords[6, 0, 0] == pytest.approx(106)
    # empty hand arrays -> hand joints missing
    lay = get_layout("openpose137")
    assert s.confidence[6, lay.index("left_hand_root")] == 0
    assert s.confidence[0, lay.index("left_hand_root")] == pytest.approx(0.5)
    # joints written as 0,0,0 are missing, not at the origin
    assert s.confidence[0, lay.index("mid_hip")] > 0 and s.confidence[0, lay.index("left_big_toe")] == 0


def test_strict_raises_on_corrupt_file(tmp_path):
    _write(tmp_path, 0, [_person(100)])
    _write(tmp_path, 1, [], raw="{not json")
    with pytest.raises(DataError, match="vid_000000000001_keypoints.json"):
        read_openpose_dir(tmp_path, strict=True)


def test_errors_for_missing_or_unreadable_directories(tmp_path):
    with pytest.raises(DataError):
        read_openpose_dir(tmp_path / "absent")
    with pytest.raises(DataError, match="no OpenPose files"):
        read_openpose_dir(tmp_path)
    _write(tmp_path, 0, [], raw="garbage")
    with pytest.warns(UserWarning), pytest.raises(DataError, match="no readable"):
        read_openpose_dir(tmp_path)


def test_layout_option_maps_to_imigue22(tmp_path):
    _write(tmp_path, 0, [_person(100)])
    s = read_openpose_dir(tmp_path, layout="imigue22", fps=30)
    assert s.layout == "imigue22" and s.fps == 30 and s.num_joints == 22
    assert s.confidence[0, 12] == pytest.approx(0.5)  # right thumb tip from the right hand block


def test_write_read_roundtrip(tmp_path, rng):
    T = 6
    coords = rng.uniform(0, 500, (T, 22, 2)).astype(np.float32)
    conf = rng.uniform(0.1, 1.0, (T, 22)).astype(np.float32)
    conf[2, 5] = 0
    conf[4] = 0  # a frame with nobody
    s = SkeletonSequence(coords, conf, 25, "imigue22")
    write_openpose_dir(s, tmp_path, prefix="x")
    assert len(list(tmp_path.glob("x_*_keypoints.json"))) == T
    assert json.loads((tmp_path / "x_000000000004_keypoints.json").read_text())["people"] == []
    back = read_openpose_dir(tmp_path, layout="imigue22")
    np.testing.assert_allclose(back.coords[s.valid], coords[s.valid], atol=1e-3)
    np.testing.assert_allclose(back.confidence, np.where(s.valid, conf, 0), atol=1e-4)
    assert back.meta["empty_frames"] == [4]
