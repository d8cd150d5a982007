import pytest

from mgreason.errors import DataError
from mgreason.skeleton.labels import (
    read_frame_labels,
    read_imigue_labels,
    read_imigue_videos,
    read_smg_labels,
    write_frame_labels,
)
from mgreason.taxonomy import IMIGUE, SMG

HEADER = ("video_id,label_id,start_time,start_frame,end_time,end_frame,class,subject_id,subject_gender,"
          "subject_nationality,win_or_lose\n")


def test_small_imigue_csv(tmp_path):
    p = tmp_path / "labels.csv"
    p.write_text(
        HEADER
        + "7,1,1.0,25,2.5,62,4,3,F,France,Win\n"
        + "7,2,0.5,12,0.9,22,99,3,F,France,Win\n"
        + "2,1,3.0,75,4.0,100,31,9,M,Spain,Lose\n"
    )
    ts = read_imigue_labels(p)
    assert [t.id for t in ts] == ["2", "7"]
    t7 = ts[1]
    assert t7.fps == 25 and t7.taxonomy == "imigue"
    assert [e.start_s for e in t7.events] == [0.5, 1.0]  # sorted by time
    assert t7.events[0].label == "illustrative hand gestures" and t7.events[0].label_id == 31
    assert t7.events[1].label == "touching or scratching head" and t7.events[1].label_id == 3
    assert all(e.source == "annotation" for e in t7.events)
    vids = read_imigue_videos(p)
    assert vids[0].outcome == "lose" and vids[1].subject_id == 3 and vids[1].gender == "F"


@pytest.mark.parametrize(
    "row, match",
    [
        ("7,1,1.0,25,0.5,12,4,3,F,France,Win\n", "bad time range"),
        ("7,1,1.0,25,2.0,50,77,3,F,France,Win\n", "unknown iMiGUE class"),
        ("7,1,abc,25,2.0,50,4,3,F,France,Win\n", "line 2"),
    ],
)
def test_bad_imigue_rows(tmp_path, row, match):
    p = tmp_path / "labels.csv"
    p.write_text(HEADER + row)
    with pytest.raises(DataError, match=match):
        read_imigue_labels(p)


def test_missing_column(tmp_path):
    p = tmp_path / "labels.csv"
    p.write_text("video_id,start_time\n1,2\n")
    with pytest.raises(DataError, match="missing column"):
        read_imigue_labels(p)


def test_real_imigue_labels(imigue_data):
    videos = read_imigue_videos(imigue_data / "labels_20200831.csv")
    ts = [v.transcript for v in videos]
    assert len(ts) == 359
    assert sum(len(t.events) for t in ts) == 18498
    assert len({v.subject_id for v in videos}) == 72
    t298 = next(t for t in ts if t.id == "298")
    first = t298.events[0]
    assert (first.start_s, first.end_s) == (6.7499, 10.2819)
    assert first.label == "touching or scratching head" and first.label_id == IMIGUE.by_raw_id(4).label_id
    assert t298.events[1].label == "touching or scratching facial parts"
    # every row of the file ends up in its video's transcript (independent count)
    import csv

    with open(imigue_data / "labels_20200831.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["video_id"] == "298"]
    assert len(t298.events) == len(rows)
    assert sorted(e.label_id for e in t298.events) == sorted(IMIGUE.by_raw_id(int(r["class"])).label_id for r in rows)
    assert {v.outcome for v in videos} == {"win", "lose"}
    ids = {e.label_id for t in ts for e in t.events}
    assert max(ids) == 31 and min(ids) >= 0


def test_smg_csv_with_and_without_header(tmp_path):
    p = tmp_path / "Sample0001_finelabels.csv"
    p.write_text("1,30,59\n17,100,129\n")
    t = read_smg_labels(p)
    assert t.id == "Sample0001_finelabels" and t.taxonomy == "smg" and t.fps == 30
    assert t.events[0].label == SMG.by_label_id(0).name and t.events[0].start_s == 1.0
    assert t.events[0].end_s == pytest.approx(2.0)  # end frame inclusive
    assert t.events[1].label == "illustrative hand gestures"
    q = tmp_path / "h.csv"
    q.write_text("label,start,end\n3,0,9\n")
    assert read_frame_labels(q, fps=10, taxonomy="smg").events[0].label == SMG.by_label_id(2).name
    r = tmp_path / "imigue_label.csv"
    r.write_text("99,0,24\n4,25,49\n")
    ti = read_frame_labels(r, fps=25, taxonomy="imigue")
    assert [e.label_id for e in ti.events] == [31, 3]


def test_frame_labels_roundtrip_and_errors(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("2,10,20\n5,40,80\n")
    t = read_frame_labels(p, fps=25, taxonomy="smg")
    q = write_frame_labels(t, tmp_path / "b.csv", taxonomy="smg", header=True)
    assert q.read_text().splitlines() == ["label,start,end", "2,10,20", "5,40,80"]
    (tmp_path / "bad.csv").write_text("18,0,5\n")
    with pytest.raises(DataError, match="unknown smg label"):
        read_frame_labels(tmp_path / "bad.csv", fps=25)
    (tmp_path / "bad2.csv").write_text("1,9,5\n")
    with pytest.raises(DataError, match="bad frame range"):
        read_frame_labels(tmp_path / "bad2.csv", fps=25)
    (tmp_path / "bad3.csv").write_text("1,2\n")
    with pytest.raises(DataError, match="label,start,end"):
        read_frame_labels(tmp_path / "bad3.csv", fps=25)
    with pytest.raises(DataError):
        read_frame_labels(tmp_path / "absent.csv", fps=25)
