"""The response cache: WAL, keyed by model identity (never shared across models), scoring and
prompt hash; exact round trips; errors never cached; a sweep reuses it, per model."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import yaml

from helpers import make_items, write_scenario
from mgreason.backends.base import BackendResult, GenerationParams, ModelInfo
from mgreason.eval.cache import (
    ResponseCache,
    generate_scoring,
    logprobs_scoring,
    model_identity,
    model_key,
    request_key,
)
from mgreason.sweep.execute import run_sweep

SHA_A = "a" * 64
PROMPT = "f" * 64


def info(**kw: Any) -> ModelInfo:
    base = dict(id="org/model", resolved="/models/model", sha256=SHA_A, revision=None, dtype="float32")
    base.update(kw)
    return ModelInfo(**base)


def key_for(backend: str = "hf", inf: ModelInfo | None = None, options=None, engine_args=None, scoring=None, prompt=PROMPT):
    mk = model_key(model_identity(backend, inf or info(), options, engine_args))
    return mk, request_key(mk, scoring or logprobs_scoring(["positive", "negative"]), prompt)


def test_key_depends_on_model_identity_backend_options_scoring_and_prompt():
    _, base = key_for()
    variants = {
        "other model id": key_for(inf=info(id="org/other"))[1],
        "other weights": key_for(inf=info(sha256="b" * 64))[1],
        "other dtype": key_for(inf=info(dtype="bfloat16"))[1],
        "other revision": key_for(inf=info(revision="v2"))[1],
        "other backend": key_for(backend="vllm")[1],
        "semantic option": key_for(options={"device": "cuda"})[1],
        "engine arg": key_for(engine_args={"quantization": "fp8"})[1],
        "other labels": key_for(scoring=logprobs_scoring(["negative", "positive"]))[1],
        "generate mode": key_for(scoring=generate_scoring(GenerationParams(max_new_tokens=4)))[1],
        "other prompt": key_for(prompt="e" * 64)[1],
    }
    assert base not in variants.values()
    assert len(set(variants.values())) == len(variants)
    # throughput / transport settings do not change an answer: same key
    assert key_for(options={"threads": 7})[1] == base
    assert key_for(engine_args={"gpu_memory_utilization": 0.5})[1] == base


def test_without_weights_hash_the_resolved_path_identifies_the_model():
    a = key_for(inf=info(sha256=None, resolved="/a"))[1]
    b = key_for(inf=info(sha256=None, resolved="/b"))[1]
    assert a != b
    # with a weights hash, moving the files does not invalidate the cache
    assert key_for(inf=info(resolved="/x"))[1] == key_for(inf=info(resolved="/y"))[1]


def test_sampling_seed_only_matters_when_sampling():
    g0 = generate_scoring(GenerationParams(temperature=0.0, seed=1))
    g1 = generate_scoring(GenerationParams(temperature=0.0, seed=2))
    assert g0 == g1
    s1 = generate_scoring(GenerationParams(temperature=0.7, seed=1))
    s2 = generate_scoring(GenerationParams(temperature=0.7, seed=2))
    assert s1 != s2
    assert generate_scoring(GenerationParams(), ["a", "b"]) != generate_scoring(GenerationParams())


def test_round_trip_wal_errors_and_isolation(tmp_path):
    path = tmp_path / "c" / "responses.sqlite"
    mk_a, k = key_for()
    mk_b = model_key(model_identity("hf", info(id="org/other")))
    lp = {"positive": -0.1234567890123456789, "negative": -2.5e-17}
    with ResponseCache(path) as c:
        assert c.journal_mode == "wal"
        c.register_model(model_identity("hf", info()))
        n = c.put_many(
            mk_a,
            [
                (k, PROMPT, logprobs_scoring(["positive", "negative"]), BackendResult(label_logprobs=lp, prompt_text="<p>", n_prompt_tokens=9)),
                ("err-key", PROMPT, {}, BackendResult(error="boom")),
            ],
        )
        assert n == 1  # the error is not stored
        got = c.get(mk_a, k)
        assert got is not None and got.label_logprobs == lp and got.prompt_text == "<p>" and got.n_prompt_tokens == 9
        assert c.get(mk_a, "err-key") is None
        # the same key asked for by another model is a miss (a key embeds its model; checked anyway)
        assert c.get(mk_b, k) is None
        assert c.count() == 1 and c.count(mk_a) == 1 and c.count(mk_b) == 0
        assert list(c.models()) == [mk_a]
        # a second connection (another process) sees committed rows while the first is open
        other = sqlite3.connect(str(path))
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert other.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 1
        other.close()
    with ResponseCache(path) as c:  # persisted
        assert c.get(mk_a, k).label_logprobs == lp


def _sweep(tmp_path: Path, out: str, models: list[dict], cache: str = "cache.sqlite") -> Path:
    if not (tmp_path / "scen" / "scenario.yaml").exists():
        write_scenario(tmp_path / "scen", fmt="inline", items=make_items(4), spec={"id": "sc"})
    p = tmp_path / f"{out}.yaml"
    p.write_text(
        yaml.safe_dump(
            {"id": "cache-test", "models": models, "scenarios": ["scen/scenario.yaml"], "output_dir": str(tmp_path / out),
             "cache": cache, "n_boot": 200}
        ),
        encoding="utf-8",
    )
    return p


def test_a_sweep_never_shares_answers_across_models_and_reuses_them_per_model(tmp_path):
    cells_per_model = 4 * 4
    two = [{"name": "a", "backend": "mock", "model": "mock-a"}, {"name": "b", "backend": "mock", "model": "mock-b"}]
    r1 = run_sweep(_sweep(tmp_path, "run1", two), report=False, progress=False)
    assert r1.ok
    # both models see the same prompts, yet each computed all of its own answers
    batches = [e for e in r1.events if e["ev"] == "batch"]
    for m in ("a", "b"):
        assert sum(e["computed"] for e in batches if e["model"] == m) == cells_per_model
        assert sum(e["cached"] for e in batches if e["model"] == m) == 0
    with ResponseCache(tmp_path / "cache.sqlite") as c:
        assert c.count() == 2 * cells_per_model and len(c.models()) == 2

    # a new sweep (new run directory) with one of the models, and a third one: the known model's
    # answers come from the cache, the new model computes its own
    r2 = run_sweep(
        # (model c runs under an explicitly named interpreter, as a vLLM environment would be named)
        _sweep(tmp_path, "run2", [two[0], {"name": "c", "backend": "mock", "model": "mock-c", "python": sys.executable}]),
        report=False,
        progress=False,
    )
    assert r2.ok
    batches = [e for e in r2.events if e["ev"] == "batch"]
    assert sum(e["computed"] for e in batches if e["model"] == "a") == 0
    assert sum(e["cached"] for e in batches if e["model"] == "a") == cells_per_model
    assert sum(e["computed"] for e in batches if e["model"] == "c") == cells_per_model
    # and the records from the cache are identical to the computed ones
    a1 = (tmp_path / "run1" / "models" / "a" / "sc" / "samples.jsonl").read_text().splitlines()
    a2 = (tmp_path / "run2" / "models" / "a" / "sc" / "samples.jsonl").read_text().splitlines()
    strip = lambda lines: [{k: v for k, v in json.loads(x).items() if k != "run_id"} for x in lines]  # noqa: E731
    assert strip(a1) == strip(a2)


def test_cache_can_be_turned_off(tmp_path):
    r = run_sweep(_sweep(tmp_path, "nocache", [{"name": "a", "backend": "mock"}], cache=False), report=False, progress=False)
    assert r.ok and not (tmp_path / "cache.sqlite").exists()
    assert json.loads((tmp_path / "nocache" / "sweep.json").read_text())["cache_path"] is None
