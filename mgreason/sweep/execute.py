"""The sweep orchestrator: plan every cell, run one worker subprocess per model, resume.

``run_sweep(SWEEP.yaml)``:

1. validates the sweep file and every scenario and prompt (no model is loaded), and lists
   every (model, scenario, condition, item, repeat) cell;
2. takes an exclusive lock on the run directory (a second sweep on it waits, then fails);
3. reads back what earlier invocations finished (``samples.jsonl``; torn lines repaired,
   duplicates removed) and writes ``manifest.jsonl`` / ``status.json``;
4. runs each model that still has pending cells in its own subprocess
   (:mod:`mgreason.sweep.worker`), showing one progress bar across the whole sweep with an
   ETA; a worker that crashes is restarted up to ``retries`` times;
5. writes the final manifest and (by default) the report.

Running the same command again after a kill (even SIGKILL) finishes the sweep with no
lost and no duplicated records.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

from mgreason.sweep.manifest import (
    DONE,
    FAILED,
    PENDING,
    CellState,
    SweepPlan,
    build_manifest,
    build_plan,
    write_manifest,
)
from mgreason.eval.store import atomic_write_json
from mgreason.sweep.spec import SweepError, cache_path, load_sweep, output_dir, python_path, scenario_paths

LOCK_WAIT_S = 60.0


@dataclass
class SweepResult:
    out: Path
    total: int
    done: int
    failed: int
    pending: int
    failed_cells: list[CellState]
    model_errors: dict[str, str]
    seconds: float
    computed: int = 0
    cached: int = 0
    report: Optional[Path] = None
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.pending == 0

    @property
    def ok(self) -> bool:
        return self.pending == 0 and self.failed == 0


# --------------------------------------------------------------------------- locking


class _RunLock:
    """An exclusive ``flock`` on ``<out>/.sweep.lock``. Its fd is passed to the workers, so a
    worker that outlives a killed parent (it should not) still holds the directory."""

    def __init__(self, out: Path, wait_s: float = LOCK_WAIT_S, say=None):
        self.path = out / ".sweep.lock"
        self.fd: Optional[int] = None
        self.wait_s = wait_s
        self.say = say

    def __enter__(self) -> "_RunLock":
        try:
            import fcntl  # noqa: F401 - only to tell a POSIX system
        except ImportError:  # pragma: no cover - not POSIX
            return self
        from mgreason.fileio import wait_flock

        self.fd = os.open(str(self.path), os.O_RDWR | os.O_CREAT, 0o644)
        say = self.say
        if not wait_flock(self.fd, self.wait_s, (lambda: say(f"waiting for another sweep process to release {self.path} ...")) if say else None):
            os.close(self.fd)
            self.fd = None
            raise SweepError(
                "another sweep process is running on this directory (it holds .sweep.lock)", file=self.path.parent
            )
        os.ftruncate(self.fd, 0)
        os.write(self.fd, f"{os.getpid()}\n".encode())
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


# --------------------------------------------------------------------------- progress


def _fmt_s(s: Optional[float]) -> str:
    if s is None:
        return "—"
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


class SweepProgress:
    """One progress display for the whole sweep, fed by the workers' events.

    ETA = remaining cells × seconds per computed request (of the current model) + the
    expected load time of the models not started yet. Cache hits and resumed cells cost ~0.
    """

    def __init__(self, total: int, done: int, models_left: int, console=None, enabled: Optional[bool] = None):
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self.total, self.committed, self.inflight = total, done, 0
        self.models_left = models_left
        self.load_times: list[float] = []
        self.model_rate: dict[str, tuple[float, int]] = {}
        self.model = ""
        self.scenario = ""
        self.computed = 0
        self.cached = 0
        self.t0 = time.monotonic()
        self._last_line = 0.0
        self._loaded_at: Optional[float] = None
        self._ticks = 0
        tty = self.console.is_terminal if enabled is None else enabled
        self._lock = threading.RLock()  # workers of several models report at once
        self._prog = None
        if tty or os.environ.get("MGREASON_PROGRESS") == "1":
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._prog = Progress(
                TextColumn("[bold]sweep"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta {task.fields[eta]}"),
                TextColumn("{task.fields[info]}"),
                console=self.console,
                transient=False,
            )
            self._task = self._prog.add_task("sweep", total=total, completed=done, eta="—", info="")
            self._prog.start()

    # ---- estimates
    def eta(self) -> Optional[float]:
        remaining = max(0, self.total - self.committed - self.inflight)
        if remaining == 0:
            return 0.0
        rate = self.model_rate.get(self.model)
        if not rate or rate[1] == 0:
            agg_s = sum(v[0] for v in self.model_rate.values())
            agg_n = sum(v[1] for v in self.model_rate.values())
            rate = (agg_s, agg_n) if agg_n else None
        if rate is None and self._ticks and self._loaded_at is not None:
            rate = (time.monotonic() - self._loaded_at, self._ticks)  # before the first batch: from the ticks
        if rate is None:
            return None
        loads = (sum(self.load_times) / len(self.load_times)) * self.models_left if self.load_times else 0.0
        return remaining * rate[0] / rate[1] + loads

    def info(self) -> str:
        return f"{self.model} · {self.scenario}" if self.scenario else self.model

    # ---- events
    def on_event(self, ev: dict[str, Any]) -> None:
        with self._lock:
            self._on_event(ev)

    def resync(self, committed: int) -> None:
        with self._lock:
            self.committed, self.inflight = committed, 0

    def _on_event(self, ev: dict[str, Any]) -> None:
        kind = ev.get("ev")
        if kind == "loading":
            self.model, self.scenario = ev.get("model", ""), ""
            self.models_left = max(0, self.models_left - 1)
        elif kind == "loaded":
            self.load_times.append(float(ev.get("seconds") or 0.0))
            self._loaded_at, self._ticks = time.monotonic(), 0
        elif kind == "scenario":
            self.scenario = ev.get("scenario", "")
        elif kind == "tick":
            self.inflight += int(ev.get("n", 1))
            self._ticks += int(ev.get("n", 1))
        elif kind == "batch":
            self.inflight = 0
            self.committed += int(ev.get("final", 0))
            c = int(ev.get("computed", 0))
            self.computed += c
            self.cached += int(ev.get("cached", 0))
            s, n = self.model_rate.get(self.model, (0.0, 0))
            self.model_rate[self.model] = (s + float(ev.get("seconds", 0.0)), n + c)
        elif kind in ("fatal", "exit"):
            self.inflight = 0
        self._render(force=kind in ("scenario_done", "fatal"))

    def _render(self, force: bool = False) -> None:
        done = min(self.total, self.committed + self.inflight)
        eta = _fmt_s(self.eta())
        if self._prog is not None:
            self._prog.update(self._task, completed=done, eta=eta, info=self.info())
            return
        now = time.monotonic()
        if force or now - self._last_line >= 10.0:
            self._last_line = now
            pct = 100.0 * done / self.total if self.total else 100.0
            self.console.print(
                f"sweep: {done}/{self.total} cells ({pct:.0f}%) · elapsed {_fmt_s(now - self.t0)} · eta {eta} · {self.info()}",
                highlight=False,
            )

    def say(self, msg: str) -> None:
        with self._lock:
            if self._prog is not None:
                self._prog.console.print(msg, highlight=False)
            else:
                self.console.print(msg, highlight=False)

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._prog is not None:
            self._prog.update(self._task, completed=min(self.total, self.committed), eta=_fmt_s(0), info="")
            self._prog.stop()
            self._prog = None


# --------------------------------------------------------------------------- planning


def plan_sweep(sweep_file: str | Path, out: Optional[str | Path] = None, retries: Optional[int] = None) -> SweepPlan:
    """Validate the sweep file, every scenario and every prompt; list the cells. Loads no model."""
    sweep_file = Path(sweep_file)
    spec = load_sweep(sweep_file)
    if retries is not None:
        spec.retries = int(retries)
    paths = scenario_paths(spec, sweep_file)
    return build_plan(spec, sweep_file.resolve(), output_dir(spec, out), cache_path(spec, sweep_file), paths)


def _check_existing(plan: SweepPlan) -> None:
    """Refuse to mix records made from another version of a scenario, with other seeds, or with a model whose
    files changed since (checked without loading it, so also when nothing is left to run)."""
    from mgreason.models.fingerprint import fingerprint_changes
    from mgreason.errors import MGReasonError
    from mgreason.eval.records import check_compatible
    from mgreason.sweep.worker import fingerprint

    for m in plan.spec.models:
        now: Any = ...  # computed once, when a cell records a fingerprint
        for s in plan.scenarios:
            cfg = plan.cell_dir(m.name, s.id) / "config.json"
            if not cfg.exists():
                continue
            check_compatible(cfg, s, seeds=list(plan.spec.seeds or [0]), where=f"{plan.out} holds results that")
            old_model = json.loads(cfg.read_text(encoding="utf-8")).get("model") or {}
            then = old_model.get("fingerprint")
            if not isinstance(then, dict):
                continue  # made before fingerprints were recorded, or a served model
            if now is ...:
                now = fingerprint(m)
            if now is None:
                continue  # the files are gone: loading the model says so, if anything is left to run
            sha_then = (old_model.get("identity") or {}).get("sha256") or old_model.get("sha256")
            changes = fingerprint_changes(then, now, weights_sha256_then=sha_then)
            if changes:
                raise MGReasonError(
                    f"model {m.name} ({m.model}) changed since {cfg.parent} was answered with it: "
                    f"{'; '.join(changes)}; use a new output directory (--out), or restore the model",
                    field="model",
                )


def _retry_failed(plan: SweepPlan) -> int:
    n = 0
    for m in plan.spec.models:
        for s in plan.scenarios:
            store = plan.records(m.name, s.id)
            keys = {k for k, r in store.load(repair=True).items() if r.error is not None}
            if keys:
                n += store.drop(keys)
                plan.attempts(m.name, s.id).drop(keys)
    return n


# --------------------------------------------------------------------------- workers


def iter_events(fd: int) -> Iterator[dict]:
    """The JSON-line events a worker writes to ``fd``, until it (and anything it started) closes the pipe;
    lines that are not JSON are skipped."""
    with os.fdopen(fd, "r", encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except ValueError:
                continue


def _read_events(fd: int, q: "queue.Queue[Optional[dict]]") -> None:
    for ev in iter_events(fd):
        q.put(ev)
    q.put(None)


_LIVE: "set[subprocess.Popen]" = set()  # worker processes of this sweep, killed if the driver stops
_LIVE_LOCK = threading.Lock()


def _kill_live() -> None:
    with _LIVE_LOCK:
        procs = list(_LIVE)
    for proc in procs:
        try:
            proc.kill()
        except OSError:  # pragma: no cover
            pass


def worker_env(plan: SweepPlan, model: str, base: Optional[dict[str, str]] = None) -> dict[str, str]:
    """The environment of a model's worker process (``base``: the environment it starts from)."""
    entry = plan.spec.model(model)
    env = dict(os.environ if base is None else base)
    env.update(entry.env)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    py = python_path(entry, plan.sweep_file)
    root = Path(__file__).resolve().parents[2]
    if py is not None and (root / "pyproject.toml").is_file():
        # another environment (e.g. vLLM's) runs this checkout's mgreason, not a stale copy of its own
        env["PYTHONPATH"] = os.pathsep.join([str(root)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def worker_command(plan: SweepPlan, model: str) -> list[str]:
    """The model's worker command line, without its events pipe (see :func:`events_args`)."""
    py = python_path(plan.spec.model(model), plan.sweep_file)
    return [str(py) if py is not None else sys.executable, "-m", "mgreason.sweep.worker", str(plan.out), model]


def events_args(events_fd: int, parent_pid: int) -> list[str]:
    """The worker's arguments naming its events pipe and the process it must die with."""
    return ["--events-fd", str(events_fd), "--parent-pid", str(parent_pid)]


def _run_worker(
    plan: SweepPlan, model: str, lock: _RunLock, progress: SweepProgress, log_events, extra_env: Optional[dict] = None
) -> tuple[int, Optional[str]]:
    """Run one model's worker to completion; returns (exit code, fatal error message)."""
    logs = plan.out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    r, w = os.pipe()
    env = worker_env(plan, model)
    env.update(extra_env or {})
    cmd = worker_command(plan, model) + events_args(w, os.getpid())
    pass_fds = [w] + ([lock.fd] if lock.fd is not None else [])
    with open(logs / f"{model}.log", "ab") as logf:
        logf.write(f"\n==== {_dt.datetime.now().isoformat(timespec='seconds')} worker start\n".encode())
        logf.flush()
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, pass_fds=pass_fds, env=env)
    with _LIVE_LOCK:
        _LIVE.add(proc)
    os.close(w)
    q: "queue.Queue[Optional[dict]]" = queue.Queue()
    reader = threading.Thread(target=_read_events, args=(r, q), daemon=True)
    reader.start()
    fatal: Optional[str] = None
    try:
        while True:
            try:
                ev = q.get(timeout=0.5)
            except queue.Empty:
                ev = None
                if proc.poll() is not None:
                    # the worker is gone; its children may still hold the pipe: drain briefly, then stop
                    reader.join(timeout=2.0)
                    while not q.empty():
                        e = q.get_nowait()
                        if e is None:
                            break
                        fatal = _handle(e, progress, log_events) or fatal
                    break
                continue
            if ev is None:  # EOF: the worker (and anything it started) closed the pipe
                break
            fatal = _handle(ev, progress, log_events) or fatal
        rc = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(proc)
    progress.on_event({"ev": "exit", "model": model, "rc": rc})
    return rc, fatal


def _handle(ev: dict[str, Any], progress: SweepProgress, log_events) -> Optional[str]:
    progress.on_event(ev)
    if ev.get("ev") != "tick":
        log_events(ev)
    if ev.get("ev") == "fatal":
        return str(ev.get("error"))
    return None


def _tail(path: Path, n: int = 15) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


# --------------------------------------------------------------------------- executors


def _run_model_to_end(plan: SweepPlan, model: str, prog: SweepProgress, log_event, model_errors: dict[str, str],
                      start) -> None:
    """Run one model's worker (``start()`` -> (exit code, fatal message)) until its cells are done or its retries
    are spent; the same policy for every executor."""
    for attempt in range(plan.spec.retries + 1):
        rc, fatal = start()
        remaining = build_manifest(plan).pending(model)
        if rc == 0 and not remaining:
            model_errors.pop(model, None)
            return
        why = fatal or f"worker exited with code {rc}"
        model_errors[model] = why
        log_event({"ev": "worker_failed", "model": model, "rc": rc, "attempt": attempt + 1, "error": why})
        prog.say(f"model {model}: {why} (attempt {attempt + 1} of {plan.spec.retries + 1}; log: "
                 f"{plan.out / 'logs' / (model + '.log')})")
        tail = _tail(plan.out / "logs" / f"{model}.log")
        if tail and rc not in (0, -9):
            prog.say(tail)
        if rc == 3:  # a user error (bad model path, changed identity): retrying cannot help
            return
        # resync the bar with what is on disk
        m = build_manifest(plan)
        prog.resync(sum(1 for c in m.cells if c.status != PENDING))
        if not m.pending(model):  # killed after its last write: nothing is missing
            model_errors.pop(model, None)
            return


def _run_local(plan: SweepPlan, todo: list[str], lock: _RunLock, prog: SweepProgress, log_event,
               model_errors: dict[str, str], max_parallel: Optional[int]) -> None:
    """Worker subprocesses on this machine, as many at once as ``max_parallel`` and the declared resources allow
    (one after another by default), each pinned to the GPUs and cores it was given."""
    from mgreason.sweep.resources import Allocator, check_fits, default_parallel, detect_machine

    entries = [plan.spec.model(m) for m in todo]
    machine = detect_machine()
    check_fits(entries, machine)
    n = max_parallel or plan.spec.max_parallel or default_parallel(entries, machine)
    alloc = Allocator(machine, n)
    pending = list(todo)
    running: dict[str, threading.Thread] = {}
    failures: list[BaseException] = []

    def run(model: str, a) -> None:
        entry = plan.spec.model(model)
        # a sweep of undeclared models, one at a time, runs exactly as before: no pinning
        env = {} if (entry.resources is None and n == 1) else a.env(pin_gpus=bool(machine.gpus) and entry.resources is not None)
        try:
            _run_model_to_end(plan, model, prog, log_event, model_errors,
                              lambda: _run_worker(plan, model, lock, prog, log_event, env))
        except BaseException as e:  # noqa: BLE001 - re-raised by the scheduler
            failures.append(e)
        finally:
            alloc.release(a)

    try:
        while pending or running:
            for model in list(pending):
                a = alloc.try_acquire(plan.spec.model(model), alone=(n == 1))
                if a is None:
                    continue
                pending.remove(model)
                t = threading.Thread(target=run, args=(model, a), name=f"sweep-{model}", daemon=True)
                running[model] = t
                t.start()
            alloc.wait(0.2)
            for model, t in list(running.items()):
                if not t.is_alive():
                    del running[model]
            if failures:
                raise failures[0]
    except BaseException:
        _kill_live()
        for t in running.values():
            t.join(timeout=10)
        raise


# --------------------------------------------------------------------------- the sweep


def run_sweep(
    sweep_file: str | Path,
    *,
    out: Optional[str | Path] = None,
    retries: Optional[int] = None,
    retry_failed: bool = False,
    report: bool = True,
    console=None,
    progress: Optional[bool] = None,
    max_parallel: Optional[int] = None,
    executor: Optional[str] = None,
    ray_address: Optional[str] = None,
) -> SweepResult:
    """Run (or resume) a sweep; see the module docstring. ``max_parallel``, ``executor`` and ``ray_address``
    override the sweep file's."""
    from rich.console import Console

    console = console or Console(stderr=True)
    t0 = time.perf_counter()
    plan = plan_sweep(sweep_file, out=out, retries=retries)
    executor = executor or plan.spec.executor
    if executor not in ("local", "ray"):
        raise SweepError(f"unknown executor {executor!r}: local or ray", field="executor")
    ray_address = ray_address or plan.spec.ray_address
    plan.out.mkdir(parents=True, exist_ok=True)
    invocation = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds") + f"/{os.getpid()}"
    events: list[dict[str, Any]] = []
    events_path = plan.out / "events.jsonl"

    events_lock = threading.Lock()  # several model workers report at once

    def log_event(ev: dict[str, Any]) -> None:
        ev = {"t": round(time.time(), 3), "invocation": invocation, **ev}
        with events_lock:
            events.append(ev)
            with open(events_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(ev, ensure_ascii=False, default=str) + "\n")

    with _RunLock(plan.out, say=lambda m: console.print(m, highlight=False)) as lock:
        _check_existing(plan)
        if plan.cache_path is not None:  # an unusable cache file is one line here, not a failure in every worker
            from mgreason.eval.cache import ResponseCache

            ResponseCache(plan.cache_path).close()
        copy = plan.out / "sweep.yaml"
        if not (copy.exists() and copy.samefile(plan.sweep_file)):
            shutil.copyfile(plan.sweep_file, copy)  # a record of the file as given (sweep.json has the resolved plan)
        atomic_write_json(plan.out / "sweep.json", plan.to_json())
        if retry_failed:
            n = _retry_failed(plan)
            if n:
                console.print(f"--retry-failed: {n} failed cell(s) will run again", highlight=False)
        manifest = build_manifest(plan, repair=True)  # also repairs torn lines / duplicates
        write_manifest(plan, manifest)
        counts = manifest.counts()
        log_event({"ev": "sweep_start", "total": len(manifest.cells), **counts})
        todo_models = [m.name for m in plan.spec.models if manifest.pending(m.name)]
        console.print(
            f"[bold]sweep {plan.spec.id}[/]: {len(plan.spec.models)} model(s) × {len(plan.scenarios)} scenario(s) → "
            f"{len(manifest.cells)} cells; {counts[DONE] + counts[FAILED]} already finished, {counts[PENDING]} to run "
            f"({len(todo_models)} model process(es)); output {plan.out}",
            highlight=False,
        )
        prog = SweepProgress(len(manifest.cells), counts[DONE] + counts[FAILED], len(todo_models), console, progress)
        model_errors: dict[str, str] = {}
        try:
            if executor == "ray":
                from mgreason.sweep.ray_executor import run_on_ray

                def start_on_ray(model: str, start):
                    return _run_model_to_end(plan, model, prog, log_event, model_errors, start)

                run_on_ray(plan, todo_models, prog, log_event, start_on_ray, address=ray_address,
                           max_parallel=max_parallel)
            else:
                _run_local(plan, todo_models, lock, prog, log_event, model_errors, max_parallel)
        finally:
            prog.close()
            manifest = build_manifest(plan, model_errors=model_errors)
            write_manifest(plan, manifest)
        counts = manifest.counts()
        result = SweepResult(
            out=plan.out,
            total=len(manifest.cells),
            done=counts[DONE],
            failed=counts[FAILED],
            pending=counts[PENDING],
            failed_cells=manifest.failed() + manifest.pending(),
            model_errors=model_errors,
            seconds=time.perf_counter() - t0,
            computed=prog.computed,
            cached=prog.cached,
            events=events,
        )
        log_event({"ev": "sweep_end", "total": result.total, **counts, "seconds": round(result.seconds, 3),
                   "computed": result.computed, "cached": result.cached})
    if report and (counts[DONE] + counts[FAILED]) > 0:
        from mgreason.sweep.report import write_report

        with _RunLock(plan.out, say=lambda m: console.print(m, highlight=False)):  # not beside another sweep's writes
            result.report = write_report(plan.out)
    return result


__all__ = ["SweepProgress", "SweepResult", "plan_sweep", "run_sweep"]
