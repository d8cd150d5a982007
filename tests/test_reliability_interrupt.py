"""Ctrl-C (SIGINT) to real subprocesses of the long commands: exit 130, one line saying what was
kept and how to resume, no traceback, and nothing incomplete under a final file name (issue 15)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import restore_sigint
from mgreason.fileio import atomic_path, atomic_write_text

REPO = Path(__file__).resolve().parents[1]


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="80")
    return subprocess.Popen(
        [sys.executable, "-m", "mgreason.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=restore_sigint,
    )


def _interrupt_after_line(proc: subprocess.Popen, marker: str, timeout: float = 60.0) -> tuple[int, str, str]:
    """Wait for a stdout line containing ``marker`` (the command is inside its work), send SIGINT."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            proc.send_signal(signal.SIGINT)
            break
    else:
        proc.kill()
        pytest.fail(f"no {marker!r} line within {timeout}s")
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, "".join(seen) + out, err


def _assert_interrupt_message(code: int, err: str) -> None:
    assert code == 130, err
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted:"), err


def test_sigint_synth_session_exits_130_and_leaves_only_complete_files(tmp_path):
    out = tmp_path / "sessions"
    proc = _start(["synth", "session", "--out", str(out), "--minutes", "4", "--count", "500"], tmp_path)
    code, stdout, err = _interrupt_after_line(proc, "wrote synth_session_1.npz")
    _assert_interrupt_message(code, err)
    assert "sessions written to" in err and "run the same command again" in err
    names = sorted(p.name for p in out.iterdir())
    assert not [n for n in names if n.startswith(".") or ".tmp" in n], names  # no temporary left behind
    npz = [n for n in names if n.endswith(".npz")]
    assert 2 <= len(npz) < 500
    for n in npz:  # every file under a final name is complete
        with np.load(out / n) as z:
            assert z["coords"].shape[0] == 4 * 60 * 25


TRAIN_CFG = """name: t
data:
  source: synth
  layout: imigue22
  clip_len: 24
  synth: {subjects: 4, test_subjects: 1, val_subjects: 1, clips_per_class: 8, classes: [1, 2, 3], background: false}
model: {size: tiny}
optim: {epochs: 500, batch_size: 8}
"""


def _interrupt_after_stderr_line(proc: subprocess.Popen, marker: str, timeout: float = 120.0) -> tuple[int, str]:
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if marker in line:
            proc.send_signal(signal.SIGINT)
            break
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, "".join(seen) + err


def test_sigint_train_exits_130_keeps_a_complete_best_checkpoint(tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(TRAIN_CFG)
    run = tmp_path / "run"
    proc = _start(["train", str(cfg), "--out", str(run), "--quiet"], tmp_path)
    code, err = _interrupt_after_stderr_line(proc, "epoch 3:")
    assert code == 130, err
    assert "Traceback" not in err
    line = [ln for ln in err.splitlines() if ln.startswith("interrupted:")]
    assert len(line) == 1 and "best/" in line[0] and "--force" in line[0], err
    best = run / "best"
    assert (best / "model.safetensors").is_file() and (best / "config.json").is_file()
    assert not [p for p in run.rglob("*") if p.name.endswith(".tmp") or ".tmp." in p.name]
    from mgreason.recognizer.inference import Recognizer

    Recognizer.load(best)  # the kept checkpoint loads


def test_sigint_transcribe_exits_130_and_writes_nothing_under_the_final_names(tmp_path):
    sessions = tmp_path / "sessions"
    gen = _start(["synth", "session", "--out", str(sessions), "--minutes", "30"], tmp_path)
    _, gen_err = gen.communicate(timeout=300)
    assert gen.returncode == 0, gen_err
    out = tmp_path / "tr" / "session.json"
    out.parent.mkdir()
    args = ["transcribe", str(sessions / "synth_session_0.npz"), "--out", str(out), "--threads", "1",
            "--scores", str(tmp_path / "tr" / "scores.npz"), "--text", str(tmp_path / "tr" / "session.txt")]  # fmt: skip
    proc = _start(args, tmp_path)
    # the line printed when scoring begins (45,000 frames: seconds of work even on an idle machine)
    code, err = _interrupt_after_stderr_line(proc, "scoring 45000 frames")
    assert code == 130, err
    assert "Traceback" not in err, err
    after = err.split("scoring 45000 frames", 1)[1].splitlines()[1:]  # what came after the progress line
    lines = [ln for ln in after if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted:"), err
    assert "nothing was written" in lines[0] and str(out) in lines[0] and "run the same command again" in lines[0]
    assert sorted(p.name for p in out.parent.iterdir()) == []  # no transcript, metadata, scores or temporary


def test_atomic_path_removes_the_temporary_on_interrupt_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "x.npz"
    with atomic_path(target) as tmp:
        np.savez_compressed(tmp, a=np.arange(3))
    assert tmp.suffix == ".npz" and not tmp.exists()
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npz"]
    with np.load(target) as z:
        assert list(z["a"]) == [0, 1, 2]


def test_atomic_files_get_the_umask_mode_and_replaced_files_keep_theirs(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640
        os.chmod(tmp_path / "a.txt", 0o604)
        atomic_write_text(tmp_path / "a.txt", "y")
        assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o604
    finally:
        os.umask(old)
