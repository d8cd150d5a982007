"""Issue 30, items 15 and 16: a full disk is one line with nothing half-written left (no .partial),
and concurrent commands on one output cannot clash: run-scenario claims its --out at the start, default
run ids are unique below the second, the sweep report is written under the sweep's lock, and report
figures use unique temporary names."""

from __future__ import annotations

import errno
import os
import subprocess
import threading
import uuid
from pathlib import Path

import pytest
import yaml

from helpers import assert_no_run_dir, assert_one_line_error, make_items, run_cli, run_cli_subprocess, write_scenario


@pytest.fixture
def tiny_fs(tmp_path):
    """A 48 kB tmpfs (root only); skipped where it cannot be mounted."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(mnt)], capture_output=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {p.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _error_line(res, *needles: str) -> str:
    """Exit 2, no traceback, the last stderr line is the one error line (run-scenario prints its plan first)."""
    assert res.code == 2 and "Traceback" not in res.err, res.err
    lines = res.err.strip().splitlines()
    assert lines[-1].startswith("error: ") and sum(x.startswith("error: ") for x in lines) == 1, res.err
    assert all(x.startswith("error: ") or " prompts; backend " in x for x in lines), res.err
    for n in needles:
        assert n in lines[-1], (n, lines[-1])
    return lines[-1]


def _big_scenario(root: Path, n: int = 36) -> Path:
    items = make_items(n)
    for it in items:
        it["text"] = it["text"] + " " + "x" * 2000
    return write_scenario(root, items=items, user="{{ item.text }}\n{{ evidence or '' }}")


# ------------------------------------------------------------------ item 15: disk full


def test_run_scenario_on_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, tiny_fs, monkeypatch, capsys):
    path = _big_scenario(tmp_path / "sc")
    out = tiny_fs / "run"
    res = run_cli(["run-scenario", path, "--backend", "mock", "--model", "m", "--no-cache", "--out", out], monkeypatch, capsys)
    _error_line(res, str(out), "No space left")
    assert_no_run_dir(out)
    assert list(tiny_fs.iterdir()) == []


def test_run_scenario_disk_full_simulated(tmp_path, monkeypatch, capsys):
    """The same class without a tmpfs: the write fails with ENOSPC."""
    import mgreason.eval.run as run

    def full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(run, "_write_json", full)
    path = write_scenario(tmp_path / "sc")
    out = tmp_path / "runs" / "r1"
    res = run_cli(["run-scenario", path, "--backend", "mock", "--model", "m", "--no-cache", "--out", out], monkeypatch, capsys)
    _error_line(res, str(out), "No space left")
    assert_no_run_dir(out)


def test_an_os_level_disk_full_anywhere_is_one_line(monkeypatch, capsys):
    """Any command: ENOSPC reaching the CLI is one line and exit 2, never a traceback."""
    from mgreason import cli

    def boom(*a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/somewhere/file.npz")

    monkeypatch.setattr(cli, "app", boom)
    res = run_cli(["anything"], monkeypatch, capsys)
    assert_one_line_error(res, "/somewhere/file.npz", "No space left")


def test_transcribe_on_a_full_disk(tmp_path, tiny_fs):
    from mgreason.synth.generate import generate_session

    s = generate_session(1.0, seed=0)
    seq_path, _ = s.write(tmp_path)
    res = run_cli_subprocess(
        ["transcribe", seq_path, "--out", tiny_fs / "t.json", "--scores", tiny_fs / "s.npz", "--quiet"], cwd=tmp_path, timeout=300
    )
    assert_one_line_error(res, "No space left")
    assert not [p.name for p in tiny_fs.iterdir() if p.name.startswith(".")]  # no temporaries left


def test_sweep_on_a_full_disk_stops_at_once_without_temporaries(tmp_path, tiny_fs):
    path = _big_scenario(tmp_path / "sc", n=30)
    sw = tmp_path / "sweep.yaml"
    sw.write_text(yaml.safe_dump({
        "id": "full", "models": [{"name": "a", "backend": "mock", "model": "mock-a"}],
        "scenarios": [str(path)], "output_dir": str(tiny_fs / "out"), "cache": False, "n_boot": 100,
    }))
    res = run_cli_subprocess(["sweep", sw, "--no-report"], cwd=tmp_path, timeout=300)
    assert res.code != 0 and "Traceback" not in res.err, res.err
    assert res.err.strip().splitlines()[-1].startswith("error: "), res.err
    assert "No space left" in res.err and "attempt 2" not in res.err, res.err  # not retried: it cannot help
    assert not [p for p in tiny_fs.rglob("*") if p.name.endswith(".partial") or ".tmp" in p.name]


# ------------------------------------------------------------------ item 16: races


def test_a_second_run_into_the_same_out_is_refused_at_once(tmp_path, monkeypatch, capsys):
    from mgreason.eval.run import _Claim

    out = tmp_path / "runs" / "shared"
    held = _Claim(out)  # what the first run holds from its start to its end
    try:
        path = write_scenario(tmp_path / "sc")
        res = run_cli(["run-scenario", path, "--backend", "mock", "--model", "m", "--no-cache", "--out", out], monkeypatch, capsys)
        _error_line(res, str(out), "another run is writing")
        assert not out.exists()
    finally:
        held.release(renamed=False)
    assert not (tmp_path / "runs" / ".shared.partial").exists()


def test_a_partial_directory_left_by_a_killed_run_is_taken_over(tmp_path, monkeypatch, capsys):
    out = tmp_path / "runs" / "r"
    stale = tmp_path / "runs" / ".r.partial"
    stale.mkdir(parents=True)
    (stale / "samples.jsonl").write_text("half a line")
    path = write_scenario(tmp_path / "sc")
    res = run_cli(["run-scenario", path, "--backend", "mock", "--model", "m", "--no-cache", "--out", out], monkeypatch, capsys)
    assert res.code == 0, res.err
    assert (out / "summary.json").is_file() and not stale.exists()


def test_parallel_runs_with_default_ids_never_collide(tmp_path):
    from mgreason.backends import create_backend
    from mgreason.eval.run import run_scenario
    from mgreason.scenario import load_scenario

    sc = load_scenario(write_scenario(tmp_path / "sc", spec={"conditions": ["without_mg"]}))
    dirs, errors = [], []

    def one():
        try:
            dirs.append(run_scenario(sc, create_backend("mock", "m"), runs_root=tmp_path / "runs", n_boot=50).run_dir)
        except Exception as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(dirs)) == 6 and all((d / "summary.json").is_file() for d in dirs)


def test_report_timelines_drawn_twice_at_once_do_not_clash(tmp_path):
    from helpers import make_transcript
    from mgreason.transcript import Transcript
    from mgreason.viz.timeline import timeline_link

    t = Transcript.model_validate({"id": "a", **make_transcript(1)})
    src = tmp_path / "a.json"
    t.write(src)
    errors, rels = [], []

    def one():
        try:
            rels.append(timeline_link(src, tmp_path / "report"))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors and len(set(rels)) == 1
    files = list((tmp_path / "report").rglob("*"))
    assert [p.name for p in files if p.is_file()] == [Path(rels[0]).name]


def test_report_waits_for_the_sweep_lock(tmp_path, monkeypatch, capsys):
    import mgreason.sweep.execute as ex
    from mgreason.sweep.execute import _RunLock, run_sweep

    path = write_scenario(tmp_path / "sc", spec={"conditions": ["without_mg"]})
    sw = tmp_path / "sweep.yaml"
    sw.write_text(yaml.safe_dump({
        "id": "lockrep", "models": [{"name": "a", "backend": "mock", "model": "mock-a"}],
        "scenarios": [str(path)], "output_dir": str(tmp_path / "out"), "cache": False, "n_boot": 100,
    }))
    run_sweep(sw, report=False, progress=False)
    monkeypatch.setattr(_RunLock.__init__, "__defaults__", (0.5, None))
    with _RunLock(tmp_path / "out"):  # a sweep still running on the directory
        res = run_cli(["report", tmp_path / "out", "--quiet"], monkeypatch, capsys)
    assert_one_line_error(res, "another sweep process")
    assert not (tmp_path / "out" / "report.md").exists()
    res = run_cli(["report", tmp_path / "out", "--quiet"], monkeypatch, capsys)
    assert res.code == 0 and (tmp_path / "out" / "report.md").is_file()
