"""The gesture catalogue registers every class where it is defined."""

from __future__ import annotations

import inspect

import pytest

from mgreason.synth import engine, gestures
from mgreason.synth.engine import HandGesture, Motion, register
from mgreason.synth.gestures import MOTIONS, get_motion, hands, head, posture, supported_raw_ids, torso
from mgreason.taxonomy import IMIGUE


def test_every_concrete_gesture_class_is_registered_once() -> None:
    defined = [
        cls
        for mod in (head, torso, hands, posture)
        for _, cls in inspect.getmembers(mod, inspect.isclass)
        if issubclass(cls, Motion) and cls.__module__ == mod.__name__ and cls.raw_id != -1
    ]
    assert len(defined) == 31
    assert sorted(c.raw_id for c in defined) == sorted(MOTIONS)
    for cls in defined:
        assert type(MOTIONS[cls.raw_id]) is cls
    assert gestures.MOTIONS is engine.REGISTRY


def test_supported_ids_follow_the_taxonomy_and_skip_pressing_lips() -> None:
    ids = supported_raw_ids()
    assert ids == [c.raw_id for c in IMIGUE.classes if c.raw_id != 29]
    assert 29 not in MOTIONS
    with pytest.raises(KeyError, match="no synthetic motion for iMiGUE class 29"):
        get_motion(29)
    assert get_motion(1).label == IMIGUE.by_raw_id(1).name


def test_register_rejects_duplicates_and_unknown_ids() -> None:
    class Again(HandGesture):
        raw_id = 3

    with pytest.raises(ValueError, match="iMiGUE class 3 has two synthetic motions: TouchHat and Again"):
        register(Again)

    class Unknown(HandGesture):
        raw_id = 1234

    with pytest.raises(KeyError, match="no class with raw id 1234"):
        register(Unknown)
    assert 1234 not in MOTIONS and type(MOTIONS[3]).__name__ == "TouchHat"
