"""DOLOS reader (issue 24): header rows, interval cells, times, labels, speakers, splits, errors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from mgreason.datasets.deception import group_overlap
from mgreason.datasets.dolos import episode_seconds, load_dolos, parse_intervals, speaker_groups
from mgreason.errors import DataError, DatasetMissingError

from tests.datasets.deception_fixtures import dolos_fixture, dolos_header, dolos_row, write_dolos
from tests.helpers import assert_one_line_error, run_cli

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "dolos"
P = Path("Dolos.xlsx")


@pytest.mark.parametrize(
    "cell, want",
    [
        ("[2:10,2:11]", [(130, 131)]),
        ("[[2:06,2:07],[2:10,2:11]]", [(126, 127), (130, 131)]),
        ("[2.02, 2.03]", [(122, 123)]),
        ("[[5:51,5:53],[5:54,5:56]", [(351, 353), (354, 356)]),  # a bracket missing
        ("[7;57,7:58]", [(477, 478)]),
        ("【2.22， 2.23】", [(142, 143)]),
        ("[13:15,13:!7]", [(795, 797)]),
        ("[26:02:26:03]", [(1562, 1563)]),
        (0, None),
        (None, None),
        (" ", None),
        (1, []),  # present, no time
    ],
)
def test_interval_cells(cell, want):
    assert parse_intervals(cell, P, 4, "I") == want


@pytest.mark.parametrize("cell", ["[2:10]", "yes", "[2:10,2:75]"])
def test_unreadable_interval_names_file_row_column(cell):
    with pytest.raises(DataError) as e:
        parse_intervals(cell, P, 7, "AB")
    assert str(e.value).startswith("Dolos.xlsx: row 7, column AB: unreadable interval")


@pytest.mark.parametrize(
    "value, seconds",
    [
        (dt.time(2, 6), 126),  # "2:06" read by Excel as 02:06
        (dt.timedelta(days=1, seconds=5160), 25 * 60 + 26),  # "25:26" past 24 "hours"
        (27.2, 27 * 60 + 20),
        (12.03, 12 * 60 + 3),
        ("  2:15", 135),
        ("0:01:05", 65),
        (dt.time(0, 1, 5), 65),
        (None, None),
    ],
)
def test_episode_times(value, seconds):
    assert episode_seconds(value, P, 4, "D") == seconds


def test_fixture_items_times_labels_and_presence(tmp_path):
    data = load_dolos(dolos_fixture(tmp_path / "d"))
    assert len(data.items) == 12
    assert [it["label"] for it in data.items[:4]] == ["truthful", "deceptive", "truthful", "deceptive"]
    first = data.items[0]
    assert first["duration_s"] == 5.0 and first["gender"] == "female" and first["clip"].startswith("XX_WILTY_EP1")
    ev = {(e["label"], e["start_s"], e["end_s"]) for e in first["transcript"]["events"]}
    assert ("smiling", 4.0, 5.0) in ev and ("looking sideways", 0.0, 1.0) in ev and ("looking sideways", 4.0, 5.0) in ev
    laugh = [e for e in first["transcript"]["events"] if e["label"] == "laughing"]
    assert laugh and laugh[0]["presence"] is True  # the cell "1": present without a time
    far = [e for e in data.items[5]["transcript"]["events"] if e["label"] == "scratching"]
    assert far and far[0].get("presence") is True  # [9:00,9:01] is outside 2:06-2:11
    assert any("outside their clip" in n for n in data.notes)
    assert first["transcript"]["taxonomy"] == "mumin"
    # the first name "Ann" joins "Ann Smith"
    assert data.items[6]["group"] == data.items[0]["group"] == "ann smith"


def test_splits_speaker_disjoint_balanced_seeded_and_protocols(tmp_path):
    root = dolos_fixture(tmp_path / "d")
    a, b = load_dolos(root, seed=0), load_dolos(root, seed=0)
    sp = a.splits["speaker"]
    assert sp == b.splits["speaker"] and set(sp) == {"train", "dev", "test"}
    assert group_overlap(a.items, sp) == 0
    assert sorted(i for ids in sp.values() for i in ids) == sorted(it["id"] for it in a.items)
    assert set(a.splits["protocol_fold1"]) == {"train", "test"}
    assert sum(len(v) for v in a.splits["protocol_fold1"].values()) == 12
    assert any("absent from the sheet: 1" in n for n in a.notes)


def test_groups_override(tmp_path):
    root = dolos_fixture(tmp_path / "d")
    clips = [it["clip"] for it in load_dolos(root).items]
    data = load_dolos(root, groups={c: f"S{k % 2}" for k, c in enumerate(clips)})
    assert {it["group"] for it in data.items} == {"S0", "S1"}
    with pytest.raises(DataError, match="no subject for 1 clip"):
        load_dolos(root, groups={c: "S" for c in clips[1:]})


def test_speaker_groups_ambiguous_first_name_merges_candidates():
    g = speaker_groups([("a", "David Mitchell", "EP1"), ("b", "David Baddiel", "EP2"), ("c", "David", "EP3"), ("d", "Lee", "EP1")])
    assert g["a"] == g["b"] == g["c"] == "david baddiel / david mitchell" and g["d"] == "lee"


def test_missing_code_column_unknown_label_and_missing_files(tmp_path):
    rows = [dolos_row("X_EP1_truth1", "truth", dt.time(2, 6), dt.time(2, 11), "A B", "male", {})]
    write_dolos(tmp_path / "m", rows, header=dolos_header(drop="palm-up"))
    with pytest.raises(DataError) as e:
        load_dolos(tmp_path / "m")
    assert "Dolos.xlsx: row 3: the code column 'Hand Movements' / 'Palm up' is missing" in str(e.value)

    rows = [dolos_row("X_EP1_truth1", "maybe", dt.time(2, 6), dt.time(2, 11), "A B", "male", {})]
    write_dolos(tmp_path / "l", rows)
    with pytest.raises(DataError) as e:
        load_dolos(tmp_path / "l")
    assert "Dolos.xlsx: row 4, column C: unknown label 'maybe'" in str(e.value)

    rows = [dolos_row("X_EP1_truth1", "truth", dt.time(2, 6), dt.time(2, 11), "A B", "male", {"smile": "[2:10]"})]
    write_dolos(tmp_path / "i", rows)
    with pytest.raises(DataError) as e:
        load_dolos(tmp_path / "i")
    assert "Dolos.xlsx: row 4, column I: unreadable interval '[2:10]'" in str(e.value)

    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetMissingError, match="no Dolos.xlsx or train_dolos.xlsx"):
        load_dolos(tmp_path / "empty")


def test_cli_error_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    rows = [dolos_row("X_EP1_truth1", "maybe", dt.time(2, 6), dt.time(2, 11), "A B", "male", {})]
    write_dolos(tmp_path / "l", rows)
    r = run_cli(["datasets", "build-items", "dolos", "--root", tmp_path / "l", "--out", tmp_path / "o"], monkeypatch, capsys)
    assert_one_line_error(r, "Dolos.xlsx: row 4, column C: unknown label 'maybe'")


@pytest.mark.skipif(not (SHARED / "Dolos.xlsx").is_file(), reason="shared DOLOS annotations absent")
def test_real_dolos_release():
    data = load_dolos(SHARED)
    assert len(data.items) == 1678
    assert sum(it["label"] == "deceptive" for it in data.items) == 901
    assert group_overlap(data.items, data.splits["speaker"]) == 0
    assert group_overlap(data.items, data.splits["protocol_fold1"]) > 50  # the official folds share speakers
    assert json.dumps(data.items[0])  # JSON-serialisable
