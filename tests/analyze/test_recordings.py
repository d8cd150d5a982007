"""The transcript cache: content hash + checkpoint identity; a second resolve does not transcribe."""

from __future__ import annotations

import json
import shutil

import pytest

from mgreason.analyze.recordings import (
    RecordingTranscriber,
    _BUNDLED_DEFAULT,
    checkpoint_identity,
    content_sha256,
    resolve_checkpoint,
)
from mgreason.errors import DataError


def test_bundled_default_name_matches_the_recognizer():
    from mgreason.recognizer.inference import BUNDLED_CHECKPOINT

    assert _BUNDLED_DEFAULT == BUNDLED_CHECKPOINT


def test_content_hash_follows_bytes_not_names(tmp_path):
    a = tmp_path / "a" / "x_keypoints.json"
    a.parent.mkdir()
    a.write_text("{}")
    b = tmp_path / "b"
    shutil.copytree(a.parent, b)
    assert content_sha256(a.parent) == content_sha256(b)
    (b / "x_keypoints.json").write_text("{ }")
    assert content_sha256(a.parent) != content_sha256(b)


def test_checkpoints_resolve_by_name_or_path_with_distinct_identities(tmp_path):
    real, synth = resolve_checkpoint(None), resolve_checkpoint("tiny-synth")
    assert real.name == "tiny-real298" and synth.name == "tiny-synth"
    assert checkpoint_identity(real)["sha256"] != checkpoint_identity(synth)["sha256"]
    with pytest.raises(DataError, match="no recognizer checkpoint here"):
        resolve_checkpoint("nope/ckpt", tmp_path)


def test_second_resolve_reads_the_cache_and_loads_no_model(synth_recordings, tmp_path, transcript_cache):
    rec = synth_recordings[0]
    events: list[str] = []
    t1 = RecordingTranscriber(on_event=lambda kind, path, s: events.append(kind))
    (first,) = t1.resolve([rec], checkpoint=None, base_dir=tmp_path)
    assert events == ["transcribed"] and t1.timings["load_model"] > 0
    assert first.provenance["cached"] is False and first.transcript_path.is_relative_to(transcript_cache)
    assert first.transcript.id == "session0"
    assert all(e.source == "recognizer" for e in first.transcript.events)

    copy = tmp_path / "renamed.npz"
    shutil.copy(rec, copy)  # same content under another name: the same cache entry, its own id
    t2 = RecordingTranscriber(on_event=lambda kind, path, s: events.append(kind))
    (again,) = t2.resolve([copy], checkpoint="tiny-real298", base_dir=tmp_path)
    assert events == ["transcribed", "cached"] and t2.timings["load_model"] == 0.0
    assert again.provenance["cached"] is True and again.transcript.id == "renamed"
    assert again.provenance["transcript_sha256"] == first.provenance["transcript_sha256"]
    assert again.provenance["recording_sha256"] == first.provenance["recording_sha256"]
    assert again.transcript.events == first.transcript.events
    meta = json.loads(first.transcript_path.with_name(first.transcript_path.stem + ".meta.json").read_text())
    assert meta["checkpoint_identity"]["sha256"] == first.provenance["checkpoint"]["sha256"]

    (other,) = RecordingTranscriber().resolve([rec], checkpoint="tiny-synth", base_dir=tmp_path)
    assert other.provenance["cached"] is False  # another checkpoint: another entry
    assert other.transcript_path != first.transcript_path


def test_transcript_json_is_used_as_it_is(tmp_path):
    p = tmp_path / "t.json"
    p.write_text(json.dumps({"id": "t", "events": [{"start_s": 1, "end_s": 2, "label": "folding arms"}]}))
    (r,) = RecordingTranscriber().resolve([p], checkpoint=None, base_dir=tmp_path)
    assert r.transcript_path == p and r.provenance["kind"] == "transcript" and len(r.transcript.events) == 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"events": "no"}))
    with pytest.raises(DataError, match="not a transcript JSON") as e:
        RecordingTranscriber().resolve([bad], checkpoint=None, base_dir=tmp_path)
    assert e.value.file == str(bad)


def test_unsupported_recording_fails_before_any_model_loads(tmp_path):
    p = tmp_path / "notes.docx"
    p.write_text("x")
    t = RecordingTranscriber()
    with pytest.raises(DataError, match="unsupported input"):
        t.resolve([p], checkpoint=None, base_dir=tmp_path)
    assert t.timings["load_model"] == 0.0
