"""Several model workers at once on this machine (issue 29): the admission of declared resources, the same records
as a sequential sweep, and the resume guarantees after SIGKILL with two workers running."""

from __future__ import annotations

import json
import time

import pytest

from mgreason.errors import MGReasonError
from mgreason.sweep.execute import run_sweep
from mgreason.sweep.resources import Allocator, Machine, check_fits, default_parallel
from mgreason.sweep.spec import ModelEntry, parse_sweep

from .test_resume import comparable, events, kill_when, lines, make_sweep, records, run, start, wait_dead, worker_pids

N3 = 3 * (8 + 6) * 4  # three models × items × conditions


def three_models(**extra):
    return [{"name": f"m{i}", "backend": "mock", "model": f"mock-{i}", "request_delay_s": 0.03, **extra} for i in range(3)]


def entry(name="m", **kw) -> ModelEntry:
    return ModelEntry(name=name, backend=kw.pop("backend", "mock"), **kw)


# --------------------------------------------------------------------------- admission


def test_allocator_hands_out_disjoint_gpus_and_cores():
    machine = Machine(gpus=("0", "1", "2", "3"), cpus=(0, 1, 2, 3, 4, 5, 6, 7))
    alloc = Allocator(machine, max_parallel=8)
    a = alloc.try_acquire(entry("a", resources={"gpus": 2, "cpus": 4}), alone=False)
    b = alloc.try_acquire(entry("b", resources={"gpus": 2, "cpus": 2}), alone=False)
    assert a.gpus == ("0", "1") and b.gpus == ("2", "3")
    assert set(a.cpus).isdisjoint(b.cpus) and len(a.cpus) == 4 and len(b.cpus) == 2
    assert alloc.try_acquire(entry("c", resources={"gpus": 1}), alone=False) is None  # no GPU left
    env = a.env(pin_gpus=True)
    assert env["CUDA_VISIBLE_DEVICES"] == "0,1" and env["OMP_NUM_THREADS"] == "4"
    alloc.release(a)
    c = alloc.try_acquire(entry("c", resources={"gpus": 1}), alone=False)
    assert c.gpus == ("0",) and len(c.cpus) == 1


def test_max_parallel_bounds_the_workers_even_when_resources_are_free():
    alloc = Allocator(Machine(gpus=(), cpus=(0, 1, 2, 3)), max_parallel=2)
    assert alloc.try_acquire(entry("a"), alone=False) and alloc.try_acquire(entry("b"), alone=False)
    assert alloc.try_acquire(entry("c"), alone=False) is None


def test_default_parallelism_comes_from_declared_resources():
    machine = Machine(gpus=tuple(str(i) for i in range(8)), cpus=tuple(range(32)))
    undeclared = [entry(f"m{i}") for i in range(4)]
    assert default_parallel(undeclared, machine) == 1  # as before: one model after another
    eight = [entry(f"m{i}", resources={"gpus": 1, "cpus": 4}) for i in range(10)]
    assert default_parallel(eight, machine) == 8
    assert default_parallel([entry("big", resources={"gpus": 4}), entry("s1", resources={"gpus": 2}),
                             entry("s2", resources={"gpus": 2}), entry("s3", resources={"gpus": 2})], machine) == 3


def test_a_model_that_cannot_fit_is_refused_before_anything_runs():
    with pytest.raises(MGReasonError, match="declares 2 GPU"):
        check_fits([entry("m", resources={"gpus": 2})], Machine(gpus=("0",), cpus=(0, 1)))
    with pytest.raises(MGReasonError, match="declares 64 CPU"):
        check_fits([entry("m", resources={"cpus": 64})], Machine(gpus=(), cpus=(0, 1)))


def test_vllm_on_several_gpus_runs_tensor_parallel_unless_told_otherwise():
    m = entry("v", backend="vllm", resources={"gpus": 4})
    assert m.engine_args_for_run() == {"tensor_parallel_size": 4}
    assert entry("v", backend="vllm", resources={"gpus": 4}, engine_args={"tensor_parallel_size": 2,
                 "pipeline_parallel_size": 2}).engine_args_for_run() == {"tensor_parallel_size": 2, "pipeline_parallel_size": 2}
    assert entry("h", backend="hf", resources={"gpus": 2}).engine_args_for_run() == {}


