"""One model served by several OpenAI-compatible replicas (``base_urls``, issue 29): requests spread over them, each
replica with its own concurrency, and a replica that goes away costs retries elsewhere, never a record."""

from __future__ import annotations

import json
import os
import subprocess
import time
from contextlib import ExitStack

import pytest
import yaml

from helpers import make_items, mgreason_command, write_scenario
from mgreason.backends.base import GenerationParams
from mgreason.backends.openai_backend import OpenAIBackend
from mgreason.errors import BackendError

from .test_openai_faults import FakeServer, chat

P = GenerationParams(max_new_tokens=8)


def replicas(n: int, **kw):
    stack = ExitStack()
    servers = [stack.enter_context(FakeServer(**kw)) for _ in range(n)]
    for s in servers:
        s.fail_marker = None
    return stack, servers


def pool_backend(servers, **kw) -> OpenAIBackend:
    kw.setdefault("backoff", 0.01)
    kw.setdefault("max_backoff", 0.05)
    kw.setdefault("max_retries", 3)
    kw.setdefault("timeout", 5.0)
    return OpenAIBackend(None, base_urls=[s.url for s in servers], **kw)


def test_requests_spread_over_replicas_each_with_its_own_concurrency():
    stack, servers = replicas(3, delay_s=0.05)
    with stack:
        be = pool_backend(servers, concurrency=2)
        out = be.score_labels([chat(f"item {i}") for i in range(30)], ["positive", "negative"])
        assert all(r.error is None and set(r.label_logprobs) == {"positive", "negative"} for r in out)
        counts = [s.count("/v1/completions") for s in servers]
        assert all(c >= 3 for c in counts), counts  # every replica took a share
        assert all(s.max_inflight <= 2 for s in servers)  # per-replica bound
        assert sum(s.max_inflight for s in servers) > 2  # more in flight than one replica's bound
        info = be.model_info()
        assert info.extra["base_urls"] == [s.url for s in servers]


def test_same_answers_as_one_server():
    stack, servers = replicas(2)
    with stack:
        single = OpenAIBackend(None, base_url=servers[0].url).score_labels([chat(f"x{i}") for i in range(6)], ["a", "bb"])
        many = pool_backend(servers).score_labels([chat(f"x{i}") for i in range(6)], ["a", "bb"])
        assert [r.label_logprobs for r in single] == [r.label_logprobs for r in many]


def test_a_replica_that_goes_away_mid_run_costs_no_sample():
    stack, servers = replicas(2, delay_s=0.02)
    with stack:
        be = pool_backend(servers, concurrency=3)
        prompts = [chat(f"item {i}") for i in range(60)]
        import threading

        def stop_later():
            while servers[0].count("/v1/chat/completions") < 5:
                time.sleep(0.005)
            servers[0].go_away()

        t = threading.Thread(target=stop_later)
        t.start()
        out = be.generate(prompts, P, choices=["positive", "negative"])
        t.join()
        assert all(r.error is None for r in out), [r.error for r in out if r.error][:3]
        # replica 0 answered only what it had before it went away; replica 1 the rest
        assert servers[1].count("/v1/chat/completions") > servers[0].count("/v1/chat/completions")


def test_a_replica_down_at_start_is_used_once_it_answers_and_all_down_is_one_error():
    stack, servers = replicas(1)
    with stack:
        be = OpenAIBackend(None, base_urls=[servers[0].url, "http://127.0.0.1:9/v1"], backoff=0.01, max_backoff=0.05)
        assert be.unreachable_at_start == ["http://127.0.0.1:9/v1"]
        out = be.score_labels([chat(f"i{i}") for i in range(8)], ["a", "b"])
        assert all(r.error is None for r in out)
    with pytest.raises(BackendError, match="none of the 2 servers"):
        OpenAIBackend(None, base_urls=["http://127.0.0.1:9/v1", "http://127.0.0.1:7/v1"], max_retries=0, timeout=2)
    with pytest.raises(BackendError, match="not both"):
        OpenAIBackend(None, base_url="http://127.0.0.1:9/v1", base_urls=["http://127.0.0.1:9/v1"])


def test_sweep_over_replicas_survives_one_stopped_mid_sweep(tmp_path):
    """A real sweep (worker subprocess) on two fake replicas; the test stops one of them mid-sweep."""
    stack, servers = replicas(2, delay_s=0.01)
    with stack:
        items = make_items(10)
        write_scenario(tmp_path / "scen", fmt="inline", items=items, spec={"id": "sc"})
        out = tmp_path / "out"
        sweep = tmp_path / "sweep.yaml"
        sweep.write_text(yaml.safe_dump({
            "id": "replicas", "scenarios": ["scen/scenario.yaml"], "output_dir": str(out), "cache": False,
            "batch_size": 4, "n_boot": 200,
            "models": [{"name": "served", "backend": "openai",
                        "options": {"base_urls": [s.url for s in servers], "backoff": 0.01, "max_backoff": 0.05,
                                    "max_retries": 3, "concurrency": 2}}],
        }), encoding="utf-8")
        env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONWARNINGS="ignore")
        proc = subprocess.Popen([*mgreason_command(), "sweep", str(sweep), "--no-report"], cwd=tmp_path, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while servers[0].count("/v1/completions") < 4 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        servers[0].go_away()  # replica 0 goes away mid-sweep
        rc = proc.wait(timeout=300)
        err = proc.stderr.read()
        assert rc == 0, err
        recs = [json.loads(x) for f in out.glob("models/*/*/samples.jsonl") for x in f.read_text().splitlines()]
        n_cond = len({r["condition"] for r in recs})
        assert len(recs) == 10 * n_cond and len({(r["condition"], r["item_id"]) for r in recs}) == len(recs)
        assert all(r.get("error") is None for r in recs)
        assert servers[1].count("/v1/completions") > 0
