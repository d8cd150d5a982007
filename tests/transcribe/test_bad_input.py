"""Bad input: one clear line on stderr and exit code 2; a partly unreadable recording is transcribed
with the bad span reported (metadata and stderr), not skipped silently."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import assert_one_line_error, run_cli
from mgreason.skeleton import write_openpose_dir
from mgreason.transcript import Transcript

from .videos import corrupt_middle, needs_clip, needs_video, shipped_clip, write_blank_video


def transcribe(args, checkpoint_dir, monkeypatch, capsys):
    return run_cli(["transcribe", *args, "--checkpoint", checkpoint_dir, "--threads", "1"], monkeypatch, capsys)


# ---------------------------------------------------------------------------- one-line errors
def test_missing_and_unsupported_input(tmp_path, checkpoint_dir, monkeypatch, capsys):
    res = transcribe([tmp_path / "nope.npz", "-o", tmp_path / "t.json"], checkpoint_dir, monkeypatch, capsys)
    assert_one_line_error(res, "nope.npz", "no such file")
    (tmp_path / "x.csv").write_text("a,b\n")
    res = transcribe([tmp_path / "x.csv", "-o", tmp_path / "t.json"], checkpoint_dir, monkeypatch, capsys)
    assert_one_line_error(res, "x.csv", "unsupported input")
    assert not (tmp_path / "t.json").exists()


def test_too_short_input(tmp_path, short_session, checkpoint_dir, monkeypatch, capsys):
    short_session.sequence[:10].save(tmp_path / "short.npz")
    res = transcribe([tmp_path / "short.npz", "-o", tmp_path / "t.json"], checkpoint_dir, monkeypatch, capsys)
    assert_one_line_error(res, "short.npz", "too short: 10 frame(s)")
    assert not (tmp_path / "t.json").exists()


def test_wrong_layout(tmp_path, checkpoint_dir, monkeypatch, capsys):
    np.save(tmp_path / "coco.npy", np.random.default_rng(0).random((100, 17, 2)).astype(np.float32) * 100)
    res = transcribe([tmp_path / "coco.npy", "-o", tmp_path / "t.json", "--layout", "imigue22"],
                     checkpoint_dir, monkeypatch, capsys)  # fmt: skip
    assert_one_line_error(res, "coco.npy", "wrong layout", "17 joints", "imigue22 has 22")
    res = transcribe([tmp_path / "coco.npy", "-o", tmp_path / "t.json", "--layout", "kinect_v9"],
                     checkpoint_dir, monkeypatch, capsys)  # fmt: skip
    assert_one_line_error(res, "unknown skeleton layout 'kinect_v9'")
    np.save(tmp_path / "odd.npy", np.zeros((100, 19, 2), np.float32))
    res = transcribe([tmp_path / "odd.npy", "-o", tmp_path / "t.json"], checkpoint_dir, monkeypatch, capsys)
    assert_one_line_error(res, "odd.npy", "19 joints", "--layout")


def test_no_person_in_any_frame_skeleton(tmp_path, checkpoint_dir, monkeypatch, capsys):
    d = tmp_path / "empty_op"
    d.mkdir()
    for i in range(60):
        (d / f"vid_{i:012d}_keypoints.json").write_text('{"version": 1.3, "people": []}')
    res = transcribe([d, "-o", tmp_path / "t.json"], checkpoint_dir, monkeypatch, capsys)
    assert_one_line_error(res, "empty_op", "no person detected in any frame")


def test_unreadable_skeleton_files(tmp_path, checkpoint_dir, monkeypatch, capsys):
    (tmp_path / "bad.pkl").write_bytes(b"\x80\x04garbage")
    res = transcribe([tmp_path / "bad.pkl", "-o", tmp_path / "t.json"], checkpoint_dir, monkeypatch, capsys)
    assert_one_line_error(res, "bad.pkl", "pickle")
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 truncated zip")
    res = transcribe([tmp_path / "bad.npz", "-o", tmp_path / "t.json"], checkpoint_dir, monkeypatch, capsys)
    assert_one_line_error(res, "bad.npz", "cannot read")
    d = tmp_path / "all_bad"
    d.mkdir()
    for i in range(30):
        (d / f"v_{i:012d}_keypoints.json").write_text("{")
    res = transcribe([d, "-o", tmp_path / "t.json"], checkpoint_dir, monkeypatch, capsys)
    assert_one_line_error(res, "all_bad", "no readable OpenPose file")


def test_bad_checkpoint(tmp_path, short_session, monkeypatch, capsys):
    short_session.sequence.save(tmp_path / "s.npz")
    (tmp_path / "ckpt").mkdir()
    res = run_cli(["transcribe", tmp_path / "s.npz", "-o", tmp_path / "t.json", "-c", tmp_path / "ckpt"], monkeypatch, capsys)
    assert_one_line_error(res, "ckpt", "config.json")


def test_bad_segmentation_options(tmp_path, short_session, checkpoint_dir, monkeypatch, capsys):
    short_session.sequence.save(tmp_path / "s.npz")
    res = transcribe([tmp_path / "s.npz", "-o", tmp_path / "t.json", "--high", "0.2", "--low", "0.5"],
                     checkpoint_dir, monkeypatch, capsys)  # fmt: skip
    assert_one_line_error(res, "low <= high")


def test_unreadable_video_one_line(tmp_path, checkpoint_dir, monkeypatch, capsys):
    """Garbage in a .mp4: 'unreadable video' with the extra installed, else what to install."""
    (tmp_path / "garbage.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    res = transcribe([tmp_path / "garbage.mp4", "-o", tmp_path / "t.json"], checkpoint_dir, monkeypatch, capsys)
    from .videos import have_video_extra

    if have_video_extra():
        assert_one_line_error(res, "garbage.mp4", "unreadable video")
    else:
        assert_one_line_error(res, "mgreason[video]")


@needs_video
def test_truncated_video_one_line(tmp_path, checkpoint_dir, monkeypatch, capsys):
    blank = write_blank_video(tmp_path / "blank.mp4", frames=30)
    data = blank.read_bytes()
    (tmp_path / "trunc.mp4").write_bytes(data[: len(data) // 3])  # the index (moov) is lost
    res = transcribe([tmp_path / "trunc.mp4", "-o", tmp_path / "t.json"], checkpoint_dir, monkeypatch, capsys)
    assert_one_line_error(res, "trunc.mp4", "unreadable video")


@needs_video
def test_video_with_nobody(tmp_path, checkpoint_dir, monkeypatch, capsys):
    v = write_blank_video(tmp_path / "wall.mp4", frames=40)
    res = transcribe([v, "-o", tmp_path / "t.json", "--video-model", "pose"], checkpoint_dir, monkeypatch, capsys)
    assert_one_line_error(res, "wall.mp4", "no person detected in any frame")


# ---------------------------------------------------------------------------- partly unreadable
def test_partly_unreadable_openpose_is_transcribed_with_the_gap_reported(
    tmp_path, short_session, checkpoint_dir, monkeypatch, capsys
):
    seq = short_session.sequence[:500]  # 20 s
    paths = write_openpose_dir(seq, tmp_path / "op", prefix="rec")
    for p in paths[200:260]:  # 8.0 s - 10.4 s: truncated files
        p.write_text('{"version": 1.3, "people": [{"pose_keypoints_2d": [1, ')
    paths[300].unlink()  # one frame missing from the numbering
    out = tmp_path / "out" / "t.json"
    res = transcribe([tmp_path / "op", "-o", out], checkpoint_dir, monkeypatch, capsys)
    assert res.code == 0, res.err
    tr = Transcript.read(out)
    assert tr.duration_s == pytest.approx(20.0) and tr.id == "op"
    meta = json.loads((tmp_path / "out" / "t.meta.json").read_text())
    gaps = [(g["start_s"], g["end_s"], g["reason"], g["masked"]) for g in meta["gaps"]]
    assert (8.0, 10.4, "unreadable", True) in gaps
    assert (12.0, 12.04, "unreadable", False) in gaps
    assert meta["unreadable_s"] == pytest.approx(2.44)
    # stderr names the spans
    assert "8.00-10.40 s (60 frames): unreadable" in res.err
    assert "12.00-12.04 s (1 frame): unreadable" in res.err
    # nothing is reported inside the masked span
    for e in tr.events:
        assert e.end_s <= 8.0 + 1e-6 or e.start_s >= 10.4 - 1e-6, e


@needs_video
@needs_clip
def test_partly_unreadable_video_is_transcribed_with_the_gap_reported(tmp_path, checkpoint_dir, monkeypatch, capsys):
    bad = corrupt_middle(shipped_clip(), tmp_path / "carphone_damaged.mp4")
    out = tmp_path / "t.json"
    res = transcribe([bad, "-o", out, "--video-model", "pose"], checkpoint_dir, monkeypatch, capsys)
    assert res.code == 0, res.err
    meta = json.loads((tmp_path / "t.meta.json").read_text())
    unreadable = [g for g in meta["gaps"] if g["reason"] == "unreadable"]
    assert unreadable, meta["gaps"]
    assert meta["input"]["frames"] == 120  # the timeline keeps its length: frames are not shifted
    assert "unreadable" in res.err
    assert Transcript.read(out).duration_s == pytest.approx(120 / 29.97, abs=0.01)
