"""Tests for mgreason.transcript: validation, JSON I/O, text rendering."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from mgreason.transcript import (
    MGEvent,
    Transcript,
    format_time,
    load_transcript_json,
    write_transcripts_jsonl,
)


def ev(start, end, label="folding arms", **kw) -> MGEvent:
    return MGEvent(start_s=start, end_s=end, label=label, **kw)


# ---- validation -------------------------------------------------------------------


def test_event_end_before_start_is_rejected():
    with pytest.raises(ValidationError, match="before start_s"):
        ev(5.0, 4.9)


def test_event_zero_length_is_allowed():
    assert ev(3.0, 3.0).duration_s == 0.0


@pytest.mark.parametrize("conf", [-0.01, 1.01, 2.0])
def test_event_confidence_outside_unit_interval_is_rejected(conf):
    with pytest.raises(ValidationError, match="confidence"):
        ev(0.0, 1.0, confidence=conf)


@pytest.mark.parametrize("conf", [0.0, 0.5, 1.0])
def test_event_confidence_bounds_are_inclusive(conf):
    assert ev(0.0, 1.0, confidence=conf).confidence == conf


def test_event_negative_time_and_empty_label_and_unknown_field_are_rejected():
    with pytest.raises(ValidationError):
        ev(-1.0, 1.0)
    with pytest.raises(ValidationError):
        ev(0.0, 1.0, label="")
    with pytest.raises(ValidationError, match="extra"):
        MGEvent(start_s=0, end_s=1, label="x", colour="red")
    with pytest.raises(ValidationError):
        ev(0.0, 1.0, source="guess")


def test_event_ending_after_duration_is_rejected():
    with pytest.raises(ValidationError, match=r"events\[1\] ends at 10\.500s.*duration_s=10\.000s"):
        Transcript(id="t", duration_s=10.0, events=[ev(1, 2), ev(9.0, 10.5)])


def test_event_ending_exactly_at_duration_is_allowed():
    t = Transcript(id="t", duration_s=10.0, events=[ev(9.0, 10.0)])
    assert t.events[0].end_s == 10.0


def test_events_are_sorted_by_start_then_end_then_label():
    t = Transcript(
        id="t",
        events=[ev(5, 6, "b"), ev(1, 3, "z"), ev(1, 2, "y"), ev(5, 6, "a")],
    )
    assert [(e.start_s, e.end_s, e.label) for e in t.events] == [(1, 2, "y"), (1, 3, "z"), (5, 6, "a"), (5, 6, "b")]


def test_transcript_rejects_unknown_fields_and_empty_id():
    with pytest.raises(ValidationError):
        Transcript(id="t", events=[], speaker="x")
    with pytest.raises(ValidationError):
        Transcript(id="", events=[])


# ---- JSON I/O ---------------------------------------------------------------------


def sample_transcript() -> Transcript:
    return Transcript(
        id="clip-7",
        fps=25.0,
        duration_s=60.0,
        layout="imigue22",
        taxonomy="imigue",
        events=[
            ev(6.7, 10.3, "touching or scratching head", label_id=3, confidence=0.83, source="recognizer"),
            ev(1.2, 2.5, "folding arms", label_id=16),
            ev(30.0, 31.0, "rubbing eyes", confidence=0.4, source="synthetic"),
        ],
    )


def test_write_read_round_trip(tmp_path):
    t = sample_transcript()
    path = tmp_path / "deep" / "dir" / "clip.json"
    t.write(path)
    assert Transcript.read(path) == t
    # written without nulls, no temporary file left behind
    data = json.loads(path.read_text(encoding="utf-8"))
    assert "label_id" not in data["events"][2]
    assert [p.name for p in path.parent.iterdir()] == ["clip.json"]


def test_read_sorts_and_validates(tmp_path):
    p = tmp_path / "t.json"
    p.write_text(json.dumps({"id": "x", "events": [{"start_s": 5, "end_s": 6, "label": "b"}, {"start_s": 1, "end_s": 2, "label": "a"}]}))
    assert [e.label for e in Transcript.read(p).events] == ["a", "b"]
    p.write_text(json.dumps({"id": "x", "duration_s": 1, "events": [{"start_s": 0, "end_s": 2, "label": "a"}]}))
    with pytest.raises(ValidationError):
        Transcript.read(p)


def test_jsonl_round_trip(tmp_path):
    t1 = sample_transcript()
    t2 = Transcript(id="empty")
    path = tmp_path / "all.jsonl"
    write_transcripts_jsonl([t1, t2], path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert [load_transcript_json(line) for line in lines] == [t1, t2]
    assert load_transcript_json(json.loads(lines[0])) == t1
    assert load_transcript_json(lines[1].encode()) == t2


# ---- rendering --------------------------------------------------------------------


def test_render_recognizer_event_exactly():
    t = Transcript(id="t", events=[ev(6.7, 10.3, "touching or scratching head", confidence=0.83, source="recognizer")])
    assert t.render() == "00:06.7–00:10.3  touching or scratching head  (0.83)"


def test_render_hides_confidence_for_annotations_by_default():
    t = sample_transcript()
    assert t.render().splitlines() == [
        "00:01.2–00:02.5  folding arms",
        "00:06.7–00:10.3  touching or scratching head  (0.83)",
        "00:30.0–00:31.0  rubbing eyes",
    ]


def test_render_show_confidence_overrides_the_default():
    t = sample_transcript()
    shown = t.render(show_confidence=True).splitlines()
    hidden = t.render(show_confidence=False).splitlines()
    assert shown[0].endswith("folding arms  (1.00)")
    assert shown[2].endswith("rubbing eyes  (0.40)")
    assert all("(" not in line for line in hidden)


def test_render_empty_transcript():
    assert Transcript(id="t").render() == "(no micro-gestures observed)"
    assert Transcript(id="t").render(empty="none") == "none"
    assert Transcript(id="t").render_aggregate() == "(no micro-gestures observed)"


@pytest.mark.parametrize(
    "seconds, text",
    [
        (0, "00:00.0"),
        (6.7, "00:06.7"),
        (59.94, "00:59.9"),
        (59.96, "01:00.0"),
        (61.0, "01:01.0"),
        (599.9, "09:59.9"),
        (3599.9, "59:59.9"),
        (3599.96, "1:00:00.0"),
        (3600.0, "1:00:00.0"),
        (3725.4, "1:02:05.4"),
        (36061.2, "10:01:01.2"),
    ],
)
def test_format_time(seconds, text):
    assert format_time(seconds) == text


def test_render_past_one_hour():
    t = Transcript(id="t", events=[ev(3599.0, 3725.4, "head up")])
    assert t.render() == "59:59.0–1:02:05.4  head up"


def test_aggregate_counts_durations_and_order():
    t = Transcript(
        id="t",
        duration_s=100.0,
        events=[
            ev(0, 1.5, "folding arms"),
            ev(10, 12, "folding arms"),
            ev(20, 25, "rubbing eyes"),
            ev(30, 31, "head up"),
            ev(40, 43, "head up"),
            ev(50, 50.5, "arms akimbo"),
        ],
    )
    # most frequent first; equal counts: longer total first; then by name
    assert t.aggregate() == [
        ("head up", 2, 4.0),
        ("folding arms", 2, 3.5),
        ("rubbing eyes", 1, 5.0),
        ("arms akimbo", 1, 0.5),
    ]
    assert t.render_aggregate().splitlines() == [
        "head up: 2× (total 4.0 s)",
        "folding arms: 2× (total 3.5 s)",
        "rubbing eyes: 1× (total 5.0 s)",
        "arms akimbo: 1× (total 0.5 s)",
        "recording length: 100.0 s, 6 micro-gestures in all",
    ]


def test_aggregate_without_duration_has_no_length_line():
    t = Transcript(id="t", events=[ev(0, 1, "a"), ev(2, 3, "b")])
    assert t.render_aggregate() == "a: 1× (total 1.0 s)\nb: 1× (total 1.0 s)"


def test_coarse_fallback_labels_are_known_labels():
    """A recognizer's body-region fallback ("<group> (coarse)") passes the label check; an unknown group does not."""
    from mgreason.taxonomy import COARSE_SUFFIX, IMIGUE

    group = next(c.body_part for c in IMIGUE.classes if c.body_part)
    ok = Transcript(id="c", taxonomy="imigue", events=[MGEvent(start_s=0, end_s=1, label=group + COARSE_SUFFIX)])
    assert ok.label_problems() == []
    bad = Transcript(id="c", taxonomy="imigue", events=[MGEvent(start_s=0, end_s=1, label="elbows" + COARSE_SUFFIX)])
    assert bad.label_problems()


