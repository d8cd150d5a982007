"""The evaluation engine shared by run-scenario and sweeps: response cache, retries, fatal errors."""

from __future__ import annotations

import json

import pytest

from helpers import make_items, run_cli, write_scenario
from mgreason.backends.base import OutOfMemory
from mgreason.backends.mock import MockBackend
from mgreason.eval.cache import ResponseCache
from mgreason.eval.engine import Cell, Engine, batches
from mgreason.eval.plan import build_requests
from mgreason.eval.records import SampleRecord
from mgreason.eval.run import run_scenario
from mgreason.eval.store import MemoryAttempts, MemoryStore
from mgreason.scenario import load_scenario


@pytest.fixture()
def scenario(tmp_path):
    return load_scenario(write_scenario(tmp_path / "sc", items=make_items(5)))


class CountingMock(MockBackend):
    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.asked = 0

    def score_labels(self, prompts, labels, progress=None):
        self.asked += len(prompts)
        return super().score_labels(prompts, labels, progress)


def engine(scenario, backend, **kw):
    return Engine(backend=backend, scenario=scenario, run_id="t", store=MemoryStore(), attempts=MemoryAttempts(), **kw)


def cells(scenario):
    return [Cell((r.condition, r.item_id, 0), r) for r in build_requests(scenario)]


def test_run_scenario_answers_a_repeated_run_from_the_cache(scenario, tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    first, second = CountingMock(), CountingMock()
    a = run_scenario(scenario, first, out_dir=tmp_path / "a", n_boot=100, cache=cache)
    b = run_scenario(scenario, second, out_dir=tmp_path / "b", n_boot=100, cache=cache)
    n = len(a.records)
    assert first.asked == n and a.totals.computed == n and a.totals.cached == 0
    assert second.asked == 0 and b.totals.cached == n and b.totals.computed == 0
    assert [r.label_logprobs for r in a.records] == [r.label_logprobs for r in b.records]
    assert a.summary.model_dump(exclude={"run_id", "seconds"}) == b.summary.model_dump(exclude={"run_id", "seconds"})
    # another model identity never gets these answers
    c = run_scenario(scenario, CountingMock(model="other"), out_dir=tmp_path / "c", n_boot=100, cache=cache)
    assert c.totals.computed == n


def test_cli_run_scenario_uses_the_cache_and_no_cache_turns_it_off(scenario, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MGREASON_RESPONSE_CACHE", str(tmp_path / "cli-cache.sqlite"))
    args = ["run-scenario", scenario.path, "--backend", "mock", "--n-boot", "100"]
    r1 = run_cli([*args, "--out", tmp_path / "r1"], monkeypatch, capsys)
    assert r1.code == 0 and "from the response cache" not in r1.err
    r2 = run_cli([*args, "--out", tmp_path / "r2"], monkeypatch, capsys)
    assert r2.code == 0 and "20 of 20 answers came from the response cache" in " ".join(r2.err.split())
    r3 = run_cli([*args, "--out", tmp_path / "r3", "--no-cache"], monkeypatch, capsys)
    assert r3.code == 0 and "from the response cache" not in r3.err
    s = [json.loads((tmp_path / d / "summary.json").read_text())["conditions"] for d in ("r1", "r2", "r3")]
    assert s[0] == s[1] == s[2]


def test_failed_requests_are_retried_then_recorded(scenario):
    be = MockBackend(fail_every=3)
    e = engine(scenario, be, retries=2)
    totals = e.run(cells(scenario))
    recs = list(e.store.load().values())
    assert len(recs) == len(cells(scenario))  # nothing dropped
    assert totals.failed_attempts > 0
    assert all(isinstance(r, SampleRecord) for r in recs)


def test_errors_are_not_cached(scenario, tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    e = engine(scenario, MockBackend(fail_every=2), cache=cache, model_key="k")
    e.run(cells(scenario))
    n_err = sum(r.error is not None for r in e.store.load().values())
    assert n_err > 0 and cache.count("k") == len(cells(scenario)) - n_err


class NoLogprobsEvery2nd(MockBackend):
    """No error, but every 2nd answer lacks the log-probs (or some labels): a failed record."""

    def score_labels(self, prompts, labels, progress=None):
        out = super().score_labels(prompts, labels, progress)
        for i, r in enumerate(out):
            if i % 4 == 1:
                r.label_logprobs = None
            elif i % 4 == 3:
                r.label_logprobs = {labels[0]: -1.0}
        return out


def test_answers_that_make_a_failed_record_are_not_cached_either(scenario, tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    e = engine(scenario, NoLogprobsEvery2nd(), cache=cache, model_key="k")
    e.run(cells(scenario))
    recs = list(e.store.load().values())
    n_err = sum(r.error is not None for r in recs)
    assert n_err == len(recs) // 2 and all("no log-probs" in r.error for r in recs if r.error)
    assert cache.count("k") == len(recs) - n_err  # a rerun asks the backend again for exactly the failed ones


class Buggy(MockBackend):
    def score_labels(self, prompts, labels, progress=None):
        raise AttributeError("'NoneType' object has no attribute 'forward'")  # a bug, not a bad request


class OOM(MockBackend):
    def score_labels(self, prompts, labels, progress=None):
        raise RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate 123 bytes")


class Flaky(MockBackend):
    def score_labels(self, prompts, labels, progress=None):
        raise ConnectionError("server went away")


def test_programming_errors_propagate(scenario):
    with pytest.raises(AttributeError):
        engine(scenario, Buggy(), retries=3).run(cells(scenario))


def test_out_of_memory_aborts_with_one_clear_error(scenario):
    with pytest.raises(OutOfMemory, match="out of memory"):
        engine(scenario, OOM(), retries=3).run(cells(scenario))


def test_retryable_batch_failure_becomes_error_records(scenario):
    e = engine(scenario, Flaky(), retries=1)
    totals = e.run(cells(scenario))
    recs = list(e.store.load().values())
    assert len(recs) == len(cells(scenario)) and all(r.error and "server went away" in r.error for r in recs)
    assert totals.failed_attempts == 2 * len(recs) and totals.final_failed == len(recs)


def test_batches_keep_an_items_conditions_together(scenario):
    cs = cells(scenario)
    for size in (1, 2, 3, 7, None):
        bs = batches(cs, size)
        assert [c for b in bs for c in b] == cs
        items = [{c.key[1] for c in b} for b in bs]
        for i, a in enumerate(items):
            for b in items[i + 1 :]:
                assert not (a & b)


class InterruptedOnThirdCall(CountingMock):
    def score_labels(self, prompts, labels, progress=None):
        if self.asked >= 8:  # two batches (of one item x 4 conditions) answered: Ctrl-C during the third
            raise KeyboardInterrupt
        return super().score_labels(prompts, labels, progress)


def test_an_interrupted_run_keeps_the_finished_batches_in_the_cache(scenario, tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    with pytest.raises(KeyboardInterrupt):
        run_scenario(scenario, InterruptedOnThirdCall(), out_dir=tmp_path / "a", n_boot=100, cache=cache, batch_size=4)
    assert not (tmp_path / "a").exists()  # no run directory for an unfinished run
    again = CountingMock()
    out = run_scenario(scenario, again, out_dir=tmp_path / "b", n_boot=100, cache=cache, batch_size=4)
    assert out.totals.cached == 8 and again.asked == len(out.records) - 8  # the two finished batches
