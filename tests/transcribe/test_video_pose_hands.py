"""``--video-model pose-hands`` (MediaPipe Pose, then MediaPipe Hands on crops around the wrists) and the
video options shared by ``transcribe`` and ``show-clip``."""

from __future__ import annotations

import importlib.util
from types import SimpleNamespace

import numpy as np
import pytest

from helpers import assert_one_line_error, run_cli
from mgreason.errors import DataError
from mgreason.transcribe import video
from mgreason.transcribe.video import options as vo, pose
from mgreason.transcribe.video import HAND_CROP, CroppedHands, hand_crop

from .videos import needs_clip, needs_video, shipped_clip

needs_cv2 = pytest.mark.skipif(importlib.util.find_spec("cv2") is None, reason="OpenCV (the video extra) is not installed")


def _pose(wrist=(100.0, 200.0), knuckles=(100.0, 180.0), elbow=(100.0, 300.0), side="left"):
    """mediapipe33 landmarks with one side's arm and hand points set (pixels), the rest missing."""
    k = pose.SIDE_POINTS[side]
    xy = np.full((33, 2), np.nan, np.float32)
    c = np.zeros(33, np.float32)
    for name, p in (("wrist", wrist), ("index", knuckles), ("pinky", knuckles), ("elbow", elbow)):
        if p is not None:
            xy[k[name]], c[k[name]] = p, 0.9
    return xy, c


def test_hand_crop_is_centred_on_the_knuckles_and_sized_by_the_hand():
    xy, c = _pose(wrist=(100, 200), knuckles=(100, 180), elbow=(100, 300))  # palm 20 px, forearm 100 px
    cx, cy, size = hand_crop(xy, c, "left", (480, 640))
    assert (cx, cy) == (100, 180) and size == pytest.approx(2 * max(2 * 20, 0.6 * 100))
    xy, c = _pose(wrist=(100, 200), knuckles=(100, 150), elbow=None)  # palm 50 px, no elbow
    assert hand_crop(xy, c, "left", (480, 640))[2] == pytest.approx(200)
    xy, c = _pose(wrist=(100, 200), knuckles=None, elbow=None)  # wrist only: the smallest crop, on the wrist
    assert hand_crop(xy, c, "left", (480, 640)) == (100, 200, 48.0)
    assert hand_crop(xy, c, "right", (480, 640)) is None  # no right wrist
    xy, c = _pose(wrist=(-500, 200), knuckles=(-500, 190), elbow=(-500, 300))
    assert hand_crop(xy, c, "left", (480, 640)) is None  # entirely outside the image


class _FakeHands:
    """mp.solutions.hands.Hands: 'finds' a hand whose landmarks are fixed crop positions, and records the crops."""

    where = np.array([(0.5, 0.5)] * 21)

    def __init__(self, **kw):
        self.kw, self.crops, self._simulated_timestamp = kw, [], 0

    def process(self, img):
        self.crops.append(img)
        self._simulated_timestamp += pose.MP_STEP_US
        lms = [SimpleNamespace(x=x, y=y) for x, y in self.where]
        return SimpleNamespace(multi_hand_landmarks=[SimpleNamespace(landmark=lms)])

    def close(self):
        pass


def _fake_mp():
    return SimpleNamespace(solutions=SimpleNamespace(hands=SimpleNamespace(Hands=_FakeHands)))


