"""Resume after SIGKILL with REAL subprocesses: `mgreason sweep` (the parent) is killed with
SIGKILL mid-run, twice, then the same command is run again. It must finish with 0 lost and
0 duplicated sample records, records identical to an uninterrupted run, and the response
cache must stop it from recomputing answers computed before the kill.

The mock backend is made slow by the worker's `request_delay_s` (a sweep-file option), so the
kills land while cells are being written.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Optional

import yaml

from helpers import make_items, mgreason_command, write_scenario
from mgreason.eval.cache import ResponseCache
from mgreason.sweep.execute import run_sweep

DELAY = 0.03


# --------------------------------------------------------------------------- helpers


def make_sweep(
    tmp_path: Path, name: str = "sweep.yaml", out: str = "out", cache: str = "cache.sqlite", n_models: int = 2, **extra: Any
) -> Path:
    rels = []
    for sid, n in (("sc_a", 8), ("sc_b", 6)):
        if not (tmp_path / "scen" / sid / "scenario.yaml").exists():
            items = make_items(n)
            for it in items:  # every prompt of the sweep is unique (identical prompts would share a cache entry)
                it["context"] = f"{sid}: {it['context']}"
            write_scenario(tmp_path / "scen" / sid, fmt="inline", items=items, spec={"id": sid})
        rels.append(f"scen/{sid}/scenario.yaml")
    data: dict[str, Any] = {
        "id": "resume-test",
        "models": [
            {"name": "m1", "backend": "mock", "model": "mock-a", "request_delay_s": DELAY},
            {"name": "m2", "backend": "mock", "model": "mock-b", "request_delay_s": DELAY},
        ][:n_models],
        "scenarios": rels,
        "output_dir": str(tmp_path / out),
        "cache": cache,
        "batch_size": 4,
        "n_boot": 200,
    }
    data.update(extra)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


N_CELLS = 2 * (8 + 6) * 4  # models × items × conditions (without, with, shuffled, aggregate)


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.pop("MGREASON_PROGRESS", None)
    e.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", PYTHONWARNINGS="ignore")
    return e


def start(sweep: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*mgreason_command(), "sweep", str(sweep), "--no-report", *args],
        cwd=sweep.parent, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def run(sweep: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*mgreason_command(), "sweep", str(sweep), *args],
        cwd=sweep.parent, env=env(), capture_output=True, text=True, timeout=timeout,
    )


def lines(out: Path) -> int:
    n = 0
    for f in out.glob("models/*/*/samples.jsonl"):
        try:
            n += f.read_bytes().count(b"\n")
        except OSError:
            pass
    return n


def records(out: Path) -> dict[tuple, list[dict]]:
    """cell -> every record line for it (a list, to see duplicates)."""
    found: dict[tuple, list[dict]] = {}
    for f in sorted(out.glob("models/*/*/samples.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                key = (f.parent.parent.name, f.parent.name, r["condition"], r["item_id"], r["repeat"])
                found.setdefault(key, []).append(r)
    return found


def events(out: Path) -> list[dict]:
    p = out / "events.jsonl"
    return [json.loads(x) for x in p.read_text(encoding="utf-8").splitlines() if x.strip()] if p.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def kill_when(proc: subprocess.Popen, out: Path, at_least: int, timeout: float = 240) -> int:
    """SIGKILL the sweep process once ``at_least`` records exist; returns the count seen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = lines(out)
        if n >= at_least:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            return n
        if proc.poll() is not None:
            raise AssertionError(f"the sweep ended before it could be killed: rc={proc.returncode}\n{proc.stderr.read()}")
        time.sleep(0.02)
    proc.kill()
    raise AssertionError(f"timed out waiting for {at_least} records (have {lines(out)})")


def worker_pids(out: Path) -> list[int]:
    return [int(e["pid"]) for e in events(out) if e.get("ev") == "loading"]