def test_sweep_file_resources_and_executor_are_validated():
    base = {"id": "s", "scenarios": ["a.yaml"]}
    spec = parse_sweep({**base, "models": [{"name": "m", "resources": {"gpus": 2, "cpus": 8}}], "max_parallel": 3,
                        "executor": "ray", "ray_address": "auto"})
    assert spec.models[0].resources.gpus == 2 and spec.max_parallel == 3 and spec.executor == "ray"
    for bad, where in (({"models": [{"name": "m", "resources": {"gpus": -1}}]}, "gpus"),
                       ({"models": [{"name": "m", "resources": {"tpus": 1}}]}, "tpus"),
                       ({"models": [{"name": "m"}], "executor": "slurm"}, "executor"),
                       ({"models": [{"name": "m"}], "max_parallel": 0}, "max_parallel")):
        with pytest.raises(MGReasonError, match=where):
            parse_sweep({**base, **bad})


# --------------------------------------------------------------------------- real sweeps


def _overlapped(out) -> bool:
    """Did two workers hold a model at the same time (one loaded before another finished)?"""
    spans: dict[str, list[float]] = {}
    for e in events(out):
        if e["ev"] == "loading":
            spans.setdefault(e["model"], [e["t"], float("inf")])
        elif e["ev"] == "finished":
            spans[e["model"]][1] = e["t"]
    s = sorted(spans.values())
    return any(b[0] < a[1] for a, b in zip(s, s[1:]))


def test_two_workers_at_once_give_the_records_of_a_sequential_sweep(tmp_path):
    seq = make_sweep(tmp_path, name="seq.yaml", out="seq", cache="seq.sqlite", models=three_models())
    par = make_sweep(tmp_path, name="par.yaml", out="par", cache="par.sqlite", models=three_models())
    ref = run_sweep(seq, report=False, progress=False)
    assert ref.ok and ref.total == N3 and not _overlapped(tmp_path / "seq")
    got = run_sweep(par, report=False, progress=False, max_parallel=2)
    assert got.ok and got.total == N3
    a, b = records(tmp_path / "seq"), records(tmp_path / "par")
    assert all(len(v) == 1 for v in b.values())
    assert comparable(a) == comparable(b)  # same predictions and log-probs, field by field
    assert _overlapped(tmp_path / "par")
    cpus = {e["model"]: e.get("cpus") for e in events(tmp_path / "par") if e["ev"] == "loading"}
    assert all(c is not None and len(c.split(",")) == 1 for c in cpus.values()), cpus  # pinned to one core each


def test_sigkill_with_two_workers_running_then_rerun_loses_and_duplicates_nothing(tmp_path):
    ref_sweep = make_sweep(tmp_path, name="ref.yaml", out="ref", cache="ref.sqlite", models=three_models())
    assert run_sweep(ref_sweep, report=False, progress=False).ok
    reference = comparable(records(tmp_path / "ref"))

    sweep = make_sweep(tmp_path, models=three_models(), max_parallel=2)
    out = tmp_path / "out"
    for frac in (0.25, 0.6):
        proc = start(sweep)
        kill_when(proc, out, at_least=int(frac * N3))
        wait_dead(worker_pids(out))  # both workers die with the driver
        assert lines(out) < N3
    res = run(sweep, "--no-report")
    assert res.returncode == 0, res.stderr
    got = records(out)
    assert not {k: len(v) for k, v in got.items() if len(v) > 1}
    assert comparable(got) == reference
    status = json.loads((out / "status.json").read_text())
    assert status["complete"] and status["done"] == N3


def test_a_worker_that_outlives_its_driver_blocks_the_next_writer(tmp_path):
    """The per-model writer lock: a second worker of the same model waits while the first still holds it."""
    import threading

    from mgreason.errors import MGReasonError
    from mgreason.sweep.worker import ModelWriterLock

    with ModelWriterLock(tmp_path, "m1"):
        t0 = time.monotonic()
        with pytest.raises(MGReasonError, match="still holds"):
            with ModelWriterLock(tmp_path, "m1", wait_s=0.5):
                pass
        assert time.monotonic() - t0 >= 0.5
        with ModelWriterLock(tmp_path, "m2", wait_s=0.5):  # another model is not blocked
            pass
    got = []
    holder = ModelWriterLock(tmp_path, "m1").__enter__()
    threading.Timer(0.3, holder.__exit__, args=(None, None, None)).start()
    with ModelWriterLock(tmp_path, "m1", wait_s=10):
        got.append("acquired after release")
    assert got


def test_the_shipped_gpu_node_sweep_fits_an_8_gpu_node():
    from pathlib import Path

    from mgreason.sweep.spec import load_sweep

    spec = load_sweep(Path(__file__).resolve().parents[2] / "sweeps" / "gpu-node.yaml")
    node = Machine(gpus=tuple(str(i) for i in range(8)), cpus=tuple(range(64)))
    check_fits(spec.models, node)
    assert default_parallel(spec.models, node) == 6  # five 1-GPU models and one 2-GPU model at first
    big = spec.model("qwen2.5-72b")
    assert big.engine_args_for_run() == {"tensor_parallel_size": 4}
