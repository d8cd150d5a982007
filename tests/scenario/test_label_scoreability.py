"""Issue 30, item 4: label sets that logprobs scoring cannot score fairly are refused (one label a
text -- hence token -- prefix of another), and blank or padded labels are refused in every mode."""

from __future__ import annotations

import pytest

from helpers import assert_one_line_error, run_cli, write_scenario
from mgreason.errors import ScenarioError
from mgreason.scenario import load_scenario


def _labels(*names: str) -> dict:
    return {"labels": [{"name": n} for n in names]}


@pytest.mark.parametrize(
    "names",
    [("angry", "angry and sad"), ("no", "not sure", "yes"), ("sad", "sadness"), ("calm", "stressed", "stressed out")],
)
def test_a_label_that_begins_with_another_is_refused_in_logprobs_mode(tmp_path, monkeypatch, capsys, names):
    items = [{"id": f"i{k}", "label": names[k % len(names)]} for k in range(4)]
    path = write_scenario(tmp_path, items=items, spec={**_labels(*names), "conditions": ["without_mg"]})
    res = run_cli(["validate", path], monkeypatch, capsys)
    assert_one_line_error(res, str(path), "begins with label", "logprobs")


def test_the_same_labels_are_fine_in_generate_mode(tmp_path):
    items = [{"id": f"i{k}", "label": ("angry", "angry and sad")[k % 2]} for k in range(4)]
    path = write_scenario(
        tmp_path, items=items, spec={**_labels("angry", "angry and sad"), "conditions": ["without_mg"], "scoring": {"mode": "generate"}}
    )
    assert load_scenario(path).labels == ["angry", "angry and sad"]


def test_labels_that_merely_share_a_start_are_fine(tmp_path):
    items = [{"id": f"i{k}", "label": ("angry", "anxious")[k % 2]} for k in range(4)]
    path = write_scenario(tmp_path, items=items, spec={**_labels("angry", "anxious"), "conditions": ["without_mg"]})
    assert load_scenario(path).labels == ["angry", "anxious"]


@pytest.mark.parametrize("bad", [" ", "\t", "\u00a0", " calm", "calm ", "\n"])
@pytest.mark.parametrize("mode", ["logprobs", "generate"])
def test_blank_or_padded_labels_are_refused(tmp_path, bad, mode):
    path = write_scenario(tmp_path, spec={**_labels("positive", "negative", bad), "scoring": {"mode": mode}})
    with pytest.raises(ScenarioError, match="blank or starts or ends with whitespace"):
        load_scenario(path)


def test_blank_alias_is_refused(tmp_path):
    spec = {"labels": [{"name": "positive", "aliases": ["  "]}, {"name": "negative"}], "scoring": {"mode": "generate"}}
    path = write_scenario(tmp_path, spec=spec)
    with pytest.raises(ScenarioError, match="blank"):
        load_scenario(path)
