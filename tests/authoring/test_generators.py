"""The seeded generators of the synthetic packs: determinism, provenance, and evidence that is
informative but not decisive (MG alone well above chance, dialogue alone near chance)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mgreason.authoring import generators as g
from mgreason.scenario import load_scenario
from mgreason.taxonomy import get_taxonomy
from mgreason.transcript import Transcript
from helpers import run_cli


REPO = Path(__file__).resolve().parents[2]


SHIPPED = {
    "deception": REPO / "scenarios" / "deception_interrogation.yaml",
    "interview": REPO / "scenarios" / "interview_stress.yaml",
}


@pytest.mark.parametrize("kind", sorted(g.PACKS))
def test_deterministic_and_extends(kind):
    a = g.generate_items(kind, 12, seed=3)
    assert a == g.generate_items(kind, 12, seed=3)
    assert a != g.generate_items(kind, 12, seed=4)
    longer = g.generate_items(kind, 16, seed=3, command="x")
    strip = lambda items: [{k: v for k, v in it.items() if k != "note"} for it in items]  # noqa: E731
    assert strip(longer[:12]) == strip(a)  # items are a function of (kind, seed, index)


@pytest.mark.parametrize("kind", sorted(g.PACKS))
def test_items_are_marked_synthetic_and_valid(kind):
    pack = g.get_pack(kind)
    tax = get_taxonomy(pack.mg.taxonomy)
    items = g.generate_items(kind, 30, seed=0)
    ids = [it["id"] for it in items]
    assert len(set(ids)) == len(ids)
    for i in range(0, 30, 2):  # balanced in every aligned pair: `--limit 2` sees both labels
        assert {items[i]["label"], items[i + 1]["label"]} == set(pack.labels)
    for it in items:
        assert it["synthetic"] is True
        assert it["note"].startswith("SYNTHETIC") and "not real data" in it["note"]
        assert f"mgreason generate-items {kind} --n 30 --seed 0" in it["note"]
        t = Transcript.model_validate(it["transcript"])
        assert t.id == it["id"] and t.taxonomy == tax.name
        for e in t.events:
            assert e.source == "synthetic" and e.label in tax and e.end_s <= t.duration_s
            assert tax.by_label_id(e.label_id).name == e.label
        # time-stamped turns, alternating interviewer / subject, within the recording
        assert [tu["speaker"] for tu in it["dialogue"][:2]] == [it["interviewer"], it["subject"]]
        starts = [tu["start_s"] for tu in it["dialogue"]]
        assert starts == sorted(starts) and it["dialogue"][-1]["end_s"] <= t.duration_s
        assert all(re.fullmatch(r"\d\d:\d\d\.\d", tu["at"]) for tu in it["dialogue"])


@pytest.mark.parametrize("kind", sorted(g.PACKS))
def test_shipped_items_are_reproduced_by_the_documented_command(kind):
    """The YAML names the exact command; running it gives the shipped items file byte for byte."""
    yaml_text = SHIPPED[kind].read_text()
    assert "SYNTHETIC" in yaml_text and "synthetic: true" in yaml_text
    m = re.search(rf"mgreason generate-items {kind} --n (\d+) --seed (\d+) --out (\S+)", yaml_text)
    assert m, "the scenario YAML must document the generator command"
    n, seed, out = int(m.group(1)), int(m.group(2)), m.group(3)
    assert 30 <= n <= 40
    items = g.generate_items(kind, n, seed, command=g.generator_command(kind, n, seed, out))
    expected = "".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items)
    assert (REPO / out).read_text(encoding="utf-8") == expected
    sc = load_scenario(SHIPPED[kind])
    assert sc.spec.synthetic is True and len(sc.items) == n
    assert sc.items_path.resolve() == (REPO / out).resolve()


@pytest.mark.parametrize("kind", sorted(g.PACKS))
def test_mg_evidence_is_informative_but_not_decisive(kind):
    rep = g.measure_generator(kind, n=1200, seed=0)
    # MG alone: clearly better than chance, far from perfect
    assert 0.63 <= rep.mg_logistic <= 0.82, rep.lines()
    assert 0.60 <= rep.mg_centroid <= 0.82, rep.lines()
    # the dialogue alone is ambiguous
    assert 0.42 <= rep.dialogue_logistic <= 0.62, rep.lines()
    assert rep.mg_logistic >= rep.dialogue_logistic + 0.08
    neg, pos = g.get_pack(kind).labels
    r = rep.rates
    assert r[pos]["gestures_per_min"] > r[neg]["gestures_per_min"]
    assert r[pos]["self_adaptor_share"] > r[neg]["self_adaptor_share"]
    assert r[pos]["p_self_adaptor_at_pointed_answer"] > r[neg]["p_self_adaptor_at_pointed_answer"]
    # overlap: a good share of the non-cue label still shows a self-adaptor at the pointed answer
    assert r[neg]["p_self_adaptor_at_pointed_answer"] > 0.25


def test_cv_accuracy_sanity():
    import numpy as np

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 200)
    X_sep = np.c_[y * 5.0 + rng.normal(size=400), rng.normal(size=400)]
    X_noise = rng.normal(size=(400, 3))
    for model in ("logistic", "centroid"):
        assert g.cv_accuracy(X_sep, y, model) > 0.95
        assert 0.38 < g.cv_accuracy(X_noise, y, model) < 0.62


def test_generate_items_cli(tmp_path, monkeypatch, capsys):
    out = tmp_path / "pack.jsonl"
    report = tmp_path / "report.json"
    code, stdout, stderr = run_cli(["generate-items", "interview", "--n", "12", "--seed", "5",
                                   "--out", str(out), "--report", str(report), "--measure-n", "300"], monkeypatch, capsys)
    assert code == 0, stderr
    assert "12 SYNTHETIC interview items" in stdout and "MG alone" in stdout
    lines = out.read_text().splitlines()
    assert len(lines) == 12
    assert json.loads(lines[0])["note"].find(f"--n 12 --seed 5 --out {out.as_posix()}") > 0
    rep = json.loads(report.read_text())
    assert rep["command"].startswith("mgreason generate-items interview --n 12 --seed 5")
    assert set(rep["generator"]["accuracy"]) >= {"mg_bag_logistic", "dialogue_bow_logistic", "chance"}
    assert rep["generator"]["n"] == 300 and rep["items"]["n"] == 12

    code, _, stderr = run_cli(["generate-items", "poker", "--out", str(out)], monkeypatch, capsys)
    assert code == 2 and "unknown pack 'poker'" in stderr and "deception" in stderr


@pytest.mark.parametrize("kind", sorted(g.PACKS))
def test_held_out_measure_on_a_small_pack(kind):
    train = g.measure_sample(kind, 600, seed=1)
    test = g.generate_items(kind, 200, seed=7)
    rep = g.measure_held_out(train, test, kind)
    assert rep.folds == 0 and rep.n_train == 600 and rep.n == 200
    assert "trained on 600 other generated items" in rep.lines()[0]
    assert 0.6 <= rep.mg_logistic <= 0.85 and 0.38 <= rep.dialogue_logistic <= 0.65, rep.lines()
