"""Tests for mgreason.eval.scoring: parsing generated answers, argmax over label log-probs."""

from __future__ import annotations

import pytest

from mgreason.scenario.spec import LabelSpec
from mgreason.eval.scoring import argmax_label, parse_answer

POSNEG = [LabelSpec(name="positive"), LabelSpec(name="negative")]
FIVE = [
    LabelSpec(name="very negative"),
    LabelSpec(name="negative"),
    LabelSpec(name="neutral"),
    LabelSpec(name="positive"),
    LabelSpec(name="very positive"),
]
ALIASED = [
    LabelSpec(name="positive", aliases=["good", "happy"]),
    LabelSpec(name="negative", aliases=["bad", "sad", "not happy"]),
]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("positive", "positive"),
        ("Positive.", "positive"),
        ("  NEGATIVE!!\n", "negative"),
        ("**negative**", "negative"),
        ('"positive"', "positive"),
        ("The answer is negative", "negative"),
        ("The answer is negative.", "negative"),
        ("Answer: positive\nExplanation: the player smiles", "positive"),
        ("I'd say positive, not negative", "positive"),
        ("negative, not positive", "negative"),
        ("positively", None),  # a whole word or phrase only
        ("non-negative", None),
        ("posi tive", None),
        ("I cannot tell.", None),
        ("", None),
        ("   ", None),
        ("...", None),
        (None, None),
    ],
)
def test_parse_positive_negative(text, expected):
    assert parse_answer(text, POSNEG) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("very negative", "very negative"),
        ("negative", "negative"),
        ("Very Negative.", "very negative"),
        ("I think it is very negative.", "very negative"),
        ("It is negative, maybe very negative", "negative"),
        ("very positive!", "very positive"),
        ("neutral", "neutral"),
        ("very", None),
    ],
)
def test_parse_prefers_the_longer_label_at_the_same_position(text, expected):
    assert parse_answer(text, FIVE) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Happy", "positive"),
        ("good.", "positive"),
        ("The player is sad", "negative"),
        ("not happy", "negative"),  # the exact alias wins
        ("He looks not happy at all", "negative"),  # longer phrase at the same position
        ("BAD", "negative"),
        ("positive", "positive"),
        ("goodness", None),
    ],
)
def test_parse_aliases(text, expected):
    assert parse_answer(text, ALIASED) == expected


def test_parse_returns_the_label_name_not_the_matched_text():
    labels = [LabelSpec(name="Positive"), LabelSpec(name="Negative")]
    assert parse_answer("negative", labels) == "Negative"


def test_argmax():
    assert argmax_label({"positive": -0.5, "negative": -2.0}, ["positive", "negative"]) == "positive"
    assert argmax_label({"positive": -3.0, "negative": -2.0}, ["positive", "negative"]) == "negative"
    assert argmax_label({"a": -9.0, "b": -1.0, "c": -1.5}, ["a", "b", "c"]) == "b"


def test_argmax_ties_go_to_the_earlier_label():
    lp = {"a": -1.0, "b": -1.0, "c": -2.0}
    assert argmax_label(lp, ["a", "b", "c"]) == "a"
    assert argmax_label(lp, ["b", "a", "c"]) == "b"
    assert argmax_label({"x": 0.0, "y": 0.0, "z": 0.0}, ["z", "y", "x"]) == "z"


def test_argmax_missing_label_raises():
    with pytest.raises(KeyError):
        argmax_label({"a": -1.0}, ["a", "b"])
