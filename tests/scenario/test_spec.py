"""Tests for mgreason.scenario.spec: the pydantic model of the scenario YAML."""

from __future__ import annotations

import copy

import pytest
from pydantic import ValidationError

from mgreason.scenario.spec import BUILTIN_CONDITIONS, ConditionSpec, ScenarioSpec

MINIMAL = {
    "id": "s1",
    "version": 1,
    "question": "Positive or negative?",
    "labels": [{"name": "positive"}, {"name": "negative"}],
    "prompts": {"user": "user.j2"},
    "items": {"path": "items.jsonl"},
}


def spec(**changes) -> ScenarioSpec:
    data = copy.deepcopy(MINIMAL)
    data.update(changes)
    return ScenarioSpec.model_validate(data)


def test_minimal_spec_and_defaults():
    s = spec()
    assert s.label_names == ["positive", "negative"]
    assert [c.name for c in s.condition_specs()] == ["without_mg", "with_mg", "shuffled_mg"]
    assert s.scoring.mode == "logprobs" and s.scoring.constrain is False
    assert s.generation.temperature == 0.0 and s.generation.max_new_tokens == 16
    assert s.transcripts.source == "inline" and s.transcripts.show_confidence is None
    assert s.items.fields.id == "id" and s.items.fields.label == "label" and s.items.fields.transcript == "transcript"
    assert s.prompts.system is None
    assert s.synthetic is False


def test_builtin_conditions():
    assert set(BUILTIN_CONDITIONS) == {"without_mg", "with_mg", "shuffled_mg", "aggregate_mg"}
    b = BUILTIN_CONDITIONS
    assert (b["without_mg"].evidence, b["without_mg"].transcript) == ("none", "own")
    assert (b["with_mg"].evidence, b["with_mg"].transcript) == ("timeline", "own")
    assert (b["shuffled_mg"].evidence, b["shuffled_mg"].transcript) == ("timeline", "shuffled")
    assert (b["aggregate_mg"].evidence, b["aggregate_mg"].transcript) == ("aggregate", "own")


def test_default_comparisons():
    assert spec().comparison_pairs() == [
        ("without_mg", "with_mg"),
        ("without_mg", "shuffled_mg"),
        ("shuffled_mg", "with_mg"),
    ]
    assert spec(conditions=["with_mg", "aggregate_mg"]).comparison_pairs() == []
    assert spec(conditions=["without_mg", "aggregate_mg"]).comparison_pairs() == [("without_mg", "aggregate_mg")]


def test_explicit_comparisons():
    s = spec(conditions=["without_mg", "with_mg", "aggregate_mg"], comparisons=[["with_mg", "aggregate_mg"]])
    assert s.comparison_pairs() == [("with_mg", "aggregate_mg")]
    with pytest.raises(ValidationError, match="comparison refers to condition 'shuffled_mg'"):
        spec(conditions=["without_mg", "with_mg"], comparisons=[["without_mg", "shuffled_mg"]])


def test_custom_condition_objects_mix_with_builtins():
    s = spec(
        conditions=[
            "without_mg",
            {"name": "agg_shuffled", "evidence": "aggregate", "transcript": "shuffled", "description": "x"},
        ]
    )
    conds = s.condition_specs()
    assert conds[0] is BUILTIN_CONDITIONS["without_mg"]
    assert conds[1] == ConditionSpec(name="agg_shuffled", evidence="aggregate", transcript="shuffled", description="x")


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"conditions": ["without_mg", "nope"]}, "unknown condition 'nope'"),
        ({"conditions": ["with_mg", "with_mg"]}, "unique"),
        ({"conditions": ["with_mg", {"name": "with_mg", "evidence": "aggregate"}]}, "unique"),
        ({"conditions": []}, "at least one condition"),
        ({"conditions": [{"name": "bad name!", "evidence": "none"}]}, "pattern"),
        ({"conditions": [{"name": "x", "evidence": "video"}]}, "evidence"),
        ({"labels": [{"name": "positive"}]}, "at least 2"),
        ({"labels": [{"name": "positive"}, {"name": "Positive"}]}, "used twice"),
        ({"labels": [{"name": "positive", "aliases": ["good"]}, {"name": "negative", "aliases": ["GOOD"]}]}, "used twice"),
        ({"labels": [{"name": "positive", "colour": "red"}, {"name": "negative"}]}, "colour"),
        ({"items": {"path": "a.jsonl", "inline": [{"id": 1}]}}, "exactly one of items.path or items.inline"),
        ({"items": {}}, "exactly one of items.path or items.inline"),
        ({"items": {"path": "a.txt", "format": "xml"}}, "format"),
        ({"id": "has space"}, "pattern"),
        ({"question": ""}, "question"),
        ({"generation": {"max_new_tokens": 0}}, "max_new_tokens"),
        ({"generation": {"top_p": 0}}, "top_p"),
        ({"generation": {"temperature": -1}}, "temperature"),
        ({"scoring": {"mode": "vote"}}, "mode"),
        ({"transcripts": {"source": "url"}}, "source"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_invalid_specs(changes, match):
    with pytest.raises(ValidationError, match=match):
        spec(**changes)


@pytest.mark.parametrize("missing", ["id", "version", "question", "labels", "prompts", "items"])
def test_required_fields(missing):
    data = copy.deepcopy(MINIMAL)
    del data[missing]
    with pytest.raises(ValidationError, match=missing):
        ScenarioSpec.model_validate(data)


def test_json_schema_lists_the_fields():
    schema = ScenarioSpec.model_json_schema()
    assert {"id", "version", "question", "labels", "prompts", "items", "conditions", "scoring", "generation"} <= set(
        schema["properties"]
    )
    assert set(schema["required"]) == {"id", "version", "question", "labels", "prompts", "items"}
    assert schema["additionalProperties"] is False
