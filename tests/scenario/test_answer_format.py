"""answer_format (issue 14): one switch in the scenario, the same wording in every shipped template."""

from __future__ import annotations

from pathlib import Path

import pytest

from mgreason.errors import ScenarioError
from mgreason.eval.plan import build_requests
from mgreason.scenario.loader import load_scenario

REPO = Path(__file__).resolve().parents[2]
SHIPPED = [p for p in sorted((REPO / "scenarios").glob("*.yaml")) if p.stem != "imigue_emotion"]  # iMiGUE items are not shipped


def _with_format(path: Path, tmp_path: Path, fmt: str | None) -> Path:
    text = path.read_text(encoding="utf-8")
    base = str(path.parent)
    # keep relative paths working: the copy sits next to the original's folders through absolute paths
    text = text.replace("../prompts/", f"{base}/../prompts/").replace("path: data/", f"path: {base}/data/")
    if fmt is not None:
        text += f"\nanswer_format: {fmt}\n"
    out = tmp_path / f"{path.stem}.{fmt}.yaml"
    out.write_text(text, encoding="utf-8")
    return out


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_one_word_is_the_default_and_open_ends_the_user_turn_with_answer(path, tmp_path):
    default = load_scenario(_with_format(path, tmp_path, None))
    assert default.spec.answer_format == "one_word"
    one = build_requests(default, limit=2)
    assert [r.prompt_sha256 for r in one] == [r.prompt_sha256 for r in build_requests(load_scenario(path), limit=2)]
    labels = " or ".join(default.labels)
    assert all(labels in r.messages[-1]["content"].splitlines()[-1] for r in one)

    opened = build_requests(load_scenario(_with_format(path, tmp_path, "open")), limit=2)
    for r in opened:
        assert r.messages[-1]["content"].splitlines()[-1] == "Answer:"
        assert "one word" not in r.messages[0]["content"]
        assert "one word" not in r.messages[-1]["content"]
    assert {r.prompt_sha256 for r in opened}.isdisjoint({r.prompt_sha256 for r in one})


def test_an_unknown_answer_format_names_the_field(tmp_path):
    bad = _with_format(REPO / "scenarios" / "demo_press_emotion.yaml", tmp_path, "sentence")
    with pytest.raises(ScenarioError, match="answer_format"):
        load_scenario(bad)
