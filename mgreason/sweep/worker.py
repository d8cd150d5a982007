"""The per-model worker process: ``python -m mgreason.sweep.worker OUT MODEL --events-fd N``.

One process per model (GPU memory is not reliably freed inside one process). It loads the
model once and runs every pending cell of every scenario, batch by batch:

1. look the batch up in the response cache; ask the backend only for the misses;
2. store the new answers in the cache (one transaction);
3. append failed attempts to ``attempts.jsonl`` and finished cells to ``samples.jsonl``,
   each fsync'ed;
4. report progress to the parent as JSON lines on the events pipe.

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


def _batches(cells: list, size: int) -> list[list]:
    """Split (cell, request) pairs into batches of about ``size`` prompts, never splitting an item."""
    out: list[list] = []
    cur: list = []
    cur_item = None
    for c in cells:
        item = (c[0][2], c[0][1])  # (repeat, item)
        new_repeat = cur_item is not None and item[0] != cur_item[0]  # a batch has one repeat (one seed)
        if cur and item != cur_item and (len(cur) >= size or new_repeat):
            out.append(cur)
            cur = []
        cur.append(c)
        cur_item = item
    if cur:
        out.append(cur)
    return out


def run_model(out: Path, model_name: str, events: Events) -> int:
    from mgreason.backends import create_backend
    from mgreason.runner import build_requests, generation_params, make_records, make_run_config
    from mgreason.sweep.cache import (
        ResponseCache,
        generate_scoring,
        logprobs_scoring,
        model_identity,
        model_key,
        request_key,
    )
    from mgreason.sweep.manifest import atomic_write_json, load_plan
    from mgreason.sweep.spec import SweepError

    plan = load_plan(out)
    spec = plan.spec
    entry = spec.model(model_name)
    retries = spec.retries
    seeds = list(spec.seeds or [0])
    bsize = entry.batch_size or spec.batch_size

    events.emit("loading", model=model_name, pid=os.getpid())
    t0 = time.perf_counter()
    backend = create_backend(entry.backend, entry.model, engine_args=entry.engine_args or None, **entry.options)
    load_s = time.perf_counter() - t0
    info = backend.model_info()
    identity = model_identity(backend.name, info, entry.options, entry.engine_args)
    mkey = model_key(identity)
    cache = ResponseCache(plan.cache_path) if plan.cache_path else None
    if cache is not None:
        cache.register_model(identity)
    events.emit("loaded", model=model_name, seconds=round(load_s, 3), model_key=mkey, identity=identity)
    totals = {"computed": 0, "cached": 0, "failed_attempts": 0, "final_failed": 0}

    try:
        for sp in plan.scenarios:
            sc = sp.scenario
            cdir = plan.cell_dir(model_name, sp.id)
            cdir.mkdir(parents=True, exist_ok=True)
            store = plan.records(model_name, sp.id)
            alog = plan.attempts(model_name, sp.id)
            done = store.load(repair=True)
            logged = alog.load(repair=True)
            attempts = {k: v.count for k, v in logged.items()}
            last_err = {k: v.last_error for k, v in logged.items()}

            # ---- identity of what is already on disk must match what runs now
            cfg_path = cdir / "config.json"
            run_id = f"{spec.id}/{model_name}/{sp.id}"
            if cfg_path.exists():
                old = json.loads(cfg_path.read_text(encoding="utf-8"))
                old_key = (old.get("model") or {}).get("cache_key")
                if old.get("scenario_sha256") != sc.sha256:
                    raise SweepError(
                        f"records in {cdir} were made from another version of scenario {sp.id}; "
                        "use a new output directory (--out)",
                        file=sp.path,
                    )
                if old_key != mkey:
                    raise SweepError(
                        f"records in {cdir} were made with another model identity "
                        f"({(old.get('model') or {}).get('sha256')} vs {info.sha256}, or other options); "
                        "use a new output directory (--out)",
                        field=f"models.{model_name}",
                    )
            else:
                params0 = generation_params(sc, seed=sc.spec.generation.seed + seeds[0])
                cfg = make_run_config(
                    run_id, sc, backend.name, info, params0, seed=seeds[0], limit=spec.limit,
                    n_items=len(sp.item_ids), conditions=sp.conditions, scenario_path=str(sp.path),
                    model_extra={"sweep_model": model_name, "cache_key": mkey, "identity": identity},
                    generation_extra={"seeds": seeds},
                )  # fmt: skip
                atomic_write_json(cfg_path, cfg.model_dump(mode="json"))

            # ---- pending cells, with their requests
            pending: list[tuple[tuple[str, str, int], Any]] = []
            for r, seed in enumerate(seeds):
                reqs = {(q.condition, q.item_id): q for q in build_requests(sc, limit=spec.limit, seed=seed)}
                for key in sp.cells(len(seeds)):
                    if key[2] == r and key not in done:
                        pending.append((key, reqs[(key[0], key[1])]))
            events.emit("scenario", model=model_name, scenario=sp.id, pending=len(pending), done=len(done))

            mode = sc.spec.scoring.mode
            labels = sc.labels
            choices = labels if (mode == "generate" and sc.spec.scoring.constrain) else None
            timing_path = cdir / "timing.json"
            timing = json.loads(timing_path.read_text()) if timing_path.exists() else {"compute_seconds": 0.0}

            def finish_exhausted(cells):
                recs = []
                for key, req in cells:
                    rec = make_records(run_id, sc, [req], [_error_result(last_err.get(key) or "failed")])[0]
                    rec.repeat = key[2]
                    recs.append(rec)
                return recs

            # cells whose every attempt already failed (killed before the final record was written)
            exhausted = [(k, q) for k, q in pending if attempts.get(k, 0) > retries]
            if exhausted:
                events.check_parent()
                store.append(finish_exhausted(exhausted))
                events.emit("batch", model=model_name, scenario=sp.id, final=len(exhausted), computed=0, cached=0,
                            failed_attempts=0, final_failed=len(exhausted), seconds=0.0)
                totals["final_failed"] += len(exhausted)
            todo = [(k, q) for k, q in pending if attempts.get(k, 0) <= retries]

            while todo:
                retry_next: list = []
                for batch in _batches(todo, bsize):
                    rep = batch[0][0][2]
                    params = generation_params(sc, seed=sc.spec.generation.seed + seeds[rep])
                    scoring = logprobs_scoring(labels) if mode == "logprobs" else generate_scoring(params, choices)
                    keys = [request_key(mkey, scoring, q.prompt_sha256) for _, q in batch]
                    hits = cache.get_many(mkey, keys) if cache is not None else {}
                    miss = [i for i, k in enumerate(keys) if k not in hits]
                    results: list[Any] = [hits.get(k) for k in keys]
                    t1 = time.perf_counter()
                    if miss:
                        prompts = [batch[i][1].messages for i in miss]

                        def tick(n: int) -> None:
                            events.emit("tick", n=n)

                        if entry.request_delay_s:
                            for _ in miss:
                                time.sleep(entry.request_delay_s)
                        try:
                            if mode == "logprobs":
                                got = backend.score_labels(prompts, labels, progress=tick)
                            else:
                                got = backend.generate(prompts, params, choices=choices, progress=tick)
                            if len(got) != len(miss):
                                raise RuntimeError(f"backend returned {len(got)} results for {len(miss)} requests")
                        except Exception as exc:  # noqa: BLE001 - the whole batch failed: retry its requests
                            got = [_error_result(f"{type(exc).__name__}: {exc}".splitlines()[0]) for _ in miss]
                        for i, res in zip(miss, got):
                            results[i] = res
                    seconds = time.perf_counter() - t1
                    recs = make_records(run_id, sc, [q for _, q in batch], results)
                    final, fails, new_cache, n_final_failed = [], [], [], 0
                    for (key, q), rec, res, k, i in zip(batch, recs, results, keys, range(len(batch))):
                        rec.repeat = key[2]
                        if rec.error is None:
                            final.append(rec)
                            if k not in hits:
                                new_cache.append((k, q.prompt_sha256, scoring, res))
                            continue
                        n = attempts.get(key, 0) + 1
                        attempts[key] = n
                        last_err[key] = rec.error
                        fails.append((key, n, rec.error))
                        if n > retries:
                            final.append(rec)
                            n_final_failed += 1
                        else:
                            retry_next.append((key, q))
                    if cache is not None and new_cache:
                        cache.put_many(mkey, new_cache)
                    events.check_parent()
                    alog.append(fails)
                    store.append(final)
                    n_computed = len(miss)
                    timing["compute_seconds"] = round(timing["compute_seconds"] + seconds, 3)
                    atomic_write_json(timing_path, timing)
                    totals["computed"] += n_computed
                    totals["cached"] += len(batch) - n_computed
                    totals["failed_attempts"] += len(fails)
                    totals["final_failed"] += n_final_failed
                    events.emit(
                        "batch",
                        model=model_name,
                        scenario=sp.id,
                        final=len(final),
                        computed=n_computed,
                        cached=len(batch) - n_computed,
                        failed_attempts=len(fails),
                        final_failed=n_final_failed,
                        seconds=round(seconds, 4),
                    )
                todo = retry_next

            _write_summary(plan, model_name, sp, info.id, backend.name, timing["compute_seconds"])
            events.emit("scenario_done", model=model_name, scenario=sp.id)
    finally:
        try:
            backend.close()
        finally:
            if cache is not None:
                cache.close()
    events.emit("finished", model=model_name, **totals)
    return 0


def _error_result(msg: str):
    from mgreason.backends.base import BackendResult

    return BackendResult(error=msg)


def _write_summary(plan, model_name: str, sp, model_id: str, backend: str, seconds: float) -> None:
    """summary.json / summary.md in the (model, scenario) directory, as ``run-scenario`` writes them."""
    from mgreason.records import RunConfig
    from mgreason.report import summary_markdown
    from mgreason.runner import summarize
    from mgreason.sweep.manifest import atomic_write_json, atomic_write_text
    from mgreason.sweep.report import collapse_repeats

    cdir = plan.cell_dir(model_name, sp.id)
    recs = plan.records(model_name, sp.id).load(repair=False)
    planned = set(sp.cells(int(plan.spec.repeats or 1)))
    records = collapse_repeats([r for k, r in recs.items() if k in planned])
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
    events = Events(args.events_fd, args.parent_pid)
    try:
        return run_model(args.out, args.model, events)
    except MGReasonError as e:
        print(f"error: {e}", file=sys.stderr)
        events.emit("fatal", model=args.model, error=str(e), user_error=True)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        events.emit("fatal", model=args.model, error=f"{type(e).__name__}: {e}".splitlines()[0], user_error=False)
        return EXIT_CRASH


if __name__ == "__main__":
    sys.exit(main())
