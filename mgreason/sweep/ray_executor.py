"""The sweep on Ray: each model with pending cells becomes one Ray task with the resources it declares.

``mgreason sweep FILE --executor ray [--address ADDR]`` (or ``executor: ray`` in the sweep file) runs on a local
Ray instance (started here, on this machine's cores) or joins an existing cluster. Ray places each model's task on a
node with ``num_gpus``/``num_cpus`` free and sets ``CUDA_VISIBLE_DEVICES`` for it; vLLM inside a task spreads a model
over its GPUs (``tensor_parallel_size``, set from ``resources.gpus``).

**Who writes the records.** The task starts the same worker subprocess as the local executor
(``python -m mgreason.sweep.worker``), and the worker writes the model's records itself into the sweep directory,
under its own per-model lock (:class:`mgreason.sweep.worker.ModelWriterLock`), with the engine's fsync'ed appends.
The driver only receives progress events (a Ray streaming generator). So on a cluster the sweep directory must be
on storage every node sees (NFS, Lustre, a shared volume), as for any multi-node job. Why this and not records
streamed back to the driver: one code path writes records for both executors (the guarantees and their tests are
the same ones), nothing is lost in flight when the driver dies (a batch on disk is on disk), and the response cache
and model-fingerprint checks run unchanged in the worker. A driver that is killed takes its tasks with it (Ray's
owner fate-sharing; the worker subprocess dies with its Ray worker through ``PR_SET_PDEATHSIG``), and a rerun's
worker waits on the per-model lock until the old one is gone.

Ray is an optional extra (``pip install "mgreason[ray]"``) and is imported only here.
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from mgreason.errors import MGReasonError

EXIT_EVENT = "_worker_exit"


def _import_ray():
    try:
        import ray
    except ImportError:
        raise MGReasonError(
            'the ray executor needs Ray: pip install "mgreason[ray]" (or use the default executor: local)',
            field="executor",
        ) from None
    return ray


def model_task(out: str, model: str, cmd: list[str], env_extra: dict[str, str], threads: int,
               log_path: str) -> Iterator[dict[str, Any]]:
    """Body of a model's Ray task (a streaming generator): start the model's worker subprocess on this node, yield
    its progress events, then one ``_worker_exit`` event with its exit code."""
    from mgreason.sweep.execute import events_args, iter_events

    env = dict(os.environ)  # Ray has set CUDA_VISIBLE_DEVICES for the task's GPUs
    env.update(env_extra)
    env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    env.setdefault("MGREASON_THREADS", str(threads))
    r, w = os.pipe()
    full = [*cmd, *events_args(w, os.getpid())]
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as logf:
        logf.write(f"\n==== ray task on {os.uname().nodename} pid {os.getpid()}\n".encode())
        logf.flush()
        proc = subprocess.Popen(full, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, pass_fds=[w],
                                env=env)
    os.close(w)
    try:
        for ev in iter_events(r):
            ev.setdefault("node", os.uname().nodename)
            yield ev
        rc = proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    yield {"ev": EXIT_EVENT, "rc": rc}


def _init(ray, address: Optional[str]) -> None:
    if ray.is_initialized():
        return
    root = Path(__file__).resolve().parents[2]
    env_vars = {}
    if (root / "pyproject.toml").is_file():  # a checkout: its mgreason, not another copy, runs in the tasks
        env_vars["PYTHONPATH"] = os.pathsep.join([str(root)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))
    kwargs: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
    if env_vars:
        kwargs["runtime_env"] = {"env_vars": env_vars}
    if address:
        try:
            ray.init(address=address, **kwargs)
        except (ConnectionError, RuntimeError) as e:
            raise MGReasonError(
                f"cannot join the Ray cluster at {address}: {(str(e).strip().splitlines() or ['?'])[-1][:300]} "
                "(a cluster started with `ray start` uses token authentication: set RAY_AUTH_MODE=token and make its "
                "token available as ~/.ray/auth_token or RAY_AUTH_TOKEN)",
                field="ray_address",
            ) from None
    else:
        try:
            ncpu = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover
            ncpu = os.cpu_count() or 1
        # a small object store: only progress events pass through it
        ray.init(num_cpus=ncpu, object_store_memory=200 * 1024 * 1024, **kwargs)


def run_on_ray(plan, todo: list[str], prog, log_event, run_to_end: Callable[[str, Callable[[], tuple[int, Optional[str]]]], None],
               *, address: Optional[str] = None, max_parallel: Optional[int] = None) -> None:
    """Run every model in ``todo`` as a Ray task (``run_to_end`` applies the sweep's retry policy around each)."""
    ray = _import_ray()
    started_here = not ray.is_initialized()
    _init(ray, address)
    try:
        _run(ray, plan, todo, prog, log_event, run_to_end, address, max_parallel)
    finally:
        if started_here:
            ray.shutdown()


def _run(ray, plan, todo, prog, log_event, run_to_end, address, max_parallel) -> None:
    from mgreason.sweep.execute import _handle, worker_command, worker_env
    from mgreason.sweep.resources import declared

    task = ray.remote(max_retries=0)(model_task)
    resources = ray.cluster_resources()
    log_event({"ev": "ray", "address": address or "local", "resources": {k: v for k, v in resources.items()
                                                                         if k in ("CPU", "GPU", "memory")}})
    for m in todo:
        g, c = declared(plan.spec.model(m))
        if g > resources.get("GPU", 0) or (c or 1) > resources.get("CPU", 0):
            raise MGReasonError(
                f"model {m} declares {g} GPU(s) and {c or 1} CPU(s); the Ray cluster has "
                f"{resources.get('GPU', 0):g} GPU(s) and {resources.get('CPU', 0):g} CPU(s) in all",
                field=f"models.{m}.resources",
            )
    live: dict[str, Any] = {}
    live_lock = threading.Lock()
    limit = threading.Semaphore(max_parallel or plan.spec.max_parallel or len(todo) or 1)
    failures: list[BaseException] = []

    def start(model: str) -> tuple[int, Optional[str]]:
        entry = plan.spec.model(model)
        g, c = declared(entry)
        cmd = worker_command(plan, model)
        gen = task.options(num_cpus=c or 1, num_gpus=g, num_returns="streaming", name=f"mgreason-sweep-{model}").remote(
            str(plan.out), model, cmd, worker_env(plan, model, base={}), c or 1, str(plan.out / "logs" / f"{model}.log")
        )
        with live_lock:
            live[model] = gen
        rc: Optional[int] = None
        fatal: Optional[str] = None
        try:
            for ref in gen:
                ev = ray.get(ref)
                if ev.get("ev") == EXIT_EVENT:
                    rc = int(ev["rc"])
                    continue
                fatal = _handle(ev, prog, log_event) or fatal
        except ray.exceptions.RayError as e:  # the task's worker process or its node died
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            fatal = fatal or f"the Ray task died: {type(e).__name__}: {first[:200]}"
        finally:
            with live_lock:
                live.pop(model, None)
        prog.on_event({"ev": "exit", "model": model, "rc": rc})
        return (rc if rc is not None else -9), fatal

    def one(model: str) -> None:
        with limit:
            try:
                run_to_end(model, lambda: start(model))
            except BaseException as e:  # noqa: BLE001 - re-raised below
                failures.append(e)

    threads = [threading.Thread(target=one, args=(m,), name=f"ray-{m}", daemon=True) for m in todo]
    try:
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(timeout=0.2)
                if failures:
                    raise failures[0]
        if failures:
            raise failures[0]
    except BaseException:
        with live_lock:
            gens = list(live.values())
        for gen in gens:
            try:
                ray.cancel(gen, force=True)
            except Exception:  # noqa: BLE001 - best effort
                pass
        raise


__all__ = ["model_task", "run_on_ray"]
