"""`mgreason train ... --data DIR` on release folders (MiGA iMiGUE, SMG) and one OpenPose directory."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from mgreason.recognizer.config import TrainConfig, load_config
from mgreason.recognizer.data import detect_source, load_data
from mgreason.skeleton.io_miga import write_miga_labels, write_miga_light_hand_csv
from tests.helpers import assert_one_line_error, run_cli

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / "configs" / "recognizer" / "base-imigue.yaml"
IMIGUE_DATA = REPO.parent / "shared" / "data" / "imigue"
# video -> subject of the fixture release: subjects 2, 4 are cross-subject train, 1, 3 test
SUBJECTS = {1: 2, 2: 4, 3: 1, 4: 3}
FAST = ["--set", "model.size=tiny", "--set", "optim.max_steps=2", "--set", "optim.epochs=1", "--set",
        "optim.num_workers=0", "--set", "optim.batch_size=8", "--set", "optim.device=cpu", "-q"]  # fmt: skip


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    """Four MiGA video folders (light_hand CSV + label CSV) of short synthetic sessions, and a labels CSV."""
    from mgreason.synth import generate_session

    root = tmp_path_factory.mktemp("miga")
    rel = root / "release"
    rows = []
    for vid, subj in SUBJECTS.items():
        s = generate_session(0.4, seed=vid, subject=subj, n_subjects=6, rate_per_min=8.0, id=f"{vid:04d}")
        d = rel / f"{vid:04d}"
        write_miga_light_hand_csv(s.sequence, d / f"{vid:04d}_light_hand.csv")
        write_miga_labels(s.transcript, d / f"{vid:04d}_label.csv")
        for e in s.transcript.events:
            from mgreason.taxonomy import IMIGUE

            rows.append([vid, 1, e.start_s, 0, e.end_s, 0, IMIGUE.by_name(e.label).raw_id, subj, "M", "x", "win"])
    with open(root / "labels.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["video_id", "label_id", "start_time", "start_frame", "end_time", "end_frame", "class",
                    "subject_id", "subject_gender", "subject_nationality", "win_or_lose"])  # fmt: skip
        w.writerows(rows)
    return root


def _cfg(release: Path, **over) -> TrainConfig:
    o = {"data.path": str(release / "release"), "data.labels_csv": str(release / "labels.csv"), "data.splits_json": None}
    o.update(over)
    return load_config(BASE, o)


def test_release_folder_is_detected_and_split_cross_subject(release):
    assert detect_source(release / "release") == "miga"
    b = load_data(_cfg(release))
    assert b.description["source"] == "miga" and b.description["split"].startswith("imigue_xsub")
    assert b.description["subjects_train"] == [2, 4] and b.description["subjects_test"] == [1, 3]
    assert {c.meta["subject"] for c in b.train} == {2, 4} and {c.meta["subject"] for c in b.test} == {1, 3}
    assert len(b.labels) == 32 and b.coord_channels == 2
    assert all(c.coords.shape[1] == 22 and np.isfinite(c.coords).all() for c in b.train)


def test_splits_json_replaces_the_protocol(release, tmp_path):
    sp = tmp_path / "splits.json"
    sp.write_text(json.dumps({"mg_recognition_subject_split": {"train": [1, 3], "test": [2, 4]}}))
    b = load_data(_cfg(release, **{"data.splits_json": str(sp)}))
    assert b.description["subjects_train"] == [1, 3] and str(sp) in b.description["split"]
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(Exception, match="mg_recognition_subject_split"):
        load_data(_cfg(release, **{"data.splits_json": str(bad)}))


def test_background_windows_between_annotations(release):
    b = load_data(_cfg(release, **{"data.background.per_minute": 6}))
    assert b.labels[-1] == "background" and b.description["background_clips"] > 0
    assert any(c.label == len(b.labels) - 1 for c in b.train)


def test_train_cli_reads_the_release_folder(release, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    res = run_cli(["train", BASE, "--data", release / "release", "--out", out, "--set",
                   f"data.labels_csv={release / 'labels.csv'}", "--set", "data.splits_json=null", *FAST],
                  monkeypatch, capsys)  # fmt: skip
    assert res.code == 0, res.err
    summary = json.loads(res.out.strip().splitlines()[-1])
    assert Path(summary["best_checkpoint"]).is_dir()
    cfg = json.loads((out / "best" / "config.json").read_text())
    assert cfg["training"]["data"]["split"].startswith("imigue_xsub")


def test_missing_label_file_is_one_line(release, tmp_path, monkeypatch, capsys):
    import shutil

    rel = tmp_path / "rel"
    shutil.copytree(release / "release", rel)
    (rel / "0003" / "0003_label.csv").unlink()
    res = run_cli(["train", BASE, "--data", rel, "--out", tmp_path / "o", "--set",
                   f"data.labels_csv={release / 'labels.csv'}", "--set", "data.splits_json=null", *FAST],
                  monkeypatch, capsys)  # fmt: skip  (independent of ../shared)
    assert_one_line_error(res, "0003_label.csv", "label file missing")


def test_unknown_subjects_need_the_labels_csv(release, tmp_path, monkeypatch, capsys):
    missing = tmp_path / "nowhere.csv"
    res = run_cli(["train", BASE, "--data", release / "release", "--out", tmp_path / "o", "--set",
                   f"data.labels_csv={missing}", *FAST], monkeypatch, capsys)  # fmt: skip
    assert_one_line_error(res, "nowhere.csv", "data.labels_csv")


def test_smg_release(tmp_path):
    from tests.skeleton.test_io_smg import _sample

    for n in (1, 2, 3, 4, 5):
        _sample(tmp_path / "smg", n, T=60)
    cfg = load_config(BASE, {"data.path": str(tmp_path / "smg"), "data.splits_json": None, "data.labels_csv": None})
    b = load_data(cfg)
    assert b.description["source"] == "smg" and b.description["split"] == "random-subject"
    assert len(b.labels) == 17 and b.coord_channels == 3
    assert {c.meta["subject"] for c in b.train}.isdisjoint({c.meta["subject"] for c in b.test})


def test_openpose_directory_time_split_never_mixes_spans():
    """Real data (one subject, within-recording): the first 30 s of iMiGUE video 298 split by time."""
    op = IMIGUE_DATA / "openpose_298_first30s"
    if not op.is_dir():
        pytest.skip("../shared/data/imigue is not available")
    cfg = load_config(BASE, {
        "data.path": str(op), "data.labels_csv": str(IMIGUE_DATA / "labels_20200831.csv"),
        "data.time_split": {"train": [0, 20], "val": [20, 30]}, "data.background.per_minute": 12,
    })  # fmt: skip
    b = load_data(cfg)
    assert b.description["source"] == "openpose" and b.description["split"].startswith("time")
    assert all(c.meta["start_s"] < 20 for c in b.train) and all(c.meta["start_s"] >= 20 for c in b.val)
    assert [b.labels[c.label] for c in b.train if b.labels[c.label] != "background"] == ["touching or scratching head"]
    assert b.test == b.val and any(b.labels[c.label] == "background" for c in b.val)