# ---- presence-only events (issue 24) ----------------------------------------------------------------


def test_presence_only_events_span_the_recording_and_render_as_a_list():
    from mgreason.transcript import OBSERVED_HEADER

    t = Transcript.model_validate(
        {"id": "a", "duration_s": 6.0, "taxonomy": "mumin",
         "events": [{"label": "smiling"}, {"start_s": 1, "end_s": 2, "label": "looking up"}, {"label": "smiling"},
                    {"label": "frowning", "start_s": 0, "end_s": 6, "presence": True}]}
    )
    pres = [e for e in t.events if e.presence]
    assert len(pres) == 3 and all((e.start_s, e.end_s) == (0.0, 6.0) for e in pres)
    assert [e.label for e in t.timed_events] == ["looking up"]
    assert t.observed_labels() == ["frowning", "smiling"]
    assert t.render() == f"00:01.0–00:02.0  looking up\n{OBSERVED_HEADER}\n- frowning\n- smiling"
    assert t.render_aggregate().splitlines() == [
        "looking up: 1× (total 1.0 s)",
        "frowning: observed (no time annotated)",
        "smiling: observed (no time annotated)",
        "recording length: 6.0 s, 1 timed event(s) and 2 behaviour(s) observed without times",
    ]
    # round trip: timed events are written as before (no "presence" key), presence-only ones with it
    dumped = t.model_dump(mode="json", exclude_none=True)
    assert "presence" not in dumped["events"][-1] and dumped["events"][0]["presence"] is True
    assert Transcript.model_validate(dumped) == t


def test_presence_only_without_duration_and_timed_event_needs_times():
    t = Transcript.model_validate({"id": "a", "events": [{"label": "smiling"}]})
    assert t.render() == "observed in the recording (no times annotated):\n- smiling"
    assert "00:00" not in t.render() and "00:00" not in t.render_aggregate()
    with pytest.raises(ValueError, match="needs start_s and end_s"):
        Transcript.model_validate({"id": "a", "events": [{"label": "smiling", "presence": False}]})


def test_timed_transcripts_render_as_before():
    t = Transcript.model_validate({"id": "a", "duration_s": 10, "events": [{"start_s": 1, "end_s": 2, "label": "folding arms"}]})
    assert t.render() == "00:01.0–00:02.0  folding arms"
    assert t.render_aggregate() == "folding arms: 1× (total 1.0 s)\nrecording length: 10.0 s, 1 micro-gestures in all"
    assert Transcript(id="e").render() == "(no micro-gestures observed)"
    assert Transcript(id="e", taxonomy="mumin").render() == "(no coded behaviours observed)"
