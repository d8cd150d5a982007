"""The fast video path (issue 28): the hand gate's decisions on constructed landmarks, the plan of the
MediaPipe workers, two workers against one on a real clip, batches of inputs with models loaded once, and
the recognizer's single-pass shortcut. Nothing here is timed."""

from __future__ import annotations

import json

import numpy as np

from helpers import assert_one_line_error, run_cli
from mgreason.transcribe.video.gate import HandGate, hand_matters
from mgreason.transcribe.video.read import plan_segments

from .videos import needs_clip, needs_video, shipped_clip


def _pose(wrists: tuple[tuple[float, float], tuple[float, float]], vis: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """A standing person, shoulders at x 400/600 (width 200 px), y 300; hips at y 700; face around (500, 150);
    the finger points 30 px beyond each wrist."""
    xy = np.zeros((33, 2), np.float32)
    c = np.full(33, 0.95, np.float32)
    xy[0] = (500, 150)
    xy[1:11] = (500, 140)
    xy[11], xy[12] = (600, 300), (400, 300)  # the subject's left shoulder is on the image's right
    xy[13], xy[14] = (650, 450), (350, 450)
    xy[23], xy[24] = (570, 700), (430, 700)
    xy[25:33] = (500, 900)
    for wrist, fingers, (x, y) in ((15, (17, 19, 21), wrists[0]), (16, (18, 20, 22), wrists[1])):
        xy[wrist] = (x, y)
        xy[list(fingers)] = (x, y + 30)
        c[[wrist, *fingers]] = vis
    return xy, c


def test_gate_runs_hands_near_the_face_or_torso():
    assert hand_matters(*_pose(((520, 160), (300, 1200))))  # a hand at the face
    assert hand_matters(*_pose(((560, 500), (300, 1200))))  # a hand on the belly
    assert hand_matters(*_pose(((700, 700), (300, 1200))))  # beside the hip, within half a shoulder width


def test_gate_skips_hands_out_of_view_or_held_out_still():
    assert not hand_matters(*_pose(((520, 160), (480, 160)), vis=0.1))  # not in view
    far = _pose(((1100, 300), (-100, 300)))  # both arms held out sideways, 2.5 shoulder widths from the body
    assert not hand_matters(*far, *far, 1 / 15)  # ... and still
    moved = _pose(((1100, 330), (-100, 300)))  # the left hand 30 px lower 1/15 s later: 450 px/s > 200 px/s
    assert hand_matters(*moved, *far, 1 / 15)
    slow = _pose(((1100, 305), (-100, 300)))  # 5 px in 1/15 s: 75 px/s, below one shoulder width per second
    assert not hand_matters(*slow, *far, 1 / 15)


def test_gate_looks_when_it_cannot_judge():
    xy, c = _pose(((1100, 300), (-100, 300)))
    assert hand_matters(xy, np.zeros(33, np.float32))  # nobody found: let the graph look
    c2 = c.copy()
    c2[11] = 0.1  # one shoulder unseen: no scale
    assert hand_matters(xy, c2)
    c3 = c.copy()
    c3[15] = 0.0  # the pose lost the left wrist but the hand model found the hand
    assert hand_matters(xy, c3, found=(True, False))
    assert not hand_matters(xy, c3, found=(False, False))


def test_hand_gate_state_and_recheck():
    far = _pose(((1100, 300), (-100, 300)))
    g = HandGate("auto", recheck=4)
    runs = []
    for i in range(9):
        runs.append(g.allow())
        g.update(*far, i / 15)
    assert runs == [True, False, False, False, True, False, False, False, True]  # first frame, then every 4th
    always = HandGate("always")
    always.update(*far, 0.0)
    assert always.allow()


def test_plan_segments_cuts_contiguous_parts_with_a_warm_up():
    assert plan_segments(230, 30.0, 1) == [(0, 0, 230)]
    assert plan_segments(230, 30.0, 2) == [(0, 0, 115), (100, 115, 230)]  # 0.5 s = 15 frames of warm-up
    assert plan_segments(100, 60.0, 2) == [(0, 0, 100)]  # 1.7 s: too short to share
    assert plan_segments(0, 30.0, 2) == [(0, 0, 0)]  # unknown length: one part


@needs_video
@needs_clip
def test_two_workers_agree_with_one_on_a_real_clip():
    """The shipped real clip read by one worker and by two (the second seeks to the middle and warms its
    tracking up on 0.5 s before it): the same frames, and the landmarks agree closely (they are not
    bit-equal: the second part's tracking starts afresh)."""
    from mgreason.transcribe.video import read_video

    kw = dict(model="holistic", pose_fps=10, reader_thread=False, max_frames=200)
    one = read_video(shipped_clip(), workers=1, **kw)
    two = read_video(shipped_clip(), workers=2, **kw)
    assert two.meta["video"]["workers"] == 2 and one.meta["video"]["workers"] == 1
    assert one.num_frames == two.num_frames == 120  # the whole clip (4 s)
    assert two.meta["unreadable_frames"] == [] and two.meta["video"]["warmup_frames"] > 0
    assert one.meta["video"]["segments"] == [[0, 120]] and two.meta["video"]["segments"] == [[0, 60], [60, 120]]
    seen = one.confidence[:, :33] > 0.5  # the upper body: the clip shows a person from the chest up
    both = seen & (two.confidence[:, :33] > 0.5)
    assert both.sum() > 0.9 * seen.sum() and seen.sum() > 120 * 8
    err = np.linalg.norm(one.coords[:, :33] - two.coords[:, :33], axis=-1)[both]
    assert np.median(err) < 3.0  # pixels, 176x144 clip


def test_single_chunk_scores_need_no_receptive_field(tiny_rec, short_session):
    rec = tiny_rec
    rec._overlap_frames = None
    seq = short_session.sequence
    fs = rec.frame_scores(seq, chunk_s=3600.0)
    assert rec._overlap_frames is None  # not measured: one pass over the whole recording
    fs2 = rec.frame_scores(seq, chunk_s=10.0)  # chunked, with the measured overlap: the same result
    assert rec._overlap_frames is not None
    np.testing.assert_allclose(fs.probs, fs2.probs, atol=1e-6)


def _npz(path, session):
    session.sequence.save(path)
    return path


def test_batch_writes_one_transcript_per_input(tmp_path, short_session, checkpoint_dir, monkeypatch, capsys):
    a = _npz(tmp_path / "a.npz", short_session)
    b = _npz(tmp_path / "b.npz", short_session)
    out = tmp_path / "out"
    res = run_cli(["transcribe", a, b, "--out-dir", out, "--checkpoint", checkpoint_dir, "--threads", "1", "--text", "-"],
                  monkeypatch, capsys)  # fmt: skip
    assert res.code == 0, res.err
    assert res.out.index("== a") < res.out.index("== b")  # each rendering under its input's name
    single = tmp_path / "single.json"
    res1 = run_cli(["transcribe", a, "-o", single, "--checkpoint", checkpoint_dir, "--threads", "1"], monkeypatch, capsys)
    assert res1.code == 0, res1.err
    for name in ("a", "b"):
        tr = json.loads((out / f"{name}.json").read_text())
        assert tr["id"] == name
        assert json.loads((out / f"{name}.meta.json").read_text())["events"] == len(tr["events"])
    same = json.loads(single.read_text())
    assert json.loads((out / "a.json").read_text())["events"] == same["events"]  # the batch changes nothing
    assert res.err.count("micro-gesture(s)") == 2


def test_batch_option_errors_are_one_line(tmp_path, short_session, checkpoint_dir, monkeypatch, capsys):
    a = _npz(tmp_path / "a.npz", short_session)
    sub = tmp_path / "sub"
    sub.mkdir()
    a2 = _npz(sub / "a.npz", short_session)
    ck = ["--checkpoint", checkpoint_dir]
    assert_one_line_error(run_cli(["transcribe", a, a2, "-o", tmp_path / "t.json", *ck], monkeypatch, capsys), "--out-dir")
    assert_one_line_error(run_cli(["transcribe", a, *ck], monkeypatch, capsys), "--out")
    assert_one_line_error(run_cli(["transcribe", a, a2, "--out-dir", tmp_path / "o", *ck], monkeypatch, capsys), "a.json")
    assert_one_line_error(
        run_cli(["transcribe", a, tmp_path / "nope.npz", "--out-dir", tmp_path / "o", *ck], monkeypatch, capsys), "nope.npz"
    )
    assert not (tmp_path / "o" / "a.json").exists()  # checked before anything is read
    assert_one_line_error(
        run_cli(["transcribe", a, a, "--out-dir", tmp_path / "o", "--scores", tmp_path / "s.npz", *ck], monkeypatch, capsys),
        "--scores",
    )


@needs_video
@needs_clip
def test_gif_and_frame_directory_split_between_two_workers(tmp_path):
    """A 4.8-s GIF and the same frames as PNG files: both seek, so two workers share them, with every frame
    read once and kept once (nothing unreadable at the seam)."""
    import cv2
    from PIL import Image

    from mgreason.transcribe.video import read_video

    cap = cv2.VideoCapture(str(shipped_clip()))
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    gif = tmp_path / "talking.gif"
    imgs = [Image.fromarray(f[..., ::-1]) for f in frames]
    imgs[0].save(gif, save_all=True, append_images=imgs[1:], duration=40, loop=0)  # 25 fps: 4.8 s
    d = tmp_path / "frames"
    d.mkdir()
    for i, img in enumerate(frames, start=1):
        cv2.imwrite(str(d / f"f{i}.png"), img)
    kw = dict(model="pose", pose_fps=5, reader_thread=False)
    for src in (gif, d):
        one, two = read_video(src, workers=1, **kw), read_video(src, workers=2, **kw)
        assert two.meta["video"]["segments"] == [[0, 60], [60, 120]], src
        assert one.num_frames == two.num_frames == 120 and two.meta["unreadable_frames"] == []
        assert one.meta["video"]["pose_frames"] == two.meta["video"]["pose_frames"] == 24
        seen = (one.confidence > 0.5) & (two.confidence > 0.5)
        assert seen.sum() > 0.9 * (one.confidence > 0.5).sum()
        assert np.median(np.linalg.norm(one.coords - two.coords, axis=-1)[seen]) < 3.0


def test_seam_check_tells_another_person_from_the_same_one():
    from mgreason.transcribe.video.read import same_person

    a = {i: _pose(((520, 160), (480, 160))) for i in (10, 12, 14)}
    near = {i: (xy + 15, c) for i, (xy, c) in a.items()}  # 15 px off: the same person, tracked afresh
    other = {i: (xy + 400, c) for i, (xy, c) in a.items()}  # two shoulder widths away: someone else
    nobody = {i: (np.full((33, 2), np.nan, np.float32), np.zeros(33, np.float32)) for i in a}
    assert same_person(a, near) and same_person(a, {})  # nothing in common: nothing to judge
    assert not same_person(a, other) and not same_person(a, nobody)


@needs_video
@needs_clip
def test_a_kept_graph_reads_the_next_video_as_a_fresh_one():
    """A batch keeps MediaPipe's graphs (reuse_models) and resets them between videos: the second and third
    reads equal a fresh graph's, bit for bit (no tracking state carries over), for Holistic and pose-hands."""
    from mgreason.transcribe.video import read_video
    from mgreason.transcribe.video import read as read_mod

    for model in ("holistic", "pose-hands"):
        kw = dict(model=model, pose_fps=10, max_frames=40, reader_thread=False)
        fresh = read_video(shipped_clip(), **kw)
        first = read_video(shipped_clip(), reuse_models=True, **kw)
        kept = sum(len(v) for v in read_mod._POOL.values())
        again = read_video(shipped_clip(), reuse_models=True, **kw)
        assert kept >= 1 and sum(len(v) for v in read_mod._POOL.values()) == kept  # taken and given back
        for seq in (first, again):
            np.testing.assert_array_equal(seq.coords, fresh.coords)
            np.testing.assert_array_equal(seq.confidence, fresh.confidence)


@needs_video
@needs_clip
def test_a_batch_of_videos_equals_the_videos_one_by_one(tmp_path, checkpoint_dir, monkeypatch, capsys):
    import shutil

    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    shutil.copy(shipped_clip(), a)
    shutil.copy(shipped_clip(), b)
    ck = ["--checkpoint", checkpoint_dir, "--max-frames", "60", "--pose-fps", "10"]
    res = run_cli(["transcribe", a, b, "--out-dir", tmp_path / "out", *ck], monkeypatch, capsys)
    assert res.code == 0, res.err
    one = run_cli(["transcribe", b, "-o", tmp_path / "b.json", *ck], monkeypatch, capsys)
    assert one.code == 0, one.err
    single = json.loads((tmp_path / "b.json").read_text())
    batch = json.loads((tmp_path / "out" / "b.json").read_text())
    assert batch["events"] == single["events"]
    mb = json.loads((tmp_path / "out" / "b.meta.json").read_text())["input"]["video"]
    assert mb["pose_frames"] == 20 and mb["workers"] == 1  # 60 frames at 29.97 fps, every third


@needs_video
@needs_clip
def test_a_container_that_cannot_seek_gets_one_worker(monkeypatch):
    from mgreason.transcribe.video import read as read_mod
    from mgreason.transcribe.video import read_video

    def no_seek(cap, cv2, frame, fps):
        cap.release()
        return None

    monkeypatch.setattr(read_mod, "_seek", no_seek)
    seq = read_video(shipped_clip(), model="pose", pose_fps=5, reader_thread=False, workers=2)
    v = seq.meta["video"]
    assert v["workers"] == 1 and v["segments"] == [[0, 120]] and v["seams"] == []
    assert seq.num_frames == 120 and seq.meta["unreadable_frames"] == [] and v["pose_frames"] == 20
