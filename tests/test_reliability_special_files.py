"""Issue 30, items 9 and 10: special files anywhere an input is read are refused or skipped, never
waited on (a FIFO blocks a reader forever), and OpenPose frame numbers cannot drive allocation past
what is on disk. Every check runs in a subprocess with a timeout, so a regression fails instead of
hanging the suite."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest

from helpers import assert_one_line_error, run_cli_subprocess, write_scenario
from mgreason.errors import DataError, MGReasonError


def _frame(n_people: int = 1) -> str:
    kp = [100.0, 200.0, 0.9] * 25
    return json.dumps({"people": [{"pose_keypoints_2d": kp} for _ in range(n_people)]})


def test_a_fifo_named_like_an_openpose_frame_is_skipped_not_waited_on(tmp_path):
    d = tmp_path / "op"
    d.mkdir()
    for k in range(40):
        if k == 5:
            os.mkfifo(d / f"v_{k:012d}_keypoints.json")
        else:
            (d / f"v_{k:012d}_keypoints.json").write_text(_frame())
    res = run_cli_subprocess(["transcribe", d, "--out", tmp_path / "t.json", "--quiet"], cwd=tmp_path, timeout=240)
    assert res.code == 0, res.err
    assert (tmp_path / "t.json").is_file()


@pytest.mark.parametrize("last", [1_000_000, 10_000_000, 10**15])
def test_openpose_frame_numbers_are_bounded_by_the_files_on_disk(tmp_path, last):
    from mgreason.skeleton.io_openpose import read_openpose_dir

    d = tmp_path / "op"
    d.mkdir()
    (d / f"v_{0:012d}_keypoints.json").write_text(_frame())
    (d / f"v_{last:012d}_keypoints.json").write_text(_frame())
    t0 = time.monotonic()
    with pytest.raises(DataError, match="span .* frames .* only 2 files exist"):
        read_openpose_dir(d)
    assert time.monotonic() - t0 < 5


def test_real_gaps_are_still_gaps(tmp_path):
    from mgreason.skeleton.io_openpose import read_openpose_dir

    d = tmp_path / "op"
    d.mkdir()
    for k in (0, 1, 2, 500, 501):
        (d / f"v_{k:012d}_keypoints.json").write_text(_frame())
    seq = read_openpose_dir(d)
    assert seq.num_frames == 502 and len(seq.meta["missing_frames"]) == 497


@pytest.mark.parametrize("name", ["x.npy", "x.mp4"])  # .npz / .pkl pass the same check as .npy (load_input)
def test_transcribe_refuses_a_fifo_input(tmp_path, name):
    os.mkfifo(tmp_path / name)
    res = run_cli_subprocess(["transcribe", tmp_path / name, "--out", tmp_path / "t.json"], cwd=tmp_path, timeout=120)
    assert_one_line_error(res, name, "FIFO")


@pytest.mark.parametrize("what", ["scenario", "sweep"])
def test_yaml_configs_that_are_fifos_or_in_proc_are_refused(tmp_path, what):
    from mgreason.configio import read_yaml

    os.mkfifo(tmp_path / "c.yaml")
    with pytest.raises(MGReasonError, match="FIFO"):
        read_yaml(tmp_path / "c.yaml")
    with pytest.raises(MGReasonError, match="/proc"):
        read_yaml("/proc/self/status")
    cmd = ["validate", tmp_path / "c.yaml"] if what == "scenario" else ["sweep", tmp_path / "c.yaml", "--dry-run"]
    assert_one_line_error(run_cli_subprocess(cmd, cwd=tmp_path, timeout=120), "c.yaml", "FIFO")


def test_load_input_refuses_fifos_of_every_array_kind(tmp_path):
    from mgreason.transcribe.inputs import load_input

    for name in ("x.npz", "x.pkl", "x.pickle"):
        os.mkfifo(tmp_path / name)
        with pytest.raises(DataError, match="FIFO"):
            load_input(tmp_path / name)


def test_scenario_items_fifo_via_the_cli(tmp_path):
    path = write_scenario(tmp_path)
    (tmp_path / "data" / "items.jsonl").unlink()
    os.mkfifo(tmp_path / "data" / "items.jsonl")
    assert_one_line_error(run_cli_subprocess(["validate", path], cwd=tmp_path, timeout=120), "items.path", "FIFO")


@pytest.mark.parametrize(
    "reader",
    [
        lambda p: __import__("mgreason.degrade", fromlist=["x"]).read_confusion_csv(p),
        lambda p: __import__("mgreason.transcribe.tuning", fromlist=["x"])._load_npz(p),
        lambda p: __import__("mgreason.skeleton.io_smg", fromlist=["x"])._rows(p, "x"),
        lambda p: __import__("mgreason.skeleton.io_stgcn", fromlist=["x"]).read_stgcn(p),
        lambda p: __import__("mgreason.skeleton.io_miga", fromlist=["x"]).read_miga_light_hand_csv(p),
        lambda p: __import__("mgreason.skeleton.io_miga", fromlist=["x"]).read_miga_labels(p),
    ],
    ids=["confusion-csv", "scores-npz", "smg-csv", "stgcn-npy", "miga-csv", "miga-labels"],
)
def test_other_readers_refuse_a_fifo(tmp_path, reader):
    """Run in a thread: a reader that opened the FIFO would block, and the test fails instead of hanging."""
    import threading

    fifo = tmp_path / "in.csv"
    os.mkfifo(fifo)
    box: list = []
    th = threading.Thread(target=lambda: box.append(_catch(reader, fifo)), daemon=True)
    th.start()
    th.join(20)
    if th.is_alive():  # unblock the reader, then fail
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail("the reader opened the FIFO and waited on it")
    assert isinstance(box[0], DataError) and "FIFO" in str(box[0]), box


def _catch(fn, arg):
    try:
        fn(arg)
    except Exception as e:  # noqa: BLE001 - returned for the assertion
        return e
    return None
