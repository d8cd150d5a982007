"""docs/scenarios.md: the field reference is generated from the pydantic model and kept in sync."""

from __future__ import annotations

import re
from pathlib import Path

from mgreason.authoring import docs
from mgreason.authoring.generators import PACKS, generator_command

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "scenarios.md"


def test_field_reference_is_up_to_date():
    text = DOC.read_text(encoding="utf-8")
    assert docs.render_doc(text) == text, (
        "docs/scenarios.md is out of date with mgreason/scenario/spec.py; "
        "regenerate it with: python -m mgreason.authoring.docs"
    )


def test_reference_covers_every_field_of_every_model():
    ref = docs.field_reference_markdown()
    for name, model in docs._models().items():
        assert f"({name})" in ref, name
        section = ref.split(f"({name})", 1)[1].split("\n### ", 1)[0]
        for field in model.model_fields:
            assert f"| `{field}` |" in section, f"{name}.{field} missing from the reference"


def test_check_mode_detects_a_stale_block(tmp_path, capsys):
    stale = tmp_path / "scenarios.md"
    stale.write_text(DOC.read_text(encoding="utf-8").replace("| `synthetic` | boolean |", "| `synthetic` | bool |"), encoding="utf-8")
    assert docs.main([str(stale), "--check"]) == 1
    assert docs.main([str(stale)]) == 0  # rewrite
    assert docs.main([str(stale), "--check"]) == 0
    assert stale.read_text(encoding="utf-8") == DOC.read_text(encoding="utf-8")


def test_guide_has_the_required_sections_and_commands():
    text = DOC.read_text(encoding="utf-8")
    for heading in ("## Conditions", "## Scoring modes", "## Worked example", "## Field reference",
                    "## Recognizer transcripts instead of generated evidence", "## Authoring errors"):
        assert heading in text, heading
    assert "transcripts.source: path" in text or "source: path" in text
    for kind, pack in PACKS.items():
        # the documented command is the one in the shipped YAML
        cmd = generator_command(kind, pack.n_default, pack.seed_default)
        assert cmd in text, cmd
        yaml_text = (REPO / "scenarios" / f"{pack.scenario_id}.yaml").read_text(encoding="utf-8")
        assert cmd in yaml_text
    # every internal link points at an existing anchor
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    anchors |= {re.sub(r"[^\w\- ]", "", h.lower()).strip().replace(" ", "-") for h in re.findall(r"^#+ (.+)$", text, re.M)}
    for target in re.findall(r"\]\(#([^)]+)\)", text):
        assert target in anchors, target
