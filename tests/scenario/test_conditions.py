"""Tests for mgreason.scenario.conditions: which transcript each item shows under each condition."""

from __future__ import annotations

import pytest

from helpers import make_items, write_scenario
from mgreason.errors import ScenarioError
from mgreason.eval.plan import build_requests
from mgreason.scenario import load_scenario
from mgreason.scenario.conditions import derangement, evidence_sources, transcript_of
from mgreason.scenario.loader import Item
from mgreason.scenario.spec import BUILTIN_CONDITIONS, ConditionSpec
from mgreason.transcript import MGEvent, Transcript

IDS = [f"it{k:02d}" for k in range(8)]


@pytest.mark.parametrize("n", [2, 3, 5, 8, 50])
@pytest.mark.parametrize("seed", [0, 1, 7, 12345])
def test_derangement_is_a_permutation_without_fixed_points(n, seed):
    ids = [f"x{k}" for k in range(n)]
    m = derangement(ids, seed)
    assert set(m) == set(ids)
    assert sorted(m.values()) == sorted(ids)
    assert all(k != v for k, v in m.items())


def test_derangement_is_seeded():
    assert derangement(IDS, 3) == derangement(IDS, 3)
    # independent of the order the ids are given in
    assert derangement(list(reversed(IDS)), 3) == derangement(IDS, 3)
    mappings = [tuple(sorted(derangement(IDS, s).items())) for s in range(6)]
    assert derangement(IDS, 0) != derangement(IDS, 1)
    assert len(set(mappings)) >= 5


def test_derangement_of_two_swaps():
    assert derangement(["a", "b"], 0) == {"a": "b", "b": "a"}


@pytest.mark.parametrize("ids", [[], ["only"]])
def test_derangement_needs_two(ids):
    with pytest.raises(ValueError):
        derangement(ids, 0)


def items(n=6, with_transcript=True):
    return [
        Item(
            id=f"it{k:02d}",
            gold="positive",
            transcript=Transcript(id=f"it{k:02d}", events=[MGEvent(start_s=k, end_s=k + 1, label="head up")])
            if with_transcript
            else None,
            fields={},
        )
        for k in range(n)
    ]


def test_evidence_sources_per_condition():
    its = items(6)
    conds = list(BUILTIN_CONDITIONS.values()) + [
        ConditionSpec(name="agg_shuffled", evidence="aggregate", transcript="shuffled"),
    ]
    src = evidence_sources(its, conds, seed=4)
    ids = [it.id for it in its]
    assert src["without_mg"] == {i: None for i in ids}
    assert src["with_mg"] == {i: i for i in ids}
    assert src["aggregate_mg"] == {i: i for i in ids}
    assert src["shuffled_mg"] == derangement(ids, 4)
    # every shuffled condition uses the same mapping
    assert src["agg_shuffled"] == src["shuffled_mg"]


def test_evidence_sources_same_seed_same_mapping_different_seed_different_mapping():
    its = items(6)
    conds = [BUILTIN_CONDITIONS["shuffled_mg"]]
    assert evidence_sources(its, conds, 0) == evidence_sources(its, conds, 0)
    maps = {tuple(sorted(evidence_sources(its, conds, s)["shuffled_mg"].items())) for s in range(5)}
    assert len(maps) >= 4


def test_no_evidence_conditions_need_no_transcripts():
    its = items(3, with_transcript=False)
    assert evidence_sources(its, [BUILTIN_CONDITIONS["without_mg"]], 0) == {"without_mg": {i.id: None for i in its}}


def test_shuffled_condition_with_a_single_item_is_a_scenario_error():
    with pytest.raises(ScenarioError, match="at least 2 items"):
        evidence_sources(items(1), [BUILTIN_CONDITIONS["without_mg"], BUILTIN_CONDITIONS["shuffled_mg"]], 0)
    # without a shuffled condition a single item is fine
    assert evidence_sources(items(1), [BUILTIN_CONDITIONS["with_mg"]], 0) == {"with_mg": {"it00": "it00"}}


def test_transcript_of():
    its = items(3)
    assert transcript_of(its, None) is None
    assert transcript_of(its, "it02") is its[2].transcript
    with pytest.raises(KeyError):
        transcript_of(its, "zz")


def test_build_requests_seed_changes_only_the_shuffled_condition(tmp_path):
    sc = load_scenario(write_scenario(tmp_path, items=make_items(6)))
    a = {(r.item_id, r.condition): r for r in build_requests(sc, seed=0)}
    b = {(r.item_id, r.condition): r for r in build_requests(sc, seed=1)}
    same = {k for k in a if a[k].prompt_sha256 == b[k].prompt_sha256}
    assert {k for k in a if k[1] != "shuffled_mg"} <= same
    assert {k[0]: a[k].evidence_from for k in a if k[1] == "shuffled_mg"} != {
        k[0]: b[k].evidence_from for k in b if k[1] == "shuffled_mg"
    }


def test_limit_shuffles_within_the_limited_items(tmp_path):
    sc = load_scenario(write_scenario(tmp_path, items=make_items(6)))
    reqs = build_requests(sc, limit=3)
    assert {r.item_id for r in reqs} == {"it00", "it01", "it02"}
    for r in reqs:
        if r.condition == "shuffled_mg":
            assert r.evidence_from in {"it00", "it01", "it02"} and r.evidence_from != r.item_id
    with pytest.raises(ScenarioError, match="at least 2 items"):
        build_requests(sc, limit=1)
