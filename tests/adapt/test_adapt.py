"""`mgreason adapt` (issue 31) with the real embedded SmolLM2 and a handful of items: the adapter round-trips
(run-scenario --adapter gives the in-memory model's scores), adapters never share cached answers, a wrong base model
is one line, an interrupted training resumes, and the validation split is grouped."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("peft", reason='LoRA adaptation needs PEFT: pip install -e ".[adapt]"')

from helpers import make_items, run_cli, write_scenario  # noqa: E402
from mgreason.adapt.data import Example, split  # noqa: E402
from mgreason.adapt.train import Hyper, adapt  # noqa: E402
from mgreason.backends import create_backend  # noqa: E402
from mgreason.eval.cache import model_identity, model_key  # noqa: E402
from mgreason.eval.plan import build_requests  # noqa: E402
from mgreason.scenario import load_scenario  # noqa: E402

HP = Hyper(epochs=1, batch_size=2, val_fraction=0.25, rank=4, alpha=8)


def scenario(tmp_path: Path, n: int = 8, group: bool = False) -> Path:
    items = make_items(n)
    if group:
        for i, it in enumerate(items):
            it["speaker"] = f"s{i // 2}"
    spec = {"id": "adapt_t", "conditions": ["without_mg", "with_mg"]}
    if group:
        spec["items"] = {"fields": {"group": "speaker"}}
    return write_scenario(tmp_path / "scen", fmt="jsonl", items=items, spec=spec)


def test_validation_split_is_grouped_and_seeded():
    exs = [Example(f"i{k}", [], "positive" if k % 2 else "negative", f"g{k // 3}", f"h{k}") for k in range(30)]
    tr, va = split(exs, 0.3, seed=1)
    assert {e.group for e in tr}.isdisjoint({e.group for e in va}) and va
    assert split(exs, 0.3, seed=1) == (tr, va)
    ungrouped = [Example(e.item_id, [], e.label, None, e.prompt_sha256) for e in exs]
    tr2, va2 = split(ungrouped, 0.3, seed=1)
    assert len(va2) == 9 and {e.label for e in va2} == {"positive", "negative"}


@pytest.mark.slow
def test_adapter_round_trips_and_has_its_own_cache_identity(tmp_path):
    path = scenario(tmp_path)
    sc = load_scenario(path)
    be = create_backend("hf", None)
    base_key = model_key(model_identity("hf", be.model_info(), {}))
    res = adapt(sc, be, "with_mg", tmp_path / "a1", str(sc.items_path), HP, seed=0)
    card = json.loads((tmp_path / "a1" / "mgreason_adapter.json").read_text())
    assert card["condition"] == "with_mg" and card["base_model"]["sha256"] and card["curve"]
    assert card["n_train"] + card["n_val"] == 8 and card["adapter_sha256"]
    prompts = [r.messages for r in build_requests(sc) if r.condition == "with_mg"]
    in_memory = be.score_labels(prompts, sc.labels)

    be2 = create_backend("hf", None, adapter=str(tmp_path / "a1"))
    again = be2.score_labels(prompts, sc.labels)
    assert [r.label_logprobs for r in again] == [r.label_logprobs for r in in_memory]
    plain = create_backend("hf", None).score_labels(prompts, sc.labels)
    assert [r.label_logprobs for r in plain] != [r.label_logprobs for r in again]  # the adapter changes the scores

    k1 = model_key(model_identity("hf", be2.model_info(), {"adapter": str(tmp_path / "a1")}))
    moved = tmp_path / "moved"
    shutil.copytree(tmp_path / "a1", moved)
    k1_moved = model_key(model_identity("hf", create_backend("hf", None, adapter=str(moved)).model_info(),
                                        {"adapter": str(moved)}))
    res2 = adapt(load_scenario(path), create_backend("hf", None), "with_mg", tmp_path / "a2", str(sc.items_path), HP,
                 seed=1)
    k2 = model_key(model_identity("hf", create_backend("hf", None, adapter=str(tmp_path / "a2")).model_info(),
                                  {"adapter": str(tmp_path / "a2")}))
    assert res2.card.adapter_sha256 != res.card.adapter_sha256
    assert len({base_key, k1, k2}) == 3 and k1 == k1_moved  # identity = the adapter's weights, not its path


@pytest.mark.slow
def test_run_scenario_with_adapter_and_a_wrong_base_is_one_line(tmp_path, monkeypatch, capsys):
    path = scenario(tmp_path)
    sc = load_scenario(path)
    adapt(sc, create_backend("hf", None), "without_mg", tmp_path / "ad", str(sc.items_path), HP, seed=0)
    res = run_cli(["run-scenario", str(path), "--adapter", str(tmp_path / "ad"), "--out", str(tmp_path / "run"),
                   "--no-cache", "--no-ceiling"], monkeypatch, capsys)
    assert res.code == 0, res.err
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["model"]["adapter"]["sha256"] == json.loads(
        (tmp_path / "ad" / "mgreason_adapter.json").read_text())["adapter_sha256"]
    # the same adapter on another base model: refused before anything is scored
    bad = tmp_path / "bad"
    shutil.copytree(tmp_path / "ad", bad)
    card = json.loads((bad / "mgreason_adapter.json").read_text())
    card["base_model"]["sha256"] = "0" * 64
    (bad / "mgreason_adapter.json").write_text(json.dumps(card))
    res = run_cli(["run-scenario", str(path), "--adapter", str(bad), "--out", str(tmp_path / "run2"), "--no-cache"],
                  monkeypatch, capsys)
    assert res.code == 2
    err = [ln for ln in res.err.splitlines() if ln.strip()]
    assert err[-1].startswith("error:") and "adapter was trained on" in err[-1] and "sha256 000000000000" in err[-1]
    assert not any("Loading weights" in ln for ln in err)  # refused before the weights are loaded
    assert not (tmp_path / "run2").exists()


@pytest.mark.slow
def test_an_interrupted_training_resumes_where_it_stopped(tmp_path):
    path = scenario(tmp_path, group=True)
    hp = Hyper(epochs=2, batch_size=2, val_fraction=0.25, rank=4, alpha=8, patience=5)
    ref = adapt(load_scenario(path), create_backend("hf", None), "with_mg", tmp_path / "ref", "x", hp, seed=3)
    assert ref.card.val_grouped_by == "speaker" and len(ref.card.curve) == 2

    class Stop(Exception):
        pass

    def stop_in_epoch_2(done, total, what):
        if what.startswith("epoch 2"):
            raise Stop

    with pytest.raises(Stop):
        adapt(load_scenario(path), create_backend("hf", None), "with_mg", tmp_path / "b", "x", hp, seed=3,
              progress=stop_in_epoch_2)
    assert (tmp_path / "b" / "checkpoint" / "state.json").exists()
    res = adapt(load_scenario(path), create_backend("hf", None), "with_mg", tmp_path / "b", "x", hp, seed=3)
    assert res.resumed_from_epoch == 1
    assert [p.model_dump() for p in res.card.curve][0] == [p.model_dump() for p in ref.card.curve][0]
    import torch
    from safetensors.torch import load_file

    a, b = load_file(str(tmp_path / "ref" / "adapter_model.safetensors")), load_file(str(tmp_path / "b" / "adapter_model.safetensors"))
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    # another configuration in the same directory is refused
    with pytest.raises(Exception, match="other data, settings or base model"):
        adapt(load_scenario(path), create_backend("hf", None), "with_mg", tmp_path / "b", "x",
              Hyper(epochs=3, batch_size=2, val_fraction=0.25, rank=4, alpha=8), seed=3)
