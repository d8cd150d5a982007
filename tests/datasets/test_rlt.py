"""Real-Life Trial reader (issue 24): the release's layout, transcriptions, --groups, errors."""

from __future__ import annotations

import pytest

from mgreason.datasets.deception import group_overlap, read_groups
from mgreason.datasets.rlt import load_rlt
from mgreason.errors import DataError, DatasetMissingError

from tests.datasets.deception_fixtures import write_groups, write_rlt


def test_items_presence_only_with_statements(tmp_path):
    data = load_rlt(write_rlt(tmp_path / "r"))
    assert len(data.items) == 12 and data.has_dialogue
    it = data.items[0]
    assert it["id"] == "rlt-001" and it["label"] == "deceptive" and it["clip"] == "trial_lie_001"
    assert it["statement"] == "I was at home that night, statement 0."
    events = it["transcript"]["events"]
    assert events and all(e["presence"] is True for e in events)
    assert it["n_events"] == 0 and it["n_observed"] == len({e["label"] for e in events})
    assert {"another facial expression", "frowning"} <= {e["label"] for e in events}  # OtherGestures, Frown
    assert any("NOT speaker-disjoint" in n for n in data.notes)


def test_without_transcription_folder(tmp_path):
    data = load_rlt(write_rlt(tmp_path / "r", transcriptions=False))
    assert not data.has_dialogue and "statement" not in data.items[0]


def test_groups_make_the_split_speaker_disjoint(tmp_path):
    root = write_rlt(tmp_path / "r")
    groups = read_groups(write_groups(tmp_path / "g.csv"))
    assert groups["trial_lie_001"] == "S0"  # the extension is dropped
    data = load_rlt(root, groups=groups)
    assert {it["group"] for it in data.items} == {"S0", "S1", "S2", "S3"}
    assert group_overlap(data.items, data.splits["speaker"]) == 0
    assert not any("NOT speaker-disjoint" in n for n in data.notes)
    with pytest.raises(DataError, match="no subject for clip 'trial_truth_012'"):
        load_rlt(root, groups={k: v for k, v in groups.items() if k != "trial_truth_012"})


def test_errors_name_file_row_and_column(tmp_path):
    with pytest.raises(DataError) as e:
        load_rlt(write_rlt(tmp_path / "a", drop="gazeUp"))
    assert str(e.value).endswith("All_Gestures_Deceptive and Truthful.csv: row 1: no 'gazeUp' column (the release's 39 code columns are in mgreason.mumin.RLT_COLUMNS)")
    with pytest.raises(DataError, match=r"row 2, column 'Smile': expected 0 or 1, got '2'"):
        load_rlt(write_rlt(tmp_path / "b", extra={"Smile": "2"}))
    root = write_rlt(tmp_path / "c")
    p = root / "Annotation" / "All_Gestures_Deceptive and Truthful.csv"
    p.write_text(p.read_text().replace("truthful\n", "unsure\n", 1))
    with pytest.raises(DataError, match=r"row 3, column 'class': unknown label 'unsure'"):
        load_rlt(root)
    with pytest.raises(DatasetMissingError, match="annotation file not found"):
        load_rlt(tmp_path)
    (tmp_path / "g.csv").write_text("clip,subject\nx,y\n")
    with pytest.raises(DataError, match=r"g.csv: row 1: no 'id' column"):
        read_groups(tmp_path / "g.csv")
