"""Items that point at recordings (transcripts.source: recognizer), through a resolver handed to the loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from mgreason.errors import DataError, ScenarioError
from mgreason.scenario import load_scenario
from mgreason.scenario.recordings import ResolvedRecording
from mgreason.transcript import MGEvent, Transcript

from helpers import write_scenario


class FakeResolver:
    def __init__(self, fail: bool = False):
        self.calls: list[list[Path]] = []
        self.fail = fail

    def resolve(self, recordings, *, checkpoint, base_dir):
        self.calls.append(list(recordings))
        if self.fail:
            raise DataError("cannot read skeleton", file=recordings[1])
        out = []
        for k, p in enumerate(recordings):
            tr = Transcript(id=p.stem, taxonomy="imigue", events=[MGEvent(start_s=k, end_s=k + 1, label="folding arms", source="recognizer")])
            out.append(ResolvedRecording(tr, p.with_suffix(".json"), {"recording": str(p), "transcript_sha256": f"h{k}", "checkpoint": {"name": checkpoint}}))
        return out


def _scenario(tmp_path, labelled: bool = True):
    recs = []
    for k in range(2):
        p = tmp_path / f"rec{k}.npz"
        p.write_bytes(b"x")
        recs.append(p)
    items = [
        {"id": f"r{k}", "context": "c", "text": "t", "recording": f"../rec{k}.npz", **({"label": "positive"} if labelled else {})}
        for k, p in enumerate(recs)
    ]
    extra = {"transcripts": {"source": "recognizer", "checkpoint": "tiny-synth"}}
    if not labelled:
        extra["items"] = {"fields": {"label": None}}
    return write_scenario(tmp_path, items=items, spec=extra), recs


def test_recordings_are_resolved_once_and_recorded(tmp_path):
    path, recs = _scenario(tmp_path)
    res = FakeResolver()
    sc = load_scenario(path, recordings=res)
    assert res.calls == [[r for r in recs]]
    assert [it.transcript.events[0].start_s for it in sc.items] == [0, 1]
    assert sc.items[0].recording == recs[0] and sc.items[0].transcript_path == recs[0].with_suffix(".json")
    prov = sc.transcripts_provenance()
    assert prov["checkpoint"] == {"name": "tiny-synth"} and prov["items"]["r1"]["transcript_sha256"] == "h1"
    other = load_scenario(path, recordings=FakeResolver())
    assert other.sha256 == sc.sha256


def test_without_a_resolver_the_error_says_who_transcribes(tmp_path):
    path, _ = _scenario(tmp_path)
    with pytest.raises(ScenarioError, match="transcribed by `mgreason run-scenario`") as e:
        load_scenario(path)
    assert e.value.field == "transcripts.source"


def test_a_failing_recording_names_its_item(tmp_path):
    path, recs = _scenario(tmp_path)
    with pytest.raises(ScenarioError, match="cannot read skeleton") as e:
        load_scenario(path, recordings=FakeResolver(fail=True))
    assert e.value.field == "item r1: recording"


def test_a_missing_recording_names_its_item(tmp_path):
    path, recs = _scenario(tmp_path)
    recs[0].unlink()
    with pytest.raises(ScenarioError, match="recording not found") as e:
        load_scenario(path, recordings=FakeResolver())
    assert e.value.field == "item r0: recording"


def test_unlabelled_recording_items(tmp_path):
    path, _ = _scenario(tmp_path, labelled=False)
    sc = load_scenario(path, recordings=FakeResolver())
    assert [it.gold for it in sc.items] == [None, None] and not sc.labelled


def test_checkpoint_needs_the_recognizer_source(tmp_path):
    path = write_scenario(tmp_path, spec={"transcripts": {"checkpoint": "tiny-synth"}})
    with pytest.raises(ScenarioError, match="only used with transcripts.source: recognizer"):
        load_scenario(path)
