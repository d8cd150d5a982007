"""The vLLM backend's engine arguments, decided before vLLM is imported (issue 32): max_model_len from the
run's longest rendered prompt plus its answer budget, the hf backend's dtype policy, a float32 LM head in
bf16, and the user's -E values winning. vLLM itself is not needed here (tests/backends/test_vllm.py runs it)."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from mgreason.backends.base import Workload, chat_prompt  # noqa: E402
from mgreason.models.resolve import embedded_hf_dir  # noqa: E402
from mgreason.backends.vllm_backend import engine_args_for, fit_max_model_len  # noqa: E402

AMX = {"avx512f", "amx_tile"}
AVX2 = {"avx2"}


@pytest.fixture(scope="module")
def model_dir() -> str:
    return str(embedded_hf_dir())


def work(n_words: int, max_new_tokens: int = 16) -> Workload:
    prompts = [[{"role": "user", "content": "word " * k}] for k in (3, n_words, 10)]
    return Workload(prompts=prompts, labels=["positive", "negative"], max_new_tokens=max_new_tokens)


def test_max_model_len_is_the_longest_prompt_plus_the_answer_budget_rounded_up(model_dir):
    from transformers import AutoTokenizer

    w = work(700, max_new_tokens=40)
    longest = max(len(chat_prompt(AutoTokenizer.from_pretrained(model_dir), m).ids) for m in w.prompts)
    n, why = fit_max_model_len(model_dir, w, on_cpu=True)
    assert n % 256 == 0 and longest + 40 <= n < longest + 40 + 256
    assert f"longest prompt {longest}" in why and "answer budget 40" in why


def test_max_model_len_is_capped_at_the_models_limit(model_dir):
    n, why = fit_max_model_len(model_dir, work(20000), on_cpu=True)  # SmolLM2's limit: 8192
    assert n == 8192 and "capped at the model's limit 8192" in why


def test_without_a_workload_cpu_gets_a_bounded_default_and_gpu_vllms(model_dir):
    assert fit_max_model_len(model_dir, None, on_cpu=True)[0] == 4096
    assert fit_max_model_len(model_dir, None, on_cpu=False)[0] is None


def test_dtype_policy_is_the_hf_backends_with_a_float32_head(model_dir):
    args, why = engine_args_for({}, True, model_dir, work(5), cpu_flags=AMX)
    assert args["dtype"] == "bfloat16" and why["dtype"].startswith("auto: CPU has amx_tile")
    assert args["hf_overrides"] == {"head_dtype": "float32"}
    assert args["max_model_len"] == 256 and args["enforce_eager"] is True
    args, _ = engine_args_for({}, True, model_dir, work(5), cpu_flags=AVX2)
    assert args["dtype"] == "float32" and "hf_overrides" not in args  # a float32 head already
    args, why = engine_args_for({}, False, model_dir, work(5))
    assert args["dtype"] == "auto" and args["hf_overrides"] == {"head_dtype": "float32"} and "enforce_eager" not in args


def test_the_users_engine_args_win(model_dir):
    user = {"dtype": "float32", "max_model_len": 1000, "hf_overrides": {"rope_theta": 1.0}}
    args, why = engine_args_for(user, True, model_dir, work(5), cpu_flags=AMX)
    assert (args["dtype"], args["max_model_len"]) == ("float32", 1000)
    assert args["hf_overrides"] == {"rope_theta": 1.0}
    assert why == {"dtype": "requested: float32", "max_model_len": "requested"}
    args, _ = engine_args_for({"hf_overrides": {"head_dtype": "model"}}, True, model_dir, work(5), cpu_flags=AMX)
    assert args["hf_overrides"] == {"head_dtype": "model"}
    args, _ = engine_args_for({"hf_overrides": {"x": 1}}, True, model_dir, work(5), cpu_flags=AMX)
    assert args["hf_overrides"] == {"x": 1, "head_dtype": "float32"}


def test_run_scenario_and_sweeps_give_the_backend_their_workload(tmp_path):
    """The CLI and the sweep worker hand the rendered prompts to create_backend (the mock ignores them)."""
    from mgreason.eval.plan import build_requests, workload
    from mgreason.scenario import load_scenario
    from tests.helpers import REPO

    sc = load_scenario(REPO / "scenarios" / "demo_press_emotion.yaml")
    reqs = build_requests(sc)
    w = workload(sc, reqs)
    assert len(w.prompts) == len(reqs) and list(w.labels) == list(sc.labels)
    assert w.max_new_tokens == sc.spec.generation.max_new_tokens
