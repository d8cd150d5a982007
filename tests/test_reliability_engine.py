"""Evaluation-engine side of issue 15: run-scenario checks its output before loading the model and
fails when every request failed; ``report`` counts corrupt record lines, marks their cells not done
and exits non-zero; the sweep's changed-model message names what changed; SIGINT to real
subprocesses of run-scenario and sweep exits 130 with a resume hint (mock backend)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from helpers import make_items, restore_sigint, run_cli, write_scenario
from mgreason.sweep.execute import run_sweep


# --------------------------------------------------------------------------- run-scenario
def test_run_scenario_checks_out_before_loading_anything(tmp_path, monkeypatch, capsys):
    sc = write_scenario(tmp_path / "sc", n_items=2, fmt="inline")
    a_file = tmp_path / "f"
    a_file.write_text("x")
    for out, why in ((a_file / "run", "is a file, not a directory"), (Path("/proc/run"), "cannot write in /proc")):
        code, _, err = run_cli(["run-scenario", sc, "--backend", "mock", "--out", out, "--no-cache"], monkeypatch, capsys)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and str(out) in lines[0] and why in lines[0], err
    # the default runs/ under an unwritable working directory: refused before the scenario loads
    monkeypatch.chdir("/proc")
    code, _, err = run_cli(["run-scenario", sc, "--backend", "mock", "--no-cache"], monkeypatch, capsys)
    assert code == 2 and "runs" in err and "--out" in err and "items ×" not in err, err


def test_run_scenario_exits_nonzero_when_every_request_failed(tmp_path, monkeypatch, capsys):
    sc = write_scenario(tmp_path / "sc", n_items=2, fmt="inline")
    out = tmp_path / "run"
    args = ["run-scenario", sc, "--backend", "mock", "--out", out, "--no-cache", "--n-boot", "100"]
    code, _, err = run_cli([*args, "-E", "fail_every=1"], monkeypatch, capsys)
    assert code == 1 and "every request failed (8 of 8" in err and "mock failure" in err, err
    assert (out / "samples.jsonl").exists()  # the failed records are kept, as evidence


def test_run_scenario_exits_1_when_some_requests_failed_and_a_rerun_asks_only_for_those(tmp_path, monkeypatch, capsys):
    """As ``sweep``: exit 1 when any request failed, after writing everything; failed answers are not cached,
    so the same command again (with a new --out) asks the model only for the failed ones."""
    monkeypatch.setenv("MGREASON_RESPONSE_CACHE", str(tmp_path / "responses.sqlite"))
    sc = write_scenario(tmp_path / "sc", n_items=2, fmt="inline")
    args = ["run-scenario", sc, "--backend", "mock", "--n-boot", "100", "-E", "fail_every=2"]
    seen = []
    for run, (n_failed, n_cached) in enumerate(((4, 0), (2, 4), (1, 6))):  # each rerun: the failed half fails again
        out = tmp_path / f"run{run}"
        code, _, err = run_cli([*args, "--out", out], monkeypatch, capsys)
        assert code == 1 and "Traceback" not in err, err
        line = [ln for ln in err.splitlines() if ln.startswith("error:")]
        assert len(line) == 1 and f"{n_failed} of 8 requests failed" in line[0] and "mock failure" in line[0], err
        assert "same command again with a new --out asks the model only for the failed ones" in line[0], err
        assert (f"{n_cached} of 8 answers came from the response cache" in err) == (n_cached > 0), err
        recs = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
        assert len(recs) == 8 and sum(r["error"] is not None for r in recs) == n_failed  # everything written
        seen.append({(r["item_id"], r["condition"]) for r in recs if r["error"] is None})
    assert seen[0] <= seen[1] <= seen[2]  # answers, once given, are kept
    code, _, err = run_cli(["run-scenario", sc, "--backend", "mock", "--n-boot", "100", "--out", tmp_path / "ok"],
                           monkeypatch, capsys)  # fmt: skip
    assert code == 0 and "error" not in err, err
    code, _, err = run_cli([*args, "--no-cache", "--out", tmp_path / "nc"], monkeypatch, capsys)
    assert code == 1 and "4 of 8 requests failed" in err and "recomputes every request" in err, err


def test_sweep_exits_1_when_some_cells_failed_and_retry_failed_runs_only_those(tmp_path, monkeypatch, capsys):
    sweep = _sweep(tmp_path)
    data = yaml.safe_load(sweep.read_text())
    data.update(retries=0, cache=str(tmp_path / "responses.sqlite"))
    data["models"][0]["options"] = {"fail_every": 4}
    sweep.write_text(yaml.safe_dump(data))
    code, _, err = run_cli(["sweep", sweep, "--no-report"], monkeypatch, capsys)
    assert code == 1 and "Traceback" not in err, err
    line = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(line) == 1 and "4 of 16 cell(s) have no answer (4 failed after every retry, 0 not run)" in line[0], err
    assert f"mgreason sweep {sweep} --retry-failed runs only those again" in line[0], err
    res = run_sweep(sweep, retry_failed=True, report=False, progress=False)
    assert res.computed == 4 and res.failed == 1 and res.done == 15  # only the failed cells were asked again
# --------------------------------------------------------------------------- sweeps
def _sweep(tmp_path: Path, model: str = "mock-a", n_items: int = 4) -> Path:
    scen = tmp_path / "scen"
    if not (scen / "scenario.yaml").exists():
        write_scenario(scen, fmt="inline", items=make_items(n_items), spec={"id": "sc_a"})
    data = {
        "id": "rel", "models": [{"name": "m1", "backend": "mock", "model": model}], "scenarios": ["scen/scenario.yaml"],
        "output_dir": str(tmp_path / "out"), "cache": False, "batch_size": 4, "n_boot": 100,
    }  # fmt: skip
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_report_counts_a_corrupt_record_line_marks_its_cell_and_exits_nonzero(tmp_path, monkeypatch, capsys):
    sweep = _sweep(tmp_path)
    res = run_sweep(sweep, report=False, progress=False)
    assert res.ok and res.done == 16
    samples = next((tmp_path / "out").glob("models/*/*/samples.jsonl"))
    lines = samples.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[5] = lines[5][: len(lines[5]) // 2] + "\n"  # a truncated record in the middle of a finished sweep
    samples.write_text("".join(lines), encoding="utf-8")

    code, out, err = run_cli(["report", tmp_path / "out", "--quiet"], monkeypatch, capsys)
    assert code == 1, err
    assert "1 corrupt record line(s)" in err and str(samples) in err and "run the sweep again" in err, err
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["cells"] == {"total": 16, "done": 15, "failed": 0, "pending": 1}
    assert data["corrupt_records"] == [{"model": "m1", "scenario": "sc_a", "file": str(samples), "lines": 1}]
    md = (tmp_path / "out" / "report.md").read_text()
    assert "1 not run" in md and "**1 corrupt line(s)**" in md and "the sweep is incomplete" in md
    assert samples.read_text(encoding="utf-8").count("\n") == 16  # report never rewrites the records

    res = run_sweep(sweep, report=False, progress=False)  # the sweep recomputes the lost cell
    assert res.ok and res.done == 16 and res.computed == 1
    code, _, err = run_cli(["report", tmp_path / "out", "--quiet"], monkeypatch, capsys)
    assert code == 0 and "corrupt record" not in err, err


def test_changed_model_message_names_what_changed(tmp_path):
    res = run_sweep(_sweep(tmp_path, model="mock-a"), report=False, progress=False)
    assert res.ok
    samples = next((tmp_path / "out").glob("models/*/*/samples.jsonl"))  # leave cells to run: the model loads
    samples.write_text("".join(samples.read_text(encoding="utf-8").splitlines(keepends=True)[:8]), encoding="utf-8")
    res = run_sweep(_sweep(tmp_path, model="mock-b"), report=False, progress=False)
    msg = res.model_errors["m1"]
    assert "another model identity" in msg and "id: 'mock-a' -> 'mock-b'" in msg, msg
    assert "None vs None" not in msg and "other options" not in msg



def _model_dir(path: Path, weights: bytes = b"w" * 64) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text('{"model_type": "llama", "hidden_size": 8}')
    (path / "model.safetensors").write_bytes(weights)
    return path


def test_a_finished_sweep_notices_changed_model_files_without_loading_the_model(tmp_path, monkeypatch, capsys):
    """Every cell done: the model is never loaded, yet changed weights or config behind the same name are
    refused (one line, exit 2, what changed); restored files are accepted again. Also when cells are pending."""
    mdir = _model_dir(tmp_path / "model")
    sweep = _sweep(tmp_path, model=str(mdir))  # the mock names a local model directory: its files are fingerprinted
    res = run_sweep(sweep, report=False, progress=False)
    assert res.ok and res.done == 16
    cfg = json.loads(next((tmp_path / "out").glob("models/*/*/config.json")).read_text())
    assert cfg["model"]["fingerprint"]["files"]["model.safetensors"]["size"] == 64

    def no_load(*a, **k):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr("mgreason.sweep.execute._run_worker", no_load)  # nothing pending: no worker starts
    res = run_sweep(sweep, report=False, progress=False)
    assert res.ok and res.computed == 0

    stat = (mdir / "model.safetensors").stat()
    (mdir / "model.safetensors").write_bytes(b"x" * 80)  # other weights behind the same directory
    code, _, err = run_cli(["sweep", sweep, "--no-report"], monkeypatch, capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "model m1" in lines[0] and "changed" in lines[0] and "model.safetensors size 64 -> 80 bytes" in lines[0]
    assert "new output directory (--out)" in lines[0], err

    (mdir / "model.safetensors").write_bytes(b"x" * 64)  # same size, other bytes: the new mtime is the sign
    code, _, err = run_cli(["sweep", sweep, "--no-report"], monkeypatch, capsys)
    assert code == 2 and "model.safetensors modified (same size, new modification time" in err, err

    (mdir / "model.safetensors").write_bytes(b"w" * 64)
    os.utime(mdir / "model.safetensors", ns=(stat.st_atime_ns, stat.st_mtime_ns))  # restored (cp -p, rsync)
    assert run_sweep(sweep, report=False, progress=False).ok

    (mdir / "config.json").write_text('{"model_type": "llama", "hidden_size": 16}')
    code, _, err = run_cli(["sweep", sweep, "--no-report"], monkeypatch, capsys)
    assert code == 2 and "config.json content changed" in err, err

    # with cells pending, the same check stops the sweep before any model process starts
    _model_dir(mdir)
    os.utime(mdir / "model.safetensors", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    samples = next((tmp_path / "out").glob("models/*/*/samples.jsonl"))
    samples.write_text("".join(samples.read_text(encoding="utf-8").splitlines(keepends=True)[:8]), encoding="utf-8")
    (mdir / "tokenizer.json").write_text("{}")
    code, _, err = run_cli(["sweep", sweep, "--no-report"], monkeypatch, capsys)
    assert code == 2 and "tokenizer.json added" in err, err


def test_fingerprint_accepts_touched_weights_whose_sha256_is_unchanged(tmp_path, monkeypatch):
    from mgreason.models.fingerprint import fingerprint_changes, model_fingerprint
    from mgreason.models.hashing import weights_sha256

    monkeypatch.setenv("MGREASON_CACHE_DIR", str(tmp_path / "cache"))  # the memoised hashes

    mdir = _model_dir(tmp_path / "m")
    then = model_fingerprint(str(mdir))
    sha = weights_sha256(mdir)
    os.utime(mdir / "model.safetensors", ns=(1, 1))  # a copy without -p: same bytes, new mtime
    now = model_fingerprint(str(mdir))
    assert now != then and fingerprint_changes(then, now, weights_sha256_then=sha) == []
    assert fingerprint_changes(then, now) == ["model.safetensors modified (same size, new modification time)"]
    (mdir / "model.safetensors").write_bytes(b"v" * 64)
    os.utime(mdir / "model.safetensors", ns=(2, 2))
    now = model_fingerprint(str(mdir))
    assert fingerprint_changes(then, now, weights_sha256_then=sha) == [
        "model.safetensors modified (same size, new modification time, other sha256)"
    ]
    assert model_fingerprint("mock-a") is None and model_fingerprint(str(tmp_path / "nothing")) is None


# --------------------------------------------------------------------------- SIGINT
def _env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k not in ("MGREASON_PROGRESS", "COLUMNS")}
    e.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", PYTHONUNBUFFERED="1")
    return e


def _sigint_when(cmd: list[str], cwd: Path, marker: str, stream: str = "stderr", timeout: float = 120):
    p = subprocess.Popen(
        [sys.executable, "-m", "mgreason.cli", *cmd], cwd=cwd, env=_env(), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=restore_sigint,
    )  # fmt: skip
    seen = []
    src = p.stderr if stream == "stderr" else p.stdout
    for line in src:
        seen.append(line)
        if marker in line:
            p.send_signal(signal.SIGINT)
            break
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out, "".join(seen) + err if stream == "stderr" else err


def _one_interrupt_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.startswith("interrupted:")]
    assert len(lines) == 1, err
    return lines[0]


def test_sigint_run_scenario_exits_130_writes_no_run_directory(tmp_path):
    items = make_items(150)
    for it in items:
        it["transcript"]["duration_s"] = 1000.0
    sc = write_scenario(tmp_path / "sc", items=items, fmt="inline")
    out = tmp_path / "run"
    code, _, err = _sigint_when(
        ["run-scenario", str(sc), "--backend", "mock", "--out", str(out), "--n-boot", "200000"], tmp_path, "prompts; backend"
    )
    assert code == 130, err
    line = _one_interrupt_line(err)
    assert "no run directory was written" in line and "same command again" in line
    assert not out.exists() and not (tmp_path / ".run.partial").exists()


def test_sigint_sweep_exits_130_with_a_resume_hint_and_resumes(tmp_path):
    items = make_items(30)
    for it in items:
        it["transcript"]["duration_s"] = 1000.0
    write_scenario(tmp_path / "scen", fmt="inline", items=items, spec={"id": "sc_a"})
    sweep = _sweep(tmp_path)
    data = yaml.safe_load(sweep.read_text())
    data["models"][0]["request_delay_s"] = 0.02
    sweep.write_text(yaml.safe_dump(data))
    code, _, err = _sigint_when(["sweep", str(sweep), "--no-report"], tmp_path, "to run")
    assert code == 130, err
    line = _one_interrupt_line(err)
    assert "records answered so far are kept" in line and f"mgreason sweep {sweep}" in line
    res = run_sweep(sweep, report=False, progress=False)
    assert res.ok and res.done == 120
