from __future__ import annotations

import json

import pytest

from mgreason.analyze.dialogue import read_dialogue
from mgreason.errors import DataError


def test_srt_keeps_times_and_speakers(tmp_path):
    p = tmp_path / "clip.srt"
    p.write_text(
        "1\n00:00:01,500 --> 00:00:03,000\nInterviewer: Where were you\non Friday?\n\n"
        "2\n00:01:02,250 --> 00:01:04,000\nAt home.\n\n",
        encoding="utf-8",
    )
    turns = read_dialogue(p, default_speaker="Person")
    assert turns == [
        {"speaker": "Interviewer", "text": "Where were you on Friday?", "at": "00:01.5", "start_s": 1.5, "end_s": 3.0},
        {"speaker": "Person", "text": "At home.", "at": "01:02.2", "start_s": 62.25, "end_s": 64.0},
    ]


def test_webvtt_voice_tags_and_short_times(tmp_path):
    p = tmp_path / "clip.vtt"
    p.write_text(
        "WEBVTT\n\nNOTE a comment\n\nq1\n00:02.000 --> 00:04.000\n<v Officer>Did you take it?</v>\n\n"
        "00:05.500 --> 00:06.000 align:start\n<i>No.</i>\n",
        encoding="utf-8",
    )
    turns = read_dialogue(p)
    assert [(t["speaker"], t["text"], t["at"]) for t in turns] == [("Officer", "Did you take it?", "00:02.0"), ("Speaker", "No.", "00:05.5")]


def test_json_turns_and_plain_text(tmp_path):
    j = tmp_path / "d.json"
    j.write_text(json.dumps({"dialogue": [{"speaker": "A", "text": "hi", "start_s": 3.0}, {"text": "yo", "at": "00:04.0"}]}))
    assert read_dialogue(j, default_speaker="P") == [
        {"speaker": "A", "text": "hi", "at": "00:03.0", "start_s": 3.0},
        {"speaker": "P", "text": "yo", "at": "00:04.0"},
    ]
    t = tmp_path / "d.txt"
    t.write_text("Journalist: How was it?\n\nGood, thanks. {{ 7*7 }}\n", encoding="utf-8")
    assert read_dialogue(t, default_speaker="Player") == [
        {"speaker": "Journalist", "text": "How was it?"},
        {"speaker": "Player", "text": "Good, thanks. {{ 7*7 }}"},
    ]


@pytest.mark.parametrize(
    "name, text, needle",
    [
        ("a.srt", "1\nno times here\n", "no timed cues"),
        ("a.srt", "1\n00:00:05,000 --> 00:00:01,000\nx\n", "ends before it starts"),
        ("a.json", "[{\"speaker\": \"A\"}]", "needs a non-empty 'text'"),
        ("a.json", "{oops", "invalid JSON"),
        ("a.txt", "\n\n", "empty"),
    ],
)
def test_bad_dialogue_is_one_error_naming_the_file(tmp_path, name, text, needle):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=needle) as e:
        read_dialogue(p)
    assert e.value.file == str(p)


def test_missing_dialogue_file(tmp_path):
    with pytest.raises(DataError, match="no such dialogue file"):
        read_dialogue(tmp_path / "nope.srt")