@needs_cv2
def test_cropped_hands_map_crop_coordinates_back_to_the_frame(monkeypatch):
    import cv2

    img = np.zeros((480, 640, 3), np.uint8)
    img[170:190, 90:110] = 255  # a white patch at the left knuckles
    xy, c = _pose(wrist=(100, 200), knuckles=(100, 180), elbow=(100, 300))  # crop: 120 px around (100, 180)
    ch = CroppedHands(_fake_mp(), cv2, 1, 0.5, 0.5)
    assert ch.models["left"].kw["max_num_hands"] == 1
    # the hand's wrist at the crop's (0.5, 0.6) -> frame (100, 180 + 0.1 * 120); fingertip at the crop's corner
    where = np.full((21, 2), 0.5)
    where[0] = (0.5, 0.6)
    where[8] = (0.0, 0.0)
    monkeypatch.setattr(_FakeHands, "where", where)
    out = ch.process(img, xy, c, ts_us=None, gate=True, recheck=False)
    lxy, lc = out["left"]
    assert lc.tolist() == [1.0] * 21 and out["right"][1].sum() == 0  # no right wrist: not run
    np.testing.assert_allclose(lxy[0], (100, 192), atol=1e-3)
    np.testing.assert_allclose(lxy[8], (40, 120), atol=1e-3)
    np.testing.assert_allclose(lxy[1], (100, 180), atol=1e-3)
    crop = ch.models["left"].crops[0]
    assert crop.shape == (HAND_CROP, HAND_CROP, 3)
    assert crop[HAND_CROP // 2, HAND_CROP // 2].tolist() == [255, 255, 255]  # the patch sits in the middle
    assert ch.calls == 1 and ch.frames == 1 and ch.found == {"left": True, "right": False}
    # a hand whose wrist is farther than a third of the crop from the pose's wrist is the other hand: dropped
    far = np.full((21, 2), 0.5)
    far[0] = (0.95, 0.95)
    monkeypatch.setattr(_FakeHands, "where", far)
    lxy, lc = ch.process(img, xy, c, ts_us=None, gate=True, recheck=False)["left"]
    assert lc.sum() == 0 and np.isnan(lxy).all() and ch.found["left"] is False


@needs_cv2
def test_cropped_hands_gate():
    import cv2

    img = np.zeros((480, 640, 3), np.uint8)
    xy, c = _pose()
    c[pose.SIDE_POINTS["left"]["wrist"]] = c[pose.SIDE_POINTS["left"]["index"]] = 0.1
    c[pose.SIDE_POINTS["left"]["pinky"]] = 0.1  # the pose hardly sees the hand
    ch = CroppedHands(_fake_mp(), cv2, 1, 0.5, 0.5)
    ch.process(img, xy, c, ts_us=None, gate=True, recheck=False)
    assert ch.calls == 0  # gated off
    ch.process(img, xy, c, ts_us=None, gate=False, recheck=False)  # --video-hands always
    assert ch.calls == 1 and ch.found["left"]
    ch.process(img, xy, c, ts_us=None, gate=True, recheck=False)  # found on the previous frame: runs again
    ch.process(img, xy, c, ts_us=None, gate=True, recheck=True)
    assert ch.calls == 3


@needs_video
@needs_clip
def test_pose_hands_reads_a_real_video_with_the_pose_models_body():
    kw = dict(pose_fps=15, max_frames=45, reader_thread=False)
    ph = video.read_video(shipped_clip(), model="pose-hands", **kw)
    pose = video.read_video(shipped_clip(), model="pose", **kw)
    assert ph.layout == "mediapipe75" and pose.layout == "mediapipe33"
    np.testing.assert_array_equal(ph.coords[:, :33], pose.coords)  # the same Pose model on the same frames
    np.testing.assert_array_equal(ph.confidence[:, :33], pose.confidence)
    v = ph.meta["video"]
    # the carphone talker's wrists are out of view: the hand models run only on the periodic re-checks
    assert v["hands"] == "auto" and v["hand_model_frames"] <= 5 and "hands" in v["timings_s"]
    assert "pose-hands" in ph.meta["detector"] and "hands where visible" in ph.meta["detector"]
    with pytest.raises(DataError, match="--video-model"):
        video.read_video(shipped_clip(), model="hands-only")


# ---------------------------------------------------------------------------- shared options
def test_shared_option_defaults_match_the_reader():
    assert vo.DEFAULT_POSE_FPS == video.DEFAULT_POSE_FPS and vo.DEFAULT_MAX_SIDE == video.DEFAULT_MAX_SIDE
    assert vo.VIDEO_MODELS == video.VIDEO_MODELS and vo.HANDS_MODES == video.HANDS_MODES
    import inspect

    sig = inspect.signature(video.read_video).parameters
    assert sig["model"].default == vo.DEFAULT_VIDEO_MODEL and sig["hands"].default == vo.DEFAULT_HANDS
    assert vo.video_options() == {"model": "holistic", "pose_fps": 15.0, "max_side": 1920, "reader_thread": True, "hands": "auto",
                                  "workers": 1}  # fmt: skip
    assert vo.video_options("pose-hands", 0, 0, False, "always", 1) == {
        "model": "pose-hands", "pose_fps": None, "max_side": None, "reader_thread": False, "hands": "always", "workers": 1}  # fmt: skip
    for args, field in ((("nope",), "--video-model"), (("pose", -1.0), "--pose-fps"), (("pose", 15.0, 3), "--video-max-side"),
                        (("pose", 15.0, 0, True, "x"), "--video-hands")):  # fmt: skip
        with pytest.raises(DataError, match=field):
            vo.video_options(*args)


@pytest.mark.parametrize("command", ["transcribe", "show-clip"])
def test_both_commands_reject_bad_video_options_in_one_line(command, tmp_path, checkpoint_dir, monkeypatch, capsys):
    v = tmp_path / "clip.mp4"
    v.write_bytes(b"not read: the options are checked first")
    out = ["-o", tmp_path / "t.json", "-c", checkpoint_dir] if command == "transcribe" else ["--at", "1", "-o", tmp_path / "s.png"]
    for args, needle in ((["--pose-fps", "-2"], "--pose-fps"), (["--video-max-side", "12"], "--video-max-side"),
                         (["--video-hands", "maybe"], "--video-hands"), (["--video-model", "face"], "--video-model")):  # fmt: skip
        assert_one_line_error(run_cli([command, v, *out, *args], monkeypatch, capsys), needle)
    assert not any(tmp_path.glob("t.json")) and not any(tmp_path.glob("s.png"))


def test_show_clip_passes_the_video_options_to_the_reader(tmp_path, monkeypatch, capsys):
    import mgreason.transcribe.inputs as inputs
    from mgreason.skeleton.sequence import SkeletonSequence

    v = tmp_path / "clip.mp4"
    v.write_bytes(b"never decoded: the reader is replaced")
    seen = {}

    def fake_read_video(path, **kw):
        seen.update(kw)
        T = 50
        coords = np.tile(np.linspace(100, 300, 75 * 2, dtype=np.float32).reshape(1, 75, 2), (T, 1, 1))
        return SkeletonSequence(coords, np.ones((T, 75), np.float32), 25.0, "mediapipe75", {"source": "video"})

    monkeypatch.setattr(inputs, "read_video", fake_read_video)
    out = tmp_path / "s.png"
    res = run_cli(["show-clip", v, "--at", "1", "--span", "1", "--frames", "2", "-o", out, "--video-model", "pose-hands",
                   "--pose-fps", "7.5", "--video-max-side", "640", "--no-video-reader-thread", "--video-hands", "always"],
                  monkeypatch, capsys)  # fmt: skip
    assert res.code == 0, res.err
    assert out.is_file()
    assert {k: seen[k] for k in ("model", "pose_fps", "max_side", "reader_thread", "hands")} == {
        "model": "pose-hands", "pose_fps": 7.5, "max_side": 640, "reader_thread": False, "hands": "always"}  # fmt: skip
