"""The CLI's stderr in non-TTY output (logs, pipes, CI): never hard-wrapped at 80 columns, so a long
path stays on one line and can be copied (issue 15)."""

from __future__ import annotations

import os
import subprocess
import sys


def test_long_error_line_is_not_wrapped_when_stderr_is_a_pipe(tmp_path):
    deep = tmp_path / ("a-rather-long-directory-name-" * 4) / ("another-long-segment-" * 4)
    deep.mkdir(parents=True)
    missing = deep / "scenario-that-does-not-exist.yaml"
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    p = subprocess.run(
        [sys.executable, "-m", "mgreason.cli", "validate", str(missing)], capture_output=True, text=True, env=env
    )
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and str(missing) in lines[0] and len(lines[0]) > 200, p.stderr


def test_long_progress_lines_are_not_wrapped_when_stderr_is_a_pipe(tmp_path):
    """Messages printed without an explicit soft_wrap (run-scenario's 'wrote <run dir>' line)."""
    from helpers import write_scenario

    scenario = write_scenario(tmp_path / "sc", n_items=2, fmt="inline")
    out = tmp_path / ("a-rather-long-run-directory-name-" * 5)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    p = subprocess.run(
        [sys.executable, "-m", "mgreason.cli", "run-scenario", str(scenario), "--backend", "mock", "--out", str(out),
         "--n-boot", "100", "--no-cache"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    wrote = [ln for ln in p.stderr.splitlines() if ln.startswith("wrote ")]
    assert len(wrote) == 1 and str(out) in wrote[0], p.stderr
