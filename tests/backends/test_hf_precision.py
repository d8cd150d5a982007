"""Label scores in bf16 are computed from float32 logits (issue 23, item 4): the final norm and the LM head
run in float32 at the scored positions, so label log-probs are not rounded to bf16's steps and do not tie."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from mgreason.backends.hf import HFBackend  # noqa: E402

MSGS = [
    {"role": "system", "content": "You judge emotions. Answer with one word."},
    {"role": "user", "content": "The coach lost 3-0 and said: 'Next question, please.' How does the coach feel?"},
]


@pytest.fixture(scope="module")
def bf16():
    be = HFBackend(dtype="bfloat16")
    yield be
    be.close()


def test_scoring_logits_are_float32_and_generation_keeps_the_model_dtype(bf16):
    ids = bf16.chat_prompt(MSGS).ids
    with torch.inference_mode():
        plain, _ = bf16._forward(ids, None, keep=1)
        with bf16._float32_logits():
            scored, _ = bf16._forward(ids, None, keep=1)
        bf16._residual_ok = False  # the float32 head alone, on the bf16 body's last hidden state
        try:
            with bf16._float32_logits():
                exact, _ = bf16._forward(ids, None, keep=1)
        finally:
            bf16._residual_ok = None
        again, _ = bf16._forward(ids, None, keep=1)
    assert plain.dtype == torch.bfloat16 and exact.dtype == torch.float32 and scored.dtype == torch.float32
    assert torch.equal(plain, again)  # the modules are put back: generation runs the bf16 head
    assert next(bf16.model.parameters()).dtype == torch.bfloat16  # the body stays bf16
    # bf16 logits are the float32 head's rounded: they differ by at most a bf16 step at their magnitude
    assert float((plain.float() - exact).abs().max()) <= float(exact.abs().max()) * 2**-7
    assert bf16.model_info().extra["label_logits"].startswith("float32")


def test_a_constructed_exact_tie_in_bf16_is_gone(bf16):
    """Two labels whose bf16 logits are exactly equal (a tie that went to the first label) get distinct scores."""
    cp = bf16.chat_prompt(MSGS)
    with torch.inference_mode():
        plain, _ = bf16._forward(cp.ids, None, keep=1)
    row = plain[0, -1]
    vocab = {tid: tok for tok, tid in bf16.tokenizer.get_vocab().items()}
    seen: dict[float, int] = {}
    pair = None
    for tid in torch.argsort(row.float(), descending=True).tolist()[:5000]:
        tok = vocab.get(tid, "")
        # alphabetic words that are one token after the prompt: candidate labels
        if tok.isalpha() and len(tok) >= 3 and cp.continuation(tok) == [tid]:
            v = float(row[tid])
            if v in seen:
                pair = (vocab[seen[v]], tok)
                break
            seen[v] = tid
    assert pair is not None, "the bf16 head ties many tokens; none found among the candidates"
    a, b = pair
    res = bf16.score_labels([MSGS], [a, b])[0].label_logprobs
    assert res[a] != res[b]
    ref = bf16.score_labels_reference([MSGS], [a, b])[0].label_logprobs
    assert ref[a] == pytest.approx(res[a], abs=1e-4) and ref[b] == pytest.approx(res[b], abs=1e-4)


def test_float32_models_are_untouched(hf_backend):
    assert hf_backend.dtype_name == "float32"
    assert hf_backend._float32_targets() == []
    assert hf_backend.model_info().extra["label_logits"] == "float32"


def test_label_logits_precision_is_part_of_the_cache_identity(bf16, hf_backend):
    from mgreason.eval.cache import model_identity

    assert model_identity("hf", bf16.model_info())["label_logits"].startswith("float32")
    assert "label_logits" not in model_identity("hf", hf_backend.model_info())  # fp32 keys unchanged


def test_label_scoring_keeps_the_residual_stream_in_float32(bf16):
    """Within label scoring the hidden states between layers are float32 (the matmuls stay bf16 on bf16 weights)."""
    seen = []
    layers = [m for name, m in bf16.model.named_modules() if name.endswith("layers.1")]
    hook = layers[0].register_forward_pre_hook(lambda _m, args, kwargs: seen.append(
        (args[0] if args else kwargs["hidden_states"]).dtype), with_kwargs=True)
    try:
        with torch.inference_mode():
            with bf16._float32_logits():
                bf16._forward(bf16.chat_prompt(MSGS).ids, None, keep=1)
            bf16._forward(bf16.chat_prompt(MSGS).ids, None, keep=1)  # outside: generation's path, all bf16
    finally:
        hook.remove()
    assert seen == [torch.float32, torch.bfloat16]
    assert "residual stream float32" in bf16.model_info().extra["label_logits"]


def test_an_architecture_that_fails_the_float32_residual_keeps_its_dtype(monkeypatch):
    be = HFBackend(dtype="bfloat16")
    try:
        real = be._forward

        def fails_under_autocast(ids, cache, keep=0):
            if torch.is_autocast_enabled("cpu"):
                raise RuntimeError("expected mat1 and mat2 to have the same dtype")
            return real(ids, cache, keep)

        monkeypatch.setattr(be, "_forward", fails_under_autocast)
        info = be.model_info().extra
        assert info["label_logits"].startswith("float32 (final norm and LM head in float32, body bfloat16")
        assert "same dtype" in info["label_logits_note"]
        res = be.score_labels([MSGS], ["happy", "sad"])[0]
        assert res.error is None and res.label_logprobs["happy"] != res.label_logprobs["sad"]
    finally:
        be.close()


def test_near_ties_are_rescored_with_float32_matmuls_on_the_bf16_weights(bf16):
    """A prompt whose top two labels are within ``near_tie`` is scored again in float32 arithmetic: its scores then
    match a float32 model whose weights are the bf16 ones (rounded), and not the bf16 arithmetic's."""
    from mgreason.backends.hf import HFBackend

    labels = ["happy", "sad"]
    fast = HFBackend(dtype="bfloat16", near_tie=0)  # bf16 arithmetic only
    try:
        plain = fast.score_labels([MSGS], labels)[0].label_logprobs
    finally:
        fast.close()
    gap = abs(plain["happy"] - plain["sad"])
    wide = HFBackend(dtype="bfloat16", near_tie=gap + 1.0)  # every prompt counts as a near tie
    ref = HFBackend(dtype="float32")
    try:
        with torch.no_grad():
            for p in ref.model.parameters():
                p.data = p.data.to(torch.bfloat16).float()  # the same weights, float32 arithmetic
        exact = ref.score_labels([MSGS], labels)[0].label_logprobs
        got = wide.score_labels([MSGS], labels)[0].label_logprobs
        assert wide.n_rescored == 1
        assert "rescored with float32 matmuls" in wide.model_info().extra["label_logits"]
        for lab in labels:
            assert got[lab] == pytest.approx(exact[lab], abs=2e-3)
        assert max(abs(got[lab] - plain[lab]) for lab in labels) > 5 * max(abs(got[lab] - exact[lab]) for lab in labels)
        # the naive reference applies the same rule
        naive = wide.score_labels_reference([MSGS], labels)[0].label_logprobs
        assert all(naive[lab] == pytest.approx(got[lab], abs=1e-3) for lab in labels)
        assert next(wide.model.parameters()).dtype == torch.bfloat16  # nothing was converted for good
    finally:
        wide.close()
        ref.close()
    with pytest.raises(Exception, match="near_tie"):
        HFBackend(dtype="bfloat16", near_tie="-1")


def test_when_float32_rescoring_fails_the_bf16_scores_stay_and_model_info_says_why(monkeypatch):
    be = HFBackend(dtype="bfloat16", near_tie=100.0)  # every prompt counts as a near tie
    try:
        real = be.score_tokens

        def fails_in_float32(contexts, continuations, progress=None):
            if getattr(be, "_compute32", False):
                return [RuntimeError("expected scalar type Float but found BFloat16")] * len(contexts)
            return real(contexts, continuations, progress=progress)

        monkeypatch.setattr(be, "score_tokens", fails_in_float32)
        res = be.score_labels([MSGS], ["happy", "sad"])[0]
        assert res.error is None and be.n_rescored == 0
        info = be.model_info().extra
        assert "near ties not rescored: expected scalar type Float" in info["label_logits_note"]
        assert "rescored" not in info["label_logits"]
    finally:
        be.close()
