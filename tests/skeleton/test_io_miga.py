"""MiGA iMiGUE release folders: fixture files written from the format description (see io_miga)."""

import csv

import numpy as np
import pytest

from mgreason.errors import DataError
from mgreason.skeleton.io_miga import (
    find_miga_videos,
    read_miga_labels,
    read_miga_light_hand_csv,
    read_miga_openpose_xlsx,
    read_miga_release,
    read_miga_video,
)
from mgreason.taxonomy import IMIGUE


def _person(x0: float, V: int, conf: float = 0.8) -> np.ndarray:
    """(V, 3) plausible pixel joints around x0 (body joints spread, all confident)."""
    j = np.arange(V)
    return np.column_stack([x0 + 3.0 * (j % 7), 200 + 4.0 * (j // 7), np.full(V, conf)])


def _write_csv(path, rows):
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def _light_hand_rows(T: int, frame_col: bool = True, x0: float = 600.0):
    rows = []
    for t in range(T):
        vals = [f"{v:.2f}" for v in _person(x0 + t, 35).ravel()]
        rows.append(([str(t)] if frame_col else []) + vals)
    return rows


def _write_xlsx(path, rows, sheet="Sheet1", extra_sheets=()):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for r in rows:
        ws.append(r)
    for name in extra_sheets:
        wb.create_sheet(name)
    wb.save(path)
    return path


def test_light_hand_csv_frames_layout_and_missing(tmp_path):
    rows = _light_hand_rows(6)
    rows[2] = [rows[2][0]] + ["nan"] * 105  # a frame with NaN-only joints -> missing frame
    vals = rows[3]
    vals[1 + 3 * 4 : 1 + 3 * 5] = ["0", "0", "0"]  # right wrist not detected
    p = _write_csv(tmp_path / "0007_light_hand.csv", rows)
    seq = read_miga_light_hand_csv(p)
    assert seq.layout == "miga35" and seq.num_frames == 6 and seq.num_channels == 2
    assert seq.meta["empty_frames"] == [2]
    assert not seq.valid[2].any() and seq.valid[3].sum() == 34
    assert np.isnan(seq.coords[3, 4]).all()
    np.testing.assert_allclose(seq.coords[0, 0], [600.0, 200.0])
    # mapped straight to the model layout
    s22 = read_miga_light_hand_csv(p, layout="imigue22")
    assert s22.layout == "imigue22" and s22.num_joints == 22
    np.testing.assert_allclose(s22.joint("right_thumb_tip")[0], seq.joint("right_thumb_tip")[0])


def test_light_hand_csv_without_frame_column_and_header(tmp_path):
    rows = [["h"] * 105] + _light_hand_rows(4, frame_col=False)
    seq = read_miga_light_hand_csv(_write_csv(tmp_path / "x_light_hand.csv", rows))
    assert seq.num_frames == 4 and seq.valid.all()


def test_several_people_in_a_frame_keeps_the_tracked_one(tmp_path):
    rows = _light_hand_rows(4, x0=600)
    # frame 2 has a second, larger person far away listed first: the tracked one (near x=600) is kept
    other = ["2"] + [f"{v:.2f}" for v in (_person(100, 35, conf=0.95) * [1, 1, 1]).ravel()]
    rows.insert(2, other)
    seq = read_miga_light_hand_csv(_write_csv(tmp_path / "m_light_hand.csv", rows))
    assert seq.num_frames == 4 and seq.meta["multi_person_frames"] == 1
    assert 590 < seq.coords[2, 0, 0] < 620


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda r: r.__setitem__(1, r[1][:50]), r"row 2: 50 values, expected 105"),
        (lambda r: r[3].__setitem__(7, "abc"), r"row 4, column 8: not a number"),
    ],
)
def test_light_hand_csv_bad_rows_name_file_and_row(tmp_path, mutate, match):
    rows = _light_hand_rows(5)
    mutate(rows)
    p = _write_csv(tmp_path / "b_light_hand.csv", rows)
    with pytest.raises(DataError, match=match) as e:
        read_miga_light_hand_csv(p)
    assert str(p) in str(e.value) and "\n" not in str(e.value)


def test_all_nan_file_is_an_error(tmp_path):
    rows = [[str(t)] + ["nan"] * 105 for t in range(3)]
    p = _write_csv(tmp_path / "n_light_hand.csv", rows)
    with pytest.raises(DataError, match="no valid joint"):
        read_miga_light_hand_csv(p)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MGREASON_CACHE_DIR", str(tmp_path / "cache"))


