"""Tests for mgreason.taxonomy: iMiGUE (32), SMG (17), MA-52 (52)."""

from __future__ import annotations

import pytest

from mgreason.taxonomy import IMIGUE, MA52, SMG, TAXONOMIES, MGClass, Taxonomy, coarse_label, get_taxonomy


def test_sizes():
    assert len(IMIGUE) == 32
    assert len(SMG) == 17
    assert len(MA52) == 52
    assert set(TAXONOMIES) == {"imigue", "smg", "ma52"}


@pytest.mark.parametrize("tax", [IMIGUE, SMG, MA52], ids=lambda t: t.name)
def test_label_ids_are_dense_and_names_unique(tax):
    assert [c.label_id for c in tax.classes] == list(range(len(tax)))
    assert len(set(tax.names)) == len(tax)
    assert len({c.raw_id for c in tax.classes}) == len(tax)
    for c in tax.classes:
        # every canonical name and alias finds its own class (no alias shadows another class)
        assert tax.by_name(c.name) is c
        if c.short:
            assert tax.by_name(c.short) is c
        assert tax.by_label_id(c.label_id) is c
        assert tax.by_raw_id(c.raw_id) is c
        assert c.name in tax


@pytest.mark.parametrize("tax", [IMIGUE, SMG, MA52], ids=lambda t: t.name)
def test_exactly_one_non_micro_gesture_class(tax):
    non_mg = [c for c in tax.classes if not c.is_mg]
    assert len(non_mg) == 1
    assert "illustrative" in non_mg[0].name


def test_imigue_raw_99_is_the_last_label_and_not_a_micro_gesture():
    c = IMIGUE.by_raw_id(99)
    assert c.label_id == 31
    assert c.is_mg is False
    assert c.name == "illustrative hand gestures"
    assert IMIGUE.by_label_id(31) is c
    # raw ids 1..31 map to label ids 0..30
    assert [IMIGUE.by_raw_id(r).label_id for r in range(1, 32)] == list(range(31))
    assert all(IMIGUE.by_raw_id(r).is_mg for r in range(1, 32))
    with pytest.raises(KeyError):
        IMIGUE.by_raw_id(32)
    with pytest.raises(KeyError):
        IMIGUE.by_raw_id(0)


def test_imigue_lookups_by_name_and_alias():
    c = IMIGUE.by_name("touching or scratching head")
    assert (c.label_id, c.raw_id, c.short) == (3, 4, "touch head")
    assert IMIGUE.by_name("touch head") is c
    # case, underscores, hyphens and extra spaces are normalised
    assert IMIGUE.by_name("  Touching_or-scratching   HEAD ") is c
    assert IMIGUE.by_name("turtle neck").label_id == 0
    assert IMIGUE.by_name("illustrative").label_id == 31
    assert "Folding Arms" in IMIGUE
    assert "dancing" not in IMIGUE
    assert 3 not in IMIGUE
    with pytest.raises(KeyError, match="unknown class name 'dancing'"):
        IMIGUE.by_name("dancing")


@pytest.mark.parametrize("bad", [-1, 32, 100])
def test_by_label_id_out_of_range(bad):
    with pytest.raises(KeyError):
        IMIGUE.by_label_id(bad)


def test_smg_and_ma52_details():
    assert SMG.by_raw_id(1).label_id == 0  # SMG raw ids are 1-based
    assert SMG.by_label_id(16).is_mg is False
    assert MA52.by_raw_id(0).label_id == 0  # MA-52 raw ids are the label ids
    assert MA52.by_name("illustrative gestures").is_mg is False
    assert MA52.by_name("illustrative gestures").label_id == 23
    parts = {c.body_part for c in MA52.classes}
    assert parts == {"body", "head", "upper limb", "lower limb", "body-hand", "head-hand", "leg-hand"}
    assert MA52.by_name("nodding").body_part == "head"
    assert MA52.by_name("scratching feet").body_part == "leg-hand"


@pytest.mark.parametrize("name, tax", [("imigue", IMIGUE), ("iMiGUE", IMIGUE), ("SMG", SMG), ("MA-52", MA52), ("ma52", MA52)])
def test_get_taxonomy(name, tax):
    assert get_taxonomy(name) is tax


def test_get_taxonomy_unknown():
    with pytest.raises(KeyError, match="unknown taxonomy 'kinetics'"):
        get_taxonomy("kinetics")


def test_taxonomy_requires_dense_label_ids():
    with pytest.raises(ValueError, match="0..N-1"):
        Taxonomy("bad", (MGClass(label_id=1, raw_id=1, name="a"),))


def test_coarse_label_groups():
    assert coarse_label("touching jaw") == "head-hand"
    assert coarse_label("folding arms") == "upper limb"
    assert coarse_label("head-hand (coarse)") == "head-hand"
    assert coarse_label("not a class") == "not a class"
