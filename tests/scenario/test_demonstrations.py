"""k-shot demonstrations from a named split (issue 14): seeded, label-balanced, same condition as the query,
never the query item itself; recorded in the spec and visible in show-prompt."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from helpers import assert_one_line_error, make_items, run_cli, write_items, write_scenario
from mgreason.errors import ScenarioError
from mgreason.eval.plan import build_requests
from mgreason.scenario import load_scenario
from mgreason.scenario.demonstrations import pick_demonstrations


def _train_items(n=8):
    items = make_items(n)
    for it in items:
        it["id"] = f"train{it['id']}"
        it["text"] = f"TRAIN {it['id']}: {it['text']}"
    return items


def _scenario(tmp_path, k=4, seed=0, train=None, conditions=("without_mg", "with_mg", "shuffled_mg")):
    root = tmp_path / "sc"
    write_items(root / "data" / "train.jsonl", train if train is not None else _train_items(), "jsonl")
    return load_scenario(
        write_scenario(
            root,
            items=make_items(4),
            spec={"conditions": list(conditions), "demonstrations": {"path": "data/train.jsonl", "k": k, "seed": seed}},
        )
    )


def test_off_by_default_and_unchanged_prompts(tmp_path):
    sc = load_scenario(write_scenario(tmp_path / "plain", items=make_items(4)))
    assert sc.spec.demonstrations is None and sc.demo_items == []
    assert all([m["role"] for m in r.messages] == ["system", "user"] for r in build_requests(sc))


def test_demonstrations_are_balanced_seeded_and_rendered_in_the_query_condition(tmp_path):
    sc = _scenario(tmp_path, k=4)
    reqs = build_requests(sc)
    by_item: dict[str, dict[str, list]] = {}
    for r in reqs:
        roles = [m["role"] for m in r.messages]
        assert roles == ["system"] + ["user", "assistant"] * 4 + ["user"]
        answers = [m["content"] for m in r.messages if m["role"] == "assistant"]
        assert Counter(answers) == Counter({"positive": 2, "negative": 2})  # label-balanced
        demo_users = [m["content"] for m in r.messages[1:-1] if m["role"] == "user"]
        assert all(u.startswith("Context:") and "TRAIN train" in u for u in demo_users)
        if r.condition == "without_mg":
            assert not any("EVIDENCE" in u for u in demo_users)
        else:
            assert all("EVIDENCE" in u for u in demo_users)
        by_item.setdefault(r.item_id, {})[r.condition] = demo_users
    for item_id, conds in by_item.items():
        # the same demonstrations under every condition (only the condition differs)
        heads = {c: [u.split("\n")[1] for u in us] for c, us in conds.items()}
        assert heads["without_mg"] == heads["with_mg"] == heads["shuffled_mg"]
        # with_mg shows each demonstration's own transcript, shuffled_mg another one's
        assert conds["with_mg"] != conds["shuffled_mg"]
    # deterministic, and the seed changes the draw
    assert [r.messages for r in build_requests(sc)] == [r.messages for r in reqs]
    other = build_requests(_scenario(tmp_path / "s2", k=4, seed=7))
    assert [r.messages for r in other] != [r.messages for r in reqs]


def test_never_the_query_item_itself():
    from mgreason.scenario.loader import Item

    pool = [Item(id=f"i{j}", gold=("positive", "negative")[j % 2], transcript=None, fields={}) for j in range(5)]
    for seed in range(20):
        for q in pool:
            picked = pick_demonstrations(pool, ["positive", "negative"], 4, seed, q.id)
            assert q.id not in {p.id for p in picked} and len(picked) == 4
    with pytest.raises(ScenarioError, match="only 4 other item"):
        pick_demonstrations(pool, ["positive", "negative"], 5, 0, "i0")


def test_show_prompt_shows_the_demonstrations_and_config_records_them(tmp_path, monkeypatch, capsys):
    sc = _scenario(tmp_path, k=2)
    res = run_cli(["show-prompt", str(sc.path), "--condition", "with_mg", "--json"], monkeypatch, capsys)
    assert res.code == 0, res.err
    msgs = json.loads(res.out)[0]["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert sc.spec.model_dump(mode="json")["demonstrations"] == {"path": "data/train.jsonl", "format": None, "k": 2, "seed": 0}


def test_bad_demonstrations_are_one_line(tmp_path, monkeypatch, capsys):
    sc = _scenario(tmp_path, k=2)
    (sc.path.parent / "data" / "train.jsonl").unlink()
    res = run_cli(["validate", str(sc.path)], monkeypatch, capsys)
    assert_one_line_error(res, "demonstrations file not found", "demonstrations.path")
    res = run_cli(["validate", str(_write_k(tmp_path / "big", 8))], monkeypatch, capsys)  # 8 items, k + 1 = 9 needed
    assert_one_line_error(res, "demonstrations.k: k is 8 but the demonstrations file has 8 item(s)", "k + 1 are needed")
    assert load_scenario(_write_k(tmp_path / "ok", 7)).spec.demonstrations.k == 7


def _write_k(root, k):
    write_items(root / "data" / "train.jsonl", _train_items(8), "jsonl")
    return write_scenario(root, items=make_items(4), spec={"demonstrations": {"path": "data/train.jsonl", "k": k}})
