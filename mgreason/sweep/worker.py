"""The per-model worker process: ``python -m mgreason.sweep.worker OUT MODEL --events-fd N``.

One process per model (GPU memory is not reliably freed inside one process). It loads the
model once and runs every pending cell of every scenario, batch by batch:

the evaluation engine (:mod:`mgreason.eval.engine`, shared with ``run-scenario``) looks each batch up
in the response cache, asks the backend only for the misses, appends failed attempts to
``attempts.jsonl`` and finished cells to ``samples.jsonl`` (each fsync'ed); this module reports
progress to the parent as JSON lines on the events pipe.

A kill at any point loses at most the batch in flight, and answers that reached the cache
are not recomputed. A failed request is retried up to ``retries`` times (attempts are
counted on disk, so a kill does not reset them); after that it is recorded with its error
(counted wrong in the statistics, listed in the report).

The worker dies with its parent (``PR_SET_PDEATHSIG`` on Linux, and a parent check before
every write), so a killed sweep never leaves a process that writes behind a rerun's back.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Optional

from mgreason.errors import MGReasonError

EXIT_USER_ERROR = 3  # a deterministic problem (bad model path, identity mismatch): retrying will not help
EXIT_CRASH = 4


class Events:
    """JSON lines to the parent. A closed pipe means the parent is gone: exit at once."""

    def __init__(self, fd: Optional[int], parent_pid: Optional[int]):
        self.parent_pid = parent_pid
        self._f = os.fdopen(fd, "w", buffering=1, encoding="utf-8") if fd is not None else None
        if fd is not None:
            os.set_inheritable(fd, False)

    def check_parent(self) -> None:
        if self.parent_pid is not None and os.getppid() != self.parent_pid:
            os._exit(EXIT_CRASH)

    def emit(self, ev: str, **data: Any) -> None:
        if self._f is None:
            return
        try:
            self._f.write(json.dumps({"ev": ev, **data}, ensure_ascii=False, default=str) + "\n")
            self._f.flush()
        except (BrokenPipeError, OSError, ValueError):
            os._exit(EXIT_CRASH)


def _die_with_parent(parent_pid: Optional[int]) -> None:
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        except Exception:  # pragma: no cover - best effort
            pass
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(EXIT_CRASH)  # the parent died before we could ask to follow it


# backends whose model spec names files on this machine (the mock: only when a test gives it a path)
FINGERPRINTED_BACKENDS = frozenset({"hf", "vllm", "mock"})


def fingerprint(entry) -> Optional[dict]:
    """The model's files as found without loading it (:func:`mgreason.models.fingerprint.model_fingerprint`),
    recorded in each cell's ``config.json`` so that a later ``sweep`` notices changed weights even when
    nothing is left to run; None for a served model or one that names no local files."""
    if entry.backend not in FINGERPRINTED_BACKENDS:
        return None
    from mgreason.models.fingerprint import model_fingerprint

    dtype = (entry.engine_args or {}).get("dtype") or (entry.options or {}).get("dtype")
    return model_fingerprint(entry.model, dtype=dtype if isinstance(dtype, str) else None)


def model_workload(plan):
    """Every prompt a model of the sweep may be asked (all its scenarios and seeds), its labels and the
    largest generation budget: the backend sizes its engine to it (vLLM's ``max_model_len``)."""
    from mgreason.backends.base import Workload
    from mgreason.eval.plan import build_requests

    prompts: list = []
    labels: list[str] = []
    budget = 0
    for sp in plan.scenarios:
        sc = sp.scenario
        for seed in plan.spec.seeds or [0]:
            prompts += [r.messages for r in build_requests(sc, limit=plan.spec.limit, seed=seed)]
        labels += [lab for lab in sc.labels if lab not in labels]
        budget = max(budget, sc.spec.generation.max_new_tokens)
    return Workload(prompts=prompts, labels=labels, max_new_tokens=budget)


WRITER_LOCK_WAIT_S = 120.0


class ModelWriterLock:
    """An exclusive ``flock`` on ``<out>/locks/<model>.lock``, held by the worker process itself for as long as it
    may write the model's records. The sweep's directory lock is held by the driver; this one guards against a
    worker that outlives its driver (a Ray task whose driver was SIGKILLed is killed by Ray a moment later, not at
    once): the rerun's worker for the same model waits for it instead of writing beside it."""

    def __init__(self, out: Path, model: str, wait_s: float = WRITER_LOCK_WAIT_S):
        self.path = Path(out) / "locks" / f"{model}.lock"
        self.wait_s = wait_s
        self.fd: Optional[int] = None

    def __enter__(self) -> "ModelWriterLock":
        from mgreason.fileio import wait_flock

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(str(self.path), os.O_RDWR | os.O_CREAT, 0o644)
        if not wait_flock(self.fd, self.wait_s):
            os.close(self.fd)
            self.fd = None
            raise MGReasonError(
                f"another worker of model {self.path.stem} still holds {self.path} after {self.wait_s:g} s"
            )
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def run_model(out: Path, model_name: str, events: Events) -> int:
    """Load one model of the sweep and run its pending cells of every scenario through the engine."""
    with ModelWriterLock(out, model_name):
        return _run_model(out, model_name, events)


def _run_model(out: Path, model_name: str, events: Events) -> int:
    from mgreason.backends import create_backend
    from mgreason.eval.cache import ResponseCache, model_identity, model_key
    from mgreason.sweep.manifest import load_plan

    plan = load_plan(out)
    entry = plan.spec.model(model_name)
    events.emit("loading", model=model_name, pid=os.getpid(), cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"),
                cpus=os.environ.get("MGREASON_WORKER_CPUS"))
    fp = fingerprint(entry)  # before loading: what the loaded weights were read from
    engine_args = entry.engine_args_for_run()
    t0 = time.perf_counter()
    backend = create_backend(
        entry.backend, entry.model, engine_args=engine_args or None, workload=model_workload(plan), **entry.options
    )
    load_s = time.perf_counter() - t0
    info = backend.model_info()
    identity = model_identity(backend.name, info, entry.options, engine_args)
    mkey = model_key(identity)
    cache = ResponseCache(plan.cache_path) if plan.cache_path else None
    if cache is not None:
        cache.register_model(identity)
    events.emit("loaded", model=model_name, seconds=round(load_s, 3), model_key=mkey, identity=identity)
    totals = {"computed": 0, "cached": 0, "failed_attempts": 0, "final_failed": 0}
    try:
        for sp in plan.scenarios:
            t = _run_scenario(plan, model_name, sp, backend, info, identity, mkey, cache, events, fp)
            for k in totals:
                totals[k] += getattr(t, k)
    finally:
        try:
            backend.close()
        finally:
            if cache is not None:
                cache.close()
    events.emit("finished", model=model_name, **totals)
    return 0


def _run_scenario(plan, model_name: str, sp, backend, info, identity, mkey: str, cache, events: Events,
                  fp: Optional[dict] = None):
    """One (model, scenario): check what is on disk, list the pending cells, run them, write the summary."""
    from mgreason.eval.engine import BatchReport, Cell, Engine
    from mgreason.eval.plan import build_requests, generation_params, make_run_config
    from mgreason.eval.records import check_compatible
    from mgreason.eval.store import atomic_write_json

    spec, sc = plan.spec, sp.scenario
    entry = spec.model(model_name)
    seeds = list(spec.seeds or [0])
    cdir = plan.cell_dir(model_name, sp.id)
    cdir.mkdir(parents=True, exist_ok=True)
    run_id = f"{spec.id}/{model_name}/{sp.id}"

    # ---- what is already on disk must come from this scenario version and this model identity
    cfg_path = cdir / "config.json"
    if cfg_path.exists():
        check_compatible(cfg_path, sc, model_key=mkey, where=f"records in {cdir}", identity=identity)
    else:
        params0 = generation_params(sc, seed=sc.spec.generation.seed + seeds[0])
        cfg = make_run_config(
            run_id, sc, backend.name, info, params0, seed=seeds[0], limit=spec.limit,
            n_items=len(sp.item_ids), conditions=sp.conditions, scenario_path=str(sp.path),
            model_extra={"sweep_model": model_name, "cache_key": mkey, "identity": identity, "fingerprint": fp},
            generation_extra={"seeds": seeds},
        )  # fmt: skip
        atomic_write_json(cfg_path, cfg.model_dump(mode="json"))

    cells = []
    for r, seed in enumerate(seeds):
        reqs = {(q.condition, q.item_id): q for q in build_requests(sc, limit=spec.limit, seed=seed)}
        cells += [Cell(key, reqs[(key[0], key[1])]) for key in sp.cells(len(seeds)) if key[2] == r]
    store = plan.records(model_name, sp.id)
    done = store.load(repair=True)
    events.emit("scenario", model=model_name, scenario=sp.id, pending=sum(c.key not in done for c in cells),
                done=len(done))

    timing_path = cdir / "timing.json"
    timing = json.loads(timing_path.read_text()) if timing_path.exists() else {"compute_seconds": 0.0}

    def on_batch(b: BatchReport) -> None:
        timing["compute_seconds"] = round(timing["compute_seconds"] + b.seconds, 3)
        atomic_write_json(timing_path, timing)
        events.emit("batch", model=model_name, scenario=sp.id, final=b.final, computed=b.computed, cached=b.cached,
                    failed_attempts=b.failed_attempts, final_failed=b.final_failed, seconds=round(b.seconds, 4))

    engine = Engine(
        backend=backend, scenario=sc, run_id=run_id, store=store, attempts=plan.attempts(model_name, sp.id),
        cache=cache, model_key=mkey, retries=spec.retries, batch_size=entry.batch_size or spec.batch_size,
        seeds=seeds, request_delay_s=entry.request_delay_s or 0.0, progress=lambda n: events.emit("tick", n=n),
        on_batch=on_batch, before_write=events.check_parent,
    )  # fmt: skip
    totals = engine.run(cells)
    _write_summary(plan, model_name, sp, info.id, backend.name, timing["compute_seconds"])
    events.emit("scenario_done", model=model_name, scenario=sp.id)
    return totals


def _write_summary(plan, model_name: str, sp, model_id: str, backend: str, seconds: float) -> None:
    """summary.json / summary.md in the (model, scenario) directory, as ``run-scenario`` writes them."""
    from mgreason.eval.records import RunConfig
    from mgreason.eval.report import summary_markdown
    from mgreason.eval.summary import summarize
    from mgreason.eval.store import atomic_write_json
    from mgreason.fileio import atomic_write_text

    cdir = plan.cell_dir(model_name, sp.id)
    recs = plan.records(model_name, sp.id).load(repair=False)
    planned = set(sp.cells(int(plan.spec.repeats or 1)))
    records = [r for k, r in recs.items() if k in planned]
    if not records:
        return
    config = RunConfig.model_validate_json((cdir / "config.json").read_text(encoding="utf-8"))
    summary = summarize(
        config.run_id, sp.scenario, records, model_id, backend, seconds, seed=config.seed, n_boot=plan.spec.n_boot
    )
    atomic_write_json(cdir / "summary.json", summary.model_dump(mode="json"))
    atomic_write_text(cdir / "summary.md", summary_markdown(summary, config))


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mgreason.sweep.worker", description="run one model of a sweep")
    ap.add_argument("out", type=Path, help="the sweep's run directory (holds sweep.json)")
    ap.add_argument("model", help="the model's name in the sweep file")
    ap.add_argument("--events-fd", type=int, default=None, help="file descriptor for JSON-line progress events")
    ap.add_argument("--parent-pid", type=int, default=None, help="exit if this process is no longer the parent")
    args = ap.parse_args(argv)
    _die_with_parent(args.parent_pid)
    from mgreason.sweep.resources import pin_current_process

    pin_current_process()
    events = Events(args.events_fd, args.parent_pid)
    try:
        return run_model(args.out, args.model, events)
    except MGReasonError as e:
        print(f"error: {e}", file=sys.stderr)
        events.emit("fatal", model=args.model, error=str(e), user_error=True)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return 130
    except OSError as e:
        import errno

        if e.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS):
            traceback.print_exc()
            events.emit("fatal", model=args.model, error=f"{type(e).__name__}: {e}".splitlines()[0], user_error=False)
            return EXIT_CRASH
        # a full disk: retrying cannot help; what is written is complete (records are whole lines), so
        # the same command resumes once there is space
        msg = f"cannot write {e.filename or 'the results'}: {e.strerror or e}; free space and run the same command again"
        print(f"error: {msg}", file=sys.stderr)
        events.emit("fatal", model=args.model, error=msg, user_error=True)
        return EXIT_USER_ERROR
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        events.emit("fatal", model=args.model, error=f"{type(e).__name__}: {e}".splitlines()[0], user_error=False)
        return EXIT_CRASH


if __name__ == "__main__":
    sys.exit(main())
