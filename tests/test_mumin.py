"""The MUMIN vocabulary (issue 24): every code of the DOLOS and Real-Life Trial sheets, variants, strict labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from mgreason.mumin import BY_DOLOS, BY_RLT, CODES, GROUPS, MG_CORRESPONDENCE, RLT_COLUMNS, header_key
from mgreason.taxonomy import MUMIN, TAXONOMIES, MGClass, Taxonomy
from mgreason.transcript import Transcript

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "dolos"


def test_table_is_complete_and_consistent():
    assert len(RLT_COLUMNS) == 39 and set(BY_RLT) == set(RLT_COLUMNS)
    assert len(BY_DOLOS) == 41
    assert len({c.code for c in CODES}) == len({c.name for c in CODES}) == len(CODES) == len(MUMIN)
    for c in CODES:
        assert c.group in GROUPS and c.description and c.name == c.name.strip()
    assert TAXONOMIES["mumin"] is MUMIN


@pytest.mark.parametrize(
    "variant, name",
    [("downR", "repeated head nods"), ("Close-R", "frequent blinking"), ("gazeInterlocutor", "looking at the interlocutor"),
     ("Gaze Up", "looking up"), ("X-Open", "eyes opened exaggeratedly wide"), ("head-nod-repeated", "repeated head nods"),
     ("smile", "smiling"), ("Eyes Exaggerated Opening", "eyes opened exaggeratedly wide"),
     ("Mouth Openness Exaggerated Opening", "mouth opened exaggeratedly wide")],
)
def test_spelling_variants(variant, name):
    assert MUMIN.by_name(variant).name == name


def test_a_variant_naming_two_classes_is_refused():
    with pytest.raises(ValueError, match="names both"):
        Taxonomy("t", (MGClass(0, 0, "a", aliases=("x",)), MGClass(1, 1, "b", aliases=("x",))))


def test_strict_labels_with_mumin():
    ok = Transcript.model_validate({"id": "a", "taxonomy": "mumin", "events": [{"label": "downR"}, {"label": "smiling"}]})
    assert ok.label_problems() == []
    bad = Transcript.model_validate({"id": "a", "taxonomy": "mumin", "events": [{"label": "touching jaw"}]})
    assert bad.label_problems() == ["gesture label 'touching jaw' not in the mumin taxonomy"]


def test_correspondences_name_real_classes():
    for code, tables in MG_CORRESPONDENCE.items():
        assert code in {c.code for c in CODES}
        for tax, names in tables.items():
            for n in names:
                assert n in TAXONOMIES[tax], (code, tax, n)


@pytest.mark.skipif(not (SHARED / "Dolos.xlsx").is_file(), reason="shared DOLOS annotations absent")
def test_every_code_header_of_the_real_sheets_is_known():
    import openpyxl

    for name, first in (("Dolos.xlsx", 8), ("train_dolos.xlsx", 3)):
        rows = list(openpyxl.load_workbook(SHARED / name, read_only=True).active.iter_rows(max_row=3, values_only=True))
        group = sub = None
        found = set()
        for i in range(first, len(rows[2])):
            if rows[0][i]:
                group, sub = header_key(rows[0][i]), None
            if rows[1][i]:
                sub = header_key(rows[1][i])
            found.add(BY_DOLOS[(sub or group, header_key(rows[2][i]))].code)
        assert len(found) == 41, name
