import pytest

from mgreason.errors import DataError
from mgreason.skeleton.labels import read_frame_labels, read_smg_labels, write_frame_labels
from mgreason.taxonomy import SMG


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
