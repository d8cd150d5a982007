from __future__ import annotations

import pytest

from mgreason.analyze.items import analysis_conditions, attach_dialogue, find_recordings, scenario_override, task_scenario
from mgreason.errors import DataError, MGReasonError
from mgreason.scenario import load_spec


def test_folders_expand_to_recordings_and_skip_sidecars(tmp_path):
    (tmp_path / "a.npz").write_bytes(b"x")
    (tmp_path / "a.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nhi\n")
    (tmp_path / "b.json").write_text("{}")
    (tmp_path / "b.meta.json").write_text("{}")
    (tmp_path / "c.dialogue.json").write_text("[]")
    (tmp_path / "readme.md").write_text("")
    op = tmp_path / "op"
    op.mkdir()
    (op / "f_000000000000_keypoints.json").write_text("{}")
    assert [p.name for p in find_recordings([tmp_path])] == ["a.npz", "b.json", "op"]
    assert find_recordings([op]) == [op]  # an OpenPose directory is one recording
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no recording in this folder"):
        find_recordings([empty])


def test_dialogue_comes_from_the_option_or_a_sidecar(tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    for p in (a, b):
        p.write_bytes(b"x")
    (tmp_path / "a.txt").write_text("Q: hi\nfine\n")
    recs = attach_dialogue([a, b], [], speaker="Candidate")
    assert recs[0].dialogue == [{"speaker": "Q", "text": "hi"}, {"speaker": "Candidate", "text": "fine"}]
    assert recs[1].dialogue is None
    with pytest.raises(MGReasonError, match="1 --dialogue file"):
        attach_dialogue([a, b], [tmp_path / "a.txt"])


def test_ids_are_unique(tmp_path):
    (tmp_path / "x").mkdir()
    a, b = tmp_path / "clip.npz", tmp_path / "x" / "clip.npz"
    recs = attach_dialogue([a, b], [])
    assert [r.id for r in recs] == ["clip", "clip-2"]


def test_conditions_for_unlabelled_recordings():
    spec = load_spec(task_scenario("deception"))
    assert analysis_conditions(spec, 1) == ["without_mg", "with_mg"]
    assert analysis_conditions(spec, 3) == ["without_mg", "with_mg", "shuffled_mg"]
    deg = {"name": "deg", "evidence": "timeline", "transcript": "degraded", "degrade": "L3"}
    packed = type(spec).model_validate({**spec.model_dump(), "conditions": ["with_mg", "aggregate_mg", deg]})
    assert analysis_conditions(packed, 1) == ["without_mg", "with_mg", "aggregate_mg"]


def test_override_declares_unlabelled_recording_items(tmp_path):
    spec = load_spec(task_scenario("emotion"))
    recs = attach_dialogue([tmp_path / "a.npz"], [])
    o = scenario_override(spec, recs, checkpoint="tiny-synth", context="A press conference.")
    assert o["items"]["fields"]["label"] is None
    assert o["transcripts"] == {"source": "recognizer", "labels": "strict", "checkpoint": "tiny-synth"}
    assert o["items"]["inline"][0]["context"] == "A press conference."
    load_spec(task_scenario("emotion"), o)  # a valid spec


def test_unknown_task():
    with pytest.raises(MGReasonError, match="unknown task 'x'"):
        task_scenario("x")