def wait_dead(pids: list[int], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return
        time.sleep(0.05)
    raise AssertionError(f"worker(s) outlived the killed sweep: {[p for p in pids if alive(p)]}")


def comparable(recs: dict[tuple, list[dict]]) -> dict[tuple, dict]:
    return {k: v[0] for k, v in recs.items()}


# --------------------------------------------------------------------------- tests


def test_sigkill_twice_then_rerun_loses_and_duplicates_nothing(tmp_path):
    # reference: the same sweep, uninterrupted, in its own directory with its own cache
    ref_sweep = make_sweep(tmp_path, name="ref.yaml", out="ref", cache="ref-cache.sqlite")
    ref = run_sweep(ref_sweep, report=False, progress=False)
    assert ref.ok and ref.total == N_CELLS
    reference = comparable(records(tmp_path / "ref"))
    assert len(reference) == N_CELLS

    sweep = make_sweep(tmp_path)
    out = tmp_path / "out"
    cache_file = tmp_path / "cache.sqlite"
    seen = []
    for frac in (0.2, 0.65):  # the second kill lands in the second model's process
        proc = start(sweep)
        seen.append(kill_when(proc, out, at_least=int(frac * N_CELLS)))
        wait_dead(worker_pids(out))  # the worker dies with its parent: nothing writes behind the rerun
        n = lines(out)
        assert n < N_CELLS, "the kill landed after the sweep had finished"

    # what exists after the last kill (a torn last line is possible: count complete records only)
    before = {k for k, v in records_tolerant(out).items()}
    with ResponseCache(cache_file) as c:
        cached_before = c.count()
    assert cached_before >= len(before) > 0

    res = run(sweep, "--no-report")
    assert res.returncode == 0, res.stderr

    got = records(out)
    dups = {k: len(v) for k, v in got.items() if len(v) > 1}
    assert not dups, f"duplicated records: {dups}"
    assert set(got) == set(reference), f"lost: {set(reference) - set(got)}; extra: {set(got) - set(reference)}"
    assert comparable(got) == reference  # identical to the uninterrupted run, field by field

    # the cache: the final run computed exactly the answers that were not in the cache yet
    inv = list(dict.fromkeys(e["invocation"] for e in events(out)))
    assert len(inv) == 3
    last = [e for e in events(out) if e["invocation"] == inv[-1]]
    computed = sum(e.get("computed", 0) for e in last if e["ev"] == "batch")
    from_cache = sum(e.get("cached", 0) for e in last if e["ev"] == "batch")
    assert computed == N_CELLS - cached_before
    assert from_cache == cached_before - len(before)
    with ResponseCache(cache_file) as c:
        assert c.count() == N_CELLS  # every prompt of this sweep is unique: one entry per cell

    status = json.loads((out / "status.json").read_text())
    assert status["complete"] and status["done"] == N_CELLS and status["failed"] == 0
    manifest = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(manifest) == N_CELLS and all(c["status"] == "done" for c in manifest)

    # and the same command once more: nothing to run, no worker started, nothing written
    snapshot = {f: f.read_bytes() for f in out.glob("models/*/*/samples.jsonl")}
    res = run(sweep, "--no-report")
    assert res.returncode == 0, res.stderr
    assert "0 to run" in " ".join(res.stderr.split())
    assert {f: f.read_bytes() for f in out.glob("models/*/*/samples.jsonl")} == snapshot
    inv = list(dict.fromkeys(e["invocation"] for e in events(out)))
    assert len(inv) == 4 and not [e for e in events(out) if e["invocation"] == inv[-1] and e["ev"] == "loading"]


def records_tolerant(out: Path) -> dict[tuple, int]:
    found: dict[tuple, int] = {}
    for f in out.glob("models/*/*/samples.jsonl"):
        for line in f.read_bytes().split(b"\n"):
            try:
                r = json.loads(line)
            except ValueError:
                continue
            key = (f.parent.parent.name, f.parent.name, r["condition"], r["item_id"], r["repeat"])
            found[key] = found.get(key, 0) + 1
    return found


def test_killed_worker_is_restarted_in_the_same_run(tmp_path):
    sweep = make_sweep(tmp_path, retries=2)
    out = tmp_path / "out"
    proc = start(sweep)
    deadline = time.monotonic() + 240
    victim: Optional[int] = None
    while time.monotonic() < deadline and victim is None:
        if lines(out) >= 10 and worker_pids(out):
            victim = worker_pids(out)[-1]
            os.kill(victim, signal.SIGKILL)
        time.sleep(0.02)
    assert victim is not None
    rc = proc.wait(timeout=300)
    assert rc == 0, proc.stderr.read()
    got = records(out)
    assert len(got) == N_CELLS and all(len(v) == 1 for v in got.values())
    failed = [e for e in events(out) if e["ev"] == "worker_failed"]
    assert len(failed) == 1 and failed[0]["rc"] == -signal.SIGKILL


def test_torn_last_line_and_duplicates_are_repaired(tmp_path):
    sweep = make_sweep(tmp_path, n_models=1)
    out = tmp_path / "out"
    res = run_sweep(sweep, report=False, progress=False)
    assert res.ok
    f = out / "models" / "m1" / "sc_a" / "samples.jsonl"
    good = f.read_text(encoding="utf-8").splitlines()
    # simulate: the last 3 records never written, one record written twice, and a torn last line
    kept = good[:-3] + [good[0]]
    f.write_text("\n".join(kept) + "\n" + good[-3][: len(good[-3]) // 2], encoding="utf-8")
    res2 = run_sweep(sweep, report=False, progress=False)
    assert res2.ok
    assert res2.computed == 0 and res2.cached == 3  # the missing cells come back from the cache
    got = records(out)
    assert len(got) == N_CELLS // 2 and all(len(v) == 1 for v in got.values())
    assert f.read_text(encoding="utf-8").splitlines()[:len(good) - 3] == good[:-3]
