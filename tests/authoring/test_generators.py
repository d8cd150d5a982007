"""The seeded generators of the synthetic packs: determinism, provenance, the shipped packs reproduced
byte for byte, the pack files (text pools as data), and the generate-items command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mgreason.authoring import generators as g
from mgreason.authoring import packs
from mgreason.errors import MGReasonError
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


def test_pack_files_are_package_data_with_one_shape(tmp_path):
    assert sorted(p.name for p in packs.PACKS_DIR.glob("*.yaml")) == ["deception.yaml", "interview.yaml"]
    dec, itv = packs.get_pack("deception"), packs.get_pack("interview")
    assert len(dec.settings) == 3 and len(itv.settings) == 6  # one interview setting per role
    assert "software developer position" in itv.settings[0].context and "{role}" not in itv.settings[5].context
    q = itv.settings[0].questions[itv.settings[0].critical]
    assert len(q.answers_by_variant) == len(q.ask) == 3 and q.answers_for(1) == q.answers_by_variant[1]
    assert dec.mg.rate_ratio == itv.mg.rate_ratio == 1.3  # the shared defaults, not copies
    with pytest.raises(ValueError, match="unknown pack 'poker'"):
        packs.get_pack("poker")
    bad = tmp_path / "bad.yaml"
    bad.write_text((packs.PACKS_DIR / "deception.yaml").read_text().replace("id_prefix: dec", "id_prefx: dec"))
    with pytest.raises(MGReasonError, match="id_prefix: required field is missing") as e:
        packs.load_pack(bad)
    assert str(e.value.file) == str(bad)
