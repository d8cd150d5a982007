"""The video reader's speed options (issue 19): frames picked at --pose-fps and the skipped ones
interpolated, frames scaled before MediaPipe and landmarks scaled back, decoding in a reader thread
with a bounded queue, option validation."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from helpers import assert_one_line_error, run_cli
from mgreason.errors import DataError
from mgreason.transcribe.video import (
    FrameReader,
    check_video_options,
    interpolate_skipped,
    pose_frame_mask,
)

from .videos import needs_clip, needs_video, shipped_clip


# ---------------------------------------------------------------------------- frame picking
def test_pose_frame_mask_picks_evenly():
    m = pose_frame_mask(300, 30.0, 15.0)
    assert m[::2].all() and not m[1::2].any()
    m = pose_frame_mask(2997, 29.97, 25.0)
    assert abs(int(m.sum()) - 2500) <= 1
    runs = np.diff(np.flatnonzero(m))
    assert runs.max() == 2 and runs.min() == 1  # never more than one frame skipped in a row
    m = pose_frame_mask(300, 30.0, 10.0)
    assert int(m.sum()) == 100 and set(np.diff(np.flatnonzero(m))) == {3}
    assert pose_frame_mask(50, 25.0, None).all()
    assert pose_frame_mask(50, 25.0, 30.0).all()  # faster than the video: every frame


# ---------------------------------------------------------------------------- interpolation
def _linear_motion(T=31, V=4):
    t = np.arange(T, dtype=np.float32)
    coords = np.stack([np.stack([10 + 2 * t + v, 100 - 3 * t + v], -1) for v in range(V)], 1)  # (T, V, 2)
    conf = np.tile(np.linspace(0.5, 0.9, V, dtype=np.float32), (T, 1))
    return coords, conf


def test_interpolation_recovers_linear_motion_and_respects_gaps():
    truth, tconf = _linear_motion()
    T = truth.shape[0]
    processed = pose_frame_mask(T, 30.0, 10.0)  # every 3rd frame: 0, 3, ..., 30
    decoded = np.ones(T, bool)
    decoded[[13, 14]] = False  # unreadable: must stay empty
    coords = np.where(processed[:, None, None], truth, np.nan).astype(np.float32)
    conf = np.where(processed[:, None], tconf, 0).astype(np.float32)
    conf[9, 2] = 0.0  # joint 2 not found in frame 9: frames 7, 8, 10, 11 get nothing for it
    coords[9, 2] = np.nan
    filled = interpolate_skipped(coords, conf, processed, decoded, step=3)
    assert not filled[processed].any() and not filled[~decoded].any()
    assert filled[decoded & ~processed].all()
    ok = decoded & ~processed
    for i in np.flatnonzero(ok):
        for v in range(truth.shape[1]):
            if v == 2 and 6 < i < 12:
                assert conf[i, v] == 0 and np.isnan(coords[i, v]).all(), (i, v)
            else:
                np.testing.assert_allclose(coords[i, v], truth[i, v], atol=1e-4)
                assert conf[i, v] == pytest.approx(tconf[i, v])
    assert (conf[[13, 14]] == 0).all() and np.isnan(coords[[13, 14]]).all()


def test_interpolation_edges_hold_the_nearest_frame_only_within_one_step():
    truth, tconf = _linear_motion(T=20, V=2)
    processed = np.zeros(20, bool)
    processed[[0, 2]] = True  # then nothing processed for 17 frames (e.g. retrieve failed)
    coords = np.where(processed[:, None, None], truth, np.nan).astype(np.float32)
    conf = np.where(processed[:, None], tconf, 0).astype(np.float32)
    filled = interpolate_skipped(coords, conf, processed, np.ones(20, bool), step=2)
    assert filled[1] and filled[3] and filled[4] and not filled[5:].any()
    np.testing.assert_allclose(coords[3], truth[2])  # held from frame 2 (one side only)
    assert (conf[5:] == 0).all()


# ---------------------------------------------------------------------------- options
def test_check_video_options():
    assert check_video_options(0, 0, 4) == (None, None, 4)
    assert check_video_options(12.5, 480, 2) == (12.5, 480, 2)
    for bad in (-1.0, float("nan"), float("inf"), "x"):
        with pytest.raises(DataError, match="--pose-fps"):
            check_video_options(bad, 640, 8)
    for bad in (10, -5, 3.5, True):
        with pytest.raises(DataError, match="--video-max-side"):
            check_video_options(15.0, bad, 8)
    with pytest.raises(DataError, match="--video-queue"):
        check_video_options(15.0, 640, 0)


def test_cli_rejects_bad_video_options_in_one_line(tmp_path, checkpoint_dir, monkeypatch, capsys):
    v = tmp_path / "clip.mp4"
    v.write_bytes(b"not read: the options are checked first")
    for args, needle in ((["--pose-fps", "-2"], "--pose-fps"), (["--video-max-side", "12"], "--video-max-side")):
        res = run_cli(["transcribe", v, "-o", tmp_path / "t.json", "-c", checkpoint_dir, *args], monkeypatch, capsys)
        assert_one_line_error(res, needle)
        assert not (tmp_path / "t.json").exists()


# ---------------------------------------------------------------------------- reader
class FakeCapture:
    """A stand-in for cv2.VideoCapture: numbered BGR frames at ``fps``, optional broken frames, slow
    grabs; counts retrieve() calls."""

    def __init__(self, n: int, fps: float = 30.0, broken=(), size=(48, 64), delay: float = 0.0):
        import cv2

        self.cv2, self.n, self.fps, self.broken, self.size, self.delay = cv2, n, fps, set(broken), size, delay
        self.pos = -1
        self.retrieved = 0

    def grab(self) -> bool:
        time.sleep(self.delay)
        self.pos += 1
        return self.pos < self.n and self.pos not in self.broken

    def retrieve(self):
        self.retrieved += 1
        img = np.zeros((*self.size, 3), np.uint8)
        img[..., 0] = self.pos % 256  # blue channel = frame number (BGR)
        return True, img

    def get(self, prop):
        assert prop == self.cv2.CAP_PROP_POS_MSEC
        return 1000.0 * self.pos / self.fps


def _reader(cap, **kw):
    args = dict(fps=cap.fps, n_expected=cap.n, pose_fps=None, max_side=None, max_frames=None)
    args.update(kw)
    return FrameReader(cap, cap.cv2, **args)


def test_reader_grabs_skipped_frames_without_retrieving_and_scales():
    pytest.importorskip("cv2")
    cap = FakeCapture(90, fps=30.0, broken={40, 41}, size=(120, 200))
    rd = _reader(cap, pose_fps=10.0, max_side=100, thread=False)
    items = []
    for idx, img in rd:
        items.append((idx, None if img is None else img.copy()))
        if img is not None:
            rd.release()
    idxs = [i for i, _ in items]
    assert idxs == [i for i in range(90) if i not in (40, 41)]  # unreadable frames are not yielded
    picked = [i for i, img in items if img is not None]
    assert cap.retrieved == len(picked) and 30 <= len(picked) <= 32  # ~10 of every 30 frames
    assert max(np.diff(picked)) <= 3  # after the unreadable frames the next readable one is processed
    for i, img in items:
        if img is not None:
            assert img.shape == (60, 100, 3)  # longer side scaled to max_side, aspect kept
            assert img[..., 2].max() == i % 256 and img[..., 0].max() == 0  # converted to RGB
    assert rd.scaled_size == (60, 100) and rd.size == (120, 200)


def test_reader_thread_holds_a_bounded_number_of_frames():
    pytest.importorskip("cv2")
    cap = FakeCapture(120)
    rd = _reader(cap, thread=True, queue_size=3)
    got = []
    for idx, img in rd:
        assert img is not None and img[..., 2].max() == idx % 256
        got.append(idx)
        time.sleep(0.003)  # a consumer slower than the decoder: the queue fills up
        rd.release()
    assert got == list(range(120))
    assert 2 <= rd.peak_images <= 3 + 2  # the queue, the one being made, the one being used

    unbounded = _reader(FakeCapture(120), thread=True, queue_size=200)
    for _ in unbounded:
        time.sleep(0.003)  # never released: counts every frame made
    assert unbounded.peak_images == 120  # so the count above really measures frames in flight


def test_reader_thread_stops_when_the_consumer_stops_and_passes_errors_on():
    pytest.importorskip("cv2")
    rd = _reader(FakeCapture(10_000, delay=0.0005), thread=True, queue_size=2)
    it = iter(rd)
    for _ in range(5):
        next(it)
        rd.release()
    it.close()  # e.g. an exception in MediaPipe: the generator is closed
    assert not any(t.name == "mgreason-video-reader" for t in threading.enumerate())

    class Broken(FakeCapture):
        def retrieve(self):
            if self.pos == 7:
                raise RuntimeError("decoder exploded")
            return super().retrieve()

    with pytest.raises(RuntimeError, match="decoder exploded"):
        for _ in _reader(Broken(50), thread=True, queue_size=2):
            pass
    assert not any(t.name == "mgreason-video-reader" for t in threading.enumerate())


def test_reader_thread_and_serial_yield_the_same_frames():
    pytest.importorskip("cv2")
    out = []
    for thread in (False, True):
        rd = _reader(FakeCapture(70, fps=25.0, broken={5}), pose_fps=12.5, thread=thread)
        seq = []
        for idx, img in rd:
            seq.append((idx, None if img is None else int(img[..., 2].max())))
            if img is not None:
                rd.release()
        out.append(seq)
    assert out[0] == out[1]


# ---------------------------------------------------------------------------- the real clip
@pytest.fixture(scope="module")
def carphone_full():
    from mgreason.transcribe.video import read_video

    return read_video(shipped_clip(), model="pose", pose_fps=0, max_side=0, reader_thread=False)


@needs_video
@needs_clip
def test_skipping_and_scaling_stay_close_to_every_frame_at_full_size(carphone_full):
    from mgreason.transcribe.video import read_video

    ref = carphone_full
    calls = []
    fast = read_video(shipped_clip(), model="pose", pose_fps=10, max_side=128, reader_thread=True, queue_size=2,
                      progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    assert calls[-1] == (120, 120) and all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))  # frames read, for the ETA
    v = fast.meta["video"]
    assert fast.num_frames == ref.num_frames == 120 and fast.fps == ref.fps
    assert 40 <= v["pose_frames"] <= 41 and v["pose_frames"] + v["interpolated_frames"] == 120
    assert v["pose_input_shape"] == [105, 128] and v["peak_frames_in_memory"] <= 2 + 2
    assert ref.meta["video"]["pose_frames"] == 120 and ref.meta["video"]["pose_input_shape"] == [144, 176]
    assert "pose_fps=10" in fast.meta["detector"] and "max_side=128" in fast.meta["detector"]
    # landmarks are in the original 176x144 pixels and close to the every-frame, full-size ones
    seen = (ref.confidence >= 0.5) & (fast.confidence > 0)
    assert seen.sum() >= 0.9 * (ref.confidence >= 0.5).sum()
    err = np.linalg.norm(ref.coords - fast.coords, axis=-1)[seen]
    assert np.median(err) < 2.0, np.median(err)  # pixels, in a 176x144 frame (measured: 0.85)
    assert (fast.valid.any(1)).mean() > 0.95


@needs_video
@needs_clip
def test_cli_passes_the_video_options_and_records_them(tmp_path, checkpoint_dir, monkeypatch, capsys):
    out = tmp_path / "c.json"
    res = run_cli(["transcribe", shipped_clip(), "-o", out, "-c", checkpoint_dir, "--threads", "1", "--video-model", "pose",
                   "--pose-fps", "12", "--video-max-side", "0", "--no-video-reader-thread", "--video-workers", "1"],
                  monkeypatch, capsys)  # fmt: skip
    assert res.code == 0, res.err
    meta = json.loads((tmp_path / "c.meta.json").read_text())
    v = meta["input"]["video"]
    assert v["pose_fps"] == 12.0 and v["max_side"] is None and v["reader_thread"] is False and v["workers"] == 1
    assert 48 <= v["pose_frames"] <= 49 and set(v["cpu_s"]) == {"decode", "convert", "pose", "total"}
    assert "pose_fps=12" in meta["input"]["detector"]


@needs_video
@needs_clip
def test_holistic_without_the_face_mesh_gives_the_same_landmarks(monkeypatch):
    import mgreason.transcribe.video as video
    from mgreason.transcribe.video import pose

    kw = dict(model="holistic", pose_fps=10, max_frames=45, reader_thread=False, hands="always")
    lean = video.read_video(shipped_clip(), **kw)
    assert "no face mesh" in lean.meta["detector"] and lean.meta["video"]["hand_model_frames"] == 15
    monkeypatch.setattr(pose, "holistic_without_face", lambda *a, **k: None)  # the stock mp.solutions.holistic
    stock = video.read_video(shipped_clip(), **kw)
    assert "no face mesh" not in stock.meta["detector"]
    assert lean.valid[:, :33].any() and lean.layout == stock.layout == "mediapipe75"
    np.testing.assert_array_equal(lean.confidence, stock.confidence)
    np.testing.assert_array_equal(lean.coords, stock.coords)


@needs_video
@needs_clip
def test_hand_models_only_where_the_pose_sees_a_hand():
    from mgreason.transcribe.video import HAND_RECHECK, read_video

    kw = dict(model="holistic", pose_fps=15, max_frames=90, reader_thread=False)
    always = read_video(shipped_clip(), hands="always", **kw)
    auto = read_video(shipped_clip(), hands="auto", **kw)
    va, vb = always.meta["video"], auto.meta["video"]
    assert va["hand_model_frames"] == va["pose_frames"] == vb["pose_frames"] == 45
    # the carphone talker's wrists are out of view (pose visibility ~0.01-0.1): the hand models run only on
    # the periodic re-checks
    assert vb["hands"] == "auto" and -(-45 // HAND_RECHECK) <= vb["hand_model_frames"] <= 10  # measured: 3
    assert "hands where they can matter" in auto.meta["detector"]
    # the gate sits after the pose model: the body is the same, and no hand is lost here
    np.testing.assert_array_equal(auto.coords[:, :33], always.coords[:, :33])
    np.testing.assert_array_equal(auto.confidence, always.confidence)
    with pytest.raises(DataError, match="--video-hands"):
        read_video(shipped_clip(), hands="sometimes")


def test_cli_rejects_an_unknown_hands_mode(tmp_path, checkpoint_dir, monkeypatch, capsys):
    v = tmp_path / "clip.mp4"
    v.write_bytes(b"not read: the options are checked first")
    res = run_cli(["transcribe", v, "-o", tmp_path / "t.json", "-c", checkpoint_dir, "--video-hands", "maybe"], monkeypatch, capsys)
    assert_one_line_error(res, "--video-hands")


def test_reader_thread_bounds_the_frames_alive_not_only_its_count():
    """The bounded-memory claim checked on the images themselves (a weak reference to every image the reader
    makes, from its creation: queued ones count), not on the reader's own counter: with a consumer slower than
    the decoder that drops each frame after use, at most queue + 2 are alive, however long the video."""
    pytest.importorskip("cv2")
    import weakref

    def peak_alive(queue_size: int, n: int = 300) -> int:
        rd = _reader(FakeCapture(n, size=(24, 32)), thread=True, queue_size=queue_size)
        alive: set[int] = set()
        peak = [0]
        convert = rd._convert

        def tracked(img):
            out = convert(img)
            key = id(out)
            alive.add(key)
            weakref.finalize(out, alive.discard, key)
            peak[0] = max(peak[0], len(alive))
            return out

        rd._convert = tracked
        for _idx, img in rd:
            time.sleep(0.001)  # slower than the decoder: the queue is full most of the time
            del img
            rd.release()
        return peak[0]

    assert peak_alive(4) <= 4 + 2
    assert peak_alive(1000) > 50  # control: an unbounded queue lets the images pile up, and this sees it


def test_progress_bar_has_an_eta_from_the_frame_count(monkeypatch):
    """``transcribe``'s bar (shown on a terminal, or with MGREASON_PROGRESS=1) has a remaining-time column,
    fed by the reader's (frames done, frames expected) callbacks."""
    import io

    from rich.console import Console
    from rich.progress import TimeRemainingColumn

    from mgreason.transcribe.cli import _Bar

    monkeypatch.setenv("MGREASON_PROGRESS", "1")
    with _Bar(Console(file=io.StringIO())) as bar:
        assert any(isinstance(c, TimeRemainingColumn) for c in bar.progress.columns)
        update = bar.callback("reading video")
        update(10, 3000)
        update(20, 3000)
        task = bar.progress.tasks[0]
        assert task.total == 3000 and task.completed == 20 and not bar.progress.disable
