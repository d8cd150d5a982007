"""The console script leaves without the interpreter's finalisation (``mgreason.cli.console_main``, issue 25):
same exit codes, everything written and flushed, exit handlers run, and a live non-daemon thread gets the
normal exit that waits for it."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from mgreason import cli

CHILD = """
import atexit, sys
from mgreason import cli
marker = sys.argv[1]
atexit.register(lambda: open(marker, "w").write("exit handler ran"))
sys.argv = ["mgreason", *sys.argv[2:]]
cli.console_main()
"""


def _child(tmp_path, *args: str) -> tuple[subprocess.CompletedProcess, str]:
    marker = tmp_path / "marker"
    p = subprocess.run([sys.executable, "-c", CHILD, str(marker), *args], capture_output=True, text=True)
    return p, marker.read_text() if marker.exists() else ""


def test_success_flushes_all_output_and_runs_exit_handlers(tmp_path):
    from helpers import write_scenario

    scenario = write_scenario(tmp_path / "sc", n_items=3, fmt="inline")
    p, marker = _child(tmp_path, "show-prompt", str(scenario), "--json")
    assert p.returncode == 0, p.stderr
    full = subprocess.run([sys.executable, "-m", "mgreason.cli", "show-prompt", str(scenario), "--json"],
                          capture_output=True, text=True)  # fmt: skip
    assert p.stdout == full.stdout and len(p.stdout) > 200
    assert marker == "exit handler ran"


def test_error_keeps_exit_code_2_and_its_message(tmp_path):
    p, marker = _child(tmp_path, "validate", str(tmp_path / "missing.yaml"))
    assert p.returncode == 2
    assert "missing.yaml" in p.stderr
    assert marker == "exit handler ran"


@pytest.mark.parametrize(("raised", "code", "printed"), [(None, 0, ""), (3, 3, ""), ("bad thing", 1, "bad thing")])
def test_system_exit_codes_as_python_gives_them(monkeypatch, capsys, raised, code, printed):
    exits = []
    monkeypatch.setattr(cli, "main", lambda: sys.exit(raised))
    monkeypatch.setattr(cli.os, "_exit", exits.append)
    monkeypatch.setattr("atexit._run_exitfuncs", lambda: exits.append("handlers"))
    cli.console_main()
    assert exits == ["handlers", code]
    assert capsys.readouterr().err.strip() == printed


def test_live_non_daemon_thread_gets_the_normal_exit(monkeypatch):
    release = threading.Event()
    worker = threading.Thread(target=release.wait, daemon=False)
    monkeypatch.setattr(cli, "main", worker.start)
    monkeypatch.setattr(cli.os, "_exit", lambda code: pytest.fail("os._exit with a live non-daemon thread"))
    try:
        with pytest.raises(SystemExit) as e:
            cli.console_main()
        assert e.value.code == 0
    finally:
        release.set()
        worker.join()
