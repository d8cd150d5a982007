"""Input readers (OpenPose directory, npy/npz, PYSKL entry, video dispatch), gaps and usability checks."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from mgreason.errors import DataError
from mgreason.skeleton import SkeletonSequence, sequence_to_annotation, write_openpose_dir, write_pyskl
from mgreason.transcribe.inputs import check_usable, find_gaps, input_kind, load_array, load_input


@pytest.fixture(scope="module")
def seq(short_session) -> SkeletonSequence:
    return short_session.sequence[:100]  # 4 s of imigue22 at 25 fps


def test_input_kind(tmp_path):
    assert input_kind(tmp_path) == "openpose"
    for name, kind in (("a.npz", "npz"), ("a.NPY", "npy"), ("a.pkl", "pyskl"), ("a.mp4", "video"), ("a.webm", "video")):
        assert input_kind(tmp_path / name) == kind
    assert input_kind(tmp_path / "a.GIF") == "gif"
    with pytest.raises(DataError, match="unsupported input"):
        input_kind(tmp_path / "a.csv")


def test_a_directory_is_openpose_or_frames_by_its_files(tmp_path):
    frames, openpose = tmp_path / "frames", tmp_path / "openpose"
    frames.mkdir()
    openpose.mkdir()
    (frames / "f1.PNG").write_bytes(b"")
    (frames / "notes.txt").write_text("x")
    (openpose / "v_000000000000_keypoints.json").write_text("{}")
    (openpose / "preview.png").write_bytes(b"")  # OpenPose output with a rendered frame is still OpenPose
    assert input_kind(frames) == "frames" and input_kind(openpose) == "openpose"
    (tmp_path / "empty").mkdir()
    assert input_kind(tmp_path / "empty") == "openpose"  # read as OpenPose: its error names the missing files


def test_openpose_directory(tmp_path, seq):
    write_openpose_dir(seq, tmp_path / "op", prefix="clip")
    li = load_input(tmp_path / "op")
    assert li.kind == "openpose" and li.id == "op"
    assert li.sequence.layout == "openpose137" and li.sequence.num_frames == 100
    assert li.sequence.fps == 25.0 and any("25 fps" in n for n in li.notes)
    li = load_input(tmp_path / "op", fps=30)
    assert li.sequence.fps == 30.0 and not li.notes
    # the body joints come back where they were written
    i = seq.layout_obj.index("right_wrist")
    j = li.sequence.layout_obj.index("right_wrist")
    ok = seq.valid[:, i]
    np.testing.assert_allclose(li.sequence.coords[ok, j], seq.coords[ok, i], atol=1e-3)


def test_saved_sequence_npz(tmp_path, seq):
    seq.save(tmp_path / "s.npz")
    li = load_input(tmp_path / "s.npz")
    assert li.kind == "npz" and li.id == "s" and li.sequence.layout == "imigue22"
    np.testing.assert_array_equal(li.sequence.valid, seq.valid)
    assert load_input(tmp_path / "s.npz", fps=50).sequence.fps == 50.0
    with pytest.raises(DataError, match="--layout says coco17"):
        load_input(tmp_path / "s.npz", layout="coco17")


def test_generic_npz_and_npy(tmp_path, seq):
    arr = seq.to_array(with_confidence=False)
    np.savez(tmp_path / "k.npz", keypoint=arr[None], keypoint_score=seq.confidence[None], fps=np.float64(30))
    s = load_input(tmp_path / "k.npz").sequence
    assert s.layout == "imigue22" and s.fps == 30.0  # layout from the joint count, fps from the file
    np.testing.assert_array_equal(s.valid, seq.valid)

    np.save(tmp_path / "c.npy", seq.to_array(with_confidence=True))  # (T, V, 3): x, y, confidence
    s = load_array(tmp_path / "c.npy")
    np.testing.assert_array_equal(s.valid, seq.valid)
    assert s.fps == 25.0

    two = np.stack([arr, arr + 100.0])  # (M, T, V, 2)
    np.save(tmp_path / "m.npy", two)
    s1 = load_array(tmp_path / "m.npy", person=1)
    j = s1.layout_obj.index("neck")
    ok = seq.valid[:, j]
    np.testing.assert_allclose(s1.coords[ok, j], seq.coords[ok, j] + 100.0, atol=1e-4)
    with pytest.raises(DataError, match="--person 2"):
        load_array(tmp_path / "m.npy", person=2)

    np.save(tmp_path / "coco.npy", np.random.default_rng(0).random((30, 17, 3)).astype(np.float32))
    assert load_array(tmp_path / "coco.npy").layout == "coco17"


def test_array_errors(tmp_path):
    np.save(tmp_path / "odd.npy", np.zeros((10, 19, 2), np.float32))
    with pytest.raises(DataError, match="cannot tell the layout of 19 joints"):
        load_array(tmp_path / "odd.npy")
    np.save(tmp_path / "a.npy", np.zeros((10, 17, 2), np.float32))
    with pytest.raises(DataError, match="wrong layout: the array has 17 joints but layout imigue22 has 22"):
        load_array(tmp_path / "a.npy", layout="imigue22")
    np.save(tmp_path / "flat.npy", np.zeros((10, 44), np.float32))
    with pytest.raises(DataError, match=r"\(T, V, C\)"):
        load_array(tmp_path / "flat.npy")
    (tmp_path / "junk.npy").write_bytes(b"not numpy at all")
    with pytest.raises(DataError, match="cannot read keypoint array"):
        load_array(tmp_path / "junk.npy")
    np.savez(tmp_path / "two.npz", a=np.zeros((5, 22, 2)), b=np.zeros((5, 22, 2)))
    with pytest.raises(DataError, match="which array holds the keypoints"):
        load_array(tmp_path / "two.npz")


def test_pyskl_entries(tmp_path, seq):
    anns = [sequence_to_annotation(seq, 3, "clip_a"), sequence_to_annotation(seq[:50], 5, "clip_b")]
    write_pyskl(tmp_path / "d.pkl", anns)
    with pytest.raises(DataError, match="holds 2 annotations; choose one with --entry"):
        load_input(tmp_path / "d.pkl")
    li = load_input(tmp_path / "d.pkl", entry="clip_b")
    assert li.id == "clip_b" and li.sequence.num_frames == 50 and li.kind == "pyskl"
    assert load_input(tmp_path / "d.pkl", entry="0").id == "clip_a"
    with pytest.raises(DataError, match="no annotation 'nope'"):
        load_input(tmp_path / "d.pkl", entry="nope")
    write_pyskl(tmp_path / "one.pkl", anns[:1])
    assert load_input(tmp_path / "one.pkl").id == "clip_a"


def test_video_without_the_extra_says_what_to_install(tmp_path, monkeypatch):
    (tmp_path / "v.mp4").write_bytes(b"\x00" * 100)
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # import mediapipe -> ImportError
    with pytest.raises(DataError, match=r"mgreason\[video\]"):
        load_input(tmp_path / "v.mp4")


def test_gaps_reported_and_masked(seq):
    s = seq.copy()
    s.coords[20:50] = np.nan  # 1.2 s with nobody: reported and masked
    s.confidence[20:50] = 0
    s.coords[70:72] = np.nan  # 2 frames: an ordinary drop-out, neither reported nor masked
    s.confidence[70:72] = 0
    s.meta["unreadable_frames"] = [90]  # one unreadable frame: reported, bridged
    s.coords[90] = np.nan
    s.confidence[90] = 0
    gaps, mask = find_gaps(s, min_gap_s=0.5)
    assert [(g.start_frame, g.end_frame, g.reason, g.masked) for g in gaps] == [
        (20, 50, "no person", True),
        (90, 91, "unreadable", False),
    ]
    assert gaps[0].start_s == 0.8 and gaps[0].end_s == 2.0
    assert not mask[20:50].any() and mask[:20].all() and mask[50:].all()
    assert "no person detected" in gaps[0].describe()


def test_openpose_unreadable_files_become_an_unreadable_gap(tmp_path, seq):
    paths = write_openpose_dir(seq, tmp_path / "op")
    for p in paths[40:60]:
        p.write_text('{"version": 1.3, "people": [{"pose_keypoints_2d": [1, 2')  # truncated JSON
    li = load_input(tmp_path / "op")
    gaps, mask = find_gaps(li.sequence)
    assert [(g.start_frame, g.end_frame, g.reason, g.masked) for g in gaps] == [(40, 60, "unreadable", True)]
    assert any("20 unreadable OpenPose file" in n for n in li.notes)


def test_check_usable(seq):
    check_usable(seq, "imigue22")
    with pytest.raises(DataError, match="too short: 10 frame"):
        check_usable(seq[:10], "imigue22")
    empty = seq.replace(coords=np.full_like(seq.coords, np.nan), confidence=np.zeros_like(seq.confidence))
    with pytest.raises(DataError, match="no person detected in any frame"):
        check_usable(empty, "imigue22")
    legs = SkeletonSequence(np.random.default_rng(0).random((50, 25, 3)), None, 25.0, "ntu25")
    check_usable(legs, "imigue22")  # Kinect covers most of the upper body
    from mgreason.skeleton.layouts import Layout, register_layout

    register_layout(Layout("legs4_test", ("left_knee", "right_knee", "left_ankle", "right_ankle"),
                           (("left_knee", "left_ankle"), ("right_knee", "right_ankle")), "left_knee", 2))  # fmt: skip
    only_legs = SkeletonSequence(np.ones((50, 4, 2)), None, 25.0, "legs4_test")
    with pytest.raises(DataError, match="wrong layout: legs4_test provides only 0 of the 22 joints"):
        check_usable(only_legs, "imigue22")
