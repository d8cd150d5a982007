"""The sweep on Ray (issue 29), on a real local Ray cluster that the test starts on loopback: the same records as the
sequential sweep, and the resume guarantees when a Ray worker process or the driver is SIGKILLed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason='Ray is an optional extra: pip install -e ".[ray]"')

from mgreason.sweep.execute import run_sweep  # noqa: E402

from .test_resume import (  # noqa: E402
    alive,
    comparable,
    env,
    events,
    kill_when,
    lines,
    make_sweep,
    records,
    run,
    start,
    wait_dead,
    worker_pids,
)
from .test_parallel import N3, three_models  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_address(tmp_path_factory):
    """A Ray head on 127.0.0.1 with 2 CPUs, started and stopped by the test."""
    exe = shutil.which("ray", path=os.path.dirname(sys.executable)) or shutil.which("ray")
    if exe is None:
        pytest.skip("the ray command is not installed")
    port = _free_port()
    # a cluster on loopback only: Ray otherwise swaps 127.0.0.1 for the machine's outward address
    # and `ray start` turns token authentication on: the head and the driver share a token made here (in the
    # environment, so nothing is written to ~/.ray)
    import secrets

    keys = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(keys)
    e = env()
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([e["PYTHONPATH"]] if e.get("PYTHONPATH") else []))
    e["RAY_USAGE_STATS_ENABLED"] = "0"
    cmd = [exe, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2", "--num-gpus=0",
           "--include-dashboard=false", "--disable-usage-stats", "--object-store-memory=150000000"]
    res = subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, f"ray start failed:\n{res.stderr[-3000:]}"
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([exe, "stop", "--force"], env=e, capture_output=True, timeout=120)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _ray_sweep(tmp_path, address, **kw) -> Path:
    return make_sweep(tmp_path, models=three_models(), executor="ray", ray_address=address, **kw)


def test_ray_gives_the_records_of_a_sequential_sweep(tmp_path, ray_address):
    ref = make_sweep(tmp_path, name="ref.yaml", out="ref", cache="ref.sqlite", models=three_models())
    assert run_sweep(ref, report=False, progress=False).ok
    sweep = _ray_sweep(tmp_path, ray_address)
    res = run(sweep, "--no-report")
    assert res.returncode == 0, res.stderr
    got = records(tmp_path / "out")
    assert all(len(v) == 1 for v in got.values()) and len(got) == N3
    assert comparable(got) == comparable(records(tmp_path / "ref"))
    ray_ev = [e for e in events(tmp_path / "out") if e["ev"] == "ray"]
    assert ray_ev and ray_ev[0]["address"] == ray_address and ray_ev[0]["resources"]["CPU"] == 2


def test_a_killed_ray_worker_process_is_retried_and_nothing_is_lost(tmp_path, ray_address):
    sweep = _ray_sweep(tmp_path, ray_address, retries=2)
    out = tmp_path / "out"
    proc = start(sweep)
    deadline = time.monotonic() + 240
    victim = None
    while time.monotonic() < deadline and victim is None:
        pids = worker_pids(out)
        if lines(out) >= 10 and pids:
            with open(f"/proc/{pids[-1]}/stat") as f:  # the Ray worker process that runs the model's task
                ppid = int(f.read().rsplit(")", 1)[-1].split()[1])
            victim = ppid
            os.kill(victim, signal.SIGKILL)
        time.sleep(0.02)
    assert victim is not None
    rc = proc.wait(timeout=300)
    assert rc == 0, proc.stderr.read()
    got = records(out)
    assert len(got) == N3 and all(len(v) == 1 for v in got.values())
    failed = [e for e in events(out) if e["ev"] == "worker_failed"]
    assert len(failed) == 1 and "Ray task died" in failed[0]["error"]


def test_sigkill_of_the_ray_driver_then_rerun_loses_and_duplicates_nothing(tmp_path, ray_address):
    ref = make_sweep(tmp_path, name="ref.yaml", out="ref", cache="ref.sqlite", models=three_models())
    assert run_sweep(ref, report=False, progress=False).ok
    reference = comparable(records(tmp_path / "ref"))
    sweep = _ray_sweep(tmp_path, ray_address)
    out = tmp_path / "out"
    for frac in (0.25, 0.6):
        proc = start(sweep)
        kill_when(proc, out, at_least=int(frac * N3))
        wait_dead(worker_pids(out), timeout=60)  # Ray kills the dead driver's tasks; their workers die with them
        assert lines(out) < N3
    res = run(sweep, "--no-report")
    assert res.returncode == 0, res.stderr
    got = records(out)
    assert not {k: len(v) for k, v in got.items() if len(v) > 1}
    assert comparable(got) == reference
    status = json.loads((out / "status.json").read_text())
    assert status["complete"] and status["done"] == N3
    assert not any(alive(p) for p in worker_pids(out))