def test_openpose_xlsx_is_cached_until_the_file_changes(tmp_path, monkeypatch):
    import os

    import openpyxl

    rows = [[t] + _person(640 + t, 137).ravel().round(2).tolist() for t in range(4)]
    p = _write_xlsx(tmp_path / "0009_openpose.xlsx", rows)
    first = read_miga_openpose_xlsx(p)
    assert list((tmp_path / "cache" / "skeletons").glob("*.npz"))

    def boom(*a, **k):
        raise AssertionError("the workbook was parsed again")

    monkeypatch.setattr(openpyxl, "load_workbook", boom)
    again = read_miga_openpose_xlsx(p, layout="imigue22")
    assert again.num_joints == 22 and again.meta["path"] == str(p)
    np.testing.assert_array_equal(read_miga_openpose_xlsx(p).coords, first.coords)
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the file changed: parsed again
    with pytest.raises(DataError, match="parsed again"):  # (the reader wraps whatever openpyxl raises)
        read_miga_openpose_xlsx(p)


def test_openpose_xlsx_reads_137_keypoints(tmp_path):
    rows = [[t] + _person(640 + t, 137).ravel().round(2).tolist() for t in range(5)]
    rows[1][1 + 3 * 95 : 1 + 3 * 96] = [None, None, None]  # empty cells: left hand root missing
    p = _write_xlsx(tmp_path / "0298_openpose.xlsx", rows)
    seq = read_miga_openpose_xlsx(p)
    assert seq.layout == "openpose137" and seq.num_frames == 5 and seq.meta["sheet"] == "Sheet1"
    assert not seq.valid[1, 95] and seq.valid[0, 95]
    s22 = read_miga_openpose_xlsx(p, layout="imigue22")
    assert s22.num_joints == 22 and s22.valid[:, :12].all()


def test_openpose_xlsx_wrong_sheet_and_column_count(tmp_path):
    rows = [[t] + _person(640, 137).ravel().tolist() for t in range(3)]
    p = _write_xlsx(tmp_path / "1_openpose.xlsx", rows, sheet="pose", extra_sheets=("notes",))
    with pytest.raises(DataError, match=r"no worksheet 'data' \(sheets: pose, notes\)"):
        read_miga_openpose_xlsx(p, sheet="data")
    short = [[t] + _person(640, 25).ravel().tolist() for t in range(3)]  # a BODY_25-only sheet
    p2 = _write_xlsx(tmp_path / "2_openpose.xlsx", short)
    with pytest.raises(DataError, match=r"\[Sheet1\].*row 1: 76 values, expected 411"):
        read_miga_openpose_xlsx(p2)
    bad = tmp_path / "3_openpose.xlsx"
    bad.write_text("not a zip")
    with pytest.raises(DataError, match="not a readable .xlsx"):
        read_miga_openpose_xlsx(bad)


def test_labels_class_99_is_index_31_and_end_inclusive(tmp_path):
    p = _write_csv(tmp_path / "0007_label.csv", [["class", "start", "end"], ["99", "10", "34"], ["17", "50", "74"]])
    t = read_miga_labels(p)
    assert t.id == "0007" and len(t.events) == 2
    assert t.events[0].label_id == 31 and t.events[0].label == IMIGUE.by_label_id(31).name
    assert t.events[0].start_s == pytest.approx(0.4) and t.events[0].end_s == pytest.approx(1.4)
    assert t.events[1].label == "folding arms"
    bad = _write_csv(tmp_path / "b_label.csv", [["17", "5", "9"], ["40", "1", "3"]])
    with pytest.raises(DataError, match=r"row 2: unknown iMiGUE class 40"):
        read_miga_labels(bad)
    bad2 = _write_csv(tmp_path / "c_label.csv", [["17", "9", "5"]])
    with pytest.raises(DataError, match=r"row 1: bad frame range 9..5"):
        read_miga_labels(bad2)


def test_release_folder_and_missing_label_file(tmp_path):
    root = tmp_path / "release"
    for vid in ("0001", "0002"):
        d = root / vid
        d.mkdir(parents=True)
        _write_csv(d / f"{vid}_light_hand.csv", _light_hand_rows(60))
        _write_csv(d / f"{vid}_label.csv", [["17", "5", "20"], ["99", "30", "50"]])
    (root / "notes").mkdir()  # not a video folder: ignored
    vids = read_miga_release(root)
    assert [v.video_id for v in vids] == ["0001", "0002"] and vids[0].video_number == 1
    assert len(vids[1].transcript.events) == 2 and vids[0].sequence.meta["video_id"] == "0001"
    assert find_miga_videos(root / "0001") == [root / "0001"]
    (root / "0002" / "0002_label.csv").unlink()
    with pytest.raises(DataError, match="label file missing") as e:
        read_miga_release(root)
    assert "0002_label.csv" in str(e.value)
    v = read_miga_video(root / "0002", require_labels=False)
    assert v.transcript is None
    # annotations past the end of the skeleton
    _write_csv(root / "0002" / "0002_label.csv", [["17", "5", "500"]])
    with pytest.raises(DataError, match="annotations run to"):
        read_miga_video(root / "0002")
