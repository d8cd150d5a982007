"""The one iMiGUE annotation reader (mgreason.datasets.imigue_labels): small made-up files, and the real
``labels_20200831.csv`` from ``../shared/data/imigue`` (skipped cleanly when absent)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from mgreason.datasets.imigue_labels import IMIGUE_FPS, load_imigue, read_imigue_videos
from mgreason.errors import DataError
from mgreason.taxonomy import IMIGUE

REPO = Path(__file__).resolve().parents[2]
LABELS_CSV = REPO.parent / "shared" / "data" / "imigue" / "labels_20200831.csv"
HEADER = ("video_id,label_id,start_time,start_frame,end_time,end_frame,class,subject_id,subject_gender,"
          "subject_nationality,win_or_lose\n")  # fmt: skip


@pytest.fixture(scope="module")
def real_csv() -> Path:
    if not LABELS_CSV.is_file():
        pytest.skip("../shared/data/imigue/labels_20200831.csv is not available")
    return LABELS_CSV


def test_small_imigue_csv(tmp_path):
    p = tmp_path / "labels.csv"
    p.write_text(
        HEADER
        + "7,1,1.0,25,2.5,62,4,3,F,France,Win\n"
        + "7,2,0.5,12,0.9,22,99,3,F,France,Win\n"
        + "2,1,3.0,75,4.0,100,31,9,M,Spain,Lose\n"
    )
    vids = read_imigue_videos(p)
    ts = [v.transcript for v in vids]
    assert [v.video_id for v in vids] == [2, 7] and [t.id for t in ts] == ["002", "007"]
    t7 = ts[1]
    assert t7.fps == IMIGUE_FPS == 25 and t7.taxonomy == "imigue"
    assert [e.start_s for e in t7.events] == [0.5, 1.0]  # sorted by time
    assert t7.events[0].label == "illustrative hand gestures" and t7.events[0].label_id == 31
    assert t7.events[1].label == "touching or scratching head" and t7.events[1].label_id == 3
    assert all(e.source == "annotation" for e in t7.events)
    assert vids[0].info.outcome == "Lose" and vids[0].info.label == "negative"
    assert vids[1].subject_id == 3 and vids[1].info.subject_gender == "F"
    assert vids[1].info.subject_nationality == "France"


@pytest.mark.parametrize(
    "row, match",
    [
        ("7,1,1.0,25,0.5,12,4,3,F,France,Win\n", "row 1: bad interval"),
        ("7,1,1.0,25,2.0,50,77,3,F,France,Win\n", "unknown iMiGUE class id 77"),
        ("7,1,abc,25,2.0,50,4,3,F,France,Win\n", "row 1: column 'start_time' is not a number"),
        ("7,1,1.0,25,2.0,50,4,3,F,France,Win\n7,1,3.0,75,4.0,100,4,5,F,France,Win\n", "row 2: video 7 has two subject"),
    ],
)
def test_bad_imigue_rows(tmp_path, row, match):
    p = tmp_path / "labels.csv"
    p.write_text(HEADER + row)
    with pytest.raises(DataError, match=match) as e:
        load_imigue(p)
    assert str(e.value.file) == str(p)


def test_missing_column(tmp_path):
    p = tmp_path / "labels.csv"
    p.write_text("video_id,start_time\n1,2\n")
    with pytest.raises(DataError, match="missing column"):
        load_imigue(p)


def test_real_imigue_labels(real_csv):
    videos = read_imigue_videos(real_csv)
    ts = [v.transcript for v in videos]
    assert len(ts) == 359
    assert sum(len(t.events) for t in ts) == 18498
    assert len({v.subject_id for v in videos}) == 72
    t298 = next(v.transcript for v in videos if v.video_id == 298)
    assert t298.id == "298"
    first = t298.events[0]
    assert (first.start_s, first.end_s) == (6.7499, 10.2819)
    assert first.label == "touching or scratching head" and first.label_id == IMIGUE.by_raw_id(4).label_id
    assert t298.events[1].label == "touching or scratching facial parts"
    # every row of the file ends up in its video's transcript (independent count)
    with open(real_csv, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["video_id"] == "298"]
    assert len(t298.events) == len(rows)
    assert sorted(e.label_id for e in t298.events) == sorted(IMIGUE.by_raw_id(int(r["class"])).label_id for r in rows)
    assert {v.info.outcome for v in videos} == {"Win", "Lose"}
    ids = {e.label_id for t in ts for e in t.events}
    assert max(ids) == 31 and min(ids) >= 0
